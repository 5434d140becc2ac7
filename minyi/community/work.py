"""Community officers' work (社区民警工作), DOMAIN.md capability 6, issue 16 item 5: the
responsibility lists (责任清单) of each community's officers, household visits (入户走访) with
their coverage per community and month, and safety notices (治安通报、安全提醒) texted to the
community's subscribers, plus the citizen-facing reads and the subscription (订阅) itself.

Staff reads and writes are scoped to the user's subtree by the area's station
(`selectors.area_scope_q`); an area outside it does not exist (NotFound).

Notices go out through the SMS outbox as `sms_enqueue_unsolicited` would send them (in bulk):
never to a number that
opted out (the reply "TD"/"退订" to any of the bureau's messages puts the number on the global
opt-out list, `integrations.sms.OptOut`, which stops every unsolicited SMS, these notices
included), and at night they wait for the morning. On top of that a mobile gets at most
`NOTICE_DAILY_LIMIT` notices a day across all communities; the rest are counted as skipped.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.community.access import COMMUNITY_WORK
from minyi.community.colours import community_populations
from minyi.community.models import (
    PUBLIC_MIN_HOUSEHOLDS,
    AreaColour,
    AreaLevel,
    Colour,
    CommunityOfficer,
    GridArea,
    Incident,
    NoticeKind,
    NoticeSubscription,
    SafetyNotice,
    Visit,
    VisitTopic,
)
from minyi.community.selectors import area_scope_q, areas_visible_to
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.integrations.sms.models import OptOut, OutboundSms, SmsPurpose
from minyi.integrations.sms.services import is_opted_out, quiet_hours_end
from minyi.orgs.models import Officer
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import scope_q

# At most this many safety notices reach one mobile in a (local) day, counted over every
# community it subscribed to, by the day the SMS may leave (a notice written at night counts
# for the morning it is delivered). A constant, not a setting: a bureau that needs more is
# over-texting its residents.
NOTICE_DAILY_LIMIT = 3
# The end of every notice: how to stop. "TD" (or "退订") is the bureau-wide opt-out that
# perception.replies recognises; one community's notices alone stop on its public page.
NOTICE_STOP = "回复TD退订"
# Levels a visit may be logged against: a road segment has no households.
VISIT_LEVELS = (AreaLevel.COMMUNITY, AreaLevel.GROUP, AreaLevel.BUILDING)
# Plain words for a community's colour on its public page.
COLOUR_WORDS = {
    Colour.GREEN: "良好",
    Colour.ORANGE: "需关注",
    Colour.RED: "重点关注",
    Colour.GREY: "样本不足",
}
PUBLIC_NOTICES = 5


def _scope_or_none(user) -> Q:
    if not has_perm(user, COMMUNITY_WORK):
        return Q(pk__in=[])
    return area_scope_q(user, "area__")


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_back(month: date, n: int) -> date:
    """The first day of the month `n` months before `month` (a first day)."""
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Responsibility lists (责任清单) ---------------------------------------------------------


def community_get_for_work(user, pk) -> GridArea:
    area = (
        areas_visible_to(user)
        .filter(pk=pk, level=AreaLevel.COMMUNITY)
        .select_related("station")
        .first()
    )
    if area is None or not has_perm(user, COMMUNITY_WORK):
        raise NotFound()
    return area


def officers_for_area(area: GridArea) -> QuerySet[Officer]:
    """Officers who may serve (or visit in) `area`: active ones of its station's subtree."""
    return (
        Officer.objects.filter(area.station.subtree_filter("unit__"), is_active=True)
        .select_related("unit")
        .order_by("unit__path", "police_number")
    )


def duty_list_visible_to(user, *, q: str = "") -> list[GridArea]:
    """Communities of the user's subtree, each with `posts` (its CommunityOfficer rows)."""
    communities = areas_visible_to(user).filter(level=AreaLevel.COMMUNITY)
    if not has_perm(user, COMMUNITY_WORK):
        communities = communities.none()
    if q:
        communities = communities.filter(Q(name__contains=q) | Q(code__icontains=q))
    communities = list(communities.select_related("station").order_by("code")[:200])
    posts: dict[int, list] = {}
    for post in (
        CommunityOfficer.objects.filter(area__in=communities)
        .select_related("officer__unit")
        .order_by("officer__police_number")
    ):
        posts.setdefault(post.area_id, []).append(post)
    for community in communities:
        community.posts = posts.get(community.pk, [])
    return communities


def duty_get_visible_to(user, pk) -> CommunityOfficer:
    post = (
        CommunityOfficer.objects.filter(_scope_or_none(user), pk=pk)
        .select_related("area__station", "officer__unit")
        .first()
    )
    if post is None:
        raise NotFound()
    return post


def _clean_duties(duties: str) -> str:
    lines = [line.strip() for line in (duties or "").splitlines()]
    return "\n".join(line for line in lines if line)


@transaction.atomic
def duty_save(
    *,
    actor,
    community: GridArea,
    officer: Officer,
    duties: str,
    published: bool,
    since: date | None,
    post: CommunityOfficer | None = None,
) -> CommunityOfficer:
    """Add an officer to a community's list, or change their entry (`post`)."""
    if community.level != AreaLevel.COMMUNITY:
        raise ApplicationError("not_a_community", _("责任清单只能按社区填写。"), field="area")
    if not areas_visible_to(actor).filter(pk=community.pk).exists():
        raise NotFound()
    if not officers_for_area(community).filter(pk=officer.pk).exists():
        raise ApplicationError(
            "officer_out_of_station", _("请选择该社区所属派出所的民警。"), field="officer"
        )
    duties = _clean_duties(duties)
    if published and not duties:
        raise ApplicationError("duties_empty", _("公开的责任清单不能为空。"), field="duties")
    created = post is None
    if created:
        if CommunityOfficer.objects.filter(area=community, officer=officer).exists():
            raise ApplicationError(
                "officer_already_listed", _("该民警已在本社区的责任清单中。"), field="officer"
            )
        post = CommunityOfficer(area=community)
    elif (
        CommunityOfficer.objects.filter(area=post.area, officer=officer)
        .exclude(pk=post.pk)
        .exists()
    ):
        raise ApplicationError(
            "officer_already_listed", _("该民警已在本社区的责任清单中。"), field="officer"
        )
    post.officer = officer
    post.duties = duties
    post.published = published
    post.since = since
    try:
        with transaction.atomic():
            post.save()
    except IntegrityError as exc:
        raise ApplicationError(
            "officer_already_listed", _("该民警已在本社区的责任清单中。"), field="officer"
        ) from exc
    audit_record(
        action=AuditAction.CREATE if created else AuditAction.CHANGE,
        actor=actor,
        obj=post,
        detail={"community": community.code, "officer": officer.pk, "published": published},
    )
    return post


@transaction.atomic
def duty_remove(*, actor, post: CommunityOfficer) -> None:
    audit_record(
        action=AuditAction.DELETE,
        actor=actor,
        obj=post,
        detail={"community": post.area.code, "officer": post.officer_id},
    )
    post.delete()


def duties_lines(post: CommunityOfficer) -> list[str]:
    return [line for line in post.duties.splitlines() if line.strip()]


# --- Household visits (入户走访) -------------------------------------------------------------


def visit_areas_for(user) -> QuerySet[GridArea]:
    """Areas a visit may be logged against: communities, groups and buildings in scope."""
    if not has_perm(user, COMMUNITY_WORK):
        return GridArea.objects.none()
    return (
        areas_visible_to(user)
        .filter(level__in=VISIT_LEVELS)
        .select_related("community")
        .order_by("community__code", "code")
    )


def visit_officers_for(user) -> QuerySet[Officer]:
    """Officers the visit form offers: active ones of the user's subtree (the service then
    requires the visited area's station subtree)."""
    if not has_perm(user, COMMUNITY_WORK):
        return Officer.objects.none()
    return (
        Officer.objects.filter(scope_q(user, "unit__"), is_active=True)
        .select_related("unit")
        .order_by("unit__path", "police_number")
    )


@dataclass
class VisitFilter:
    community: int | None = None
    topic: str = ""
    month: date | None = None
    pending: bool = False  # follow-up written, not done yet


def visit_list_visible_to(user, filters: VisitFilter | None = None) -> QuerySet[Visit]:
    filters = filters or VisitFilter()
    rows = Visit.objects.filter(_scope_or_none(user))
    if filters.community:
        rows = rows.filter(community_id=filters.community)
    if filters.topic:
        rows = rows.filter(topic=filters.topic)
    if filters.month:
        rows = rows.filter(
            visited_on__gte=filters.month, visited_on__lt=months_back(filters.month, -1)
        )
    if filters.pending:
        rows = rows.exclude(follow_up="").filter(follow_up_done_at__isnull=True)
    return rows.select_related("area", "community", "officer").order_by("-visited_on", "-id")


def visit_get_visible_to(user, pk) -> Visit:
    visit = (
        Visit.objects.filter(_scope_or_none(user), pk=pk)
        .select_related("area__station", "community", "officer")
        .first()
    )
    if visit is None:
        raise NotFound()
    return visit


def _visit_check(user, *, area: GridArea, officer: Officer | None, visited_on: date, now):
    if area.level not in VISIT_LEVELS or not visit_areas_for(user).filter(pk=area.pk).exists():
        raise ApplicationError(
            "area_out_of_scope", _("请选择本辖区的社区、小组或楼栋。"), field="area"
        )
    if officer is not None and not officers_for_area(area).filter(pk=officer.pk).exists():
        raise ApplicationError(
            "officer_out_of_station", _("请选择该网格所属派出所的民警。"), field="officer"
        )
    if visited_on > timezone.localdate(now):
        raise ApplicationError("visit_in_future", _("走访日期不能晚于今天。"), field="visited_on")


@transaction.atomic
def visit_log(
    *,
    actor,
    area: GridArea,
    officer: Officer | None,
    visited_on: date,
    topic: str,
    households: int = 1,
    note: str = "",
    follow_up: str = "",
    now=None,
) -> Visit:
    now = now or timezone.now()
    _visit_check(actor, area=area, officer=officer, visited_on=visited_on, now=now)
    if topic not in VisitTopic.values:
        raise ApplicationError("bad_topic", _("请选择走访事由。"), field="topic")
    visit = Visit.objects.create(
        area=area,
        community_id=area.community_id or area.pk,
        officer=officer,
        visited_on=visited_on,
        topic=topic,
        households=households,
        note=note.strip(),
        follow_up=follow_up.strip(),
        created_by=actor,
        created_at=now,
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=visit, detail={"area": area.code})
    return visit


@transaction.atomic
def visit_update(
    *,
    actor,
    visit: Visit,
    area: GridArea,
    officer: Officer | None,
    visited_on: date,
    topic: str,
    households: int,
    note: str,
    follow_up: str,
    now=None,
) -> Visit:
    now = now or timezone.now()
    _visit_check(actor, area=area, officer=officer, visited_on=visited_on, now=now)
    visit.area = area
    visit.community_id = area.community_id or area.pk
    visit.officer = officer
    visit.visited_on = visited_on
    visit.topic = topic
    visit.households = households
    visit.note = note.strip()
    visit.follow_up = follow_up.strip()
    if not visit.follow_up:
        visit.follow_up_done_at = None
    visit.save()
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=visit, detail={"area": area.code})
    return visit


@transaction.atomic
def visit_delete(*, actor, visit: Visit) -> None:
    audit_record(
        action=AuditAction.DELETE, actor=actor, obj=visit, detail={"area": visit.area.code}
    )
    visit.delete()


@transaction.atomic
def visit_follow_up_done(*, actor, visit: Visit, now=None) -> Visit:
    """Mark the visit's follow-up (后续事项) done, once."""
    now = now or timezone.now()
    if not visit.follow_up:
        raise ApplicationError("no_follow_up", _("该走访没有后续事项。"), status=409)
    changed = Visit.objects.filter(pk=visit.pk, follow_up_done_at__isnull=True).update(
        follow_up_done_at=now
    )
    if not changed:
        raise ApplicationError("follow_up_done", _("后续事项已办结。"), status=409)
    visit.follow_up_done_at = now
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=visit, detail={"follow_up": "done"})
    return visit


@dataclass
class Coverage:
    """One community's visit coverage (走访覆盖率) in a month: the share of its buildings (or
    resident groups when it has no buildings) visited at least once, and households visited
    (户次, a household visited twice counts twice) against its households."""

    community: GridArea
    month: date
    unit_level: str  # AreaLevel.BUILDING or GROUP; "" when the community has neither
    units: int = 0
    units_visited: int = 0
    households: int = 0
    households_visited: int = 0
    visits: int = 0
    trend: list = field(default_factory=list)  # [(month, share or None)], oldest first

    @property
    def share(self) -> float | None:
        return self.units_visited / self.units if self.units else None

    @property
    def household_share(self) -> float | None:
        return self.households_visited / self.households if self.households else None


def _units_of(community_ids) -> dict[int, tuple[str, set[int]]]:
    """Per community: the level its coverage counts (buildings, or resident groups when it
    has no buildings) and the pks of its areas of that level."""
    rows = list(
        GridArea.objects.filter(
            community_id__in=community_ids, level__in=[AreaLevel.BUILDING, AreaLevel.GROUP]
        ).values_list("pk", "community_id", "level")
    )
    has_buildings = {c for _pk, c, level in rows if level == AreaLevel.BUILDING}
    result: dict[int, tuple[str, set[int]]] = {}
    for pk, community_id, level in rows:
        counted = AreaLevel.BUILDING if community_id in has_buildings else AreaLevel.GROUP
        entry = result.setdefault(community_id, (counted, set()))
        if level == counted:
            entry[1].add(pk)
    return result


def visit_coverage(user, month: date, *, months: int = 6, community_ids=None) -> list[Coverage]:
    """Coverage per community of the user's scope for `month` (a first day), with the trend
    of the share over the `months` months ending with it."""
    month = month_start(month)
    communities = areas_visible_to(user).filter(level=AreaLevel.COMMUNITY)
    if not has_perm(user, COMMUNITY_WORK):
        communities = communities.none()
    if community_ids:
        communities = communities.filter(pk__in=community_ids)
    communities = list(communities.select_related("station").order_by("code"))
    ids = [c.pk for c in communities]
    units = _units_of(ids)
    first = months_back(month, months - 1)
    after = months_back(month, -1)
    # Distinct (community, month, area) visited: a few rows per community and month.
    visited = (
        Visit.objects.filter(community_id__in=ids, visited_on__gte=first, visited_on__lt=after)
        .annotate(m=TruncMonth("visited_on"))
        .values("community_id", "m", "area_id")
        .annotate(n=Count("id"), hh=Sum("households"))
    )
    by_month: dict[tuple[int, date], set[int]] = {}
    totals: dict[int, tuple[int, int]] = {}
    for row in visited:
        m = row["m"]
        m = m.date() if isinstance(m, datetime) else m
        by_month.setdefault((row["community_id"], m), set()).add(row["area_id"])
        if m == month:
            n, hh = totals.get(row["community_id"], (0, 0))
            totals[row["community_id"]] = (n + row["n"], hh + (row["hh"] or 0))
    unit_households = dict(
        GridArea.objects.filter(community_id__in=ids, level=AreaLevel.BUILDING)
        .values("community_id")
        .annotate(h=Sum("households"))
        .values_list("community_id", "h")
    )
    result = []
    for community in communities:
        level, unit_ids = units.get(community.pk, ("", set()))
        trend = []
        for back in range(months - 1, -1, -1):
            m = months_back(month, back)
            seen = by_month.get((community.pk, m), set())
            trend.append((m, len(seen & unit_ids) / len(unit_ids) if unit_ids else None))
        seen = by_month.get((community.pk, month), set())
        n, hh = totals.get(community.pk, (0, 0))
        result.append(
            Coverage(
                community=community,
                month=month,
                unit_level=level,
                units=len(unit_ids),
                units_visited=len(seen & unit_ids),
                households=community.households or unit_households.get(community.pk) or 0,
                households_visited=hh,
                visits=n,
                trend=trend,
            )
        )
    return result


# --- Safety notices (治安通报、安全提醒) ------------------------------------------------------


def notice_list_visible_to(user) -> QuerySet[SafetyNotice]:
    return (
        SafetyNotice.objects.filter(_scope_or_none(user))
        .select_related("area", "created_by")
        .order_by("-created_at", "-id")
    )


def notice_get_visible_to(user, pk) -> SafetyNotice:
    notice = notice_list_visible_to(user).filter(pk=pk).first()
    if notice is None:
        raise NotFound()
    return notice


def notice_communities_for(user) -> QuerySet[GridArea]:
    if not has_perm(user, COMMUNITY_WORK):
        return GridArea.objects.none()
    return areas_visible_to(user).filter(level=AreaLevel.COMMUNITY).order_by("code")


def notice_sms_body(notice: SafetyNotice) -> str:
    """The SMS: signature, kind, title and text, and how to stop. Nothing about anyone."""
    return f"{settings.SMS_SIGNATURE}{notice.area.name}{notice.get_kind_display()}：" + (
        f"{notice.title}。{notice.body} {NOTICE_STOP}"
    )


@transaction.atomic
def notice_compose(*, actor, area: GridArea, kind: str, title: str, body: str) -> SafetyNotice:
    if (
        area.level != AreaLevel.COMMUNITY
        or not notice_communities_for(actor).filter(pk=area.pk).exists()
    ):
        raise ApplicationError("area_out_of_scope", _("请选择本辖区的社区。"), field="area")
    if kind not in NoticeKind.values:
        raise ApplicationError("bad_kind", _("请选择提醒类型。"), field="kind")
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise ApplicationError("notice_empty", _("标题和内容不能为空。"), field="body")
    notice = SafetyNotice.objects.create(
        area=area, kind=kind, title=title, body=body, created_by=actor
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=notice, detail={"area": area.code})
    return notice


def subscribers_active(area: GridArea) -> QuerySet[NoticeSubscription]:
    return NoticeSubscription.objects.filter(area=area, stopped_at__isnull=True).order_by("id")


def _day_bounds(moment) -> tuple[datetime, datetime]:
    day = timezone.localtime(moment).date()
    return _local_midnight(day), _local_midnight(day + timedelta(days=1))


@transaction.atomic
def notice_send(*, actor, notice: SafetyNotice, now=None) -> SafetyNotice:
    """Text the notice to the community's active subscribers, once. Skipped (counted in
    `skipped`): numbers that opted out, and numbers that already have NOTICE_DAILY_LIMIT
    notices for the day the message would leave.

    Set-based, a fixed number of queries however many subscribe: the subscribers, their
    opt-outs and their notices that day are read at once, and the messages are written with one
    bulk insert carrying what `sms_enqueue_unsolicited` would write (hash, body, purpose, and
    `not_before` at the end of the quiet hours)."""
    now = now or timezone.now()
    if not SafetyNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=now):
        raise ApplicationError("notice_sent", _("该提醒已发送，不能重复发送。"), status=409)
    body = notice_sms_body(notice)
    not_before = quiet_hours_end(now)
    start, end = _day_bounds(not_before)
    subscriptions = list(subscribers_active(notice.area).only("id", "mobile", "mobile_hash"))
    hashes = {s.mobile_hash for s in subscriptions}
    opted_out = (
        set(OptOut.objects.filter(mobile_hash__in=hashes).values_list("mobile_hash", flat=True))
        if hashes
        else set()
    )
    today = (
        dict(
            OutboundSms.objects.filter(
                to_mobile_hash__in=hashes - opted_out,
                purpose=SmsPurpose.SAFETY_NOTICE,
                not_before__gte=start,
                not_before__lt=end,
            )
            .order_by()
            .values_list("to_mobile_hash")
            .annotate(n=Count("id"))
            .values_list("to_mobile_hash", "n")
        )
        if hashes - opted_out
        else {}
    )
    messages = []
    skipped = 0
    for subscription in subscriptions:
        if (
            not subscription.mobile
            or subscription.mobile_hash in opted_out
            or today.get(subscription.mobile_hash, 0) >= NOTICE_DAILY_LIMIT
        ):
            skipped += 1
            continue
        messages.append(
            OutboundSms(
                to_mobile=subscription.mobile,
                to_mobile_hash=lookup_hash("mobile", subscription.mobile),
                body=body,
                purpose=SmsPurpose.SAFETY_NOTICE,
                not_before=not_before,
            )
        )
    OutboundSms.objects.bulk_create(messages, batch_size=500)
    sent = len(messages)
    SafetyNotice.objects.filter(pk=notice.pk).update(recipients=sent, skipped=skipped)
    notice.sent_at, notice.recipients, notice.skipped = now, sent, skipped
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=notice,
        detail={"sent": sent, "skipped": skipped, "area": notice.area.code},
    )
    return notice


# --- Subscriptions (订阅) ---------------------------------------------------------------------


def subscription_active(area: GridArea, mobile: str) -> bool:
    if not mobile:
        return False
    return NoticeSubscription.objects.filter(
        area=area, mobile_hash=lookup_hash("mobile", mobile), stopped_at__isnull=True
    ).exists()


@transaction.atomic
def subscribe(area: GridArea, mobile: str, *, now=None) -> NoticeSubscription:
    """Subscribe a proven mobile to a community's notices: idempotent; a stopped one restarts.
    A number on the global opt-out list is refused (ApplicationError "sms_opted_out"), nothing
    stored: no notice could reach it. No page lifts an opt-out; the station does."""
    now = now or timezone.now()
    if area.level != AreaLevel.COMMUNITY:
        raise NotFound()
    mobile = normalize_mobile(mobile)
    if is_opted_out(mobile):
        # The global opt-out (TD/退订) stops every notice: a subscription would be a promise
        # we cannot keep, and lifting the opt-out here would restart surveys too.
        raise ApplicationError(
            "sms_opted_out",
            _(
                "该手机号已退订公安机关发送的全部通知短信（曾回复“TD”或“退订”），"
                "因此无法收到本社区的安全提醒，本次未订阅。"
                "如需恢复接收短信，请联系%(station)s。"
            )
            % {"station": area.station.name},
        )
    mobile_hash = lookup_hash("mobile", mobile)
    row = (
        NoticeSubscription.objects.select_for_update()
        .filter(area=area, mobile_hash=mobile_hash)
        .first()
    )
    if row is None:
        try:
            with transaction.atomic():
                return NoticeSubscription.objects.create(
                    area=area, mobile=mobile, mobile_hash=mobile_hash, created_at=now
                )
        except IntegrityError:  # the same citizen twice at once
            row = NoticeSubscription.objects.get(area=area, mobile_hash=mobile_hash)
    if row.stopped_at is not None:
        row.stopped_at = None
        row.mobile = mobile
        row.save(update_fields=["stopped_at", "mobile"])
    return row


def unsubscribe(area: GridArea, mobile: str, *, now=None) -> bool:
    """Stop the notices; True when an active subscription stopped."""
    mobile = normalize_mobile(mobile)
    return bool(
        NoticeSubscription.objects.filter(
            area=area, mobile_hash=lookup_hash("mobile", mobile), stopped_at__isnull=True
        ).update(stopped_at=now or timezone.now())
    )


# --- Citizen reads (aggregates only) -------------------------------------------------------


def public_communities(q: str = "") -> QuerySet[GridArea]:
    rows = GridArea.objects.filter(level=AreaLevel.COMMUNITY, station__is_active=True)
    if q:
        rows = rows.filter(name__contains=q)
    return rows.select_related("station").order_by("name", "code")


def public_community_get(code: str) -> GridArea:
    area = public_communities().filter(code=code).first()
    if area is None:
        raise NotFound(_("没有找到该社区。"))
    return area


def public_is_large_enough(area: GridArea) -> bool:
    return area.households >= PUBLIC_MIN_HOUSEHOLDS


def public_officers(area: GridArea) -> list[CommunityOfficer]:
    """The community's published officers with public cards, each with `duty_lines`."""
    posts = list(
        CommunityOfficer.objects.filter(
            area=area,
            published=True,
            officer__is_public=True,
            officer__is_active=True,
        )
        .select_related("officer__unit")
        .order_by("since", "officer__police_number")
    )
    for post in posts:
        post.duty_lines = duties_lines(post)
    return posts


def public_colour_words(area: GridArea) -> str:
    latest = AreaColour.objects.filter(area=area).order_by("-month").first()
    if latest is None:
        return ""
    return COLOUR_WORDS.get(latest.colour, "")


POPULATION_SINCE = date(2000, 1, 1)


def public_trend(area: GridArea, *, today: date, months: int = 12) -> list[dict]:
    """Incidents per 10,000 residents per month over the `months` full months before
    `today`'s, for the whole community: counts by month only, nothing below it."""
    last = months_back(month_start(today), 1)
    first = months_back(last, months - 1)
    counts = {}
    for row in (
        Incident.objects.filter(
            community=area,
            occurred_at__gte=_local_midnight(first),
            occurred_at__lt=_local_midnight(months_back(last, -1)),
        )
        .annotate(m=TruncMonth("occurred_at"))
        .values("m")
        .annotate(n=Count("id"))
    ):
        m = row["m"]
        m = timezone.localtime(m).date() if isinstance(m, datetime) else m
        counts[month_start(m)] = row["n"]
    # The colours' rule: the community's own rows, else its groups', else its buildings'.
    by_month = community_populations([area.pk], POPULATION_SINCE, last).get(area.pk, {})
    populations = sorted(by_month.items())
    trend = []
    for back in range(months - 1, -1, -1):
        m = months_back(last, back)
        # The month's population, else the latest before it, else the earliest known.
        known = [total for month, total in populations if month <= m]
        population = known[-1] if known else (populations[0][1] if populations else 0)
        n = counts.get(m, 0)
        trend.append({"month": m, "rate": round(n / population * 10000, 1) if population else None})
    top = max((t["rate"] or 0 for t in trend), default=0)
    for t in trend:
        t["bar"] = round((t["rate"] or 0) / top * 100) if top else 0
    return trend


def public_notices(area: GridArea) -> list[SafetyNotice]:
    return list(
        SafetyNotice.objects.filter(area=area, sent_at__isnull=False).order_by("-sent_at")[
            :PUBLIC_NOTICES
        ]
    )
