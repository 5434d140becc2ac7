"""Staff pages of community officers' work (社区民警工作), under /community/work/: the
responsibility lists (责任清单), household visits (走访) with their coverage, and safety notices
(安全提醒). Every page needs COMMUNITY_WORK and sees the communities of the user's subtree
only; the services in minyi/community/work.py decide."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.community.access import COMMUNITY_WORK
from minyi.community.models import VisitTopic
from minyi.community.work import (
    NOTICE_DAILY_LIMIT,
    VisitFilter,
    community_get_for_work,
    duty_get_visible_to,
    duty_list_visible_to,
    duty_remove,
    duty_save,
    month_start,
    notice_communities_for,
    notice_compose,
    notice_get_visible_to,
    notice_list_visible_to,
    notice_send,
    notice_sms_body,
    officers_for_area,
    subscribers_active,
    visit_areas_for,
    visit_coverage,
    visit_delete,
    visit_follow_up_done,
    visit_get_visible_to,
    visit_list_visible_to,
    visit_log,
    visit_officers_for,
    visit_update,
)
from minyi.community.work_forms import DutyForm, MonthForm, NoticeForm, VisitFilterForm, VisitForm
from minyi.core.errors import ApplicationError
from minyi.core.pii import mask_text
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view


def _form_error(form, exc: ApplicationError) -> int:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
    return exc.status


# --- Responsibility lists (责任清单) ---------------------------------------------------------


@staff_view(COMMUNITY_WORK)
def duty_list(request):
    q = request.GET.get("q", "").strip()[:40]
    return render(
        request,
        "community/work_duty_list.html",
        {"communities": duty_list_visible_to(request.user, q=q), "q": q},
    )


def _duty_page(request, *, community, post=None):
    officers = officers_for_area(community)
    initial = (
        {
            "officer": post.officer_id,
            "duties": post.duties,
            "published": post.published,
            "since": post.since,
        }
        if post
        else {"published": True}
    )
    form = DutyForm(request.POST or None, officers=officers, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                duty_save(
                    actor=request.user,
                    community=community,
                    post=post,
                    **form.cleaned_data,
                )
            except ApplicationError as exc:
                status = _form_error(form, exc)
            else:
                messages.success(request, _("责任清单已保存。"))
                return redirect("community:duty_list")
        else:
            status = 400
    return render(
        request,
        "community/work_duty_form.html",
        {"community": community, "post": post, "form": form},
        status=status,
    )


@staff_view(COMMUNITY_WORK)
def duty_new(request, community_pk):
    return _duty_page(request, community=community_get_for_work(request.user, community_pk))


@staff_view(COMMUNITY_WORK)
def duty_edit(request, pk):
    post = duty_get_visible_to(request.user, pk)
    return _duty_page(request, community=post.area, post=post)


@staff_view(COMMUNITY_WORK)
@require_POST
def duty_delete(request, pk):
    post = duty_get_visible_to(request.user, pk)
    duty_remove(actor=request.user, post=post)
    messages.success(request, _("已从责任清单中移除。"))
    return redirect("community:duty_list")


# --- Household visits (走访) -----------------------------------------------------------------


def _filters(request) -> tuple[VisitFilterForm, VisitFilter]:
    form = VisitFilterForm(request.GET or None, communities=notice_communities_for(request.user))
    filters = VisitFilter()
    if form.is_valid():
        data = form.cleaned_data
        filters = VisitFilter(
            community=data["community"].pk if data["community"] else None,
            topic=data["topic"] if data["topic"] in VisitTopic.values else "",
            month=month_start(data["month"]) if data["month"] else None,
            pending=data["pending"],
        )
    return form, filters


@staff_view(COMMUNITY_WORK)
def visit_list(request):
    form, filters = _filters(request)
    page = page_of(request, visit_list_visible_to(request.user, filters))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "community/visit_list.html",
        {"page": page, "filter_form": form, "query": query.urlencode()},
    )


def _visit_form(request, visit=None):
    initial = (
        {
            "area": visit.area_id,
            "officer": visit.officer_id,
            "visited_on": visit.visited_on,
            "topic": visit.topic,
            "households": visit.households,
            # Masked: a number in the text shows only through an audited reveal.
            "note": mask_text(visit.note),
            "follow_up": mask_text(visit.follow_up),
        }
        if visit
        else {"visited_on": timezone.localdate(), "households": 1}
    )
    return VisitForm(
        request.POST or None,
        areas=visit_areas_for(request.user),
        officers=visit_officers_for(request.user),
        initial=initial,
    )


MASKED_FIELDS = ("note", "follow_up")


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _unmask_untouched(visit, data: dict) -> dict:
    """The form shows the note and follow-up masked; a field submitted as it was shown keeps
    its stored original (the numbers in it), a field the officer changed is saved as typed."""
    for name in MASKED_FIELDS:
        original = getattr(visit, name)
        if _lines(data.get(name, "")) == _lines(mask_text(original)):
            data[name] = original
    return data


@staff_view(COMMUNITY_WORK)
def visit_new(request):
    form = _visit_form(request)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                visit_log(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                status = _form_error(form, exc)
            else:
                messages.success(request, _("走访记录已保存。"))
                return redirect("community:visit_list")
        else:
            status = 400
    return render(request, "community/visit_form.html", {"form": form}, status=status)


@staff_view(COMMUNITY_WORK)
def visit_edit(request, pk):
    visit = visit_get_visible_to(request.user, pk)
    form = _visit_form(request, visit)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                visit_update(
                    actor=request.user, visit=visit, **_unmask_untouched(visit, form.cleaned_data)
                )
            except ApplicationError as exc:
                status = _form_error(form, exc)
            else:
                messages.success(request, _("走访记录已修改。"))
                return redirect("community:visit_list")
        else:
            status = 400
    return render(
        request, "community/visit_form.html", {"form": form, "visit": visit}, status=status
    )


@staff_view(COMMUNITY_WORK)
@require_POST
def visit_remove(request, pk):
    visit = visit_get_visible_to(request.user, pk)
    visit_delete(actor=request.user, visit=visit)
    messages.success(request, _("走访记录已删除。"))
    return redirect("community:visit_list")


@staff_view(COMMUNITY_WORK)
@require_POST
def visit_done(request, pk):
    visit = visit_get_visible_to(request.user, pk)
    visit_follow_up_done(actor=request.user, visit=visit)
    messages.success(request, _("后续事项已办结。"))
    return redirect("community:visit_list")


@staff_view(COMMUNITY_WORK)
def visit_coverage_page(request):
    form = MonthForm(request.GET or None)
    today = timezone.localdate()
    month = month_start(today)
    if form.is_valid() and form.cleaned_data["month"]:
        month = month_start(form.cleaned_data["month"])
    if month > today:
        month = month_start(today)
    rows = visit_coverage(request.user, month)
    return render(
        request,
        "community/visit_coverage.html",
        {
            "form": form,
            "month": month,
            "rows": rows,
            "trend_months": [m for m, _share in rows[0].trend] if rows else [],
        },
    )


# --- Safety notices (安全提醒) ---------------------------------------------------------------


@staff_view(COMMUNITY_WORK)
def notice_list(request):
    page = page_of(request, notice_list_visible_to(request.user))
    return render(
        request, "community/notice_list.html", {"page": page, "daily_limit": NOTICE_DAILY_LIMIT}
    )


@staff_view(COMMUNITY_WORK)
def notice_new(request):
    form = NoticeForm(request.POST or None, communities=notice_communities_for(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                notice = notice_compose(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                status = _form_error(form, exc)
            else:
                return redirect("community:notice_detail", pk=notice.pk)
        else:
            status = 400
    return render(request, "community/notice_form.html", {"form": form}, status=status)


@staff_view(COMMUNITY_WORK)
def notice_detail(request, pk):
    """The preview: the SMS exactly as it leaves, and how many subscribers it goes to."""
    notice = notice_get_visible_to(request.user, pk)
    return render(
        request,
        "community/notice_detail.html",
        {
            "notice": notice,
            "sms_body": notice_sms_body(notice),
            "subscribers": subscribers_active(notice.area).count(),
            "daily_limit": NOTICE_DAILY_LIMIT,
        },
    )


@staff_view(COMMUNITY_WORK)
@require_POST
def notice_send_view(request, pk):
    notice = notice_get_visible_to(request.user, pk)
    notice = notice_send(actor=request.user, notice=notice)
    messages.success(
        request,
        _("已发送：%(sent)d 人，未发送 %(skipped)d 人（已退订或当日提醒已达上限）。")
        % {"sent": notice.recipients, "skipped": notice.skipped},
    )
    return redirect("community:notice_detail", pk=notice.pk)
