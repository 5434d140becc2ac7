"""Replies read in batches by the worker (inbound_process): stored by the gateway callback,
then parsed, attached, routed and counted set-wise, each exactly once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from minyi.callbacks.models import Callback
from minyi.integrations.sms.models import InboundSms, InboundStatus, OptOut, OutboundSms
from minyi.integrations.sms.services import inbound_receive
from minyi.perception.models import SatisfactionDaily, Survey, SurveyEvent, SurveyReply
from minyi.perception.models import SurveyStatus as S
from minyi.perception.services.replies import inbound_process_batch
from minyi.perception.tests.test_surveys import _sent_survey

pytestmark = pytest.mark.django_db
MOBILE = "13800001111"


def _store(text, message_id, mobile=MOBILE, received_at=None):
    inbound, _ = inbound_receive(
        gateway="test",
        gateway_message_id=message_id,
        sender=mobile,
        text=text,
        received_at=received_at,
    )
    return inbound


def _rollup_ratings():
    return {
        f"rating_{i}": sum(r[f"rating_{i}"] for r in SatisfactionDaily.objects.values())
        for i in range(1, 6)
    }


def test_one_reply_delivered_three_times_and_out_of_order_counts_once(world, btypes, daytime):
    # Given a sent survey; the gateway delivers "4" three times, and a "2" the citizen sent
    # later reached us first (stored with a lower id)
    survey = _sent_survey(world)
    now = timezone.now()
    later = _store("2", "m2", received_at=now)
    first = [_store("4 等太久", "m1", received_at=now - timedelta(seconds=30)) for _ in range(3)]
    assert InboundSms.objects.count() == 2 and len({m.pk for m in first}) == 1

    # When the worker reads them in one batch
    outcomes = inbound_process_batch()

    # Then the rating sent first counts, once, and the other waits for a person
    assert outcomes == {first[0].pk: "answered", later.pk: "no_open_survey"}
    survey.refresh_from_db()
    assert (survey.status, survey.rating, survey.answered_via) == (S.ANSWERED, 4, "sms")
    assert SurveyEvent.objects.filter(survey=survey, to_status=S.ANSWERED).count() == 1
    assert SurveyReply.objects.filter(survey=survey, counted=True).count() == 1
    assert _rollup_ratings() == {"rating_1": 0, "rating_2": 0, "rating_3": 0, "rating_4": 1,
                                 "rating_5": 0}  # fmt: skip
    assert Callback.objects.filter(survey=survey).count() == 1
    assert InboundSms.objects.get(pk=later.pk).review_reason == "no_open_survey"
    # And a later batch finds nothing left, however often it runs
    assert inbound_process_batch() == {}


def test_a_batch_costs_the_same_statements_for_five_replies_or_fifty(world, btypes, daytime):
    def batch_of(n, offset):
        for i in range(n):
            mobile = f"1390000{offset + i:04d}"
            _sent_survey(world, mobile=mobile)
            _store("2", f"s{offset + i}", mobile=mobile)
        with connection.execute_wrapper(counter := _Counter()):
            assert set(inbound_process_batch().values()) == {"answered"}
        return counter.statements

    assert batch_of(50, 100) == batch_of(5, 0) <= 12


class _Counter:
    def __init__(self):
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)


def test_a_reply_to_a_survey_that_expired_meanwhile_goes_to_the_inbox(world, btypes, daytime):
    survey = _sent_survey(world)
    inbound = _store("1", "m1")
    Survey.objects.filter(pk=survey.pk).update(status=S.EXPIRED)  # the sweep, before the batch
    assert inbound_process_batch() == {inbound.pk: "no_open_survey"}
    inbound.refresh_from_db()
    assert (inbound.status, inbound.review_reason) == (InboundStatus.NEEDS_REVIEW, "no_open_survey")
    assert inbound.unit_id == survey.unit_id  # the inbox of the unit it answers about
    assert SurveyReply.objects.get(inbound=inbound).survey_id == survey.pk
    assert Survey.objects.get(pk=survey.pk).status == S.EXPIRED


def test_an_opt_out_in_a_batch(world, btypes, daytime):
    # Given two citizens with open surveys: one answers, the other opts out, then rates
    stays = _sent_survey(world, mobile="13900000001")
    leaves = _sent_survey(world, mobile="13900000002")
    rated = _store("1", "a", mobile="13900000001")
    td = _store("TD", "b", mobile="13900000002")
    after = _store("2", "c", mobile="13900000002")

    outcomes = inbound_process_batch()

    assert outcomes == {rated.pk: "answered", td.pk: "opted_out", after.pk: "no_open_survey"}
    assert Survey.objects.get(pk=stays.pk).status == S.ANSWERED
    assert Survey.objects.get(pk=leaves.pk).status == S.CANCELLED
    assert OptOut.objects.filter(mobile_hash=leaves.mobile_hash).exists()
    assert OutboundSms.objects.filter(purpose="opt_out_confirm").count() == 1


def test_a_malformed_text_is_stored_and_shown_in_the_inbox(
    client, world, btypes, daytime, settings
):
    settings.SMS_CALLBACK_TOKEN = "t"
    survey = _sent_survey(world)
    url = reverse("sms:kannel_inbound")
    garbled = "\x00满意\ufffd\u202e？？%%1或者5\x07"
    response = client.get(url, {"token": "t", "id": "x1", "from": MOBILE, "text": garbled})
    assert response.status_code == 200
    inbound = InboundSms.objects.get()
    assert inbound.text == garbled.replace("\x00", "")
    assert inbound_process_batch() == {inbound.pk: "unparsed"}
    assert Survey.objects.get(pk=survey.pk).status == S.SENT  # still open for a real answer

    client.force_login(world.user("a1", "evaluator"))
    page = client.get(reverse("inbox:inbox_detail", args=[inbound.pk])).content.decode()
    assert "1或者5" in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only")
def test_two_workers_reading_the_same_backlog_count_each_reply_once(world, btypes, daytime):
    # Given 60 surveys, each answered twice (a rating and a repeat from the same phone)
    for i in range(60):
        mobile = f"1390000{i:04d}"
        _sent_survey(world, mobile=mobile)
        _store(str(1 + i % 5), f"a{i}", mobile=mobile)
        _store("3", f"b{i}", mobile=mobile)
    start = threading.Barrier(2)
    outcomes, errors = [], []

    def worker():
        try:
            start.wait()
            while found := inbound_process_batch(limit=7):
                outcomes.append(found)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    # When two workers read the backlog at once, in small batches
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every message was read exactly once, and every survey answered once
    assert not errors
    read = [pk for found in outcomes for pk in found]
    assert len(read) == len(set(read)) == 120
    assert Survey.objects.filter(status=S.ANSWERED).count() == 60
    assert SurveyEvent.objects.filter(to_status=S.ANSWERED).count() == 60
    assert SurveyReply.objects.filter(counted=True).count() == 60
    assert sum(_rollup_ratings().values()) == 60
    assert InboundSms.objects.filter(status=InboundStatus.RECEIVED).count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="concurrent inserts: PostgreSQL")
def test_the_same_message_stored_twice_at_the_same_moment_is_one_row(world):
    start, created, errors = threading.Barrier(4), [], []

    def deliver():
        try:
            start.wait()
            created.append(_created("same-moment"))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(created) == [False, False, False, True]
    assert InboundSms.objects.filter(gateway_message_id="same-moment").count() == 1


def _created(message_id):
    return inbound_receive(gateway="test", gateway_message_id=message_id, sender=MOBILE, text="1")[
        1
    ]
