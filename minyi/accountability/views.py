"""Accountability pages (问责): the scoped list, one case with its evidence, the leader's reply
form, the decision form and the history. Thin: selectors read, services write."""

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.accountability.access import (
    ACCOUNTABILITY_DECIDE,
    ACCOUNTABILITY_REPLY,
    ACCOUNTABILITY_VIEW,
)
from minyi.accountability.evidence import evidence_display
from minyi.accountability.forms import DecideForm, ReplyForm
from minyi.accountability.models import CaseStatus
from minyi.accountability.selectors import (
    REASON_MAX_CHARS,
    REPLY_MAX_CHARS,
    TODO,
    case_actions_for,
    case_counts_visible_to,
    case_get_visible_to,
    case_history,
    case_list_visible_to,
)
from minyi.accountability.services import case_decide, case_reply
from minyi.core.ui import ALL, ActionPage, Tabs, console_list
from minyi.orgs.access import staff_view

S = CaseStatus

CASE_TABS = Tabs(
    choices=(
        (TODO, gettext_lazy("待处理")),
        (ALL, gettext_lazy("全部")),
        (S.OPEN, gettext_lazy("待说明")),
        (S.REPLIED, gettext_lazy("待决定")),
        (S.DECIDED, gettext_lazy("已决定")),
    ),
    default=TODO,
)


@staff_view(ACCOUNTABILITY_VIEW)
def case_list(request):
    status = CASE_TABS.current(request)
    cases = case_list_visible_to(request.user, status=CASE_TABS.filter_value(status))
    counts = case_counts_visible_to(request.user)
    return render(
        request,
        "accountability/case_list.html",
        console_list(request, cases, tabs=CASE_TABS, current=status, counts=counts),
    )


def _case_page(request, case, *, failed=None, alert="", status=200):
    actions = case_actions_for(request.user, case)
    forms = {"reply": ReplyForm(), "decide": DecideForm()}
    alert = CASE_PAGE.forms_shown(forms, actions, failed=failed, alert=alert)
    evidence = evidence_display(case.evidence)
    return render(
        request,
        "accountability/case_detail.html",
        {
            "case": case,
            "evidence": evidence,
            "source": case.source or {},
            "history": case_history(case),
            "actions": actions,
            "forms": forms,
            "alert": alert,
            "reply_max": REPLY_MAX_CHARS,
            "reason_max": REASON_MAX_CHARS,
        },
        status=status,
    )


@staff_view(ACCOUNTABILITY_VIEW)
def case_detail(request, pk):
    return _case_page(request, case_get_visible_to(request.user, pk))


CASE_PAGE = ActionPage(
    get=case_get_visible_to,
    render=_case_page,
    url_name="accountability:case_detail",
    main_field={"reply": "text", "decide": "reason"},
    first="reply",
)


@staff_view(ACCOUNTABILITY_REPLY)
@require_POST
def case_reply_view(request, pk):
    return CASE_PAGE.act(
        request,
        pk,
        name="reply",
        form=ReplyForm(request.POST),
        call=lambda case, data: case_reply(actor=request.user, case=case, text=data["text"]),
        done=_("书面说明已提交，等待上级作出决定。"),
    )


@staff_view(ACCOUNTABILITY_DECIDE)
@require_POST
def case_decide_view(request, pk):
    return CASE_PAGE.act(
        request,
        pk,
        name="decide",
        form=DecideForm(request.POST),
        call=lambda case, data: case_decide(
            actor=request.user, case=case, decision=data["decision"], reason=data["reason"]
        ),
        done=_("处理决定已保存。"),
    )
