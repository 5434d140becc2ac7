"""Staff pages of meetings and live programmes (恳谈会、广场警务活动日、110直播室), under
/meetings/: the list, scheduling, the 110直播室 on the coming working days, a meeting's page
with its questions and each opinion's status (the citizen's words and the answer only where
the opinion is in the user's subtree), and the forms that record the questions, each
answered question's public answer, the attendance and the minutes, publish or cancel. Every
page is scoped to the user's subtree by the organising unit; the services decide."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError
from minyi.core.pii import mask_text
from minyi.core.ui import page_of
from minyi.meetings.forms import (
    AttendanceForm,
    CancelForm,
    FilterForm,
    MeetingForm,
    MinutesForm,
    PublicAnswerForm,
    QuestionForm,
    RadioScheduleForm,
)
from minyi.meetings.models import MeetingKind, MeetingStatus
from minyi.meetings.selectors import (
    MeetingFilter,
    communities_for,
    meeting_get_visible_to,
    meeting_history,
    meeting_list_visible_to,
    meeting_questions,
    question_ids_in_scope,
    units_for,
)
from minyi.meetings.services import (
    RADIO_DEFAULTS,
    meeting_cancel,
    meeting_publish,
    meeting_record_attendance,
    meeting_save,
    meeting_write_minutes,
    question_add,
    question_write_public_answer,
    radio_schedule,
)
from minyi.opinions.models import OpinionKind
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm

VIEW, MANAGE = Perm.MEETING_VIEW, Perm.MEETING_MANAGE


def _form_page(request, form, *, call, done: str, template: str, context: dict, to):
    """GET: the form. POST: the form collects, `call(cleaned_data)` decides; done → a message
    and `to()`; refused → the form again with the message on its field (status kept)."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = call(form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, done)
                return redirect(to(result))
        else:
            status = 400
    return render(request, template, {"form": form, **context}, status=status)


@staff_view(VIEW)
def meeting_list(request):
    form = FilterForm(request.GET or None)
    filters = MeetingFilter()
    if form.is_valid():
        filters = MeetingFilter(**form.cleaned_data)
    page = page_of(request, meeting_list_visible_to(request.user, filters))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "meetings/meeting_list.html",
        {
            "page": page,
            "filter_form": form,
            "query": query.urlencode(),
            "can_manage": has_perm(request.user, MANAGE),
        },
    )


def _meeting_form(request, meeting=None):
    if meeting is None:
        initial = {"kind": request.GET.get("kind", MeetingKind.FORUM), "unit": request.user.unit_id}
    else:
        initial = {
            "kind": meeting.kind,
            "unit": meeting.unit_id,
            "community": meeting.community_id,
            "title": meeting.title,
            "place": meeting.place,
            "agenda": meeting.agenda,
            "starts_at": timezone.localtime(meeting.starts_at),
            "ends_at": timezone.localtime(meeting.ends_at),
        }
    return MeetingForm(
        request.POST or None,
        units=units_for(request.user),
        communities=communities_for(request.user),
        initial=initial,
    )


@staff_view(MANAGE)
def meeting_new(request):
    return _form_page(
        request,
        _meeting_form(request),
        call=lambda data: meeting_save(actor=request.user, **data),
        done=_("活动已安排。"),
        template="meetings/meeting_form.html",
        context={},
        to=lambda meeting: meeting.get_absolute_url(),
    )


@staff_view(MANAGE)
def meeting_edit(request, pk):
    meeting = meeting_get_visible_to(request.user, pk)
    return _form_page(
        request,
        _meeting_form(request, meeting),
        call=lambda data: meeting_save(actor=request.user, meeting=meeting, **data),
        done=_("活动安排已修改。"),
        template="meetings/meeting_form.html",
        context={"meeting": meeting},
        to=lambda m: m.get_absolute_url(),
    )


@staff_view(VIEW)
def meeting_detail(request, pk):
    meeting = meeting_get_visible_to(request.user, pk)
    questions = list(meeting_questions(meeting))
    in_scope = question_ids_in_scope(request.user, meeting)
    can_manage = has_perm(request.user, MANAGE)
    for q in questions:
        # The citizen's words and the answer only where the opinion is the user's (an opinion
        # transferred outside the subtree shows its number and status); a number in them is
        # masked here, the opinion's page reveals.
        q.in_scope = q.pk in in_scope
        q.content_masked = mask_text(q.opinion.content) if q.in_scope else ""
        q.answer_masked = mask_text(q.opinion.answer) if q.in_scope else ""
        q.is_tip = q.opinion.kind == OpinionKind.TIP
        q.answer_form = (
            PublicAnswerForm(initial={"public_answer": q.public_answer}, prefix=f"q{q.pk}")
            if can_manage and not q.is_tip and not q.opinion.is_open
            else None
        )
    has_questions = bool(questions)
    return render(
        request,
        "meetings/meeting_detail.html",
        {
            "meeting": meeting,
            "questions": questions,
            "history": meeting_history(meeting),
            "can_manage": can_manage,
            "open_count": sum(1 for q in questions if q.opinion.is_open),
            "started": meeting.starts_at <= timezone.now(),
            "cancel_form": CancelForm() if can_manage and not has_questions else None,
            "S": MeetingStatus,
        },
    )


@staff_view(MANAGE)
def question_new(request, pk):
    meeting = meeting_get_visible_to(request.user, pk)
    return _form_page(
        request,
        QuestionForm(request.POST or None),
        call=lambda data: question_add(actor=request.user, meeting=meeting, **data),
        done=_("提问已录入，已转为群众诉求跟踪办理。"),
        template="meetings/question_form.html",
        context={"meeting": meeting},
        to=lambda q: q.meeting.get_absolute_url(),
    )


@staff_view(MANAGE)
@require_POST
def public_answer(request, pk, question_pk):
    """Write or edit the public answer (公开答复) of one answered question, from the meeting's
    page; back to it with a message either way."""
    meeting = meeting_get_visible_to(request.user, pk)
    question = get_object_or_404(meeting.questions, pk=question_pk)
    form = PublicAnswerForm(request.POST, prefix=f"q{question.pk}")
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(meeting.get_absolute_url())
    return _act(
        request,
        meeting,
        lambda: question_write_public_answer(
            actor=request.user, question=question, **form.cleaned_data
        ),
        _("第 %(n)d 个问题的公开答复已保存。") % {"n": question.order},
    )


@staff_view(MANAGE)
def attendance(request, pk):
    meeting = meeting_get_visible_to(request.user, pk)
    initial = {
        "citizens_count": meeting.citizens_count,
        "officers_present": meeting.officers_present,
    }
    return _form_page(
        request,
        AttendanceForm(request.POST or None, initial=initial),
        call=lambda data: meeting_record_attendance(actor=request.user, meeting=meeting, **data),
        done=_("参加情况已登记。"),
        template="meetings/simple_form.html",
        context={"meeting": meeting, "heading": _("登记参加情况"), "testid": "attendance-form"},
        to=lambda m: m.get_absolute_url(),
    )


@staff_view(MANAGE)
def minutes(request, pk):
    meeting = meeting_get_visible_to(request.user, pk)
    initial = {"minutes": meeting.minutes, "follow_up": meeting.follow_up}
    return _form_page(
        request,
        MinutesForm(request.POST or None, initial=initial),
        call=lambda data: meeting_write_minutes(actor=request.user, meeting=meeting, **data),
        done=_("纪要已保存。"),
        template="meetings/simple_form.html",
        context={"meeting": meeting, "heading": _("会议纪要与后续成效"), "testid": "minutes-form"},
        to=lambda m: m.get_absolute_url(),
    )


def _act(request, meeting, call, done: str):
    try:
        call()
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    return redirect(meeting.get_absolute_url())


@staff_view(MANAGE)
@require_POST
def publish(request, pk):
    meeting = meeting_get_visible_to(request.user, pk)
    return _act(
        request,
        meeting,
        lambda: meeting_publish(actor=request.user, meeting=meeting),
        _("纪要已在群众端公开。"),
    )


@staff_view(MANAGE)
@require_POST
def cancel(request, pk):
    meeting = meeting_get_visible_to(request.user, pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(
        request,
        meeting,
        lambda: meeting_cancel(actor=request.user, meeting=meeting, reason=reason),
        _("活动已取消。"),
    )


@staff_view(MANAGE)
def radio_plan(request):
    initial = {
        "unit": request.user.unit_id,
        "start": timezone.localdate(),
        "at": RADIO_DEFAULTS["at"],
        "minutes": RADIO_DEFAULTS["minutes"],
    }
    form = RadioScheduleForm(request.POST or None, units=units_for(request.user), initial=initial)

    def call(data):
        created = radio_schedule(actor=request.user, **data)
        messages.info(request, _("新安排 %(n)d 期。") % {"n": len(created)})
        return created

    return _form_page(
        request,
        form,
        call=call,
        done=_("已按工作日安排110直播室（已有的不重复安排）。"),
        template="meetings/radio_form.html",
        context={},
        to=lambda _created: f"{reverse('meetings:meeting_list')}?kind=radio&when=upcoming",
    )
