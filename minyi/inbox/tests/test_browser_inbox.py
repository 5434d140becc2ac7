"""An evaluator turns messages of the SMS inbox into a rating and into an opinion, at desktop
and phone widths (Playwright, Debian's Chromium)."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from minyi.callbacks.models import Callback
from minyi.integrations.sms.services import inbound_receive
from minyi.opinions.models import Opinion
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import make_world
from minyi.perception.models import Survey
from minyi.perception.services.replies import reply_record_sms
from minyi.perception.tests.factories import business_types
from minyi.perception.tests.test_surveys import MOBILE, _sent_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": (390, 844), "desktop": (1440, 900)}
UNCLEAR = "窗口那个同志态度不行"
COMPLAINT = "小区门口每天晚上都有人飙车，希望派出所管一管"


def _signed_in(browser, live_server, user, width, height):
    """A browser context holding the user's session (sign-in itself is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def _message(text, message_id, sender=MOBILE):
    inbound, _created = inbound_receive(
        gateway="t", gateway_message_id=message_id, sender=sender, text=text
    )
    reply_record_sms(inbound_id=inbound.pk)
    return inbound


@pytest.mark.parametrize("screen", sorted(WIDTHS))
def test_evaluator_turns_inbox_messages_into_a_rating_and_an_opinion(
    live_server, browser, settings, screen
):
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 24, 0
    world = make_world()
    business_types()
    survey = _sent_survey(world)  # station a1, open
    rating_msg = _message(UNCLEAR, "b1")
    opinion_msg = _message(COMPLAINT, "b2")
    width, height = WIDTHS[screen]
    context = _signed_in(browser, live_server, world.user("a1", Role.EVALUATOR), width, height)
    page = context.new_page()

    # Given the evaluator's inbox with both messages to do
    page.goto(f"{live_server.url}/perception/inbox/")
    expect(page.get_by_test_id("inbox")).to_contain_text(UNCLEAR)
    expect(page.get_by_test_id("inbox")).to_contain_text(COMPLAINT)

    # When they open the first and record it as 不满意
    page.get_by_test_id(f"inbox-handle-{rating_msg.pk}").click()
    expect(page.get_by_test_id("inbox-text")).to_contain_text(UNCLEAR)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    rating = page.get_by_test_id("inbox-rating")
    rating.get_by_label("不满意", exact=True).check()
    rating.get_by_role("button", name="记为评价").click()

    # Then the rating counts, a callback is open, and the message left "to do"
    expect(page.locator(".messages")).to_contain_text("已记为评价")
    survey.refresh_from_db()
    assert survey.rating == 4 and Callback.objects.filter(survey=survey).exists()
    expect(page.get_by_test_id("inbox")).not_to_contain_text(UNCLEAR)

    # When they turn the second into a complaint
    page.get_by_test_id(f"inbox-handle-{opinion_msg.pk}").click()
    form = page.get_by_test_id("inbox-opinion")
    form.get_by_label("留言类别").select_option(label="投诉")
    form.get_by_role("button", name="转为留言").click()

    # Then it is an opinion with the SMS as its body, and "全部" still shows both, handled
    opinion = Opinion.objects.get()
    assert opinion.content == COMPLAINT
    expect(page.locator(".messages")).to_contain_text(opinion.number)
    page.get_by_role("link", name="全部").click()
    expect(page.get_by_test_id("inbox")).to_contain_text("记为评价")
    expect(page.get_by_test_id("inbox")).to_contain_text("转为留言")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert Survey.objects.get(pk=survey.pk).status == "answered"
    context.close()
