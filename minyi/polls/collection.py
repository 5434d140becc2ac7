"""Polls collected in Minyi (平台短信测评, DOMAIN.md capability 2): a random sample of residents'
mobiles per unit, an SMS with a single-use link to an anonymous H5 questionnaire, quotas per
unit and stratum, one reminder, quiet hours and opt-outs respected.

The surveys of capability 1 (minyi.perception.services.surveys) are the pattern: the same
quiet hours, the same outbox (an SMS is written in the transaction that decides to send it),
the same kind of token. What differs is anonymity: an answer becomes a `PollRespondent` with a
random reference and the day only; the invitation learns that it was answered and nothing
else, so no one reading the database or the pages can tell who answered what.

Sampling: the frame of a unit is the distinct mobiles of its subtree's recent service events
(sensitive business types left out) or an imported list (单位代码, 手机号). Numbers that opted
out or were already invited in this wave are left out; the rest are drawn at random (without
replacement) in the number the quota needs at the expected response rate. A stratum's quota
(from the unit's population margins) is filled as answers come: who is in which stratum is
known only from the answer, so the unit's total quota is what stops the invitations.
"""

import math
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.imports import Column, ImportReport, Row, Table, rows_import
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.integrations.sms.models import OptOut, OutboundSms, SmsPurpose
from minyi.integrations.sms.services import in_quiet_hours, optout_add, quiet_hours_end
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.perception.models import ServiceEvent
from minyi.polls.models import (
    DIMENSION_CHOICES,
    Dimension,
    InvitationStatus,
    Poll,
    PollInvitation,
    PollQuota,
    PollRespondent,
    PollSource,
    PollStatus,
    PopulationMargin,
    SampleSource,
)
from minyi.polls.selectors import poll_get_visible
from minyi.polls.services import can_manage, poll_weigh

MAX_UNIT_TARGET = 5000  # completed questionnaires one unit may ask for in one wave
OPEN_STATUSES = (InvitationStatus.SCHEDULED, InvitationStatus.SENT)
# What secrets.token_urlsafe makes; anything else (a NUL byte PostgreSQL would refuse, a
# 300-character path) is an unknown link before it reaches the database.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_random = secrets.SystemRandom()

INVITATION_TEMPLATE = (
    "{signature}您好，{bureau}正在开展民意测评，诚邀您用1分钟填写匿名问卷：{link} 回复TD退订"
)
REMINDER_TEMPLATE = (
    "{signature}您好，{bureau}民意测评问卷尚未填写。如愿意，请用1分钟作答：{link}"
    " 本提醒仅发送一次。回复TD退订"
)

# The imported list of mobiles (导入名单).
LIST_COLUMNS = [
    Column("unit", "单位代码", ("单位编码",)),
    Column("mobile", "手机号", ("手机", "手机号码")),
]


# --- Who may do what ----------------------------------------------------------------------


def collection_can_manage(user) -> bool:
    """Sampling and closing are the administrators' (管理员, `services.POLL_MANAGE`);
    supervisors and unit leaders watch (`services.POLL_VIEW`)."""
    return can_manage(user)


def poll_get_for_collection(user, pk) -> Poll:
    """A collected poll the user may see (its scope contains the user's unit or lies within
    the user's subtree); anything else, another district's poll included, is NotFound."""
    poll = poll_get_visible(user, pk)
    if poll.source != PollSource.COLLECTED:
        raise NotFound()
    return poll


def collection_units(user, poll: Poll) -> list[OrgUnit]:
    """The units the user may sample for: grassroots units (stations, brigades) in the poll's
    scope and the user's subtree."""
    return list(
        OrgUnit.objects.filter(poll.unit.subtree_filter(""), scope_q(user, ""), is_active=True)
        .exclude(kind__in=(UnitKind.CITY_BUREAU, UnitKind.DISTRICT_BUREAU))
        .order_by("path")
    )


def _require_manager(actor, poll: Poll) -> None:
    """An administrator who sees the poll (else PermissionDenied, or NotFound: a poll out of
    sight does not exist)."""
    if not collection_can_manage(actor):
        raise PermissionDenied()
    poll_get_for_collection(actor, poll.pk)


def _lock_poll(poll: Poll) -> Poll:
    """The poll row, locked: samplings and the close of one poll run one at a time."""
    return Poll.objects.select_for_update(of=("self",)).select_related("unit").get(pk=poll.pk)


# --- Sampling (抽样) -------------------------------------------------------------------------


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _response_rate() -> float:
    rate = settings.POLL_RESPONSE_RATE
    if not 0 < rate <= 1:
        raise ApplicationError(
            "bad_response_rate", _("预期回复率设置有误（应大于 0 且不超过 1），请联系管理员。")
        )
    return rate


def _stratum_quotas(unit_id: int, year: int, target: int) -> dict[tuple[str, str], int]:
    """The unit's quota per stratum category, proportional to its population margins of the
    poll's year (largest remainder, so each dimension sums to the target). None without
    margins."""
    margins = defaultdict(dict)
    for dimension, category, population in PopulationMargin.objects.filter(
        unit_id=unit_id, year=year
    ).values_list("dimension", "category", "population"):
        margins[dimension][category] = population
    quotas = {}
    for dimension, by_category in margins.items():
        total = sum(by_category.values())
        if not total:
            continue
        exact = {c: target * p / total for c, p in by_category.items()}
        floors = {c: math.floor(x) for c, x in exact.items()}
        left = target - sum(floors.values())
        for c in sorted(exact, key=lambda c: exact[c] - floors[c], reverse=True)[:left]:
            floors[c] += 1
        quotas.update({(dimension, c): n for c, n in floors.items()})
    return quotas


def _events_frame(unit: OrgUnit, *, since) -> dict[str, int]:
    """Distinct mobiles of the unit subtree's recent, non-sensitive service events: hash →
    the id of one event holding the number (decrypted only for those drawn)."""
    rows = (
        ServiceEvent.objects.filter(
            unit.subtree_filter("unit__"),
            occurred_at__gte=since,
            business_type__is_sensitive=False,
        )
        .exclude(citizen_mobile_hash="")
        .order_by("citizen_mobile_hash", "-occurred_at")
        .values_list("citizen_mobile_hash", "id")
    )
    frame: dict[str, int] = {}
    for mobile_hash, event_id in rows.iterator(chunk_size=5000):
        frame.setdefault(mobile_hash, event_id)
    return frame


def polls_sample(
    *,
    poll: Poll,
    actor,
    unit_targets: dict[int, int],
    source: str,
    mobiles: Iterable[tuple[int, str]] | None = None,
    now=None,
) -> dict:
    """Draw invitations for each unit's quota (`unit_targets`: unit id → completed
    questionnaires wanted). `source` is "events" (recent service events of the unit's subtree)
    or "list"; then `mobiles` holds (unit id, mobile) pairs of the imported list, a unit's
    frame being the pairs of its subtree. Sampling again raises or lowers a unit's quota and
    tops its invitations up; nobody is invited twice in one wave.

    Returns {"units": {unit_id: {"target", "frame", "invited", "short"}}, "invited": total}.
    """
    now = now or timezone.now()
    if source not in SampleSource.values:
        raise ApplicationError("bad_source", _("抽样来源无效。"), field="source")
    if source == SampleSource.IMPORTED_LIST and mobiles is None:
        raise ApplicationError("list_required", _("请上传名单文件。"), field="file")
    mobiles = list(mobiles or [])
    rate = _response_rate()
    with transaction.atomic():
        poll = _lock_poll(poll)
        _require_manager(actor, poll)
        if poll.source != PollSource.COLLECTED:
            raise ApplicationError("not_collected", _("只有平台短信测评可以抽样。"))
        if poll.status == PollStatus.CLOSED:
            raise ApplicationError("poll_closed", _("本轮测评已结束，不能再抽样。"))
        if timezone.localdate(now) > poll.fielded_to:
            raise ApplicationError("poll_ended", _("本轮测评调查期已过，不能再抽样。"))
        targets = {int(k): int(v) for k, v in unit_targets.items() if int(v) > 0}
        if not targets:
            raise ApplicationError("no_targets", _("请至少为一个单位填写目标样本量。"))
        if any(v > MAX_UNIT_TARGET for v in targets.values()):
            raise ApplicationError(
                "target_too_large",
                _("每个单位的目标样本量不能超过 %(n)d。") % {"n": MAX_UNIT_TARGET},
            )
        units = {u.pk: u for u in collection_units(actor, poll) if u.pk in targets}
        if set(targets) - set(units):
            raise NotFound(_("有单位不在本次测评范围或您的管辖范围内。"))

        # Who may not be invited: opted out, or invited already in this wave (any unit).
        taken = set(PollInvitation.objects.filter(poll=poll).values_list("mobile_hash", flat=True))
        list_frames: dict[int, dict[str, str]] = defaultdict(dict)
        if source == SampleSource.IMPORTED_LIST:
            paths = dict(
                OrgUnit.objects.filter(pk__in={u for u, _m in mobiles}).values_list("pk", "path")
            )
            for unit_id, mobile in mobiles:
                for target_id, unit in units.items():
                    if paths.get(unit_id, "").startswith(unit.path):
                        list_frames[target_id][lookup_hash("mobile", mobile)] = mobile
        send_at = quiet_hours_end(max(now, _day_start(poll.fielded_from)))
        since = now - timedelta(days=settings.POLL_SAMPLE_DAYS)
        answered = Counter(
            dict(
                PollInvitation.objects.filter(poll=poll, status=InvitationStatus.ANSWERED)
                .values_list("unit")
                .annotate(n=Count("id"))
            )
        )
        outstanding = Counter(
            dict(
                PollInvitation.objects.filter(poll=poll, status__in=OPEN_STATUSES)
                .values_list("unit")
                .annotate(n=Count("id"))
            )
        )
        report, invitations = {}, []
        for unit_id, target in targets.items():
            unit = units[unit_id]
            _quota_set(poll, unit_id, target)
            if source == SampleSource.SERVICE_EVENTS:
                frame = _events_frame(unit, since=since)
            else:
                frame = list_frames[unit_id]
            opted = _opted_out(frame.keys())
            eligible = sorted(h for h in frame if h not in taken and h not in opted)
            wanted = math.ceil(max(target - answered[unit_id], 0) / rate) - outstanding[unit_id]
            drawn = _random.sample(eligible, min(max(wanted, 0), len(eligible)))
            taken.update(drawn)
            numbers = _numbers(drawn, frame, source)
            for mobile_hash in drawn:
                invitations.append(
                    PollInvitation(
                        poll=poll,
                        unit_id=unit_id,
                        sample_source=source,
                        mobile=numbers[mobile_hash],
                        mobile_hash=mobile_hash,
                        token=secrets.token_urlsafe(12),
                        created_at=now,
                        send_at=send_at,
                    )
                )
            report[unit_id] = {
                "target": target,
                "frame": len(eligible),
                "invited": len(drawn),
                "short": len(drawn) < wanted,
            }
        PollInvitation.objects.bulk_create(invitations, batch_size=1000)
        if poll.status == PollStatus.DRAFT:
            Poll.objects.filter(pk=poll.pk).update(status=PollStatus.COLLECTING)
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=poll,
            detail={
                "action": "poll_sample",
                "source": source,
                "units": {
                    str(k): {"target": v["target"], "invited": v["invited"]}
                    for k, v in report.items()
                },
            },
        )
    return {"units": report, "invited": len(invitations)}


def _quota_set(poll: Poll, unit_id: int, target: int) -> None:
    PollQuota.objects.update_or_create(
        poll=poll, unit_id=unit_id, dimension="", category="", defaults={"target": target}
    )
    strata = _stratum_quotas(unit_id, poll.year, target)
    PollQuota.objects.filter(poll=poll, unit_id=unit_id).exclude(dimension="").delete()
    PollQuota.objects.bulk_create(
        PollQuota(poll=poll, unit_id=unit_id, dimension=d, category=c, target=n)
        for (d, c), n in strata.items()
    )


def _opted_out(hashes: Iterable[str]) -> set[str]:
    hashes = list(hashes)
    opted: set[str] = set()
    for i in range(0, len(hashes), 5000):
        opted.update(
            OptOut.objects.filter(mobile_hash__in=hashes[i : i + 5000]).values_list(
                "mobile_hash", flat=True
            )
        )
    return opted


def _numbers(drawn: list[str], frame: dict, source: str) -> dict[str, str]:
    """hash → mobile of the drawn: from the list, or decrypted from one event each."""
    if source == SampleSource.IMPORTED_LIST:
        return {h: frame[h] for h in drawn}
    numbers = {}
    ids = [frame[h] for h in drawn]
    for i in range(0, len(ids), 1000):
        for event in ServiceEvent.objects.filter(pk__in=ids[i : i + 1000]).only(
            "citizen_mobile", "citizen_mobile_hash"
        ):
            numbers[event.citizen_mobile_hash] = event.citizen_mobile
    return numbers


# --- The imported list (导入名单) --------------------------------------------------------------


def polls_sample_from_list(
    *, poll: Poll, actor, table: Table, unit_targets: dict[int, int], now=None
) -> tuple[ImportReport, dict | None]:
    """Check every row of an imported list (单位代码, 手机号) and, if no row is bad, sample
    from it. The list itself is not kept: it is a file of plain mobile numbers. Returns the
    import report and the sampling result (None when the file was refused)."""
    allowed = {u.code: u for u in collection_units(actor, poll)}
    targeted = [u for u in allowed.values() if unit_targets.get(u.pk)]
    known = set(
        OrgUnit.objects.filter(code__in=[r.cells["unit"] for r in table.rows]).values_list(
            "code", flat=True
        )
    )
    seen: dict[str, int] = {}

    def check_row(row: Row) -> tuple[int, str]:
        code = row.cells["unit"]
        if not code:
            raise ApplicationError("unit_required", _("单位代码不能为空。"), field="unit")
        if code not in known:
            raise ApplicationError(
                "unknown_unit", _("单位代码“%(code)s”不存在。") % {"code": code[:20]}, field="unit"
            )
        unit = allowed.get(code)
        if unit is None:
            raise ApplicationError(
                "unit_out_of_scope",
                _("单位代码“%(code)s”不在本次测评范围或您的管辖范围内。") % {"code": code},
                field="unit",
            )
        if not any(t.contains(unit) for t in targeted):
            raise ApplicationError(
                "unit_without_target",
                _("单位“%(name)s”未填写目标样本量。") % {"name": unit.name},
                field="unit",
            )
        if not row.cells["mobile"]:
            raise ApplicationError("mobile_required", _("手机号不能为空。"), field="mobile")
        try:
            mobile = normalize_mobile(row.cells["mobile"])
        except ApplicationError as exc:
            raise ApplicationError(exc.code, exc.message, field="mobile") from None
        first = seen.setdefault(mobile, row.number)
        if first != row.number:
            raise ApplicationError(
                "duplicate_mobile",
                _("手机号与第 %(row)d 行重复。") % {"row": first},
                field="mobile",
            )
        return unit.pk, mobile

    # Nothing to write per row: the checked pairs are the sampling frame.
    report = rows_import(table=table, check_row=check_row, store=lambda checked: checked)
    if not report.stored:
        return report, None
    result = polls_sample(
        poll=poll,
        actor=actor,
        unit_targets=unit_targets,
        source=SampleSource.IMPORTED_LIST,
        mobiles=report.results,
        now=now,
    )
    return report, result


# --- Sending, reminding, expiring (sweeps) ------------------------------------------------


def invitation_link(invitation: PollInvitation) -> str:
    return f"{settings.PUBLIC_BASE_URL}/q/{invitation.token}"


def invitation_text(invitation: PollInvitation, template: str = INVITATION_TEMPLATE) -> str:
    return template.format(
        signature=settings.SMS_SIGNATURE,
        bureau=invitation.poll.unit.name,
        link=invitation_link(invitation),
    )


def _units_full(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (poll, unit) pairs among `pairs` whose total quota is reached."""
    if not pairs:
        return set()
    polls = {p for p, _u in pairs}
    targets = {
        (p, u): t
        for p, u, t in PollQuota.objects.filter(poll__in=polls, dimension="").values_list(
            "poll", "unit", "target"
        )
    }
    done = {
        (p, u): n
        for p, u, n in PollRespondent.objects.filter(poll__in=polls)
        .values_list("poll", "unit")
        .annotate(n=Count("id"))
        .values_list("poll", "unit", "n")
    }
    return {k for k in pairs if k in targets and done.get(k, 0) >= targets[k]}


def poll_invitations_dispatch_due(*, now=None, limit: int = 1000) -> dict:
    """Put the SMS of every due invitation in the outbox, in the transaction that marks it
    sent: never in the quiet hours; a number that opted out, or a unit whose quota is full,
    gets none (the invitation is cancelled)."""
    now = now or timezone.now()
    if in_quiet_hours(now):
        return {"sent": 0, "cancelled": 0}
    with transaction.atomic():
        due = list(
            PollInvitation.objects.filter(
                status=InvitationStatus.SCHEDULED,
                send_at__lte=now,
                poll__status=PollStatus.COLLECTING,
            )
            .select_related("poll__unit")
            .order_by("send_at", "id")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        if not due:
            return {"sent": 0, "cancelled": 0}
        opted = _opted_out({i.mobile_hash for i in due})
        full = _units_full({(i.poll_id, i.unit_id) for i in due})
        sent, cancelled, messages = [], [], []
        for invitation in due:
            if invitation.mobile_hash in opted or (invitation.poll_id, invitation.unit_id) in full:
                cancelled.append(invitation.pk)
                continue
            sent.append(invitation.pk)
            messages.append(
                OutboundSms(
                    to_mobile=invitation.mobile,
                    to_mobile_hash=invitation.mobile_hash,
                    body=invitation_text(invitation),
                    purpose=SmsPurpose.POLL,
                    not_before=now,
                )
            )
        OutboundSms.objects.bulk_create(messages)
        expires_at = now + timedelta(days=settings.POLL_EXPIRY_DAYS)
        PollInvitation.objects.filter(pk__in=sent).update(
            status=InvitationStatus.SENT,
            sent_at=now,
            expires_at=expires_at,
            reminder_due_at=(
                now + timedelta(hours=settings.POLL_REMINDER_HOURS)
                if settings.POLL_REMINDER_HOURS
                else None
            ),
        )
        PollInvitation.objects.filter(pk__in=cancelled).update(status=InvitationStatus.CANCELLED)
    return {"sent": len(sent), "cancelled": len(cancelled)}


def poll_invitations_remind_and_expire(*, now=None, limit: int = 1000) -> dict:
    """Expire unanswered invitations past their time; then at most one reminder each, never
    at night, never after an opt-out or once the unit's quota is full."""
    now = now or timezone.now()
    expired = PollInvitation.objects.filter(
        status=InvitationStatus.SENT, expires_at__lte=now
    ).update(status=InvitationStatus.EXPIRED)
    reminded = 0
    if not in_quiet_hours(now):
        with transaction.atomic():
            due = list(
                PollInvitation.objects.filter(
                    status=InvitationStatus.SENT,
                    reminded_at__isnull=True,
                    reminder_due_at__lte=now,
                )
                .select_related("poll__unit")
                .order_by("reminder_due_at", "id")
                .select_for_update(skip_locked=True, of=("self",))[:limit]
            )
            opted = _opted_out({i.mobile_hash for i in due})
            full = _units_full({(i.poll_id, i.unit_id) for i in due})
            reminders = [
                OutboundSms(
                    to_mobile=invitation.mobile,
                    to_mobile_hash=invitation.mobile_hash,
                    body=invitation_text(invitation, REMINDER_TEMPLATE),
                    purpose=SmsPurpose.POLL,
                    not_before=now,
                )
                for invitation in due
                if invitation.poll.status == PollStatus.COLLECTING
                and invitation.mobile_hash not in opted
                and (invitation.poll_id, invitation.unit_id) not in full
            ]
            OutboundSms.objects.bulk_create(reminders)
            reminded = len(reminders)
            # Every due one is marked, reminded or not: there is never a second chance.
            PollInvitation.objects.filter(pk__in=[i.pk for i in due]).update(reminded_at=now)
    return {"expired": expired, "reminded": reminded}


def _cancel_scheduled_if_full(poll_id: int, unit_id: int) -> int:
    if (poll_id, unit_id) not in _units_full({(poll_id, unit_id)}):
        return 0
    return PollInvitation.objects.filter(
        poll_id=poll_id, unit_id=unit_id, status=InvitationStatus.SCHEDULED
    ).update(status=InvitationStatus.CANCELLED)


# --- The questionnaire (/q/<token>) -----------------------------------------------------------


def invitation_for_token(token: str, *, now=None) -> tuple[PollInvitation | None, str]:
    """The invitation of a link and what the page should do with it: "open" (answer it),
    "unknown", "answered", "expired", "cancelled" or "closed" (the poll ended)."""
    now = now or timezone.now()
    invitation = (
        PollInvitation.objects.select_related("poll__unit").filter(token=token).first()
        if TOKEN_RE.fullmatch(token)
        else None
    )
    if invitation is None or invitation.status == InvitationStatus.SCHEDULED:
        return invitation, "unknown"
    if invitation.status != InvitationStatus.SENT:
        return invitation, invitation.status
    if invitation.poll.status != PollStatus.COLLECTING:
        return invitation, "closed"
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return invitation, InvitationStatus.EXPIRED
    return invitation, "open"


def poll_answer(*, token: str, answers: dict, now=None) -> PollRespondent:
    """Store one questionnaire (answers: the five indicators as booleans, age_band, sex,
    residence, comment). Single use: the invitation moves from SENT to ANSWERED by a
    conditional UPDATE, so of two submits at once one stores and the other is refused.

    The respondent row has a random reference, the day only, and no link to the invitation;
    the invitation keeps the day too (its `answered_at` is the day's start), so not even the
    time of day matches one to the other."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        invitation = TOKEN_RE.fullmatch(token) and (
            PollInvitation.objects.filter(token=token, poll__status=PollStatus.COLLECTING)
            .values("pk", "poll_id", "unit_id")
            .first()
        )
        # The condition names the invitation's own columns only: PostgreSQL re-checks them on
        # the row a concurrent submit just committed (a join's condition would not be). A
        # close meanwhile moves SENT to EXPIRED, so it is caught here too.
        claimed = invitation and PollInvitation.objects.filter(
            pk=invitation["pk"], status=InvitationStatus.SENT, expires_at__gt=now
        ).update(status=InvitationStatus.ANSWERED, answered_at=_day_start(today))
        if not claimed:
            raise ApplicationError(
                "invitation_closed", _("本次测评链接已失效或已作答。"), status=409
            )
        respondent = PollRespondent.objects.create(
            poll_id=invitation["poll_id"],
            unit_id=invitation["unit_id"],
            respondent_ref=f"Q{secrets.token_hex(10)}",
            answered_on=today,
            age_band=answers["age_band"],
            sex=answers["sex"],
            residence=answers["residence"],
            saw_police=answers["saw_police"],
            attitude=answers["attitude"],
            familiarity=answers["familiarity"],
            satisfaction=answers["satisfaction"],
            safety=answers["safety"],
            comment=answers.get("comment", ""),
        )
        _cancel_scheduled_if_full(invitation["poll_id"], invitation["unit_id"])
    return respondent


def poll_optout(*, token: str) -> bool:
    """ "不再接收测评短信" from the questionnaire page: the number joins the opt-out list, and
    its open invitations (this wave's unless answered, and any other wave's) are cancelled.
    Returns False for an unknown link."""
    if not TOKEN_RE.fullmatch(token):
        return False
    invitation = PollInvitation.objects.filter(token=token).values("mobile_hash").first()
    if invitation is None:
        return False
    with transaction.atomic():
        optout_add(mobile_hash=invitation["mobile_hash"], source="h5")
        PollInvitation.objects.filter(
            mobile_hash=invitation["mobile_hash"], status__in=OPEN_STATUSES
        ).update(status=InvitationStatus.CANCELLED)
    return True


# --- Closing (结束收集) ------------------------------------------------------------------------


def poll_collection_close(*, poll: Poll, actor, now=None) -> dict:
    """End the collection: scheduled invitations are cancelled, sent ones expire (their links
    close), the poll is closed; then its respondents are weighted and its estimates written
    (`poll_weigh`). A failed weighting leaves the poll closed (it can be recomputed from the
    poll's page); its refusal is returned as `weigh_error`."""
    now = now or timezone.now()
    with transaction.atomic():
        poll = _lock_poll(poll)
        _require_manager(actor, poll)
        if not (actor.is_superuser or actor.unit.contains(poll.unit)):
            raise PermissionDenied(_("只有测评范围所在单位的管理员可以结束收集。"))
        if poll.source != PollSource.COLLECTED or poll.status != PollStatus.COLLECTING:
            raise ApplicationError("not_collecting", _("本轮测评不在收集中，不能结束收集。"))
        cancelled = PollInvitation.objects.filter(
            poll=poll, status=InvitationStatus.SCHEDULED
        ).update(status=InvitationStatus.CANCELLED)
        expired = PollInvitation.objects.filter(poll=poll, status=InvitationStatus.SENT).update(
            status=InvitationStatus.EXPIRED
        )
        Poll.objects.filter(pk=poll.pk).update(status=PollStatus.CLOSED)
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=poll,
            detail={"action": "poll_collection_close", "cancelled": cancelled, "expired": expired},
        )
    result = {"cancelled": cancelled, "expired": expired, "weighed": None, "weigh_error": ""}
    try:
        result["weighed"] = poll_weigh(poll=poll, actor=actor)
    except ApplicationError as exc:
        result["weigh_error"] = str(exc.message)
    return result


# --- Progress (进度) ---------------------------------------------------------------------------


def poll_collection_progress(user, poll: Poll) -> list[dict]:
    """Per unit in the user's subtree: quota, invited, sent, answered, response rate, and each
    stratum's fill. Aggregates only: no row says who answered what. Four queries whatever
    the number of units."""
    scoped = scope_q(user)
    quotas = defaultdict(dict)
    for unit_id, dimension, category, target in PollQuota.objects.filter(
        scoped, poll=poll
    ).values_list("unit", "dimension", "category", "target"):
        quotas[unit_id][(dimension, category)] = target
    invitations = {
        row["unit"]: row
        for row in PollInvitation.objects.filter(scoped, poll=poll)
        .values("unit")
        .annotate(
            invited=Count("id", filter=~Q(status=InvitationStatus.CANCELLED)),
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            answered=Count("id", filter=Q(status=InvitationStatus.ANSWERED)),
            scheduled=Count("id", filter=Q(status=InvitationStatus.SCHEDULED)),
            cancelled=Count("id", filter=Q(status=InvitationStatus.CANCELLED)),
        )
    }
    filled = defaultdict(Counter)
    respondents = PollRespondent.objects.filter(scoped, poll=poll)
    for row in respondents.values("unit", "age_band", "sex", "residence").annotate(n=Count("id")):
        for dimension in Dimension.values:
            filled[row["unit"]][(dimension, row[dimension])] += row["n"]
            if dimension == Dimension.AGE_BAND:
                filled[row["unit"]][("", "")] += row["n"]
    unit_ids = set(quotas) | set(invitations)
    units = OrgUnit.objects.filter(pk__in=unit_ids).order_by("path")
    rows = []
    for unit in units:
        counts = invitations.get(unit.pk, {})
        target = quotas[unit.pk].get(("", ""), 0)
        answered = filled[unit.pk][("", "")]
        sent = counts.get("sent", 0)
        strata = [
            {
                "dimension": str(Dimension(d).label),
                "category": str(dict(DIMENSION_CHOICES[d].choices).get(c, c)),
                "target": t,
                "filled": filled[unit.pk][(d, c)],
            }
            for (d, c), t in sorted(quotas[unit.pk].items())
            if d
        ]
        rows.append(
            {
                "unit": unit,
                "target": target,
                "invited": counts.get("invited", 0),
                "scheduled": counts.get("scheduled", 0),
                "sent": sent,
                "answered": answered,
                "cancelled": counts.get("cancelled", 0),
                "response_rate": counts.get("answered", 0) / sent if sent else None,
                "quota_share": min(answered / target, 1.0) if target else None,
                "strata": strata,
            }
        )
    return rows
