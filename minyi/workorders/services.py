"""Every write on work orders and appeals. Each status change is a move of ORDER_LIFECYCLE
(minyi.core.lifecycle), which changes the row only while it is still in the old status and
records the history row; what the actor may do now is workorders.selectors' rule, the one
the order's page draws its buttons by."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.models import (
    CALLBACK_LIFECYCLE,
    Attribution,
    Callback,
    CallbackKind,
    CallbackStatus,
)
from minyi.callbacks.services import callback_close_follow_ups, callback_follow_up_open
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.lifecycle import lock_in_scope
from minyi.core.models import AuditAction
from minyi.core.uploads import JPEG, PDF, PNG, check_uploads
from minyi.core.workdays import add_working_days, working_days_between
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import (
    notifications_resolve,
    notify_supervisors_above,
    notify_unit,
)
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import SATISFIED_RATINGS
from minyi.perception.services.surveys import citizen_acknowledge, survey_exclude
from minyi.workorders.models import (
    OPEN_STATUSES,
    ORDER_LIFECYCLE,
    UNIT_STATUSES,
    Appeal,
    AppealStatus,
    Evidence,
    WorkOrder,
    WorkOrderStatus,
)
from minyi.workorders.selectors import rating_action_require, workorder_action_require

S = WorkOrderStatus
MAX_EVIDENCE_FILES = 5
K = NotificationKind
_UNIT_NEWS = {K.ORDER_ARRIVED, K.ORDER_DUE_SOON, K.ORDER_OVERDUE, K.ORDER_RETURNED}
# Which notifications about an order stop being something to do once it reaches a status:
# accepted answers "new order"; feedback answers every reminder to the unit; a finished
# order leaves nothing to do about it, appeals included.
_RESOLVED_BY = {
    S.ACCEPTED: {K.ORDER_ARRIVED},
    S.FEEDBACK: _UNIT_NEWS,
    S.CLOSED: _UNIT_NEWS | {K.APPEAL_FILED},
    S.CANCELLED: _UNIT_NEWS | {K.APPEAL_FILED},
}


def _order_url(order) -> str:
    return reverse("workorders:order_detail", args=[order.pk])


def _rating_url(callback) -> str:
    return reverse("workorders:rating_detail", args=[callback.pk])


def _move(order: WorkOrder, *, actor, to: str, note: str = "", now=None, **fields) -> WorkOrder:
    """One move of ORDER_LIFECYCLE; the unit's reminders it answers are resolved with it."""
    now = now or timezone.now()
    order = ORDER_LIFECYCLE.move(order, actor=actor, to=to, note=note, now=now, **fields)
    if to in _RESOLVED_BY:
        notifications_resolve(url=_order_url(order), kinds=_RESOLVED_BY[to], now=now)
    return order


def _locked(actor, order: WorkOrder, perm: str) -> WorkOrder:
    """The order, locked for this transaction, if it is in the actor's subtree and the actor
    may do `perm`. Whether the order's state allows the action is workorder_action_require's
    (the rule the page draws its buttons by)."""
    return lock_in_scope(
        WorkOrder.objects.all(),
        order.pk,
        scope=scope_q(actor, "unit__"),
        allowed=has_perm(actor, perm),
    )


def _fresh_deadline(order: WorkOrder, now) -> dict:
    """A returned order gets the business type's working days again, from today: the unit
    rectifies anew, and reminders and escalation start over."""
    deadline, provisional = add_working_days(
        timezone.localtime(now or timezone.now()).date(), order.business_type.rectification_days
    )
    return {
        "deadline": deadline,
        "deadline_provisional": provisional,
        "deadline_reminded_at": None,
        "escalated_at": None,
    }


def _new_number(now) -> str:
    return f"ZG{timezone.localtime(now):%Y%m%d}{secrets.randbelow(10**6):06d}"


@transaction.atomic
def workorder_dispatch(*, actor, callback, now=None) -> WorkOrder:
    """Police at fault (民警责任): a rectification order to the unit, due in the business
    type's working days (holidays and make-up workdays counted)."""
    return _dispatch(actor=actor, callback=callback, note=_("民警责任，派发整改"), now=now)


@transaction.atomic
def workorder_dispatch_repeat(*, callback, now=None) -> WorkOrder:
    """跑多次流转整改: a repeat-contact rule sends the matter to the unit of the latest trip
    without a person's callback outcome (the callback is the rule's record, see
    callbacks.services.callback_repeat_open); the rest of the order's life is the usual one."""
    return _dispatch(actor=None, callback=callback, note=_("跑多次，规则流转整改"), now=now)


def _dispatch(*, actor, callback, note: str, now=None) -> WorkOrder:
    now = now or timezone.now()
    survey = callback.survey
    deadline, provisional = add_working_days(
        timezone.localtime(now).date(), survey.business_type.rectification_days
    )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = WorkOrder.objects.create(
                    number=_new_number(now),
                    callback=callback,
                    survey=survey,
                    unit_id=callback.unit_id,
                    centre_id=callback.centre_id,
                    business_type_id=survey.business_type_id,
                    officer=callback.officer,
                    problem=callback.reason_text,
                    tags=callback.tags,
                    dispatched_at=now,
                    deadline=deadline,
                    deadline_provisional=provisional,
                )
            break
        except IntegrityError:
            if WorkOrder.objects.filter(callback=callback).exists():
                raise ApplicationError(
                    "order_exists", _("该回访已生成整改工单。"), status=409
                ) from None
    else:
        raise ApplicationError("order_number", _("工单号生成失败，请重试。"), status=503)
    ORDER_LIFECYCLE.record(order, actor=actor, to_status=S.DISPATCHED, note=note, now=now)
    audit_record(action=AuditAction.CREATE, actor=actor, obj=order, detail={"unit": order.unit_id})
    notify_unit(
        unit=order.unit,
        kind=NotificationKind.ORDER_ARRIVED,
        text=_("新整改工单 %(no)s，请于 %(day)s 前反馈。")
        % {"no": order.number, "day": f"{deadline:%m月%d日}"},
        url=_order_url(order),
    )
    return order


@transaction.atomic
def workorder_accept(*, actor, order: WorkOrder, now=None) -> WorkOrder:
    current = _locked(actor, order, Perm.WORKORDER_HANDLE)
    workorder_action_require(actor, current, "accept")
    now = now or timezone.now()
    return _move(current, actor=actor, to=S.ACCEPTED, note=_("签收"), now=now, accepted_at=now)


def _check_evidence(files) -> list[tuple]:
    return check_uploads(
        files,
        kinds=(JPEG, PNG, PDF),
        max_files=MAX_EVIDENCE_FILES,
        max_bytes=settings.EVIDENCE_MAX_BYTES,
        field="evidence",
        too_many=_("最多上传 %(n)d 个佐证文件。"),
        wrong_type=_("文件“%(name)s”不是 JPG、PNG 或 PDF。"),
    )


@transaction.atomic
def workorder_feedback(*, actor, order: WorkOrder, text: str, files=(), now=None) -> WorkOrder:
    """The unit reports its rectification (整改反馈) with evidence; the centre then asks the
    citizen once more (追评)."""
    now = now or timezone.now()
    current = _locked(actor, order, Perm.WORKORDER_HANDLE)
    text = (text or "").strip()
    if len(text) < 10:
        raise ApplicationError(
            "feedback_too_short", _("请写明整改情况（至少10个字）。"), field="feedback_text"
        )
    if len(text) > 5000:
        raise ApplicationError(
            "feedback_too_long", _("整改情况不能超过5000字。"), field="feedback_text"
        )
    checked = _check_evidence(files)
    workorder_action_require(actor, current, "feedback")
    order = _move(
        current, actor=actor, to=S.FEEDBACK, note=text, now=now, feedback_at=now, feedback_text=text
    )
    for upload, content_type, suffix in checked:
        evidence = Evidence(
            order=order,
            original_name=upload.name[:200],
            content_type=content_type,
            size=upload.size,
            uploaded_by=actor,
            created_at=now,
        )
        evidence.file.save(f"{order.pk}{suffix}", upload, save=False)
        evidence.save()
    callback_follow_up_open(order=order, now=now)
    return order


@transaction.atomic
def workorder_follow_up_record(*, actor, order: WorkOrder, rating: int, note: str = "", now=None):
    """The citizen's 追评: satisfied → the centre audits; still unsatisfied → back to the unit."""
    now = now or timezone.now()
    current = WorkOrder.objects.select_for_update().get(pk=order.pk)
    if rating in SATISFIED_RATINGS:
        return _move(
            current,
            actor=actor,
            to=S.AUDIT,
            note=_("追评满意（%(r)d）") % {"r": rating},
            now=now,
            follow_up_rating=rating,
        )
    # The citizen's words stay encrypted on the callback; the history names it.
    order = _move(
        current,
        actor=actor,
        to=S.RETURNED,
        note=_("追评仍不满意（%(r)d），重新整改") % {"r": rating},
        now=now,
        follow_up_rating=rating,
        returns=current.returns + 1,
        **_fresh_deadline(current, now),
    )
    _notify_returned(order)
    return order


@transaction.atomic
def workorder_follow_up_unreachable(*, actor, order: WorkOrder, now=None) -> WorkOrder:
    current = WorkOrder.objects.select_for_update().get(pk=order.pk)
    return _move(current, actor=actor, to=S.AUDIT, note=_("追评未能联系到群众"), now=now)


def _notify_returned(order):
    notify_unit(
        unit=order.unit,
        kind=NotificationKind.ORDER_RETURNED,
        text=_("整改工单 %(no)s 被退回，请重新整改。") % {"no": order.number},
        url=_order_url(order),
    )


@transaction.atomic
def workorder_close(*, actor, order: WorkOrder, note: str = "", now=None) -> WorkOrder:
    """The centre audits and closes (审核办结). True resolution only after a satisfied 追评."""
    now = now or timezone.now()
    current = _locked(actor, order, Perm.WORKORDER_CLOSE)
    workorder_action_require(actor, current, "close")
    order = _move(
        current,
        actor=actor,
        to=S.CLOSED,
        note=(note or "").strip()[:1000] or _("审核通过，办结"),
        now=now,
        closed_at=now,
        resolved=current.follow_up_satisfied,
    )
    # The citizen who complained hears that it was dealt with (the outbox row commits with
    # the closure; quiet hours, opt-outs and sensitive business types are respected).
    citizen_acknowledge(
        order.survey,
        _("%(sig)s您反映的问题已整改，感谢您对公安工作的监督和支持。")
        % {"sig": settings.SMS_SIGNATURE},
        now=now,
    )
    return order


@transaction.atomic
def workorder_return(*, actor, order: WorkOrder, note: str, now=None) -> WorkOrder:
    """The centre finds the rectification not good enough and sends it back (审核退回)."""
    now = now or timezone.now()
    current = _locked(actor, order, Perm.WORKORDER_CLOSE)
    workorder_action_require(actor, current, "return")
    note = (note or "").strip()
    if not note:
        raise ApplicationError("note_required", _("请写明退回原因。"), field="note")
    order = _move(
        current,
        actor=actor,
        to=S.RETURNED,
        note=note[:1000],
        now=now,
        returns=current.returns + 1,
        **_fresh_deadline(current, now),
    )
    _notify_returned(order)
    return order


def workorders_escalate_overdue(*, now=None) -> int:
    """Orders past their deadline while the unit still has them go up to the parent unit
    (超期升级), once; they show red from then on."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    count = 0
    overdue = WorkOrder.objects.filter(
        status__in=UNIT_STATUSES, deadline__lt=today, escalated_at__isnull=True
    ).select_related("unit")
    for order in overdue.iterator():
        parent = OrgUnit.objects.get_parent(order.unit) if order.unit.depth > 1 else order.unit
        with transaction.atomic():
            if not WorkOrder.objects.filter(pk=order.pk, escalated_at__isnull=True).update(
                escalated_at=now, escalated_to=parent
            ):
                continue
            ORDER_LIFECYCLE.record(
                order,
                actor=None,
                from_status=order.status,
                to_status=order.status,
                note=_("超期未反馈，升级至%(unit)s") % {"unit": parent.name},
                now=now,
            )
            text = _("整改工单 %(no)s（%(unit)s）已超期，请督促。") % {
                "no": order.number,
                "unit": order.unit.name,
            }
            for unit in (parent, order.unit):
                notify_unit(
                    unit=unit,
                    kind=NotificationKind.ORDER_OVERDUE,
                    text=text,
                    url=_order_url(order),
                    now=now,
                )
        count += 1
    return count


def workorders_remind_due(*, now=None) -> int:
    """A reminder when an order is within WORKORDER_REMIND_WORKDAYS working days of its
    deadline and the unit has not fed back (临期提醒), once per order."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    count = 0
    due = WorkOrder.objects.filter(
        status__in=UNIT_STATUSES,
        deadline__gte=today,
        deadline__lte=today + timedelta(days=settings.WORKORDER_REMIND_WORKDAYS * 3 + 10),
        deadline_reminded_at__isnull=True,
    ).select_related("unit")
    for order in due.iterator():
        if working_days_between(today, order.deadline) > settings.WORKORDER_REMIND_WORKDAYS:
            continue
        with transaction.atomic():
            if not WorkOrder.objects.filter(pk=order.pk, deadline_reminded_at__isnull=True).update(
                deadline_reminded_at=now
            ):
                continue
            notify_unit(
                unit=order.unit,
                kind=NotificationKind.ORDER_DUE_SOON,
                text=_("整改工单 %(no)s 将于 %(day)s 到期，请及时反馈。")
                % {"no": order.number, "day": f"{order.deadline:%m月%d日}"},
                url=_order_url(order),
                now=now,
            )
        count += 1
    return count


# --- Appeals (申诉复核) ----------------------------------------------------------------------


@transaction.atomic
def appeal_file(*, actor, order: WorkOrder, reason: str, now=None) -> Appeal:
    """The unit contests the attribution, within APPEAL_WINDOW_WORKDAYS working days of
    dispatch and while the order is open; once per order."""
    now = now or timezone.now()
    current = _locked(actor, order, Perm.WORKORDER_HANDLE)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ApplicationError(
            "reason_too_short", _("请写明申诉理由（至少10个字）。"), field="reason"
        )
    if len(reason) > 2000:
        raise ApplicationError("reason_too_long", _("申诉理由不能超过2000字。"), field="reason")
    workorder_action_require(
        actor,
        current,
        "appeal",
        appeal=Appeal.objects.filter(order=current).first(),
        today=timezone.localtime(now).date(),
    )
    appeal = Appeal.objects.create(
        order=current, unit_id=current.unit_id, reason=reason, filed_by=actor, filed_at=now
    )
    ORDER_LIFECYCLE.record(
        current,
        actor=actor,
        from_status=current.status,
        to_status=current.status,
        note=_("提出申诉：%(reason)s") % {"reason": reason[:500]},
        now=now,
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=appeal, detail={"order": order.pk})
    notify_supervisors_above(
        unit=current.unit,
        kind=NotificationKind.APPEAL_FILED,
        text=_("%(unit)s 对工单 %(no)s 提出申诉，请复核。")
        % {"unit": current.unit.name, "no": current.number},
        url=_order_url(current),
        sms=False,
    )
    return appeal


@transaction.atomic
def appeal_decide(*, actor, appeal: Appeal, uphold: bool, note: str, now=None) -> Appeal:
    """A supervisor of a higher tier decides. Upheld: the order is cancelled and the rating
    leaves the unit's and officer's figures (the survey, callback and this appeal remain).
    An appeal of an unreasonable-demand rating (no order) is decided alike: upheld, the
    rating leaves the figures."""
    now = now or timezone.now()
    current = lock_in_scope(
        Appeal.objects.select_related("unit", "order", "callback__survey"),
        appeal.pk,
        scope=scope_q(actor, "unit__"),
        allowed=has_perm(actor, Perm.APPEAL_DECIDE),
    )
    if current.callback_id is not None:
        return _rating_appeal_decide(actor, current, uphold=uphold, note=note, now=now)
    workorder_action_require(actor, current.order, "decide", appeal=current)
    note = (note or "").strip()
    if not note:
        raise ApplicationError("note_required", _("请填写复核意见。"), field="note")
    status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
    if not Appeal.objects.filter(pk=current.pk, status=AppealStatus.PENDING).update(
        status=status, decided_by=actor, decided_at=now, decision_note=note[:2000]
    ):
        raise ApplicationError("appeal_decided", _("该申诉已复核。"), status=409)
    if uphold:
        # Callback before order, the order callback_record takes them in: an evaluator
        # recording the 追评 at this moment then finishes first instead of deadlocking.
        list(
            Callback.objects.select_for_update()
            .filter(
                work_order_id=current.order_id,
                status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS],
            )
            .order_by("pk")
        )
    order = WorkOrder.objects.select_for_update().get(pk=current.order_id)
    if uphold:
        if order.status in OPEN_STATUSES:
            _move(
                order,
                actor=actor,
                to=S.CANCELLED,
                note=_("申诉成立：%(note)s") % {"note": note[:500]},
                now=now,
            )
        callback_close_follow_ups(actor=actor, order=order, note=_("申诉成立，工单撤销"), now=now)
        # An order born of 跑多次 rests on an earlier trip's survey, not on a rating of this
        # contact: upholding it takes no rating out of the figures.
        if order.callback.kind != CallbackKind.REPEAT:
            survey_exclude(survey=order.survey, now=now)
    else:
        ORDER_LIFECYCLE.record(
            order,
            actor=actor,
            from_status=order.status,
            to_status=order.status,
            note=_("申诉驳回：%(note)s") % {"note": note[:500]},
            now=now,
        )
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=current, detail={"decision": status})
    notifications_resolve(url=_order_url(order), kinds={K.APPEAL_FILED}, now=now)
    notify_unit(
        unit=current.unit,
        kind=NotificationKind.APPEAL_DECIDED,
        text=_("工单 %(no)s：%(result)s。")
        % {"no": order.number, "result": AppealStatus(status).label},
        url=_order_url(order),
        sms=False,
    )
    current.refresh_from_db()
    return current


@transaction.atomic
def rating_appeal_file(*, actor, callback: Callback, reason: str, now=None) -> Appeal:
    """The unit appeals a rating the callback found not at fault but an unreasonable demand
    (诉求不合理: malicious or unreasonable), within APPEAL_WINDOW_WORKDAYS working days of
    the finding; once per rating. A higher tier decides (appeal_decide); upheld, the rating
    leaves the figures exactly as an upheld at-fault appeal's does."""
    now = now or timezone.now()
    current = lock_in_scope(
        Callback.objects.select_related("survey", "unit"),
        callback.pk,
        scope=scope_q(actor, "unit__"),
        allowed=has_perm(actor, Perm.WORKORDER_HANDLE),
    )
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ApplicationError(
            "reason_too_short", _("请写明申诉理由（至少10个字）。"), field="reason"
        )
    if len(reason) > 2000:
        raise ApplicationError("reason_too_long", _("申诉理由不能超过2000字。"), field="reason")
    rating_action_require(
        actor,
        current,
        "appeal",
        appeal=Appeal.objects.filter(callback=current).first(),
        today=timezone.localtime(now).date(),
    )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                callback=current,
                unit_id=current.unit_id,
                reason=reason,
                filed_by=actor,
                filed_at=now,
            )
    except IntegrityError:
        raise ApplicationError("appeal_exists", _("该评价已申诉过。"), status=409) from None
    CALLBACK_LIFECYCLE.record(
        current,
        actor=actor,
        from_status=current.status,
        to_status=current.status,
        note=_("责任单位提出申诉"),
        now=now,
    )
    audit_record(
        action=AuditAction.CREATE, actor=actor, obj=appeal, detail={"callback": current.pk}
    )
    notify_supervisors_above(
        unit=current.unit,
        kind=NotificationKind.APPEAL_FILED,
        text=_("%(unit)s 对一条“诉求不合理”的评价提出申诉，请复核。") % {"unit": current.unit.name},
        url=_rating_url(current),
        sms=False,
    )
    return appeal


def _rating_appeal_decide(actor, current: Appeal, *, uphold: bool, note: str, now) -> Appeal:
    """appeal_decide for an appeal of an unreasonable-demand rating (the appeal is locked)."""
    callback = current.callback
    rating_action_require(actor, callback, "decide", appeal=current)
    note = (note or "").strip()
    if not note:
        raise ApplicationError("note_required", _("请填写复核意见。"), field="note")
    status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
    if not Appeal.objects.filter(pk=current.pk, status=AppealStatus.PENDING).update(
        status=status, decided_by=actor, decided_at=now, decision_note=note[:2000]
    ):
        raise ApplicationError("appeal_decided", _("该申诉已复核。"), status=409)
    if uphold and callback.kind != CallbackKind.REPEAT:
        survey_exclude(survey=callback.survey, now=now)
    CALLBACK_LIFECYCLE.record(
        callback,
        actor=actor,
        from_status=callback.status,
        to_status=callback.status,
        note=(_("申诉成立：%(note)s") if uphold else _("申诉驳回：%(note)s"))
        % {"note": note[:150]},
        now=now,
    )
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=current, detail={"decision": status})
    notifications_resolve(url=_rating_url(callback), kinds={K.APPEAL_FILED}, now=now)
    notify_unit(
        unit=current.unit,
        kind=NotificationKind.APPEAL_DECIDED,
        text=_("评价申诉：%(result)s。") % {"result": AppealStatus(status).label},
        url=_rating_url(callback),
        sms=False,
    )
    current.refresh_from_db()
    return current


def workorder_after_callback(*, actor, callback, now=None) -> None:
    """What a finished callback means for work orders (connected to the callbacks app's hook
    `callback_recorded`): police at fault dispatches an order; a 追评 moves its order on,
    whether the citizen rated it or could not be reached."""
    if callback.kind == CallbackKind.FOLLOW_UP:
        if callback.attribution == Attribution.UNREACHABLE:
            workorder_follow_up_unreachable(actor=actor, order=callback.work_order, now=now)
        else:
            workorder_follow_up_record(
                actor=actor,
                order=callback.work_order,
                rating=callback.follow_up_rating,
                note=callback.reason_text,
                now=now,
            )
    elif callback.attribution == Attribution.AT_FAULT:
        workorder_dispatch(actor=actor, callback=callback, now=now)
