"""Reads of vote campaigns (票选), always scoped to the user's subtree by the organising unit
(`campaign.unit`): outside it a campaign does not exist. Also the one rule of which moves a
user may make on a campaign now (`CAMPAIGN_ACTIONS`): the page draws a button per allowed
move and the services raise the same rule's refusal."""

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.lifecycle import Actions
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import scope_q
from minyi.votes.access import VOTE_MANAGE, VOTE_VIEW
from minyi.votes.models import (
    CAMPAIGN_LIFECYCLE,
    Campaign,
    CampaignStatus,
    FlagStatus,
    Option,
    OptionPhoto,
    PaperSheet,
    SheetStatus,
    StuffingFlag,
)

S = CampaignStatus
MIN_OPTIONS = 2


def campaign_scope_q(user) -> Q:
    """Q restricting Campaign rows to those organised within `user`'s subtree."""
    if not user.is_superuser and not has_perm(user, VOTE_VIEW):
        return Q(pk__in=[])
    return scope_q(user, "unit__")


def _visible(user) -> QuerySet[Campaign]:
    return Campaign.objects.filter(campaign_scope_q(user))


def campaign_list_visible_to(user, status: str | None = None) -> QuerySet[Campaign]:
    """Campaigns the user may see, the latest opening first; `status` a CampaignStatus value
    (None or "" for all)."""
    qs = _visible(user).select_related("unit").annotate(option_count=Count("options"))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-opens_at", "-id")


def campaign_counts_visible_to(user) -> dict:
    """Campaigns per status and all, for the list's tabs: one query."""
    counts = {value: Count("id", filter=Q(status=value)) for value in S.values}
    counts["all"] = Count("id")
    return _visible(user).aggregate(**counts)


def campaign_get_visible_to(user, pk) -> Campaign:
    campaign = _visible(user).filter(pk=pk).select_related("unit", "created_by").first()
    if campaign is None:
        raise NotFound()
    return campaign


def campaign_options(campaign: Campaign) -> list[Option]:
    """The options in ballot order, with their unit, source suggestion and photos."""
    return list(
        campaign.options.select_related("unit", "opinion")
        .prefetch_related(Prefetch("photos", queryset=OptionPhoto.objects.order_by("id")))
        .order_by("number")
    )


def option_get_visible_to(user, campaign_pk, pk) -> Option:
    option = (
        Option.objects.filter(pk=pk, campaign_id=campaign_pk)
        .filter(Q(campaign__in=_visible(user)))
        .select_related("campaign")
        .first()
    )
    if option is None:
        raise NotFound()
    return option


def option_photo_get_visible_to(user, campaign_pk, pk) -> OptionPhoto:
    photo = (
        OptionPhoto.objects.filter(pk=pk, option__campaign_id=campaign_pk)
        .filter(option__campaign__in=_visible(user))
        .first()
    )
    if photo is None:
        raise NotFound()
    return photo


def campaign_history(campaign: Campaign):
    return campaign.history.select_related("actor").order_by("created_at", "id")


def paper_unsettled(campaign: Campaign) -> int:
    """Paper sheets still waiting for a second keying or a settled mismatch."""
    return PaperSheet.objects.filter(
        campaign=campaign, status__in=(SheetStatus.PENDING, SheetStatus.MISMATCH)
    ).count()


def flags_open(campaign: Campaign) -> int:
    """Stuffing flags (刷票嫌疑) still waiting for a supervisor's review."""
    return StuffingFlag.objects.filter(campaign=campaign, status=FlagStatus.OPEN).count()


# --- What a user may do to a campaign now ----------------------------------------------------


def _not_draft() -> ApplicationError:
    return ApplicationError(
        "campaign_not_draft", _("投票活动已开始，设置和候选项不能再修改。"), status=409
    )


def campaign_action_refusal(user, campaign: Campaign, action: str, *, now=None):
    """Why `user` may not take `action` ("edit", "open", "close", "publish") on `campaign`
    now (the error the service raises), or None when they may. Publishing waits for every
    paper sheet to be settled and every stuffing flag to be reviewed."""
    if not has_perm(user, VOTE_MANAGE):
        return PermissionDenied()
    R = CAMPAIGN_LIFECYCLE
    now = now or timezone.now()
    if action == "edit":
        return None if campaign.status == S.DRAFT else _not_draft()
    if action == "open":
        if not R.can_move(campaign, S.OPEN):
            return R.refusal(campaign)
        count = campaign.options.count()
        if count < MIN_OPTIONS:
            return ApplicationError(
                "too_few_options", _("至少需要 2 个候选项才能开始投票。"), status=409
            )
        if campaign.max_choices > count:
            return ApplicationError(
                "max_choices_above_options",
                _("最多可选 %(m)d 项，但只有 %(n)d 个候选项。")
                % {"m": campaign.max_choices, "n": count},
                status=409,
            )
        if campaign.closes_at <= now:
            return ApplicationError(
                "closes_at_past", _("截止时间已过，请先修改截止时间。"), status=409
            )
        return None
    if action == "close":
        return None if R.can_move(campaign, S.CLOSED) else R.refusal(campaign)
    if action == "publish":
        if not R.can_move(campaign, S.PUBLISHED):
            return R.refusal(campaign)
        pending = paper_unsettled(campaign)
        if pending:
            return ApplicationError(
                "paper_pending",
                _("还有 %(n)d 张纸质票选表未完成录入或核对，不能公布结果。") % {"n": pending},
                status=409,
            )
        if flags_open(campaign):
            return ApplicationError(
                "flags_open",
                _("还有刷票嫌疑未复核，复核后才能公布结果。"),
                status=409,
            )
        return None
    raise ValueError(f"unknown campaign action {action!r}")


# The moves of a campaign's page, in the order the page offers them.
CAMPAIGN_ACTIONS = Actions(
    names=("edit", "open", "close", "publish"), refusal=campaign_action_refusal
)


def campaign_actions_for(user, campaign: Campaign, *, now=None) -> frozenset:
    return CAMPAIGN_ACTIONS.allowed(user, campaign, now=now)


campaign_action_require = CAMPAIGN_ACTIONS.require
