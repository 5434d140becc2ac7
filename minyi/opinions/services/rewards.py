"""Tip rewards (线索奖励): the unit proposes a reward for a verified tip, a supervisor of a
strictly higher tier approves or refuses it, the unit records the payment. Each step is a
move of REWARD_LIFECYCLE; the tipster hears only that there is news, never of a reward."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.lifecycle import lock_in_scope
from minyi.core.models import AuditAction
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import (
    notifications_resolve,
    notify_supervisors_above,
    notify_unit,
)
from minyi.opinions.models import REWARD_LIFECYCLE, Opinion, RewardStatus, TipReward
from minyi.opinions.selectors import OPINION_ACTION_PERMS, opinion_action_require, reward_for
from minyi.opinions.services.shared import (
    K,
    checked_text,
    opinion_locked,
    staff_url,
    tell_citizen,
)
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or amount <= 0 or amount > Decimal("1000000"):
        raise ApplicationError(
            "invalid_amount", _("奖励金额应为 0.01 至 1,000,000 元。"), field="amount"
        )
    return amount


@transaction.atomic
def reward_propose(*, actor, opinion: Opinion, amount, reason: str, now=None) -> TipReward:
    now = now or timezone.now()
    current = opinion_locked(actor, opinion, Perm.REWARD_MANAGE)
    opinion_action_require(actor, current, "propose", reward=reward_for(current))
    reason = checked_text(reason, field="reason", label=_("奖励理由"), low=5, high=1000)
    reward = TipReward.objects.create(
        opinion=current,
        amount=_amount(amount),
        reason=reason,
        proposed_by=actor,
        proposed_at=now,
    )
    REWARD_LIFECYCLE.record(
        reward, actor=actor, to_status=RewardStatus.PROPOSED, note=reason, now=now
    )
    audit_record(
        action=AuditAction.CREATE, actor=actor, obj=reward, detail={"amount": str(reward.amount)}
    )
    # The approvers are above the proposer's unit, which may be above the tip's.
    notify_supervisors_above(
        unit=actor.unit or current.unit,
        kind=NotificationKind.REWARD_PROPOSED,
        text=_("线索 %(no)s 申请奖励 %(amount)s 元，待审批。")
        % {"no": current.number, "amount": reward.amount},
        url=staff_url(current),
    )
    return reward


def _reward_locked(actor, reward: TipReward, action: str) -> TipReward:
    """The reward, locked, if its tip is in the actor's subtree and the actor may take
    `action` (decide, pay) on it now: opinion_action_require's rule, the page's."""
    current = lock_in_scope(
        TipReward.objects.select_related("opinion__unit", "proposed_by__unit"),
        reward.pk,
        scope=scope_q(actor, "opinion__unit__"),
        allowed=has_perm(actor, OPINION_ACTION_PERMS[action]),
    )
    opinion_action_require(actor, current.opinion, action, reward=current)
    return current


@transaction.atomic
def reward_decide(*, actor, reward: TipReward, approve: bool, note: str = "", now=None):
    """Approval by a supervisor of a strictly higher tier than the unit that proposed it."""
    now = now or timezone.now()
    current = _reward_locked(actor, reward, "decide")
    note = (note or "").strip()
    if not approve and len(note) < 2:
        raise ApplicationError("note_required", _("不予批准请写明理由。"), field="note")
    to = RewardStatus.APPROVED if approve else RewardStatus.REJECTED
    decided = REWARD_LIFECYCLE.move(
        current,
        actor=actor,
        to=to,
        note=note,
        now=now,
        decided_by=actor,
        decided_at=now,
        decision_note=note,
    )
    if approve:
        # Neither "tip" nor "reward" nor the amount: the unit tells the rest face to face.
        tell_citizen(
            current.opinion,
            _("您的事项（编号 %(no)s）有新消息，请携带本人身份证件到%(unit)s咨询。")
            % {"no": current.opinion.number, "unit": current.opinion.unit.name},
            now,
        )
    notifications_resolve(url=staff_url(current.opinion), kinds={K.REWARD_PROPOSED}, now=now)
    notify_unit(
        unit=current.opinion.unit,
        kind=NotificationKind.REWARD_DECIDED,
        text=_("线索 %(no)s 的奖励：%(status)s。")
        % {"no": current.opinion.number, "status": decided.get_status_display()},
        url=staff_url(current.opinion),
    )
    return decided


@transaction.atomic
def reward_pay(*, actor, reward: TipReward, reference: str, now=None) -> TipReward:
    now = now or timezone.now()
    current = _reward_locked(actor, reward, "pay")
    reference = (reference or "").strip()
    if not reference or len(reference) > 60:
        raise ApplicationError(
            "reference_required", _("请填写发放凭证号（60 字以内）。"), field="reference"
        )
    return REWARD_LIFECYCLE.move(
        current,
        actor=actor,
        to=RewardStatus.PAID,
        note=reference,
        now=now,
        paid_by=actor,
        paid_at=now,
        payment_reference=reference,
    )
