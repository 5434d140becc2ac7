"""The SMS inbox (短信收件箱) is not a dead end: from a message the parser could not place, a
person records it as a rating (which counts), opens a callback, turns it into an opinion, or
replies by SMS. Each is a service with an actor, scoped, audited, and marks the message
handled (who, when, how) so it leaves "to do" and stays in "all"."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditEvent
from minyi.inbox.selectors import inbox_list_visible_to
from minyi.inbox.services import (
    inbox_open_callback,
    inbox_record_rating,
    inbox_reply,
    opinion_from_inbound,
)
from minyi.integrations.sms.models import (
    InboundSms,
    InboundStatus,
    InboxAction,
    OptOut,
    OutboundSms,
    SmsPurpose,
)
from minyi.integrations.sms.services import inbound_receive, outbox_claim
from minyi.opinions.models import Opinion, OpinionKind
from minyi.orgs.choices import Role
from minyi.perception.models import SatisfactionDaily, Survey, SurveyReply, SurveyStatus
from minyi.perception.services.replies import reply_record_sms
from minyi.perception.tests.test_surveys import MOBILE, _sent_survey

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TEXT = "上次办证等了很久，窗口说材料不全又让我跑了一趟"


def _inbox_message(text=TEXT, message_id="u1", sender=MOBILE) -> InboundSms:
    inbound, _created = inbound_receive(
        gateway="t", gateway_message_id=message_id, sender=sender, text=text
    )
    reply_record_sms(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.NEEDS_REVIEW
    return inbound


@pytest.fixture
def evaluator(world):
    return world.user("a1", Role.EVALUATOR)


@pytest.fixture
def survey(world, btypes, daytime):
    return _sent_survey(world)  # station a1, open


def _handled(inbound, evaluator, action):
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.REVIEWED
    assert (inbound.handled_by, inbound.handled_action) == (evaluator, action)
    assert inbound.handled_at is not None
    assert AuditEvent.objects.filter(
        object_id=str(inbound.pk), detail__handled=action, actor=evaluator
    ).exists()
    assert inbound not in inbox_list_visible_to(evaluator)
    assert inbound in inbox_list_visible_to(evaluator, show="all")


# --- (a) a rating -----------------------------------------------------------------------------


def test_an_unparsed_message_recorded_as_unsatisfied_counts_and_opens_a_callback(survey, evaluator):
    # Given a message the parser could not read, while the citizen's survey is open
    inbound = _inbox_message()
    assert inbound.review_reason == "unparsed"
    # When the evaluator records it as 不满意 (4)
    inbox_record_rating(actor=evaluator, inbound=inbound, rating=4)
    # Then the survey is answered by SMS with 4, the reply counts, the figures have it
    survey.refresh_from_db()
    assert (survey.status, survey.rating, survey.answered_via) == ("answered", 4, "sms")
    reply = SurveyReply.objects.get(inbound=inbound)
    assert (reply.survey_id, reply.kind, reply.rating, reply.counted) == (
        survey.pk,
        "rating",
        4,
        True,
    )
    assert SatisfactionDaily.objects.get().rating_4 == 1
    # And a callback is open, and the message is handled
    assert Callback.objects.get(survey=survey).status == CallbackStatus.OPEN
    _handled(inbound, evaluator, InboxAction.RATING)


def test_a_late_reply_counts_on_the_expired_survey(survey, evaluator):
    # Given the survey expired unanswered, then the citizen wrote "还行吧"
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.EXPIRED)
    inbound = _inbox_message("还行吧挺好的")
    assert inbound.review_reason == "no_open_survey"
    # When a person reads it as 满意 (2)
    inbox_record_rating(actor=evaluator, inbound=inbound, rating=2)
    # Then it counts on that survey; no callback for a satisfied rating
    survey.refresh_from_db()
    assert (survey.status, survey.rating) == (SurveyStatus.ANSWERED, 2)
    assert not Callback.objects.exists()


def test_an_answered_survey_is_not_answered_twice(survey, evaluator):
    reply_record_sms(
        inbound_id=inbound_receive(gateway="t", gateway_message_id="r", sender=MOBILE, text="1")[
            0
        ].pk
    )
    inbound = _inbox_message("谢谢你们")
    with pytest.raises(ApplicationError) as refused:
        inbox_record_rating(actor=evaluator, inbound=inbound, rating=5)
    assert refused.value.code == "survey_closed"
    assert Survey.objects.get(pk=survey.pk).rating == 1
    assert InboundSms.objects.get(pk=inbound.pk).status == InboundStatus.NEEDS_REVIEW


# --- (b) a callback ---------------------------------------------------------------------------


def test_a_callback_opened_from_the_inbox_goes_to_the_queue(survey, evaluator):
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.EXPIRED)
    inbound = _inbox_message()
    callback = inbox_open_callback(actor=evaluator, inbound=inbound)
    assert (callback.survey_id, callback.status) == (survey.pk, CallbackStatus.OPEN)
    assert callback.history.get().note == "据短信收件箱的群众短信开启"
    _handled(inbound, evaluator, InboxAction.CALLBACK)
    assert InboundSms.objects.get(pk=inbound.pk).handled_ref == str(callback.pk)


def test_a_sender_without_a_survey_cannot_be_rated_or_called_back(world, btypes, evaluator):
    inbound = _inbox_message(sender="13900001234")
    InboundSms.objects.filter(pk=inbound.pk).update(unit=world.station_a1)
    for act in (
        lambda: inbox_record_rating(actor=evaluator, inbound=inbound, rating=3),
        lambda: inbox_open_callback(actor=evaluator, inbound=inbound),
    ):
        with pytest.raises(ApplicationError) as refused:
            act()
        assert refused.value.code == "no_survey"


# --- (c) an opinion ---------------------------------------------------------------------------


def test_a_message_becomes_an_opinion_routed_and_tracked(world, survey, evaluator):
    inbound = _inbox_message()
    opinion = opinion_from_inbound(actor=evaluator, inbound=inbound, kind=OpinionKind.COMPLAINT)
    opinion = Opinion.objects.get(pk=opinion.pk)
    assert (opinion.content, opinion.kind, opinion.unit) == (
        TEXT,
        OpinionKind.COMPLAINT,
        world.station_a1,
    )
    assert opinion.mobile == MOBILE and opinion.anonymous
    assert opinion.history.get().note == "群众短信，由短信收件箱转为留言"
    _handled(inbound, evaluator, InboxAction.OPINION)
    assert InboundSms.objects.get(pk=inbound.pk).handled_ref == opinion.number


def test_an_opinion_goes_only_to_a_unit_of_ones_subtree(world, survey, evaluator):
    inbound = _inbox_message()
    with pytest.raises(ApplicationError) as refused:
        opinion_from_inbound(
            actor=evaluator, inbound=inbound, kind=OpinionKind.COMPLAINT, unit=world.station_b1
        )
    assert refused.value.code == "unit_out_of_scope"
    assert not Opinion.objects.exists()


# --- (d) a reply ------------------------------------------------------------------------------


def test_a_reply_goes_through_the_outbox(survey, evaluator):
    inbound = _inbox_message()
    message = inbox_reply(
        actor=evaluator, inbound=inbound, text="您好，已转交派出所核实，请留意来电。"
    )
    assert message.purpose == SmsPurpose.INBOX_REPLY and message.to_mobile == MOBILE
    assert message.body.endswith("您好，已转交派出所核实，请留意来电。")
    assert message.pk in outbox_claim()
    _handled(inbound, evaluator, InboxAction.REPLY)


def test_a_reply_at_night_waits_for_the_morning(survey, evaluator, settings):
    inbound = _inbox_message()
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 21, 8
    night = datetime(2026, 12, 3, 22, 0, tzinfo=SHANGHAI)
    message = inbox_reply(actor=evaluator, inbound=inbound, text="收到，明天联系您。", now=night)
    assert message.not_before == datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)
    assert message.pk not in outbox_claim(now=night + timedelta(minutes=1))


def test_no_reply_to_a_number_that_opted_out(survey, evaluator):
    inbound = _inbox_message()
    OptOut.objects.create(mobile_hash=inbound.from_mobile_hash, source="sms")
    with pytest.raises(ApplicationError) as refused:
        inbox_reply(actor=evaluator, inbound=inbound, text="您好，收到。")
    assert refused.value.code == "opted_out"
    assert not OutboundSms.objects.filter(purpose=SmsPurpose.INBOX_REPLY).exists()
    assert InboundSms.objects.get(pk=inbound.pk).status == InboundStatus.NEEDS_REVIEW


# --- Who may act ------------------------------------------------------------------------------


def test_a_sibling_unit_cannot_act_and_a_unit_leader_may_not(world, survey):
    inbound = _inbox_message()
    with pytest.raises(NotFound):
        inbox_record_rating(actor=world.user("a2", Role.EVALUATOR), inbound=inbound, rating=1)
    with pytest.raises(PermissionDenied):
        inbox_reply(actor=world.user("a1", Role.UNIT_LEADER), inbound=inbound, text="您好")
    with pytest.raises(PermissionDenied):
        inbox_open_callback(actor=world.user("a1", Role.ADMIN), inbound=inbound)
    assert InboundSms.objects.get(pk=inbound.pk).status == InboundStatus.NEEDS_REVIEW


def test_a_message_is_handled_once(world, survey, evaluator):
    inbound = _inbox_message()
    inbox_reply(actor=evaluator, inbound=inbound, text="您好，收到。")
    with pytest.raises(ApplicationError) as refused:
        inbox_record_rating(actor=world.user("a", Role.SUPERVISOR), inbound=inbound, rating=5)
    assert refused.value.code == "already_handled"
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.SENT


# --- The pages --------------------------------------------------------------------------------


def test_the_page_turns_a_message_into_a_rating(client, survey, evaluator):
    inbound = _inbox_message()
    client.force_login(evaluator)
    detail = client.get(reverse("inbox:inbox_detail", args=[inbound.pk])).content.decode()
    assert "记为评价" in detail and "转为留言" in detail and "户籍办理" in detail
    response = client.post(
        reverse("inbox:inbox_handle", args=[inbound.pk]),
        {"action": "rating", "rating-rating": "5"},
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "已记为评价" in page and "已开启回访" in page
    assert TEXT[:8] not in page  # gone from "to do"
    everything = client.get(reverse("inbox:inbox"), {"show": "all"}).content.decode()
    assert TEXT[:8] in everything and "记为评价" in everything


def test_the_page_turns_a_message_into_an_opinion(client, world, survey, evaluator):
    inbound = _inbox_message()
    client.force_login(evaluator)
    response = client.post(
        reverse("inbox:inbox_handle", args=[inbound.pk]),
        {"action": "opinion", "opinion-kind": "complaint", "opinion-unit": world.station_a1.pk},
    )
    assert response.status_code == 302
    opinion = Opinion.objects.get()
    assert opinion.number in client.get(response["Location"]).content.decode()


def test_the_page_says_what_is_missing(client, survey, evaluator):
    inbound = _inbox_message()
    client.force_login(evaluator)
    url = reverse("inbox:inbox_handle", args=[inbound.pk])
    page = client.post(url, {"action": "rating"})
    assert page.status_code == 400 and "请选择这条短信表达的评价" in page.content.decode()
    page = client.post(url, {"action": "reply", "reply-text": ""})
    assert page.status_code == 400 and "请填写回复内容" in page.content.decode()
    assert InboundSms.objects.get(pk=inbound.pk).status == InboundStatus.NEEDS_REVIEW


def test_the_inbox_lists_without_n_plus_one(
    client, survey, evaluator, django_assert_max_num_queries
):
    for i in range(5):
        _inbox_message(f"第{i}条看不懂的短信内容", message_id=f"n{i}")
    client.force_login(evaluator)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("inbox:inbox"), {"show": "all"}).content.decode()
    assert page.count('data-testid="inbox-row-') == 5
