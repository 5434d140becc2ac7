"""The meetings demo (minyi/demo/meetings.py): written by the real services at any hour,
nothing after `now`, published minutes with answered and open questions, the 110直播室 of the
recent and coming working days, and a second run writes nothing."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from minyi.demo import meetings as demo_meetings
from minyi.demo.city import build_demo_city
from minyi.meetings.models import Meeting, MeetingKind, MeetingQuestion, MeetingStatus
from minyi.opinions.models import OpinionStatus

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def test_demo_meetings_just_after_midnight(client):
    # Just after midnight: today's 110直播室 and the coming 恳谈会 are still ahead.
    now = datetime(2026, 11, 18, 0, 20, tzinfo=TZ)
    build_demo_city()
    demo = demo_meetings.load(now=now)
    assert demo.created and demo.questions >= 10
    assert "meetings:" in demo_meetings.summary_line(demo)

    published = Meeting.objects.filter(status=MeetingStatus.PUBLISHED)
    assert {m.kind for m in published} == set(MeetingKind.values)
    assert Meeting.objects.filter(kind=MeetingKind.FORUM, starts_at__gt=now).exists()
    assert (
        Meeting.objects.filter(kind=MeetingKind.RADIO, status=MeetingStatus.SCHEDULED).count() == 5
    )
    assert Meeting.objects.filter(status=MeetingStatus.HELD).exists()
    opinions = [q.opinion for q in MeetingQuestion.objects.select_related("opinion")]
    assert all(o.submitted_at <= now for o in opinions)
    assert all(o.answered_at is None or o.answered_at <= now for o in opinions)
    assert any(o.status == OpinionStatus.ANSWERED for o in opinions)
    # A published meeting shows a question still 办理中.
    open_published = MeetingQuestion.objects.filter(
        meeting__status=MeetingStatus.PUBLISHED, opinion__status=OpinionStatus.RECEIVED
    ).first()
    assert open_published is not None
    page = client.get(reverse("meetings_public:meeting", args=[open_published.meeting_id]))
    assert "办理中" in page.content.decode()
    # Every answered question has its public answer, and the portal shows that one only.
    answered = MeetingQuestion.objects.filter(
        meeting__status=MeetingStatus.PUBLISHED, opinion__status=OpinionStatus.ANSWERED
    ).select_related("opinion")
    assert answered and all(q.public_answer for q in answered)
    shown = answered.first()
    page = client.get(reverse("meetings_public:meeting", args=[shown.meeting_id])).content
    assert shown.public_answer in page.decode() and shown.opinion.answer not in page.decode()

    count = Meeting.objects.count()
    assert not demo_meetings.load(now=now).created
    assert Meeting.objects.count() == count
