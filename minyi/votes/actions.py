"""Accountability for the chosen actions (惠民实事落实, Decidim's accountability module): a
published campaign's option becomes an `ActionPlan` with a responsible unit (责任单位), its
milestones (节点) and public progress updates (进展), and citizens who follow it by SMS.

Who may do what:
- The organiser (VOTE_MANAGE, the campaign's unit in their subtree) creates a plan for an
  option of a PUBLISHED campaign, naming a responsible unit inside their own subtree.
- The responsible unit's leader (ACTION_UPDATE, the plan's unit in their subtree) or the
  organiser adds milestones, marks them done and publishes updates.
- Staff see a plan when either the campaign's unit or the plan's unit is in their subtree.

Progress never goes backwards silently: an update below the plan's current percentage is
refused unless the author gives a reason (`lower_reason`), which is then written into the
published text ("进度下调说明：…"), so the public timeline says why.

Each published update sends one SMS to every current follower (signature, the action's title,
the new percentage and the public page's link; nothing else), through
sms_enqueue_unsolicited: opted-out numbers are skipped and night-time messages wait for the
morning. A follower's mobile is stored encrypted, with a keyed hash for look-ups.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.core.uploads import check_photos
from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import sms_enqueue_unsolicited
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.votes.models import (
    ActionFollower,
    ActionPlan,
    ActionUpdate,
    CampaignStatus,
    Milestone,
    Option,
    UpdatePhoto,
)
from minyi.votes.results import campaign_tally

MAX_PHOTOS = 3
TEXT_MAX = 2000
TARGET_MAX = 1000
REASON_MIN = 5
# An SMS stays one or two segments: a long title is cut.
SMS_TITLE_MAX = 30
FIGURE_LIMIT = Decimal("9999999999.99")  # max_digits=12, decimal_places=2


# --- Scope -----------------------------------------------------------------------------------


def plan_scope_q(user) -> Q:
    """Q restricting ActionPlan rows to what `user` may see: the organiser's subtree or the
    responsible unit's subtree."""
    if user.is_superuser:
        return Q()
    if not user.is_authenticated or user.unit_id is None or not has_perm(user, Perm.VOTE_VIEW):
        return Q(pk__in=[])
    return user.unit.subtree_filter("option__campaign__unit__") | user.unit.subtree_filter("unit__")


def _within(user, unit) -> bool:
    return user.is_superuser or (user.unit_id is not None and user.unit.contains(unit))


def plan_list_visible_to(user) -> QuerySet[ActionPlan]:
    return (
        ActionPlan.objects.filter(plan_scope_q(user))
        .select_related("option__campaign__unit", "unit")
        .order_by("-option__campaign__published_at", "option__campaign_id", "option__number")
    )


def plan_get_visible_to(user, pk) -> ActionPlan:
    plan = plan_list_visible_to(user).filter(pk=pk).first()
    if plan is None:
        raise NotFound()
    return plan


def can_manage_campaign(user, campaign) -> bool:
    return has_perm(user, Perm.VOTE_MANAGE) and _within(user, campaign.unit)


def can_update(user, plan: ActionPlan) -> bool:
    """The responsible unit's leader, or the organiser."""
    if has_perm(user, Perm.ACTION_UPDATE) and _within(user, plan.unit):
        return True
    return can_manage_campaign(user, plan.option.campaign)


def option_get_for_plan(user, pk) -> Option:
    """An option of a campaign the user organises (VOTE_MANAGE, in the subtree), else 404."""
    option = Option.objects.filter(pk=pk).select_related("campaign__unit", "unit").first()
    if option is None or not can_manage_campaign(user, option.campaign):
        raise NotFound()
    return option


def options_awaiting_plan(user) -> QuerySet[Option]:
    """Options of the user's published campaigns that have no plan yet (for organisers)."""
    if not has_perm(user, Perm.VOTE_MANAGE):
        return Option.objects.none()
    scope = Q() if user.is_superuser else user.unit.subtree_filter("campaign__unit__")
    return (
        Option.objects.filter(scope, campaign__status=CampaignStatus.PUBLISHED, plan__isnull=True)
        .select_related("campaign")
        .order_by("-campaign__published_at", "campaign_id", "number")
    )


def responsible_unit_choices(user) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(is_active=True).order_by("path")
    return qs if user.is_superuser else qs.filter(user.unit.subtree_filter())


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied()


# --- Staff services --------------------------------------------------------------------------


@transaction.atomic
def plan_create(actor, option: Option, *, unit: OrgUnit, target: str = "") -> ActionPlan:
    campaign = option.campaign
    _require(can_manage_campaign(actor, campaign))
    if campaign.status != CampaignStatus.PUBLISHED:
        raise ApplicationError(
            "campaign_not_published",
            _("投票结果公布后才能将候选项目列为实事项目。"),
            status=409,
        )
    if unit is None or not unit.is_active or not _within(actor, unit):
        raise ApplicationError(
            "unit_outside_subtree", _("责任单位须为本单位或下级单位。"), field="unit", status=422
        )
    target = (target or "").strip()
    if len(target) > TARGET_MAX:
        raise ApplicationError(
            "target_too_long",
            _("目标不能超过 %(n)d 个字。") % {"n": TARGET_MAX},
            field="target",
            status=422,
        )
    if ActionPlan.objects.filter(option=option).exists():
        raise ApplicationError("plan_exists", _("该项目已列为实事项目。"), status=409)
    try:
        with transaction.atomic():
            plan = ActionPlan.objects.create(option=option, unit=unit, target=target)
    except IntegrityError as exc:  # two organisers at once
        raise ApplicationError("plan_exists", _("该项目已列为实事项目。"), status=409) from exc
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=plan,
        detail={"campaign": campaign.pk, "option": option.pk, "unit": unit.pk},
    )
    return plan


@transaction.atomic
def milestone_add(actor, plan: ActionPlan, *, title: str, due_on) -> Milestone:
    _require(can_update(actor, plan))
    title = (title or "").strip()
    if not title or len(title) > 100:
        raise ApplicationError(
            "invalid_title", _("请填写节点名称（不超过 100 个字）。"), field="title", status=422
        )
    if due_on is None:
        raise ApplicationError(
            "due_required", _("请填写计划完成日期。"), field="due_on", status=422
        )
    milestone = Milestone.objects.create(plan=plan, title=title, due_on=due_on)
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=milestone,
        detail={"plan": plan.pk, "due_on": due_on.isoformat()},
    )
    return milestone


@transaction.atomic
def milestone_done(actor, milestone: Milestone, done_on, *, now=None) -> Milestone:
    _require(can_update(actor, milestone.plan))
    today = timezone.localdate(now or timezone.now())
    if done_on is None or done_on > today:
        raise ApplicationError(
            "invalid_done_on", _("实际完成日期不能晚于今天。"), field="done_on", status=422
        )
    milestone.done_on = done_on
    milestone.save(update_fields=["done_on"])
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=milestone,
        detail={"plan": milestone.plan_id, "done_on": done_on.isoformat()},
    )
    return milestone


def update_photos_check(photos) -> list[tuple]:
    """At most MAX_PHOTOS JPEG or PNG files, judged by content."""
    return check_photos(photos, max_files=MAX_PHOTOS)


def _percent(value) -> int:
    try:
        percent = int(value)
    except (TypeError, ValueError):
        percent = -1
    if percent < 0 or percent > 100 or str(percent) != str(value).strip():
        raise ApplicationError(
            "percent_range",
            _("完成进度须为 0 到 100 之间的整数。"),
            field="percent_done",
            status=422,
        )
    return percent


def _figure(label: str, value):
    label = (label or "").strip()
    if value in (None, ""):
        if label:
            raise ApplicationError(
                "figure_value_required",
                _("填写了数据名称，请同时填写数据。"),
                field="figure_value",
                status=422,
            )
        return "", None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError(
            "figure_invalid", _("数据须为数字。"), field="figure_value", status=422
        ) from exc
    if abs(number) > FIGURE_LIMIT:
        raise ApplicationError(
            "figure_invalid", _("数据超出范围。"), field="figure_value", status=422
        )
    if not label or len(label) > 40:
        raise ApplicationError(
            "figure_label_required",
            _("请填写数据名称（不超过 40 个字），如“受益群众（人）”。"),
            field="figure_label",
            status=422,
        )
    return label, number


def public_url(plan: ActionPlan) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('votes_public:action', args=[plan.pk])}"


def sms_body(plan: ActionPlan, percent: int) -> str:
    """The follower's SMS: signature, title, percentage, link. Nothing about anyone."""
    title = plan.option.title
    if len(title) > SMS_TITLE_MAX:
        title = title[: SMS_TITLE_MAX - 1] + "…"
    return _("%(sig)s您关注的实事项目“%(title)s”有新进展，完成 %(pct)d%%。详情：%(url)s") % {
        "sig": settings.SMS_SIGNATURE,
        "title": title,
        "pct": percent,
        "url": public_url(plan),
    }


@transaction.atomic
def update_publish(
    actor,
    plan: ActionPlan,
    *,
    text: str,
    percent_done,
    figure_label: str = "",
    figure_value=None,
    photos=(),
    lower_reason: str = "",
    now=None,
) -> ActionUpdate:
    now = now or timezone.now()
    _require(can_update(actor, plan))
    text = (text or "").strip()
    if not text:
        raise ApplicationError("text_required", _("请填写进展情况。"), field="text", status=422)
    percent = _percent(percent_done)
    plan = ActionPlan.objects.select_for_update().select_related("option").get(pk=plan.pk)
    lower_reason = (lower_reason or "").strip()
    if percent < plan.percent_done:
        if len(lower_reason) < REASON_MIN:
            raise ApplicationError(
                "percent_lowered",
                _("完成进度低于上次公布的 %(pct)d%%：请在“进度下调说明”中写明原因。")
                % {"pct": plan.percent_done},
                field="lower_reason",
                status=422,
            )
        text = f"{text}\n{_('进度下调说明')}：{lower_reason}"
    if len(text) > TEXT_MAX:
        raise ApplicationError(
            "text_too_long",
            _("进展情况不能超过 %(n)d 个字。") % {"n": TEXT_MAX},
            field="text",
            status=422,
        )
    label, value = _figure(figure_label, figure_value)
    checked = update_photos_check(photos)
    update = ActionUpdate.objects.create(
        plan=plan,
        text=text,
        figure_label=label,
        figure_value=value,
        percent_done=percent,
        author=actor,
        published_at=now,
    )
    for upload, content_type, suffix in checked:
        photo = UpdatePhoto(update=update, content_type=content_type)
        photo.file.save(f"{update.pk}{suffix}", upload, save=False)
        photo.save()
    before = plan.percent_done
    plan.percent_done = percent
    plan.save(update_fields=["percent_done", "updated_at"])
    body = sms_body(plan, percent)
    sent = 0
    for follower in ActionFollower.objects.filter(plan=plan, stopped_at__isnull=True).order_by(
        "id"
    ):
        message = sms_enqueue_unsolicited(
            mobile=follower.mobile, body=body, purpose=SmsPurpose.ACTION_UPDATE, now=now
        )
        sent += message is not None
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=update,
        detail={
            "plan": plan.pk,
            "percent_before": before,
            "percent_done": percent,
            "photos": len(checked),
            "sms": sent,
        },
    )
    return update


# --- Citizens: follow by SMS -----------------------------------------------------------------


def follower_active(plan: ActionPlan, mobile: str) -> bool:
    if not mobile:
        return False
    return ActionFollower.objects.filter(
        plan=plan, mobile_hash=lookup_hash("mobile", mobile), stopped_at__isnull=True
    ).exists()


@transaction.atomic
def follow(plan: ActionPlan, mobile: str, *, now=None) -> ActionFollower:
    """Follow `plan` from a proven mobile: idempotent; a stopped follower starts again."""
    now = now or timezone.now()
    if plan.option.campaign.status != CampaignStatus.PUBLISHED:
        raise NotFound()
    mobile = normalize_mobile(mobile)
    mobile_hash = lookup_hash("mobile", mobile)
    follower = (
        ActionFollower.objects.select_for_update()
        .filter(plan=plan, mobile_hash=mobile_hash)
        .first()
    )
    if follower is None:
        try:
            with transaction.atomic():
                return ActionFollower.objects.create(
                    plan=plan, mobile=mobile, mobile_hash=mobile_hash, created_at=now
                )
        except IntegrityError:  # the same citizen twice at once
            follower = ActionFollower.objects.get(plan=plan, mobile_hash=mobile_hash)
    if follower.stopped_at is not None:
        follower.stopped_at = None
        follower.mobile = mobile
        follower.save(update_fields=["stopped_at", "mobile"])
    return follower


def unfollow(plan: ActionPlan, mobile: str, *, now=None) -> bool:
    """Stop the SMS; True when a current follower stopped (False: was not following)."""
    mobile = normalize_mobile(mobile)
    return bool(
        ActionFollower.objects.filter(
            plan=plan, mobile_hash=lookup_hash("mobile", mobile), stopped_at__isnull=True
        ).update(stopped_at=now or timezone.now())
    )


def follower_count(plan: ActionPlan) -> int:
    return ActionFollower.objects.filter(plan=plan, stopped_at__isnull=True).count()


# --- Public reads ----------------------------------------------------------------------------


def public_plans() -> QuerySet[ActionPlan]:
    """Plans of published campaigns, for everyone."""
    return (
        ActionPlan.objects.filter(option__campaign__status=CampaignStatus.PUBLISHED)
        .select_related("option__campaign", "unit")
        .order_by("-option__campaign__published_at", "option__campaign_id", "option__number")
    )


def public_plan_get(pk) -> ActionPlan:
    plan = public_plans().filter(pk=pk).first()
    if plan is None:
        raise NotFound()
    return plan


def public_photo_get(plan_pk, pk) -> UpdatePhoto:
    photo = UpdatePhoto.objects.filter(
        pk=pk,
        update__plan_id=plan_pk,
        update__plan__option__campaign__status=CampaignStatus.PUBLISHED,
    ).first()
    if photo is None:
        raise NotFound()
    return photo


def plan_updates(plan: ActionPlan):
    return plan.updates.select_related("author").prefetch_related("photos")


def option_vote_count(option: Option) -> int:
    """Counted ballots (online and paper) that chose `option`, as the results page counts
    them."""
    rows = campaign_tally(option.campaign)["options"]
    return next((row["total"] for row in rows if row["option"].pk == option.pk), 0)


def plan_counts(plans) -> dict:
    """{plan pk: current followers} for a list page, one query."""
    rows = (
        ActionFollower.objects.filter(plan__in=plans, stopped_at__isnull=True)
        .values("plan")
        .annotate(n=Count("id"))
    )
    return {row["plan"]: row["n"] for row in rows}
