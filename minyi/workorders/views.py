"""Work-order pages (整改工单): the list, one order with the actions its reader may take now,
evidence downloads and the appeals awaiting a decision. Every read goes through a scoped
selector; every action is one service call that re-renders the order with the refusal in
Chinese, or redirects back to it."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.orgs.access import staff_view
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.orgs.roles import Perm, has_perm
from minyi.perception.models import Rating
from minyi.workorders.forms import (
    TOO_LARGE,
    AppealDecideForm,
    AppealForm,
    CloseForm,
    FeedbackForm,
    ListFilterForm,
    ReturnForm,
)
from minyi.workorders.models import AppealStatus, WorkOrderStatus
from minyi.workorders.selectors import (
    DUE_SOON,
    OPEN,
    OVERDUE,
    appeal_decidable_by,
    appeal_for,
    appeal_list_pending_for,
    evidence_get_visible_to,
    evidence_list_for,
    workorder_counts_visible_to,
    workorder_get_visible_to,
    workorder_history,
    workorder_list_visible_to,
)
from minyi.workorders.services import (
    appeal_deadline,
    appeal_decide,
    appeal_file,
    workorder_accept,
    workorder_close,
    workorder_feedback,
    workorder_return,
)

S = WorkOrderStatus
PAGE_SIZE = 50

# The list opens on what is still to do (待办), most urgent first; 全部 is one click away.
ALL = "all"
ORDER_TABS = [
    (OPEN, gettext_lazy("待办"), OPEN),
    (ALL, gettext_lazy("全部"), "all"),
    (S.DISPATCHED, gettext_lazy("待签收"), S.DISPATCHED),
    (S.ACCEPTED, gettext_lazy("整改中"), S.ACCEPTED),
    (S.FEEDBACK, gettext_lazy("待追评"), S.FEEDBACK),
    (S.RETURNED, gettext_lazy("退回"), S.RETURNED),
    (S.AUDIT, gettext_lazy("待审核"), S.AUDIT),
    (S.CLOSED, gettext_lazy("已办结"), S.CLOSED),
    (S.CANCELLED, gettext_lazy("已撤销"), S.CANCELLED),
    (DUE_SOON, gettext_lazy("即将超期"), DUE_SOON),
    (OVERDUE, gettext_lazy("超期"), OVERDUE),
]
_TAB_VALUES = {value for value, _label, _key in ORDER_TABS}


@staff_view(Perm.WORKORDER_VIEW)
def order_list(request):
    """Orders of the user's subtree by status, overdue first (整改工单)."""
    status = request.GET.get("status") or OPEN
    if status not in _TAB_VALUES:
        status = OPEN
    filters = ListFilterForm(request.GET or None, user=request.user)
    unit, business_type = filters.value("unit"), filters.value("business_type")
    orders = workorder_list_visible_to(
        request.user,
        status="" if status == ALL else status,
        unit=unit,
        business_type=business_type,
    )
    counts = workorder_counts_visible_to(request.user, unit=unit, business_type=business_type)
    tabs = [
        {"value": value, "label": label, "count": counts[key], "active": value == status}
        for value, label, key in ORDER_TABS
    ]
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "workorders/order_list.html",
        {
            "page": page,
            "tabs": tabs,
            "status": status,
            "filters": filters,
            "can_decide": has_perm(request.user, Perm.APPEAL_DECIDE),
        },
    )


# --- One order and its actions -------------------------------------------------------------

# The field a person types into first in each action's form.
_MAIN_FIELD = {
    "feedback": "feedback_text",
    "appeal": "reason",
    "close": "note",
    "return": "note",
    "decide": "note",
}


def _allowed_actions(user, order, appeal, appeal_until) -> dict[str, bool]:
    """What THIS user may do to the order in ITS status; the services enforce the same."""
    handle = has_perm(user, Perm.WORKORDER_HANDLE)
    # Auditing is the perception centre's (or a unit above it), as workorder_close enforces.
    close = has_perm(user, Perm.WORKORDER_CLOSE) and (
        user.unit_id is None or user.unit.contains(order.centre)
    )
    return {
        "accept": handle and order.status == S.DISPATCHED,
        "feedback": handle and order.status in (S.ACCEPTED, S.RETURNED),
        "appeal": handle
        and order.is_open
        and appeal is None
        and timezone.localdate() <= appeal_until,
        "close": close and order.status == S.AUDIT,
        "return": close and order.status == S.AUDIT,
        "decide": has_perm(user, Perm.APPEAL_DECIDE) and appeal_decidable_by(user, appeal),
    }


def _can_see_callback(user, order) -> bool:
    # The callback page is scoped by perception centre, not by the responsible unit.
    if not has_perm(user, Perm.CALLBACK_VIEW):
        return False
    return user.is_superuser or (user.unit is not None and user.unit.contains(order.centre))


def _order_page(request, order, *, failed=None, alert="", status=200):
    """The order's page; `failed` = (action, bound form) re-shows what the user typed."""
    appeal = appeal_for(order)
    appeal_until = appeal_deadline(order)
    actions = _allowed_actions(request.user, order, appeal, appeal_until)
    forms = {
        "feedback": FeedbackForm(),
        "appeal": AppealForm(),
        "close": CloseForm(),
        "return": ReturnForm(),
        "decide": AppealDecideForm(),
    }
    focus = "feedback" if actions["feedback"] else None
    if failed is not None:
        name, form = failed
        forms[name] = form
        if not actions.get(name):
            # The order moved on (e.g. closed meanwhile): the form is gone, its message stays.
            alert = alert or " ".join(str(e) for errors in form.errors.values() for e in errors)
        focus = name if actions.get(name) else None
    if focus in _MAIN_FIELD:
        forms[focus].fields[_MAIN_FIELD[focus]].widget.attrs["autofocus"] = True
    history = list(workorder_history(order))
    for event in history:
        event.from_label = S(event.from_status).label if event.from_status else ""
    return render(
        request,
        "workorders/order_detail.html",
        {
            "order": order,
            "callback": order.callback,
            "survey": order.survey,
            "event": order.survey.event,
            "history": history,
            "evidence": evidence_list_for(order),
            "appeal": appeal,
            "appeal_until": appeal_until,
            "actions": actions,
            "any_action": any(actions.values()),
            # Say why there is no appeal form when the window has closed on the unit.
            "appeal_expired": has_perm(request.user, Perm.WORKORDER_HANDLE)
            and order.is_open
            and appeal is None
            and not actions["appeal"],
            "forms": forms,
            "alert": alert,
            "appeal_window": settings.APPEAL_WINDOW_WORKDAYS,
            "follow_up_label": Rating(order.follow_up_rating).label
            if order.follow_up_rating
            else "",
            "can_see_callback": _can_see_callback(request.user, order),
        },
        status=status,
    )


@staff_view(Perm.WORKORDER_VIEW)
def order_detail(request, pk):
    order = workorder_get_visible_to(request.user, pk)
    return _order_page(request, order)


def _act(request, pk, *, name, form, call, done):
    """Run one action: the form collects, the service decides. A refusal re-renders the
    order with the message on the field at fault and the user's input kept."""
    order = workorder_get_visible_to(request.user, pk)
    if form is not None and not form.is_valid():
        return _order_page(request, order, failed=(name, form), status=400)
    try:
        call(order, form.cleaned_data if form is not None else {})
    except (NotFound, PermissionDenied):
        raise  # staff_view answers these (404 / the error page)
    except ApplicationError as exc:
        alert = ""
        if form is not None and exc.field in form.fields:
            form.add_error(exc.field, str(exc.message))
        elif form is not None:
            form.add_error(None, str(exc.message))
        else:
            alert = str(exc.message)
        order = workorder_get_visible_to(request.user, pk)  # as it is now
        failed = (name, form) if form is not None else None
        return _order_page(request, order, failed=failed, alert=alert, status=exc.status)
    messages.success(request, done)
    return redirect("workorders:order_detail", pk=pk)


@staff_view(Perm.WORKORDER_HANDLE)
@require_POST
def order_accept(request, pk):
    return _act(
        request,
        pk,
        name="accept",
        form=None,
        call=lambda order, data: workorder_accept(actor=request.user, order=order),
        done=_("已签收，请按期整改并反馈。"),
    )


@staff_view(Perm.WORKORDER_HANDLE)
@require_POST
def order_feedback(request, pk):
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        # Refused before any file is looked at; the text typed is kept.
        order = workorder_get_visible_to(request.user, pk)
        form = FeedbackForm(request.POST)
        form.is_valid()
        form.add_error(
            "evidence",
            TOO_LARGE % {"mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20},
        )
        return _order_page(request, order, failed=("feedback", form), status=413)
    return _act(
        request,
        pk,
        name="feedback",
        form=FeedbackForm(request.POST, request.FILES),
        call=lambda order, data: workorder_feedback(
            actor=request.user,
            order=order,
            text=data["feedback_text"],
            files=data["evidence"],
        ),
        done=_("整改情况已提交，民意感知中心将向群众追评。"),
    )


@staff_view(Perm.WORKORDER_HANDLE)
@require_POST
def appeal_file_view(request, pk):
    return _act(
        request,
        pk,
        name="appeal",
        form=AppealForm(request.POST),
        call=lambda order, data: appeal_file(
            actor=request.user, order=order, reason=data["reason"]
        ),
        done=_("申诉已提交，等待上级复核。"),
    )


@staff_view(Perm.WORKORDER_CLOSE)
@require_POST
def order_close(request, pk):
    return _act(
        request,
        pk,
        name="close",
        form=CloseForm(request.POST),
        call=lambda order, data: workorder_close(
            actor=request.user, order=order, note=data["note"]
        ),
        done=_("工单已审核办结。"),
    )


@staff_view(Perm.WORKORDER_CLOSE)
@require_POST
def order_return(request, pk):
    return _act(
        request,
        pk,
        name="return",
        form=ReturnForm(request.POST),
        call=lambda order, data: workorder_return(
            actor=request.user, order=order, note=data["note"]
        ),
        done=_("工单已退回责任单位重新整改。"),
    )


def _decide(actor, order, data):
    appeal = appeal_for(order)
    if appeal is None:
        raise ApplicationError("no_appeal", _("该工单没有申诉。"), status=404)
    appeal_decide(
        actor=actor, appeal=appeal, uphold=data["decision"] == "uphold", note=data["note"]
    )


@staff_view(Perm.APPEAL_DECIDE)
@require_POST
def appeal_decide_view(request, pk):
    return _act(
        request,
        pk,
        name="decide",
        form=AppealDecideForm(request.POST),
        call=lambda order, data: _decide(request.user, order, data),
        done=_("申诉复核意见已保存。"),
    )


@staff_view(Perm.WORKORDER_VIEW)
def evidence_download(request, pk, evidence_pk):
    """The file, only through a scoped read, as an attachment with the type judged at upload.
    Every download is audited: evidence may show people and documents."""
    evidence = evidence_get_visible_to(request.user, pk, evidence_pk)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound(_("佐证文件已不存在，请联系管理员。")) from exc
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=evidence,
        detail={"order": evidence.order_id, "evidence": evidence.pk, "size": evidence.size},
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.APPEAL_DECIDE)
def appeal_list(request):
    """Appeals waiting for this supervisor's tier (申诉复核), oldest first."""
    page = Paginator(appeal_list_pending_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "workorders/appeal_list.html",
        {"page": page, "pending": AppealStatus.PENDING},
    )
