"""模拟手机 explains quiet hours and says when the demo sends at once, at desktop and phone
widths (Playwright, Debian's Chromium)."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import sms_enqueue
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": (390, 844), "desktop": (1440, 900)}


@pytest.mark.parametrize("screen", sorted(WIDTHS))
@pytest.mark.parametrize("send_now", [True, False], ids=["send-now", "quiet"])
def test_the_demo_phones_page_explains_quiet_hours(
    live_server, browser, settings, screen, send_now
):
    # Given the demo at 02:00 (quiet all day here, so the test does not depend on the clock)
    settings.DEMO_MODE, settings.SMS_BACKEND = True, "console"
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 0, 0
    settings.DEMO_IGNORE_QUIET_HOURS = send_now
    world = make_world()
    sms_enqueue(mobile="13800001111", body="【测试】请您评价本次服务", purpose=SmsPurpose.SURVEY)
    client = Client()
    client.force_login(world.user("city", Role.EVALUATOR))
    width, height = WIDTHS[screen]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()

    # When a presenter opens 模拟手机
    page.goto(f"{live_server.url}/sms/demo/phones/")

    # Then the page explains quiet hours, and plainly whether messages go now or wait
    card = page.get_by_test_id("quiet-hours")
    expect(card).to_contain_text("夜间免打扰")
    if send_now:
        expect(page.get_by_test_id("quiet-ignored")).to_contain_text("短信立即发出")
        expect(page.locator(".thread")).not_to_contain_text("待发送")
    else:
        expect(page.get_by_test_id("quiet-waiting")).to_contain_text(
            "MINYI_DEMO_IGNORE_QUIET_HOURS=true"
        )
        expect(page.locator(".thread")).to_contain_text("待发送")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
