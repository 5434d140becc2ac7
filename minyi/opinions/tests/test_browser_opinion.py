"""A citizen writes a complaint on a phone, follows it, reads the answer and rates it
(Playwright, Debian's Chromium, no JavaScript: the pages are plain forms)."""

import re

import pytest
from playwright.sync_api import expect

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.opinions.models import Opinion, OpinionStatus
from minyi.opinions.services.handling import opinion_answer
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "13900008888"
CONTENT = "昨天在甲二派出所办户口，窗口民警态度生硬，希望改进。"


def _code() -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", MOBILE)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


def test_citizen_complains_follows_and_rates_on_a_phone(live_server, browser):
    world = make_world()
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=False,
    )
    page = phone.new_page()

    # Given the citizen on the portal's front page, tapping 我要留言
    page.goto(f"{live_server.url}/c/")
    page.get_by_role("link", name=re.compile("我要留言")).click()
    expect(page.get_by_role("heading", name="我要留言")).to_be_visible()

    # When they choose 投诉, write, name the station and ask for a code
    page.get_by_label("投诉", exact=True).check()
    page.get_by_label("留言内容").fill(CONTENT)
    page.get_by_label("反映给哪个单位（选填）").select_option(label=world.station_a2.name)
    page.get_by_label("姓名").fill("陈女士")
    page.get_by_label("手机号码").fill(MOBILE)
    page.get_by_role("button", name="获取验证码").click()

    # Then the code is on its way and everything they wrote is still there
    expect(page.get_by_role("status").first).to_contain_text("验证码已发送至 139****8888")
    expect(page.get_by_label("留言内容")).to_have_value(CONTENT)
    expect(page.get_by_label("投诉", exact=True)).to_be_checked()
    expect(page.get_by_label("姓名")).to_have_value("陈女士")

    # And the page fits the phone: no horizontal scroll, the submit button within the width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    submit = page.get_by_role("button", name="提交留言")
    submit.scroll_into_view_if_needed()
    expect(submit).to_be_visible()
    box = submit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390

    # When they enter the code from the SMS and press Enter (the form's default is to submit,
    # not to ask for another code)
    page.get_by_label("短信验证码").fill(_code())
    page.get_by_label("短信验证码").press("Enter")

    # Then they see the tracking number
    opinion = Opinion.objects.get()
    expect(page.get_by_role("heading", name="留言已受理")).to_be_visible()
    expect(page.get_by_test_id("opinion-number")).to_have_text(opinion.number)
    assert opinion.unit == world.station_a2 and opinion.contact_name == "陈女士"

    # When the station answers
    opinion_answer(
        actor=world.user("a2", Role.UNIT_LEADER),
        opinion=opinion,
        text="经核查，当班民警服务用语不规范，已批评教育并组织窗口服务培训。",
    )

    # And the citizen opens the track page in the same browser and the opinion there
    page.goto(f"{live_server.url}/c/opinions/track/")
    page.get_by_test_id(f"opinion-{opinion.number}").click()
    expect(page.get_by_test_id("opinion-answer")).to_contain_text("已批评教育")
    expect(page.get_by_test_id("opinion-status")).to_have_text("已答复")

    # And rates the answer 满意
    page.get_by_label("满意", exact=True).check()
    page.get_by_role("button", name="提交评价").click()

    # Then the rating is shown read-only and the opinion is closed with rating 2
    expect(page.get_by_test_id("opinion-rating")).to_contain_text("满意")
    expect(page.get_by_role("button", name="提交评价")).to_have_count(0)
    opinion.refresh_from_db()
    assert opinion.status == OpinionStatus.CLOSED
    assert opinion.rating == 2
    phone.close()
