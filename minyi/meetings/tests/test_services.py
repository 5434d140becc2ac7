"""Meetings: scheduling checks, questions into opinions, attendance, minutes, publishing, the
110直播室 on working days, and the scope of every write."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction
from django.db.models.signals import pre_save

from minyi.community.models import AreaLevel
from minyi.community.tests.factories import make_area
from minyi.core.errors import ApplicationError, NotFound
from minyi.meetings import services
from minyi.meetings.models import Meeting, MeetingKind, MeetingStatus
from minyi.meetings.selectors import public_past, public_questions
from minyi.meetings.tests.factories import NOW, make_meeting
from minyi.opinions.models import OpinionChannel, OpinionStatus, ReplyBy
from minyi.opinions.services.handling import opinion_answer
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def _leader(world, key="a2"):
    return world.user(key, Role.UNIT_LEADER)


def _save(world, **kw):
    fields = {
        "actor": _leader(world),
        "kind": MeetingKind.FORUM,
        "unit": world.station_a2,
        "title": "甲二社区警民恳谈会",
        "place": "甲二社区会议室",
        "starts_at": NOW + timedelta(days=2),
        "ends_at": NOW + timedelta(days=2, hours=2),
        "now": NOW,
    }
    fields.update(kw)
    return services.meeting_save(**fields)


def _ask(world, meeting, **kw):
    fields = {
        "actor": _leader(world),
        "meeting": meeting,
        "kind": "consultation",
        "content": "公交站附近晚上有人扒窃，能不能加强巡逻？",
        "summary": "公交站附近夜间扒窃，希望加强巡逻",
        "now": NOW,
    }
    fields.update(kw)
    return services.question_add(**fields)


def test_schedule_checks_times_scope_and_community(world):
    own = make_area(world.station_a2, name="甲二社区")
    sibling = make_area(world.station_a1, name="甲一社区")
    group = make_area(world.station_a2, level=AreaLevel.GROUP, parent=own, name="一组")

    meeting = _save(world, community=own)
    assert meeting.status == MeetingStatus.SCHEDULED
    assert meeting.history.get().to_status == MeetingStatus.SCHEDULED

    with pytest.raises(ApplicationError) as exc:
        _save(world, ends_at=NOW + timedelta(days=2, hours=-1))
    assert exc.value.code == "ends_before_start" and exc.value.field == "ends_at"
    with pytest.raises(ApplicationError) as exc:
        _save(world, community=sibling)
    assert exc.value.code == "community_outside_unit"
    with pytest.raises(ApplicationError) as exc:
        _save(world, community=group)
    assert exc.value.code == "not_a_community"
    with pytest.raises(ApplicationError) as exc:
        _save(world, unit=world.station_a1)  # a sibling station is not the leader's to plan
    assert exc.value.code == "invalid_unit"
    with pytest.raises(ApplicationError) as exc:
        _save(world, starts_at=NOW - timedelta(days=40), ends_at=NOW - timedelta(days=40, hours=-1))
    assert exc.value.code == "starts_in_past"
    with pytest.raises(ApplicationError) as exc:
        _save(world, actor=world.user("a2", Role.EVALUATOR))
    assert exc.value.status == 403

    # A district's leader may hold it in any community of the district's stations.
    district = _save(world, actor=world.user("a", Role.UNIT_LEADER), unit=world.district_a)
    assert district.unit == world.district_a


def test_edit_only_while_scheduled(world):
    meeting = make_meeting(world.station_a2, status=MeetingStatus.HELD)
    with pytest.raises(ApplicationError) as exc:
        _save(world, meeting=meeting, title="改个名字")
    assert exc.value.code == "not_scheduled"


def test_a_question_becomes_an_opinion_of_the_meetings_channel(world):
    community = make_area(world.station_a2, name="甲二社区")
    meeting = make_meeting(world.station_a2, community=community)

    question = _ask(world, meeting, contact_name="王大伯", mobile="13800001234", consent=True)

    opinion = question.opinion
    assert opinion.channel == OpinionChannel.MEETING
    assert opinion.unit == world.station_a2
    assert opinion.submitted_at == meeting.starts_at  # received at the meeting
    assert opinion.reply_by == ReplyBy.SMS
    assert opinion.entered_by == _leader(world)
    assert question.order == 1 and question.asked_at == meeting.starts_at
    assert _ask(world, meeting).order == 2


def test_radio_and_plaza_questions_take_their_own_channel(world):
    radio = make_meeting(
        world.station_a2, kind=MeetingKind.RADIO, start=NOW - timedelta(minutes=20)
    )
    plaza = make_meeting(world.station_a2, kind=MeetingKind.PLAZA_DAY)
    on_air = _ask(world, radio)
    assert on_air.opinion.channel == OpinionChannel.RADIO
    assert on_air.opinion.submitted_at == NOW  # a live call: received now
    later = _ask(world, radio, now=NOW + timedelta(hours=5))  # keyed in after the programme
    assert later.asked_at == radio.ends_at
    assert _ask(world, plaza).opinion.channel == OpinionChannel.PLAZA_DAY


def test_question_refusals(world):
    future = make_meeting(world.station_a2, start=NOW + timedelta(hours=1))
    with pytest.raises(ApplicationError) as exc:
        _ask(world, future)
    assert exc.value.code == "not_started"
    meeting = make_meeting(world.station_a2)
    with pytest.raises(ApplicationError) as exc:
        _ask(world, meeting, mobile="13800001234")  # no consent: nothing kept
    assert exc.value.code == "consent_required"
    with pytest.raises(ApplicationError) as exc:
        _ask(world, meeting, summary="短")
    assert exc.value.field == "summary"
    with pytest.raises(ApplicationError) as exc:
        _ask(world, meeting, answered_on_spot=True)
    assert exc.value.field == "spot_answer"
    with pytest.raises(NotFound):
        _ask(world, meeting, actor=_leader(world, "a1"))  # a sibling station's meeting
    assert not meeting.questions.exists()
    published = make_meeting(world.station_a2, status=MeetingStatus.PUBLISHED)
    with pytest.raises(ApplicationError) as exc:
        _ask(world, published)
    assert exc.value.code == "meeting_closed"


def test_attendance_minutes_and_publish(world):
    leader = _leader(world)
    meeting = make_meeting(world.station_a2)
    _ask(world, meeting)

    # Not held yet: publishing is refused.
    with pytest.raises(ApplicationError) as exc:
        services.meeting_publish(actor=leader, meeting=meeting, now=NOW)
    assert exc.value.code == "not_held"
    with pytest.raises(ApplicationError) as exc:
        services.meeting_write_minutes(actor=leader, meeting=meeting, minutes="纪要")
    assert exc.value.code == "not_held"

    meeting = services.meeting_record_attendance(
        actor=leader, meeting=meeting, citizens_count=42, officers_present="张所长、李警官", now=NOW
    )
    assert meeting.status == MeetingStatus.HELD and meeting.citizens_count == 42
    with pytest.raises(ApplicationError) as exc:  # no minutes yet
        services.meeting_publish(actor=leader, meeting=meeting, now=NOW)
    assert exc.value.code == "minutes_required"
    services.meeting_write_minutes(actor=leader, meeting=meeting, minutes="群众反映公交站扒窃。")
    meeting = services.meeting_publish(actor=leader, meeting=meeting, now=NOW)
    assert meeting.status == MeetingStatus.PUBLISHED and meeting.published_at == NOW

    # The open question reads 办理中; a public answer cannot be written before the answer.
    [row] = public_questions(meeting)
    assert row.status_label == "办理中" and row.public_answer == ""
    question = meeting.questions.get()
    with pytest.raises(ApplicationError) as exc:
        services.question_write_public_answer(
            actor=leader, question=question, public_answer="已增设巡逻点"
        )
    assert exc.value.code == "not_answered" and exc.value.field == "public_answer"
    opinion_answer(
        actor=leader,
        opinion=question.opinion,
        text="王大伯您好，已在您家楼下公交站增设巡逻点，有事请拨 13800001234。",
        now=NOW + timedelta(hours=1),
    )
    # Answered: 已答复, but the answer sent to the citizen is never public.
    [row] = public_questions(meeting)
    assert row.answered and row.status_label == "已答复" and row.public_answer == ""
    services.question_write_public_answer(
        actor=leader,
        question=question,
        public_answer="公交站已增设巡逻点，咨询电话 13800001234。",
    )
    [row] = public_questions(meeting)
    assert row.public_answer.startswith("公交站已增设巡逻点")
    assert "13800001234" not in row.public_answer and "138****1234" in row.public_answer
    assert "王大伯" not in str(row)

    # The follow-up comes later.
    meeting = services.meeting_write_minutes(
        actor=leader, meeting=meeting, minutes=meeting.minutes, follow_up="公交站扒窃已打掉"
    )
    assert meeting.follow_up == "公交站扒窃已打掉"
    with pytest.raises(ApplicationError):
        services.meeting_write_minutes(actor=leader, meeting=meeting, minutes="")


def test_attendance_refused_before_start_and_cancel(world):
    leader = _leader(world)
    meeting = make_meeting(world.station_a2, start=NOW + timedelta(days=1))
    with pytest.raises(ApplicationError) as exc:
        services.meeting_record_attendance(
            actor=leader, meeting=meeting, citizens_count=1, officers_present="张", now=NOW
        )
    assert exc.value.code == "not_started"
    with pytest.raises(ApplicationError):
        services.meeting_cancel(actor=leader, meeting=meeting, reason="")
    meeting = services.meeting_cancel(actor=leader, meeting=meeting, reason="台风停课", now=NOW)
    assert meeting.status == MeetingStatus.CANCELLED
    with pytest.raises(ApplicationError) as exc:
        services.meeting_cancel(actor=leader, meeting=meeting, reason="再取消", now=NOW)
    assert exc.value.code == "invalid_transition"


def test_radio_on_working_days_only_and_once(world):
    leader = _leader(world)
    kwargs = {
        "actor": leader,
        "unit": world.station_a2,
        "days": 5,
        "at": time(9, 0),
        "minutes": 60,
        "title": "110直播室",
        "place": "交通音乐广播 FM93",
        "now": NOW,
    }
    # Friday 2026-11-20: the next five working days skip the weekend.
    created = services.radio_schedule(start=date(2026, 11, 20), **kwargs)
    days = [m.starts_at.astimezone(NOW.tzinfo).date() for m in created]
    assert days == [date(2026, 11, d) for d in (20, 23, 24, 25, 26)]
    assert all(m.kind == MeetingKind.RADIO for m in created)
    # Again: nothing doubled; a longer run adds only the new days.
    assert services.radio_schedule(start=date(2026, 11, 20), **kwargs) == []
    assert len(services.radio_schedule(start=date(2026, 11, 20), **{**kwargs, "days": 6})) == 1
    assert Meeting.objects.filter(kind=MeetingKind.RADIO).count() == 6
    with pytest.raises(ApplicationError) as exc:
        services.radio_schedule(start=date(2026, 11, 1), **kwargs)
    assert exc.value.code == "start_in_past"
    with pytest.raises(ApplicationError) as exc:
        services.radio_schedule(start=date(2026, 11, 20), **{**kwargs, "days": 0})
    assert exc.value.field == "days"


def test_radio_skips_a_public_holiday(world):
    created = services.radio_schedule(
        actor=_leader(world),
        unit=world.station_a2,
        start=date(2026, 12, 31),
        days=2,
        at=time(9, 0),
        minutes=60,
        title="110直播室",
        place="FM93",
        now=NOW,
    )
    # 2027-01-01 is New Year's Day (a fixed statutory holiday).
    assert created[0].starts_at.astimezone(NOW.tzinfo).date() == date(2026, 12, 31)
    assert created[1].starts_at.astimezone(NOW.tzinfo).date() > date(2027, 1, 1)


def test_question_with_unanswered_opinion_stays_open(world):
    meeting = make_meeting(world.station_a2)
    question = _ask(world, meeting)
    assert question.opinion.status == OpinionStatus.RECEIVED


def test_a_second_radio_programme_at_the_same_hour_is_refused(world):
    start = NOW + timedelta(days=1)
    _save(world, kind=MeetingKind.RADIO, starts_at=start, ends_at=start + timedelta(hours=1))
    with pytest.raises(ApplicationError) as exc:
        _save(world, kind=MeetingKind.RADIO, starts_at=start, ends_at=start + timedelta(hours=1))
    assert exc.value.code == "radio_exists"
    other = _save(
        world,
        kind=MeetingKind.RADIO,
        starts_at=start + timedelta(days=1),
        ends_at=start + timedelta(days=1, hours=1),
    )
    with pytest.raises(ApplicationError) as exc:
        _save(
            world,
            meeting=other,
            kind=MeetingKind.RADIO,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
        )
    assert exc.value.code == "radio_exists"


def test_a_tip_never_goes_public(world):
    leader = _leader(world)
    meeting = make_meeting(world.station_a2)
    _ask(world, meeting, summary="公交站夜间扒窃多发")
    tip = _ask(
        world,
        meeting,
        kind="tip",
        content="3幢的老李家里好像在做假证",
        summary="有人在小区内制作假证",
        answered_on_spot=True,
        spot_answer="民警已记录线索",
    )
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.PUBLISHED, minutes="纪要")
    meeting.refresh_from_db()
    assert [row.summary for row in public_questions(meeting)] == ["公交站夜间扒窃多发"]
    assert public_past().get(pk=meeting.pk).question_count == 1
    opinion_answer(
        actor=leader, opinion=tip.opinion, text="您反映的线索已经核实并依法处理。", now=NOW
    )
    with pytest.raises(ApplicationError) as exc:
        services.question_write_public_answer(actor=leader, question=tip, public_answer="已查处")
    assert exc.value.code == "tip_not_public"


def test_public_answer_only_by_the_meetings_managers(world):
    meeting = make_meeting(world.station_a2)
    question = _ask(world, meeting)
    opinion_answer(
        actor=_leader(world),
        opinion=question.opinion,
        text="已在公交站增设巡逻点，谢谢您。",
        now=NOW,
    )
    with pytest.raises(NotFound):
        services.question_write_public_answer(
            actor=_leader(world, "a1"), question=question, public_answer="已加强巡逻"
        )
    with pytest.raises(ApplicationError) as exc:
        services.question_write_public_answer(
            actor=_leader(world), question=question, public_answer="巡" * 501
        )
    assert exc.value.field == "public_answer"
    question.refresh_from_db()
    assert question.public_answer == ""


def test_no_cancel_and_no_new_kind_or_time_once_questions_were_recorded(world):
    leader = _leader(world)
    start = NOW - timedelta(minutes=30, seconds=17)  # a time with seconds, as a factory makes
    meeting = make_meeting(world.station_a2, start=start)
    _ask(world, meeting)
    with pytest.raises(ApplicationError) as exc:
        services.meeting_cancel(actor=leader, meeting=meeting, reason="下雨", now=NOW)
    assert exc.value.code == "has_questions" and "不能取消" in str(exc.value.message)
    edit = {
        "meeting": meeting,
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "title": "改过的主题",
    }
    with pytest.raises(ApplicationError) as exc:
        _save(world, **edit, kind=MeetingKind.PLAZA_DAY)
    assert exc.value.field == "kind" and "活动类型" in str(exc.value.message)
    with pytest.raises(ApplicationError) as exc:
        _save(world, **{**edit, "starts_at": start + timedelta(hours=1)})
    assert exc.value.field == "starts_at" and "开始时间" in str(exc.value.message)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at == start
    # The title, place or end may still change; the start as the form sends it (no seconds)
    # is the same start.
    saved = _save(world, **{**edit, "starts_at": start.replace(second=0)})
    assert saved.title == "改过的主题" and saved.starts_at == start


def test_radio_schedule_skips_an_hour_taken_meanwhile_inside_one_transaction(world):
    """Two schedulers at once: just before this one writes 24 Nov, the other one's programme
    of that hour lands (a pre_save receiver writes it, as a concurrent transaction would after
    any check). The database's constraint decides in a savepoint: that hour is skipped, the
    others are scheduled, and the enclosing transaction goes on."""
    taken = datetime(2026, 11, 24, 9, 0, tzinfo=NOW.tzinfo)

    def other_scheduler(sender, instance, **kwargs):
        if instance.pk is None and instance.starts_at == taken:
            Meeting.objects.bulk_create(
                [
                    Meeting(
                        kind=MeetingKind.RADIO,
                        unit=instance.unit,
                        title="110直播室",
                        place="FM93",
                        starts_at=taken,
                        ends_at=taken + timedelta(hours=1),
                    )
                ]
            )

    pre_save.connect(other_scheduler, sender=Meeting)
    try:
        with transaction.atomic():
            created = services.radio_schedule(
                actor=_leader(world),
                unit=world.station_a2,
                start=date(2026, 11, 23),
                days=3,
                at=time(9, 0),
                minutes=60,
                title="110直播室",
                place="FM93",
                now=NOW,
            )
            # The enclosing transaction still works (no "transaction aborted"). The other
            # scheduler's row went with the savepoint here, one connection standing in for two.
            assert Meeting.objects.filter(kind=MeetingKind.RADIO).count() == 2
    finally:
        pre_save.disconnect(other_scheduler, sender=Meeting)
    days = [m.starts_at.astimezone(NOW.tzinfo).date() for m in created]
    assert days == [date(2026, 11, 23), date(2026, 11, 25)]
    assert all(m.history.count() == 1 for m in created)
