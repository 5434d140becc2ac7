"""Two replies racing for one survey (two SMS, or an SMS and the H5 page): the one that comes
second takes the ordinary late-reply path, with no error and no wait for the worker's sweep
(issue 12, item 7). The race needs row locks, so these run on PostgreSQL only."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from minyi.callbacks.models import Callback
from minyi.integrations.sms.models import InboundSms, InboundStatus
from minyi.integrations.sms.services import inbound_receive
from minyi.perception.models import Survey, SurveyStatus
from minyi.perception.services import replies as services
from minyi.perception.services.replies import reply_record_sms
from minyi.perception.services.surveys import surveys_dispatch_due, surveys_schedule_pending
from minyi.perception.tests.factories import make_event
from minyi.workorders.tests.factories import pause_after, wait_until_blocked

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"),
]
MOBILE = "13800002222"


def _sent_survey(world):
    event = make_event(world.station_a1, "hukou", mobile=MOBILE)
    surveys_schedule_pending()
    Survey.objects.filter(event=event).update(send_at=timezone.now())
    surveys_dispatch_due()
    return Survey.objects.get(event=event)


def _received(text: str, message_id: str) -> int:
    inbound, _ = inbound_receive(
        gateway="test", gateway_message_id=message_id, sender=MOBILE, text=text
    )
    return inbound.pk


def test_second_of_two_racing_sms_replies_is_a_late_reply_not_an_error(
    world, btypes, daytime, monkeypatch
):
    # Given a sent survey and two replies from its citizen, the first one mid-answer
    survey = _sent_survey(world)
    first, second = _received("4 等太久", "m1"), _received("5", "m2")
    reached, release = pause_after(monkeypatch, services, "survey_unsatisfied", "reply-a")
    outcome = {}

    def process(name, inbound_id):
        try:
            outcome[name] = reply_record_sms(inbound_id=inbound_id)
        except Exception as exc:  # reported by the main thread
            outcome[name] = exc
        finally:
            connection.close()

    thread_a = threading.Thread(target=process, args=("a", first), name="reply-a")
    thread_b = threading.Thread(target=process, args=("b", second), name="reply-b")
    thread_a.start()
    try:
        assert reached.wait(timeout=30)
        # When the second reply is processed while the first holds the survey
        thread_b.start()
        wait_until_blocked(thread_b)
    finally:
        release.set()
        thread_a.join()
        thread_b.join()

    # Then the first counts, the second is kept for a person, and nothing failed
    assert outcome == {"a": "answered", "b": "no_open_survey"}
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.ANSWERED and survey.rating == 4
    assert InboundSms.objects.get(pk=second).status == InboundStatus.NEEDS_REVIEW
    assert Callback.objects.filter(survey=survey).count() == 1


def test_sms_reply_racing_the_h5_answer_is_a_late_reply(world, btypes, daytime, monkeypatch):
    # Given the citizen's H5 answer (unsatisfied) updated the survey and has not committed yet
    survey = _sent_survey(world)
    sms = _received("1", "m3")
    reached, release = pause_after(monkeypatch, services, "survey_unsatisfied", "h5")
    outcome = {}

    def run(name, fn, **kwargs):
        try:
            outcome[name] = fn(**kwargs)
        except Exception as exc:  # reported by the main thread
            outcome[name] = exc
        finally:
            connection.close()

    h5 = threading.Thread(
        target=run,
        args=("h5", services.survey_answer_h5),
        kwargs={"token": survey.token, "rating": 4, "comment": ""},
        name="h5",
    )
    text = threading.Thread(
        target=run, args=("sms", reply_record_sms), kwargs={"inbound_id": sms}, name="sms"
    )
    h5.start()
    try:
        assert reached.wait(timeout=30)
        # When the SMS reply is processed meanwhile
        text.start()
        wait_until_blocked(text)
    finally:
        release.set()
        h5.join()
        text.join()

    # Then the H5 answer counts and the SMS is a late reply kept for a person
    assert outcome["sms"] == "no_open_survey"
    survey.refresh_from_db()
    assert survey.rating == 4 and survey.answered_via == "h5"
