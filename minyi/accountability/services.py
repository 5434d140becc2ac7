"""Every write on accountability cases (问责). Each status change is a move of CASE_LIFECYCLE
(minyi.core.lifecycle), which changes the row only while it is still in the old status and
records the history row; who may do what now is accountability.selectors' rule, the one the
case's page draws its forms by.

`case_open` is called by whatever opens a case: the assessment's gate (two "last" marks
within a year) or a supervisor acting on a red warning (minyi.warnings). The evidence is kept
as it stood; the case page knows these keys of it (anything else is listed as it is):

    {"summary": "one sentence",
     "figures": [{"label": "满意度 2026 第1轮", "value": 0.71, "low": 0.66, "high": 0.76,
                  "n": 400, "n_eff": 352.1, "kind": "rate" | "number" | "rank",
                  "rank_low": 55, "rank_high": 60, "peers": 60, "note": "..."}],
     "reasons": [{"label": "态度", "count": 7, "text": "..."}],
     "raw_last": {"count": 2, "labels": ["2026上半年", "2026下半年"]}}

`raw_last` is the raw "ranked last" record, shown for reference only: it never opens a case.
"""

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.accountability.access import ACCOUNTABILITY_DECIDE, ACCOUNTABILITY_REPLY
from minyi.accountability.models import (
    CASE_LIFECYCLE,
    AccountabilityCase,
    CaseStatus,
    CaseTrigger,
    Decision,
)
from minyi.accountability.selectors import (
    REASON_MAX_CHARS,
    REPLY_MAX_CHARS,
    case_action_require,
    case_scope_q,
)
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.lifecycle import lock_in_scope
from minyi.core.models import AuditAction
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import (
    notifications_resolve,
    notify_supervisors_above,
    notify_users,
)
from minyi.orgs.choices import Role
from minyi.orgs.models import User
from minyi.orgs.roles import has_perm

S = CaseStatus
# notifications has no kind of its own for accountability yet (asked of the lead): the bell
# files the news with the warnings, where most of it starts.
KIND = NotificationKind.WARNING
KEY_MAX_CHARS = 80


def case_url(case: AccountabilityCase) -> str:
    return reverse("accountability:case_detail", args=[case.pk])


def unit_leader_of(unit) -> User | None:
    """The unit's leader account (所队负责人), the first active one if there are several."""
    return (
        User.objects.filter(unit=unit, role=Role.UNIT_LEADER, is_active=True).order_by("pk").first()
    )


@transaction.atomic
def case_open(
    *,
    unit,
    trigger: str,
    source: dict,
    evidence: dict,
    rule_version: str,
    key: str,
    actor=None,
    now=None,
) -> AccountabilityCase | None:
    """Open a case for `unit`'s leader, once per `key` (None when a case with that key
    exists: opening is idempotent, so the assessment may run again). The leader and the
    supervisors above the unit are told. `actor` is the person who opened it, if a person
    did (a supervisor acting on a warning); None for the assessment's gate."""
    now = now or timezone.now()
    if trigger not in CaseTrigger.values:
        raise ApplicationError("invalid_trigger", _("未知的问责启动原因。"), field="trigger")
    key = (key or "").strip()
    if not key or len(key) > KEY_MAX_CHARS:
        raise ApplicationError("invalid_key", _("问责案件标识无效。"), field="key")
    if AccountabilityCase.objects.filter(key=key).exists():
        return None
    leader = unit_leader_of(unit)
    try:
        with transaction.atomic():
            case = AccountabilityCase.objects.create(
                unit=unit,
                leader=leader,
                trigger=trigger,
                source=source or {},
                evidence=evidence or {},
                rule_version=(rule_version or "")[:40],
                key=key,
                created_at=now,
            )
    except IntegrityError:
        if AccountabilityCase.objects.filter(key=key).exists():
            return None  # opened meanwhile by another run
        raise
    CASE_LIFECYCLE.record(
        case, actor=actor, to_status=S.OPEN, note=CaseTrigger(trigger).label, now=now
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=case,
        detail={"unit": unit.pk, "trigger": trigger, "key": key},
    )
    url = case_url(case)
    if leader is not None:
        notify_users(
            users=[leader],
            kind=KIND,
            text=_("本单位有一件问责案件（%(trigger)s），请提交书面说明。")
            % {"trigger": CaseTrigger(trigger).label},
            url=url,
            now=now,
        )
    notify_supervisors_above(
        unit=unit,
        kind=KIND,
        text=_("%(unit)s 启动问责（%(trigger)s），待说明后作出决定。")
        % {"unit": unit.display_name, "trigger": CaseTrigger(trigger).label},
        url=url,
        sms=False,
        now=now,
    )
    return case


def _locked(actor, case: AccountabilityCase, perm: str) -> AccountabilityCase:
    """The case, locked for this transaction, if the actor may do `perm` (else
    PermissionDenied) and may see the case (else NotFound). Whether the case's state and the
    actor's place allow the action is case_action_require's (the page's rule)."""
    return lock_in_scope(
        AccountabilityCase.objects.select_related("unit"),
        case.pk,
        scope=case_scope_q(actor),
        allowed=has_perm(actor, perm),
    )


def _text(value: str, *, field: str, required, limit: int, too_long) -> str:
    value = (value or "").replace("\x00", "").strip()
    if not value:
        raise ApplicationError(f"{field}_required", required, field=field)
    if len(value) > limit:
        raise ApplicationError(
            f"{field}_too_long", too_long % {"n": limit, "m": len(value)}, field=field
        )
    return value


@transaction.atomic
def case_reply(*, actor, case: AccountabilityCase, text: str, now=None) -> AccountabilityCase:
    """The leader's written reply (书面说明), once, while the case is open."""
    now = now or timezone.now()
    current = _locked(actor, case, ACCOUNTABILITY_REPLY)
    case_action_require(actor, current, "reply")
    text = _text(
        text,
        field="text",
        required=_("请填写书面说明。"),
        limit=REPLY_MAX_CHARS,
        too_long=_("书面说明不能超过 %(n)d 字（现为 %(m)d 字）。"),
    )
    current = CASE_LIFECYCLE.move(
        current,
        actor=actor,
        to=S.REPLIED,
        note=_("提交书面说明"),
        now=now,
        reply=text,
        replied_by=actor,
        replied_at=now,
    )
    notify_supervisors_above(
        unit=current.unit,
        kind=KIND,
        text=_("%(unit)s 负责人已提交问责书面说明，请作出决定。")
        % {"unit": current.unit.display_name},
        url=case_url(current),
        sms=False,
        now=now,
    )
    return current


@transaction.atomic
def case_decide(
    *, actor, case: AccountabilityCase, decision: str, reason: str, now=None
) -> AccountabilityCase:
    """A supervisor above the unit decides (约谈, 通报, 调整岗位, 整改建议书, 执法过错责任追究 or
    不予问责), and why; never the leader held to account."""
    now = now or timezone.now()
    current = _locked(actor, case, ACCOUNTABILITY_DECIDE)
    case_action_require(actor, current, "decide")
    if decision not in Decision.values:
        raise ApplicationError("decision_invalid", _("请选择处理决定。"), field="decision")
    reason = _text(
        reason,
        field="reason",
        required=_("请填写决定理由。"),
        limit=REASON_MAX_CHARS,
        too_long=_("决定理由不能超过 %(n)d 字（现为 %(m)d 字）。"),
    )
    label = Decision(decision).label
    current = CASE_LIFECYCLE.move(
        current,
        actor=actor,
        to=S.DECIDED,
        note=_("%(decision)s：%(reason)s") % {"decision": label, "reason": reason[:500]},
        now=now,
        decision=decision,
        decision_reason=reason,
        decided_by=actor,
        decided_at=now,
    )
    url = case_url(current)
    notifications_resolve(url=url, kinds={KIND}, now=now)
    if current.leader_id is not None:
        notify_users(
            users=[current.leader],
            kind=KIND,
            text=_("问责案件已作出决定：%(decision)s。") % {"decision": label},
            url=url,
            now=now,
        )
    return current
