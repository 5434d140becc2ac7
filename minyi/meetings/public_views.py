"""Citizen pages of meetings and live programmes, under /c/meetings/ (no login): the coming
恳谈会, 广场警务活动日 and 110直播室 (where, when, agenda), and the past ones with their
minutes, follow-up and each question's public summary, status and answer once answered.
Never a name, a contact or a citizen's own words; numbers in staff text are masked."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from minyi.core.errors import NotFound
from minyi.meetings.models import MeetingKind, MeetingStatus
from minyi.meetings.selectors import (
    PUBLIC_PAST_LIMIT,
    public_meeting_get,
    public_past,
    public_questions,
    public_text,
    public_upcoming,
)

UPCOMING_LIMIT = 20


@require_safe
def meeting_index(request):
    kind = request.GET.get("kind", "")
    upcoming, past = public_upcoming(now=timezone.now()), public_past()
    if kind in MeetingKind.values:
        upcoming, past = upcoming.filter(kind=kind), past.filter(kind=kind)
    else:
        kind = ""
    return render(
        request,
        "meetings/public_index.html",
        {
            "upcoming": upcoming[:UPCOMING_LIMIT],
            "past": past[:PUBLIC_PAST_LIMIT],
            "kinds": MeetingKind.choices,
            "kind": kind,
        },
    )


@require_safe
def meeting_page(request, pk):
    try:
        meeting = public_meeting_get(pk)
    except NotFound as exc:
        raise Http404 from exc
    published = meeting.status == MeetingStatus.PUBLISHED
    return render(
        request,
        "meetings/public_meeting.html",
        {
            "meeting": meeting,
            "published": published,
            "minutes": public_text(meeting.minutes) if published else "",
            "follow_up": public_text(meeting.follow_up) if published else "",
            "agenda": public_text(meeting.agenda),
            "questions": public_questions(meeting),
        },
    )
