"""Work-order pages (整改工单): the list, one order with the actions its reader may take now,
evidence downloads and the appeals awaiting a decision. Every read goes through a scoped
selector; every action is one service call that re-renders the order with the refusal in
Chinese, or redirects back to it."""

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.audit import audit_record
from minyi.core.errors import NotFound
from minyi.core.models import AuditAction
from minyi.core.ui import ALL, ActionPage, Tabs, console_list, page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.perception.models import Rating
from minyi.workorders.forms import (
    TOO_LARGE,
    AppealDecideForm,
    AppealForm,
    CloseForm,
    FeedbackForm,
    ListFilterForm,
    RatingAppealDecideForm,
    ReturnForm,
)
from minyi.workorders.models import AppealStatus, WorkOrderStatus
from minyi.workorders.selectors import (
    DUE_SOON,
    OPEN,
    OVERDUE,
    appeal_deadline,
    appeal_for,
    appeal_list_pending_for,
    evidence_get_visible_to,
    evidence_list_for,
    rating_action_require,
    rating_actions_for,
    rating_appeal_deadline,
    rating_appeal_for,
    rating_get_visible_to,
    rating_list_visible_to,
    workorder_action_require,
    workorder_actions_for,
    workorder_callback_visible_to,
    workorder_counts_visible_to,
    workorder_get_visible_to,
    workorder_history,
    workorder_list_visible_to,
)
from minyi.workorders.services import (
    appeal_decide,
    appeal_file,
    rating_appeal_file,
    workorder_accept,
    workorder_close,
    workorder_feedback,
    workorder_return,
)

S = WorkOrderStatus

# The list opens on what is still to do (待办), most urgent first; 全部 is one click away.
ORDER_TABS = Tabs(
    choices=(
        (OPEN, gettext_lazy("待办")),
        (ALL, gettext_lazy("全部")),
        (S.DISPATCHED, gettext_lazy("待签收")),
        (S.ACCEPTED, gettext_lazy("整改中")),
        (S.FEEDBACK, gettext_lazy("待追评")),
        (S.RETURNED, gettext_lazy("退回")),
        (S.AUDIT, gettext_lazy("待审核")),
        (S.CLOSED, gettext_lazy("已办结")),
        (S.CANCELLED, gettext_lazy("已撤销")),
        (DUE_SOON, gettext_lazy("即将超期")),
        (OVERDUE, gettext_lazy("超期")),
    ),
    default=OPEN,
)


@staff_view(Perm.WORKORDER_VIEW)
def order_list(request):
    """Orders of the user's subtree by status, overdue first (整改工单)."""
    status = ORDER_TABS.current(request)
    filters = ListFilterForm(request.GET or None, user=request.user)
    unit, business_type = filters.value("unit"), filters.value("business_type")
    orders = workorder_list_visible_to(
        request.user,
        status=ORDER_TABS.filter_value(status),
        unit=unit,
        business_type=business_type,
    )
    counts = workorder_counts_visible_to(request.user, unit=unit, business_type=business_type)
    return render(
        request,
        "workorders/order_list.html",
        {
            **console_list(request, orders, tabs=ORDER_TABS, current=status, counts=counts),
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


def _order_page(request, order, *, failed=None, alert="", status=200):
    """The order's page; `failed` = (action, bound form) re-shows what the user typed."""
    appeal = appeal_for(order)
    actions = workorder_actions_for(request.user, order, appeal=appeal)
    forms = {
        "feedback": FeedbackForm(),
        "appeal": AppealForm(),
        "close": CloseForm(),
        "return": ReturnForm(),
        "decide": AppealDecideForm(),
    }
    alert = ORDER_PAGE.forms_shown(forms, actions, failed=failed, alert=alert)
    history = workorder_history(order)
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
            "appeal_until": appeal_deadline(order),
            "actions": actions,
            # Say why there is no appeal form when the window has closed on the unit.
            "appeal_expired": has_perm(request.user, Perm.WORKORDER_HANDLE)
            and order.is_open
            and appeal is None
            and "appeal" not in actions,
            "forms": forms,
            "alert": alert,
            "appeal_window": settings.APPEAL_WINDOW_WORKDAYS,
            "follow_up_label": Rating(order.follow_up_rating).label
            if order.follow_up_rating
            else "",
            "can_see_callback": workorder_callback_visible_to(request.user, order),
        },
        status=status,
    )


@staff_view(Perm.WORKORDER_VIEW)
def order_detail(request, pk):
    order = workorder_get_visible_to(request.user, pk)
    return _order_page(request, order)


ORDER_PAGE = ActionPage(
    get=workorder_get_visible_to,
    render=_order_page,
    url_name="workorders:order_detail",
    main_field=_MAIN_FIELD,
    first="feedback",
)


@staff_view(Perm.WORKORDER_HANDLE)
@require_POST
def order_accept(request, pk):
    return ORDER_PAGE.act(
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
    return ORDER_PAGE.act(
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
    return ORDER_PAGE.act(
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
    return ORDER_PAGE.act(
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
    return ORDER_PAGE.act(
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
        workorder_action_require(actor, order, "decide", appeal=None)  # raises "no_appeal"
    appeal_decide(
        actor=actor, appeal=appeal, uphold=data["decision"] == "uphold", note=data["note"]
    )


@staff_view(Perm.APPEAL_DECIDE)
@require_POST
def appeal_decide_view(request, pk):
    return ORDER_PAGE.act(
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
    return render(
        request,
        "workorders/appeal_list.html",
        {
            "page": page_of(request, appeal_list_pending_for(request.user)),
            "pending": AppealStatus.PENDING,
        },
    )


# --- Ratings not at fault: unreasonable demands a unit may appeal (评价申诉) -------------------


@staff_view(Perm.WORKORDER_VIEW)
def rating_list(request):
    """Ratings of the user's subtree the callback found an unreasonable demand (诉求不合理),
    newest first, each with its appeal status: the unit's way to contest a rating that has
    no work order."""
    return render(
        request,
        "workorders/rating_list.html",
        {
            "page": page_of(request, rating_list_visible_to(request.user)),
            "can_decide": has_perm(request.user, Perm.APPEAL_DECIDE),
        },
    )


def _rating_page(request, callback, *, failed=None, alert="", status=200):
    appeal = rating_appeal_for(callback)
    actions = rating_actions_for(request.user, callback, appeal=appeal)
    forms = {"appeal": AppealForm(), "decide": RatingAppealDecideForm()}
    alert = RATING_PAGE.forms_shown(forms, actions, failed=failed, alert=alert)
    survey = callback.survey
    return render(
        request,
        "workorders/rating_detail.html",
        {
            "callback": callback,
            "survey": survey,
            "appeal": appeal,
            "appeal_until": rating_appeal_deadline(callback),
            "appeal_window": settings.APPEAL_WINDOW_WORKDAYS,
            "actions": actions,
            # Say why there is no appeal form when the window has closed on the unit.
            "appeal_expired": has_perm(request.user, Perm.WORKORDER_HANDLE)
            and appeal is None
            and survey.excluded_at is None
            and "appeal" not in actions,
            "forms": forms,
            "alert": alert,
        },
        status=status,
    )


RATING_PAGE = ActionPage(
    get=rating_get_visible_to,
    render=_rating_page,
    url_name="workorders:rating_detail",
    main_field={"appeal": "reason", "decide": "note"},
    first="decide",
)


@staff_view(Perm.WORKORDER_VIEW)
def rating_detail(request, pk):
    return _rating_page(request, rating_get_visible_to(request.user, pk))


@staff_view(Perm.WORKORDER_HANDLE)
@require_POST
def rating_appeal_file_view(request, pk):
    return RATING_PAGE.act(
        request,
        pk,
        name="appeal",
        form=AppealForm(request.POST),
        call=lambda callback, data: rating_appeal_file(
            actor=request.user, callback=callback, reason=data["reason"]
        ),
        done=_("申诉已提交，等待上级复核。"),
    )


def _rating_decide(actor, callback, data):
    appeal = rating_appeal_for(callback)
    if appeal is None:
        rating_action_require(actor, callback, "decide", appeal=None)  # raises "no_appeal"
    appeal_decide(
        actor=actor, appeal=appeal, uphold=data["decision"] == "uphold", note=data["note"]
    )


@staff_view(Perm.APPEAL_DECIDE)
@require_POST
def rating_appeal_decide_view(request, pk):
    return RATING_PAGE.act(
        request,
        pk,
        name="decide",
        form=RatingAppealDecideForm(request.POST),
        call=lambda callback, data: _rating_decide(request.user, callback, data),
        done=_("申诉复核意见已保存。"),
    )
