"""Reads of opinions, their photos and tip rewards for the staff console, always scoped to the
actor's subtree (by the unit that holds the opinion now). Outside the subtree a row does not
exist."""

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from minyi.core.errors import NotFound
from minyi.core.pii import lookup_hash
from minyi.opinions.models import (
    OPEN_STATUSES,
    Opinion,
    OpinionKind,
    OpinionPhoto,
    OpinionStatus,
    RewardStatus,
    TipReward,
)
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q

S = OpinionStatus
OVERDUE = "overdue"  # a pseudo-status for the queue's tab: still open, past its deadline
OPEN = "open"  # not answered yet: what the queue shows first


def _overdue_q(today) -> Q:
    # The same rule as Opinion.is_overdue, in SQL.
    return Q(status__in=OPEN_STATUSES, deadline__lt=today)


def _filtered(user, *, kind: str = "") -> QuerySet[Opinion]:
    qs = Opinion.objects.filter(scope_q(user, "unit__"))
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def opinion_list_visible_to(user, *, status: str = "", kind: str = "") -> QuerySet[Opinion]:
    """Opinions of the user's subtree (optionally one status, OVERDUE, one kind): overdue
    first, then by deadline; answered and closed ones newest first."""
    today = timezone.localdate()
    qs = _filtered(user, kind=kind).select_related("unit", "escalated_to")
    if status == OVERDUE:
        qs = qs.filter(_overdue_q(today))
    elif status == OPEN:
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if status in (S.ANSWERED, S.CLOSED):
        return qs.order_by("-answered_at", "-submitted_at", "-id")
    return qs.annotate(
        overdue_rank=Case(
            When(_overdue_q(today), then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
        open_rank=Case(
            When(status__in=OPEN_STATUSES, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
    ).order_by("overdue_rank", "open_rank", "deadline", "id")


def opinion_counts_visible_to(user, *, kind: str = "") -> dict:
    """Opinions per status, overdue ones and all, for the queue's tabs: one query."""
    today = timezone.localdate()
    counts = {value: Count("id", filter=Q(status=value)) for value in S.values}
    counts[OVERDUE] = Count("id", filter=_overdue_q(today))
    counts[OPEN] = Count("id", filter=Q(status__in=OPEN_STATUSES))
    counts["all"] = Count("id")
    return _filtered(user, kind=kind).aggregate(**counts)


def opinion_get_visible_to(user, pk) -> Opinion:
    opinion = (
        Opinion.objects.filter(scope_q(user, "unit__"), pk=pk)
        .select_related("unit", "requested_unit", "escalated_to", "answered_by", "case")
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
    if reward is None or reward.status != RewardStatus.PROPOSED:
        return False
    return reward_approver_above(user, reward)


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
