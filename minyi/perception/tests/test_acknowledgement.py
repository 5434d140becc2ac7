"""An unsatisfied rating opens a callback and the citizen is told it reached us
(您的评价已收到，我们将在24小时内与您联系): one SMS through the outbox, in the same
transaction, never at night, never to an opted-out number, never for a sensitive type."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from minyi.callbacks.models import Callback
from minyi.integrations.sms.models import OptOut, OutboundSms, OutboundStatus, SmsPurpose
from minyi.integrations.sms.services import in_quiet_hours, outbox_claim
from minyi.perception.models import Survey
from minyi.perception.services.replies import survey_answer
from minyi.perception.tests.test_surveys import MOBILE, _sent_survey, _sms

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _acks():
    return OutboundSms.objects.filter(purpose=SmsPurpose.ACKNOWLEDGEMENT)


def test_an_unsatisfied_sms_reply_is_acknowledged_once(world, btypes, daytime):
    # Given a survey sent to the citizen
    survey = _sent_survey(world, "jcj_110")
    # When they answer "不满意" (and the gateway repeats the message)
    _sms(MOBILE, "4", message_id="m1")
    _sms(MOBILE, "4", message_id="m1")
    # Then a callback is open and one neutral acknowledgement is queued, to go now
    assert Callback.objects.filter(survey=survey).count() == 1
    [ack] = _acks()
    assert "您的评价已收到" in ack.body and "24小时内" in ack.body
    assert "110" not in ack.body  # a phone is seen by others: no business named
    assert ack.to_mobile == MOBILE
    assert ack.pk in outbox_claim()


def test_a_satisfied_reply_gets_no_acknowledgement(world, btypes, daytime):
    _sent_survey(world)
    _sms(MOBILE, "1")
    assert not _acks().exists()


def test_at_night_the_acknowledgement_waits_for_the_morning(world, btypes, daytime, settings):
    survey = _sent_survey(world)
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 21, 8
    night = datetime(2026, 12, 3, 2, 0, tzinfo=SHANGHAI)
    survey_answer(survey=survey, rating=5, comment="", via="h5", now=night)
    [ack] = _acks()
    assert ack.not_before == datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)
    assert ack.pk not in outbox_claim(now=night + timedelta(minutes=5))


def test_no_acknowledgement_to_a_number_that_opted_out(world, btypes, daytime):
    survey = _sent_survey(world)
    OptOut.objects.create(mobile_hash=survey.mobile_hash, source="staff")
    survey_answer(survey=survey, rating=5, comment="", via="h5")
    assert Callback.objects.filter(survey=survey).exists()
    assert not _acks().exists()


def test_opting_out_in_the_same_reply_withdraws_the_acknowledgement(world, btypes, daytime):
    _sent_survey(world)
    _sms(MOBILE, "5 退订")
    assert not _acks().filter(status=OutboundStatus.QUEUED).exists()


def test_no_acknowledgement_for_a_sensitive_business_type(world, btypes, daytime):
    survey = _sent_survey(world)
    type_ = survey.business_type
    type_.is_sensitive, type_.survey_enabled = True, False
    type_.save()
    survey_answer(survey=Survey.objects.get(pk=survey.pk), rating=4, comment="", via="h5")
    assert Callback.objects.filter(survey=survey).exists()
    assert not _acks().exists()


# --- The demo's "send now" (MINYI_DEMO_IGNORE_QUIET_HOURS) ---------------------------------


def test_the_demo_setting_lets_messages_go_at_night_in_demo_mode_only(settings):
    night = datetime(2026, 12, 3, 2, 0, tzinfo=SHANGHAI)
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 21, 8
    assert in_quiet_hours(night)
    settings.DEMO_IGNORE_QUIET_HOURS = True
    settings.DEMO_MODE = False
    assert in_quiet_hours(night)  # a stray setting in production changes nothing
    settings.DEMO_MODE = True
    assert not in_quiet_hours(night)


def test_tests_keep_quiet_hours_whatever_the_env_says(settings):
    assert settings.DEMO_IGNORE_QUIET_HOURS is False
