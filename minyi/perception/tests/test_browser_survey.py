"""A citizen answers the H5 survey on a phone-sized screen (Playwright, Debian's Chromium)."""

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from minyi.callbacks.models import Callback
from minyi.orgs.tests.factories import make_world
from minyi.perception.models import Survey
from minyi.perception.tests.factories import business_types
from minyi.perception.tests.test_surveys import _sent_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@override_settings(SURVEY_QUIET_START=24, SURVEY_QUIET_END=0)
def test_citizen_rates_unsatisfied_on_a_phone(live_server, browser):
    world = make_world()
    business_types()
    survey = _sent_survey(world, "jcj_110")
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=False,
    )
    page = phone.new_page()

    # Given the link from the SMS
    page.goto(f"{live_server.url}/s/{survey.token}")
    expect(page.get_by_role("heading", name="请您评价本次服务")).to_be_visible()
    expect(page.get_by_text(world.station_a1.name)).to_be_visible()
    # The page fits the screen: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # When they submit without choosing, the comment they typed is kept
    page.get_by_label("想对我们说的话（选填）").fill("出警太慢，等了四十分钟")
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("alert")).to_have_text("请选择一项评价。")
    expect(page.get_by_label("想对我们说的话（选填）")).to_have_value("出警太慢，等了四十分钟")

    # And then choose 不满意 and submit
    page.get_by_label("不满意", exact=True).check()
    page.get_by_role("button", name="提交评价").click()

    # Then they are thanked and told someone will call within 24 hours
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    expect(page.get_by_text("24 小时内")).to_be_visible()
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (4, "出警太慢，等了四十分钟")
    assert Callback.objects.filter(survey=survey).exists()

    # And the link cannot be used twice
    page.goto(f"{live_server.url}/s/{survey.token}")
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    assert Survey.objects.get(pk=survey.pk).rating == 4
    phone.close()
