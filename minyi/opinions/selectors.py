"""Reads of opinions, their photos and tip rewards for the staff console, always scoped to the
actor's subtree (by the unit that holds the opinion now). Outside the subtree a row does not
exist."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.lifecycle import Actions
from minyi.core.pii import lookup_hash
from minyi.core.ui import order_by_urgency
from minyi.opinions.models import (
    OPEN_STATUSES,
    OPINION_LIFECYCLE,
    REWARD_LIFECYCLE,
    Opinion,
    OpinionChannel,
    OpinionKind,
    OpinionPhoto,
    OpinionStatus,
    ReplyBy,
    RewardStatus,
    TipReward,
    TipVerdict,
)
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import SATISFIED_RATINGS

S = OpinionStatus
OVERDUE = "overdue"  # a pseudo-status for the queue's tab: still open, past its deadline
OPEN = "open"  # not answered yet: what the queue shows first
LETTER_DUE = "letter_due"  # answered by letter, the letter not printed yet (待打印回函)
# An answered opinion whose letter is still to print: the same rule as letter_due below.
LETTER_DUE_Q = Q(
    reply_by=ReplyBy.LETTER,
    status__in=(S.ANSWERED, S.CLOSED),
    letter_printed_at__isnull=True,
)


def letter_due(opinion: Opinion) -> bool:
    return (
        opinion.reply_by == ReplyBy.LETTER
        and opinion.status in (S.ANSWERED, S.CLOSED)
        and opinion.letter_printed_at is None
    )


def _overdue_q(today) -> Q:
    # The same rule as Opinion.is_overdue, in SQL.
    return Q(status__in=OPEN_STATUSES, deadline__lt=today)


def _filtered(user, *, kind: str = "", channel: str = "") -> QuerySet[Opinion]:
    qs = Opinion.objects.filter(scope_q(user, "unit__"))
    if kind:
        qs = qs.filter(kind=kind)
    if channel:
        qs = qs.filter(channel=channel)
    return qs


def opinion_list_visible_to(
    user, *, status: str = "", kind: str = "", channel: str = ""
) -> QuerySet[Opinion]:
    """Opinions of the user's subtree (optionally one status, OVERDUE, LETTER_DUE, one kind,
    one channel): overdue first, then by deadline; answered and closed ones newest first."""
    today = timezone.localdate()
    qs = _filtered(user, kind=kind, channel=channel).select_related("unit", "escalated_to")
    if status == OVERDUE:
        qs = qs.filter(_overdue_q(today))
    elif status == OPEN:
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status == LETTER_DUE:
        qs = qs.filter(LETTER_DUE_Q)
    elif status:
        qs = qs.filter(status=status)
    if status in (S.ANSWERED, S.CLOSED, LETTER_DUE):
        return qs.order_by("-answered_at", "-submitted_at", "-id")
    return order_by_urgency(qs, overdue=_overdue_q(today), open_statuses=OPEN_STATUSES)


def opinion_counts_visible_to(user, *, kind: str = "", channel: str = "") -> dict:
    """Opinions per status, overdue ones, letters to print and all, for the queue's tabs:
    one query."""
    today = timezone.localdate()
    counts = {value: Count("id", filter=Q(status=value)) for value in S.values}
    counts[OVERDUE] = Count("id", filter=_overdue_q(today))
    counts[OPEN] = Count("id", filter=Q(status__in=OPEN_STATUSES))
    counts[LETTER_DUE] = Count("id", filter=LETTER_DUE_Q)
    counts["all"] = Count("id")
    return _filtered(user, kind=kind, channel=channel).aggregate(**counts)


def opinion_get_visible_to(user, pk) -> Opinion:
    opinion = (
        Opinion.objects.filter(scope_q(user, "unit__"), pk=pk)
        .select_related(
            "unit", "requested_unit", "escalated_to", "answered_by", "case", "entered_by"
        )
        .first()
    )
    if opinion is None:
        raise NotFound()
    return opinion


def opinion_history(opinion: Opinion):
    return opinion.history.select_related("actor", "unit")


def opinion_photos(opinion: Opinion):
    """An opinion's photos; the caller already holds the opinion through a scoped read."""
    return opinion.photos.all()


def opinion_photo_get_visible_to(user, opinion_pk, pk) -> OpinionPhoto:
    photo = (
        OpinionPhoto.objects.filter(scope_q(user, "opinion__unit__"), opinion_id=opinion_pk, pk=pk)
        .select_related("opinion")
        .first()
    )
    if photo is None:
        raise NotFound()
    return photo


def reward_for(opinion: Opinion) -> TipReward | None:
    return (
        TipReward.objects.filter(opinion=opinion)
        .select_related("proposed_by__unit", "decided_by", "paid_by")
        .first()
    )


def reward_history(reward: TipReward):
    return reward.history.select_related("actor")


def reward_approver_above(actor, reward: TipReward) -> bool:
    """Whether `actor`'s unit is strictly above the unit of whoever proposed `reward` (the
    tier that proposed may not approve, whichever unit holds the tip), and `actor` did not
    propose it. A superuser without a unit (break-glass) counts as above everyone."""
    if actor.pk == reward.proposed_by_id:
        return False
    if actor.unit_id is None:
        return bool(actor.is_superuser)
    proposer_unit = reward.proposed_by.unit
    if proposer_unit is None:
        return False
    own = actor.unit.path
    return proposer_unit.path.startswith(own) and len(proposer_unit.path) > len(own)


def reward_decidable_by(user, reward: TipReward | None) -> bool:
    """The rule reward_decide enforces: a proposed reward, proposed by someone else from a
    unit strictly below the user's own."""
    return _reward_refusal(user, "decide", reward) is None


# --- What a user may do to an opinion now --------------------------------------------------

# The permission each action needs; without it the service answers PermissionDenied.
OPINION_ACTION_PERMS = {
    "accept": Perm.OPINION_HANDLE,
    "answer": Perm.OPINION_HANDLE,
    "transfer": Perm.OPINION_ROUTE,
    "verdict": Perm.OPINION_HANDLE,
    "propose": Perm.REWARD_MANAGE,
    "decide": Perm.REWARD_APPROVE,
    "pay": Perm.REWARD_MANAGE,
    "wall": Perm.OPINION_ROUTE,
}
_SETTLED_VERDICTS = (TipVerdict.VERIFIED, TipVerdict.UNFOUNDED)


def _state_refusal(opinion: Opinion, action: str, reward, targets) -> ApplicationError | None:
    R = OPINION_LIFECYCLE
    is_tip = opinion.kind == OpinionKind.TIP
    if action == "accept":
        return None if R.can_move(opinion, S.ACCEPTED) else R.refusal(opinion)
    if action == "answer":
        # A received opinion is accepted on the way (签收 and 答复 in one step).
        return None if opinion.status in OPEN_STATUSES else R.refusal(opinion)
    if action == "transfer":
        if not R.can_move(opinion, S.RECEIVED):
            return R.refusal(opinion)
        if targets is not None and not targets:
            return ApplicationError("invalid_unit", _("只能转办给本单位及下级单位。"), field="unit")
        return None
    if action == "verdict":
        if not is_tip:
            return ApplicationError("not_a_tip", _("只有线索举报需要核实。"), status=409)
        if opinion.tip_verdict in _SETTLED_VERDICTS:
            return ApplicationError("already_verified", _("该线索已核实。"), status=409)
        return None
    if action == "propose":
        if not is_tip or opinion.tip_verdict != TipVerdict.VERIFIED:
            return ApplicationError(
                "tip_not_verified", _("只有核实属实的线索才能申请奖励。"), status=409
            )
        if reward is not None:
            return ApplicationError("reward_exists", _("该线索已申请过奖励。"), status=409)
        return None
    if action == "wall":
        if opinion.kind != OpinionKind.SUGGESTION or not opinion.wall_consent:
            return ApplicationError(
                "not_on_wall", _("该留言未同意公开，不在民意墙展示。"), status=409
            )
        return None
    raise ValueError(f"unknown opinion action {action!r}")


def _reward_refusal(user, action: str, reward) -> ApplicationError | None:
    if reward is None:
        return ApplicationError("no_reward", _("该线索尚未申请奖励。"), status=404)
    if action == "decide":
        if not reward_approver_above(user, reward):
            return ApplicationError("higher_tier_required", _("奖励须由上级单位审批。"), status=403)
        to = RewardStatus.APPROVED
    else:
        to = RewardStatus.PAID
    return None if REWARD_LIFECYCLE.can_move(reward, to) else REWARD_LIFECYCLE.refusal(reward)


def opinion_action_refusal(
    user, opinion: Opinion, action: str, *, reward: TipReward | None = None, targets=None
) -> ApplicationError | None:
    """Why `user` may not take `action` on `opinion` now (the error the service raises), or
    None when they may. `reward` is the tip's reward, if any (reward_for); `targets`, when
    given, the units it could be transferred to (transfer_targets_for)."""
    if not has_perm(user, OPINION_ACTION_PERMS[action]):
        return PermissionDenied()
    if action in ("decide", "pay"):
        return _reward_refusal(user, action, reward)
    return _state_refusal(opinion, action, reward, targets)


OPINION_ACTIONS = Actions(
    names=("accept", "answer", "transfer", "verdict", "propose", "decide", "pay", "wall"),
    refusal=opinion_action_refusal,
)


def opinion_actions_for(
    user, opinion: Opinion, *, reward: TipReward | None = None, targets=None
) -> frozenset:
    """The actions `user` may take on `opinion` now: the page draws these buttons, and each
    service refuses the others with opinion_action_refusal's error (through
    opinion_action_require)."""
    return OPINION_ACTIONS.allowed(user, opinion, reward=reward, targets=targets)


# The services' guard: raises the refusal, if any.
opinion_action_require = OPINION_ACTIONS.require


def reward_list_for(user) -> QuerySet[TipReward]:
    """Rewards needing this user: proposed ones from units strictly below theirs (to approve)
    and approved ones not paid yet, oldest first."""
    qs = TipReward.objects.filter(
        scope_q(user, "opinion__unit__"),
        status__in=(RewardStatus.PROPOSED, RewardStatus.APPROVED),
    )
    if user.unit_id is not None:
        # Approval needs a higher tier than the proposer's: not one's own proposals, nor
        # those of one's own unit (whichever unit holds the tip).
        below = Q(proposed_by__unit__path__startswith=user.unit.path) & ~Q(
            proposed_by__unit_id=user.unit_id
        )
        qs = qs.filter(Q(status=RewardStatus.APPROVED) | below).exclude(
            status=RewardStatus.PROPOSED, proposed_by=user
        )
    elif not user.is_superuser:
        qs = qs.none()
    return qs.select_related("opinion__unit", "proposed_by", "decided_by").order_by(
        "proposed_at", "id"
    )


def transfer_targets_for(user, opinion: Opinion) -> QuerySet[OrgUnit]:
    """Units an opinion may be transferred to (转办): active ones of the user's subtree other
    than the one holding it now, in tree order."""
    return (
        OrgUnit.objects.filter(scope_q(user, ""), is_active=True)
        .exclude(pk=opinion.unit_id)
        .order_by("path")
    )


# --- Reply rates per channel (各渠道答复率) ---------------------------------------------------


@dataclass
class ChannelRate:
    """One channel's figures over a period (opinions received in it), or the total."""

    channel: str
    label: str
    received: int = 0
    answered: int = 0
    on_time: int = 0
    overdue_open: int = 0
    letters_due: int = 0
    rated: int = 0
    satisfied: int = 0

    @property
    def reply_rate(self) -> float | None:
        return self.answered / self.received if self.received else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.received if self.received else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def reply_percent(self) -> float | None:
        return None if self.reply_rate is None else self.reply_rate * 100

    @property
    def satisfied_percent(self) -> float | None:
        return None if self.satisfied_share is None else self.satisfied_share * 100


_RATE_FIGURES = ("received", "answered", "on_time", "overdue_open", "letters_due")
_RATE_FIGURES += ("rated", "satisfied")


def channel_rates_visible_to(user, *, start: datetime, end: datetime) -> list[ChannelRate]:
    """Per channel, the opinions of the user's subtree received in [start, end): how many,
    answered, answered on time, still open past the deadline, letters still to print, rated
    and rated satisfied (好差评 1-3). Every channel is listed, empty ones too, then the total
    (channel ""). One query."""
    today = timezone.localdate()
    rows = (
        Opinion.objects.filter(
            scope_q(user, "unit__"), submitted_at__gte=start, submitted_at__lt=end
        )
        .values("channel")
        .annotate(
            received=Count("id"),
            answered=Count("id", filter=Q(answered_at__isnull=False)),
            on_time=Count("id", filter=Q(answered_on_time=True)),
            overdue_open=Count("id", filter=_overdue_q(today)),
            letters_due=Count("id", filter=LETTER_DUE_Q),
            rated=Count("id", filter=Q(rating__isnull=False)),
            satisfied=Count("id", filter=Q(rating__in=SATISFIED_RATINGS)),
        )
        .order_by()
    )
    found = {row["channel"]: row for row in rows}
    total = ChannelRate(channel="", label=_("合计"))
    rates = []
    for channel in OpinionChannel:
        row = found.get(channel.value, {})
        rate = ChannelRate(
            channel=channel.value,
            label=str(channel.label),
            **{name: row.get(name, 0) for name in _RATE_FIGURES},
        )
        for name in _RATE_FIGURES:
            setattr(total, name, getattr(total, name) + getattr(rate, name))
        rates.append(rate)
    return [*rates, total]


# --- The citizen's reads: by the mobile a session proved, never by number alone -------------


def opinion_list_for_mobile(mobile: str) -> QuerySet[Opinion]:
    """The opinions submitted from `mobile` (proven with a code), newest first."""
    return (
        Opinion.objects.select_related("unit")
        .filter(mobile_hash=lookup_hash("mobile", mobile))
        .order_by("-submitted_at", "-id")
    )


def opinion_for_mobile(number: str, mobile: str, **filters) -> Opinion | None:
    """Opinion `number`, if it was submitted from `mobile`; else None, as if it did not exist."""
    if not mobile:
        return None
    return opinion_list_for_mobile(mobile).filter(number=number, **filters).first()


def opinion_wall_list() -> QuerySet[Opinion]:
    """The public wall (民意墙): answered suggestions whose authors agreed, not taken down."""
    return (
        Opinion.objects.select_related("unit")
        .filter(
            kind=OpinionKind.SUGGESTION,
            status__in=(OpinionStatus.ANSWERED, OpinionStatus.CLOSED),
            wall_consent=True,
            wall_hidden=False,
        )
        .exclude(answer="")
        .order_by("-answered_at", "-id")
    )
