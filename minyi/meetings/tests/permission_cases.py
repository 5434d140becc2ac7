"""Permission-matrix cases: meetings and live programmes (恳谈会、广场警务活动日、110直播室). The
owner is station a2's 恳谈会, held an hour ago, with one question; a sibling station's staff
must neither list nor open it."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm

TITLE = "甲二所平安恳谈会"
SUMMARY = "甲二菜场门口电动车乱停"
VIEW, MANAGE = Perm.MEETING_VIEW, Perm.MEETING_MANAGE


def _meeting(world):
    from minyi.meetings.models import Meeting, MeetingKind, MeetingQuestion, MeetingStatus
    from minyi.opinions.tests.factories import make_opinion

    meeting = Meeting.objects.filter(title=TITLE).first()
    if meeting is not None:
        return meeting
    start = timezone.now() - timedelta(hours=1)
    meeting = Meeting.objects.create(
        kind=MeetingKind.FORUM,
        unit=world.station_a2,
        title=TITLE,
        place="甲二社区会议室",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        status=MeetingStatus.HELD,
        minutes="群众反映菜场门口停车问题。",
    )
    MeetingQuestion.objects.create(
        meeting=meeting,
        opinion=make_opinion(world, unit=world.station_a2),
        summary=SUMMARY,
        asked_at=start,
        order=1,
    )
    return meeting


def _marker(world):
    _meeting(world)
    return TITLE


def _url(name):
    return lambda w: reverse(f"meetings:{name}", args=[_meeting(w).pk])


CASES = {
    "meetings:meeting_list": Case(VIEW, lambda w: reverse("meetings:meeting_list"), _marker),
    "meetings:meeting_detail": Case(VIEW, _url("meeting_detail"), _marker, detail=True),
    # The empty forms: the choice of units is the user's own subtree.
    "meetings:meeting_new": Case(
        MANAGE, lambda w: reverse("meetings:meeting_new"), lambda w: w.station_a2.name
    ),
    "meetings:radio_plan": Case(
        MANAGE, lambda w: reverse("meetings:radio_plan"), lambda w: w.station_a2.name
    ),
    "meetings:meeting_edit": Case(MANAGE, _url("meeting_edit"), _marker, detail=True),
    "meetings:question_new": Case(MANAGE, _url("question_new"), _marker, detail=True),
    "meetings:attendance": Case(MANAGE, _url("attendance"), _marker, detail=True),
    "meetings:minutes": Case(MANAGE, _url("minutes"), _marker, detail=True),
    # Done (or refused with a message), back to the meeting's page.
    "meetings:publish": Case(
        MANAGE, _url("publish"), _marker, method="post", detail=True, owner_status=302
    ),
    # The owner's question is not answered yet: refused with a message, back to the meeting.
    "meetings:public_answer": Case(
        MANAGE,
        lambda w: reverse(
            "meetings:public_answer",
            args=[_meeting(w).pk, _meeting(w).questions.get().pk],
        ),
        _marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "meetings:cancel": Case(
        MANAGE, _url("cancel"), _marker, method="post", detail=True, owner_status=302
    ),
}
