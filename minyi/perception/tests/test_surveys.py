"""From an event to a survey SMS, a reply, and a callback for the unsatisfied."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from minyi.callbacks.models import Callback
from minyi.core.errors import ApplicationError
from minyi.integrations.sms.backends.console import ConsoleBackend
from minyi.integrations.sms.models import InboundSms, InboundStatus, OptOut, OutboundSms
from minyi.integrations.sms.services import inbound_receive, outbox_send_batch
from minyi.perception.models import (
    SatisfactionDaily,
    ServiceEvent,
    Survey,
    SurveyDecision,
    SurveyStatus,
)
from minyi.perception.services.replies import reply_record_sms, survey_answer
from minyi.perception.services.surveys import (
    next_send_time,
    surveys_dispatch_due,
    surveys_remind_and_expire,
    surveys_schedule_pending,
)
from minyi.perception.tests.factories import make_event

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
MOBILE = "13800001111"


def _sent_survey(world, business_type="hukou", mobile=MOBILE, unit=None):
    event = make_event(unit or world.station_a1, business_type, mobile=mobile)
    surveys_schedule_pending()
    Survey.objects.filter(event=event).update(send_at=timezone.now())
    surveys_dispatch_due()
    return Survey.objects.get(event=event)


def _sms(mobile, text, message_id=None):
    inbound, created = inbound_receive(
        gateway="test", gateway_message_id=message_id or text, sender=mobile, text=text
    )
    return reply_record_sms(inbound_id=inbound.pk) if created else "repeat"


def test_event_gets_a_survey_after_the_delay(world, btypes, daytime):
    event = make_event(world.station_a1, occurred_at=timezone.now() - timedelta(minutes=5))
    surveys_schedule_pending()
    event.refresh_from_db()
    assert event.survey_decision == SurveyDecision.SCHEDULED
    assert event.survey.send_at == event.occurred_at + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(9, (0, 9)), (20, (0, 20)), (21, (1, 8)), (23, (1, 8)), (3, (0, 8)), (7, (0, 8))],
)
def test_no_sms_at_night(hour, expected):
    moment = datetime(2026, 11, 24, hour, 30, tzinfo=SHANGHAI)
    result = timezone.localtime(next_send_time(moment))
    days, at_hour = expected
    assert (result.date() - moment.date()).days == days
    assert result.hour == at_hour


def test_sensitive_business_is_never_surveyed(world, btypes, daytime):
    event = make_event(world.station_a1, "domestic_violence")
    surveys_schedule_pending()
    event.refresh_from_db()
    assert event.survey_decision == SurveyDecision.SENSITIVE
    assert not Survey.objects.exists()


def test_one_open_survey_per_mobile_then_cool_off(world, btypes, daytime):
    first = make_event(world.station_a1)
    second = make_event(world.station_a2)
    surveys_schedule_pending()
    assert ServiceEvent.objects.get(pk=second.pk).survey_decision == SurveyDecision.OPEN_SURVEY
    Survey.objects.filter(event=first).update(status=SurveyStatus.ANSWERED)
    third = make_event(world.station_a2)
    surveys_schedule_pending()
    assert ServiceEvent.objects.get(pk=third.pk).survey_decision == SurveyDecision.COOL_OFF


def test_the_database_refuses_a_second_open_survey(world, btypes):
    a, b = make_event(world.station_a1), make_event(world.station_a2)
    Survey.objects.create(
        event=a,
        mobile_hash=a.citizen_mobile_hash,
        unit=a.unit,
        business_type=a.business_type,
        contact_at=a.occurred_at,
        token="t1",
        send_at=timezone.now(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.create(
            event=b,
            mobile_hash=b.citizen_mobile_hash,
            unit=b.unit,
            business_type=b.business_type,
            contact_at=b.occurred_at,
            token="t2",
            send_at=timezone.now(),
        )


def test_opted_out_number_is_never_surveyed(world, btypes, daytime):
    event = make_event(world.station_a1)
    OptOut.objects.create(mobile_hash=event.citizen_mobile_hash, source="sms")
    surveys_schedule_pending()
    assert ServiceEvent.objects.get(pk=event.pk).survey_decision == SurveyDecision.OPTED_OUT


def test_dispatch_writes_the_sms_with_unit_date_link_and_opt_out_hint(world, btypes, daytime):
    survey = _sent_survey(world)
    assert survey.status == SurveyStatus.SENT
    message = OutboundSms.objects.get(survey=survey)
    assert message.to_mobile == MOBILE
    assert world.station_a1.name in message.body
    assert f"/s/{survey.token}" in message.body
    assert "TD退订" in message.body
    assert SatisfactionDaily.objects.get().surveys_sent == 1
    assert outbox_send_batch(backend=ConsoleBackend()) == 1
    assert OutboundSms.objects.get(pk=message.pk).status == "delivered"


def test_unsatisfied_reply_opens_a_callback_due_in_24_hours(world, btypes, daytime):
    survey = _sent_survey(world, "jcj_110")
    assert _sms(MOBILE, "4 民警态度不好，让我跑了三趟") == "answered"
    survey.refresh_from_db()
    assert (survey.status, survey.rating) == (SurveyStatus.ANSWERED, 4)
    assert survey.comment == "民警态度不好，让我跑了三趟"
    callback = Callback.objects.get(survey=survey)
    assert callback.centre == world.city  # district tier; 甲区分局 has no centre → the city
    assert (
        timedelta(hours=23, minutes=59)
        < callback.due_at - callback.created_at
        <= timedelta(hours=24)
    )
    rollup = SatisfactionDaily.objects.get()
    assert (rollup.replies, rollup.rating_4) == (1, 1)


def test_callback_goes_to_the_station_centre_when_the_business_says_so(world, btypes, daytime):
    world.station_a1.has_perception_centre = True
    world.station_a1.save()
    _sent_survey(world, "hukou")
    _sms(MOBILE, "不满意")
    assert Callback.objects.get().centre == world.station_a1


def test_satisfied_reply_opens_no_callback(world, btypes, daytime):
    _sent_survey(world)
    assert _sms(MOBILE, "非常满意，谢谢") == "answered"
    assert not Callback.objects.exists()


def test_a_repeated_gateway_message_counts_once(world, btypes, daytime):
    _sent_survey(world)
    assert _sms(MOBILE, "5", message_id="kannel-1") == "answered"
    assert _sms(MOBILE, "5", message_id="kannel-1") == "repeat"
    assert InboundSms.objects.count() == 1
    assert SatisfactionDaily.objects.get().replies == 1
    assert Callback.objects.count() == 1


def test_unparsed_reply_is_kept_for_a_person_and_the_survey_stays_open(world, btypes, daytime):
    survey = _sent_survey(world)
    assert _sms(MOBILE, "请问身份证什么时候能拿到") == "unparsed"
    inbound = InboundSms.objects.get()
    assert inbound.status == InboundStatus.NEEDS_REVIEW
    assert inbound.unit == world.station_a1
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.SENT


def test_reply_with_no_open_survey_lands_in_the_inbox(world, btypes, daytime):
    assert _sms("13900009999", "1") == "no_open_survey"
    inbound = InboundSms.objects.get()
    assert (inbound.status, inbound.review_reason) == (InboundStatus.NEEDS_REVIEW, "no_open_survey")
    assert inbound.unit == world.city


def test_second_answer_is_kept_but_not_counted(world, btypes, daytime):
    _sent_survey(world)
    _sms(MOBILE, "1", message_id="m1")
    assert _sms(MOBILE, "5", message_id="m2") == "no_open_survey"
    assert SatisfactionDaily.objects.get().replies == 1


def test_opt_out_cancels_confirms_and_is_honoured(world, btypes, daytime):
    survey = _sent_survey(world)
    assert _sms(MOBILE, "TD") == "opted_out"
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.CANCELLED
    assert OptOut.objects.filter(mobile_hash=survey.mobile_hash).exists()
    confirm = OutboundSms.objects.filter(purpose="opt_out_confirm").get()
    assert "退订" in confirm.body
    later = make_event(world.station_a2)
    surveys_schedule_pending()
    assert ServiceEvent.objects.get(pk=later.pk).survey_decision == SurveyDecision.OPTED_OUT


def test_traditional_characters_are_understood(world, btypes, daytime):
    survey = _sent_survey(world)
    _sms(MOBILE, "不滿意")
    assert Survey.objects.get(pk=survey.pk).rating == 4


def test_one_reminder_then_expiry(world, btypes, daytime, settings):
    survey = _sent_survey(world)
    later = timezone.now() + timedelta(hours=settings.SURVEY_REMINDER_HOURS, minutes=1)
    assert surveys_remind_and_expire(now=later)["reminded"] == 1
    assert surveys_remind_and_expire(now=later)["reminded"] == 0
    assert OutboundSms.objects.filter(purpose="reminder").count() == 1
    expiry = timezone.now() + timedelta(hours=settings.SURVEY_EXPIRY_HOURS, minutes=1)
    assert surveys_remind_and_expire(now=expiry)["expired"] == 1
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.EXPIRED


def test_no_reminder_at_night(world, btypes, settings):
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 24, 0
    _sent_survey(world)
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 21, 8
    night = timezone.localtime(timezone.now() + timedelta(days=1)).replace(hour=23)
    assert surveys_remind_and_expire(now=night)["reminded"] == 0


def _history(survey) -> list[tuple[str, str, str]]:
    return [(e.from_status, e.to_status, e.note) for e in survey.history.all()]


def test_a_survey_keeps_its_history_sent_then_answered(world, btypes, daytime):
    survey = _sent_survey(world)
    _sms(MOBILE, "5")
    assert _history(survey) == [("scheduled", "sent", ""), ("sent", "answered", "sms")]
    assert [e.to_label for e in survey.history.all()] == ["已发送", "已评价"]


def test_expiry_and_opt_out_are_in_the_history(world, btypes, daytime, settings):
    expiring = _sent_survey(world)
    expiry = timezone.now() + timedelta(hours=settings.SURVEY_EXPIRY_HOURS, minutes=1)
    surveys_remind_and_expire(now=expiry)
    assert _history(expiring)[-1] == ("sent", "expired", "")
    opting = _sent_survey(world, mobile="13800002222")
    _sms("13800002222", "TD")
    assert _history(opting)[-1] == ("sent", "cancelled", "退订")


def test_an_answer_to_a_closed_survey_changes_nothing(world, btypes, daytime):
    survey = _sent_survey(world)
    survey_answer(survey=survey, rating=2, comment="", via="h5")
    stale = Survey.objects.get(pk=survey.pk)
    stale.status = SurveyStatus.SENT  # as a second reply read it a moment before
    with pytest.raises(ApplicationError) as exc:
        survey_answer(survey=stale, rating=5, comment="", via="sms")
    assert exc.value.code == "survey_closed"
    assert Survey.objects.get(pk=survey.pk).rating == 2
    assert len(_history(survey)) == 2
