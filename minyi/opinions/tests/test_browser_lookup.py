"""A citizen looks up one opinion by the tracking number from the SMS and the mobile's code,
on a phone and on a desktop (Playwright, Debian's Chromium, no JavaScript)."""

import re

import pytest
from playwright.sync_api import expect

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.tests.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "13900007777"
WIDTHS = {"phone": (390, 844), "desktop": (1440, 900)}


def _code() -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", MOBILE)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


@pytest.mark.parametrize("screen", sorted(WIDTHS))
def test_citizen_looks_up_by_tracking_number_with_the_code(live_server, browser, screen):
    world = make_world()
    mine = make_opinion(world, mobile=MOBILE, content="幸福小区东门的路灯坏了一个多月")
    make_opinion(world, mobile=MOBILE, content="另一条较早的咨询内容")
    width, height = WIDTHS[screen]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        is_mobile=screen == "phone",
        has_touch=screen == "phone",
        locale="zh-CN",
        java_script_enabled=False,
    )
    page = context.new_page()

    # Given the citizen on 留言查询 with the number from their SMS
    page.goto(f"{live_server.url}/c/opinions/track/")
    expect(page.get_by_role("heading", name="留言查询")).to_be_visible()
    page.get_by_label(re.compile("留言编号")).fill(mine.number.lower())
    page.get_by_label("提交留言时的手机号码").fill(MOBILE)

    # When they ask for a code
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_role("status").first).to_contain_text("139****7777")
    expect(page.get_by_label(re.compile("留言编号"))).to_have_value(mine.number.lower())
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # And enter it
    page.get_by_label("短信验证码").fill(_code())
    page.get_by_role("button", name="查询", exact=True).click()

    # Then they see that one opinion, not the list
    expect(page).to_have_url(re.compile(rf"/c/opinions/{mine.number}/$"))
    expect(page.get_by_text("幸福小区东门的路灯坏了一个多月")).to_be_visible()
    expect(page.get_by_text("另一条较早的咨询内容")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
