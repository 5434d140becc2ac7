"""A party looks up their case on a phone-sized screen (Playwright, Debian's Chromium); a
confidential case answers exactly like a number that does not exist."""

import pytest
from playwright.sync_api import expect

from minyi.cases.tests.factories import PARTY_ID, make_case, otp_code
from minyi.orgs.tests.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _phone(browser):
    return browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=False,
    )


def _look_up(page, url, number, id_number):
    page.goto(url)
    page.get_by_label("案件编号").fill(number)
    page.get_by_label("身份证号码").fill(id_number)
    page.get_by_role("button", name="查询", exact=True).click()


def test_party_sees_the_timeline_and_a_secret_case_looks_absent(live_server, browser):
    world = make_world()
    world.station_a2.duty_phone = "0575-85551234"
    world.station_a2.save()
    case = make_case(world, number="A2026110001")
    make_case(world, number="S2026110009", confidential=True)
    url = f"{live_server.url}/c/cases/"

    # Given a party with the case number and their ID number
    phone = _phone(browser)
    page = phone.new_page()
    _look_up(page, url, case.number, PARTY_ID)
    # Then a code is sent to the mobile on record, shown masked
    expect(page.get_by_text("验证码已发送至 138****5678")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # When they type the code from the SMS
    page.get_by_label("短信验证码").fill(otp_code())
    page.get_by_role("button", name="查看进度").click()

    # Then they see the timeline, the handling unit and its duty phone
    expect(page.get_by_role("heading", name="案件进度")).to_be_visible()
    timeline = page.get_by_test_id("case-timeline")
    expect(timeline).to_contain_text("受理")
    expect(timeline).to_contain_text("立案")
    expect(page.get_by_test_id("case-unit")).to_have_text("甲二派出所")
    expect(page.get_by_test_id("duty-phone")).to_have_text("0575-85551234")
    expect(page.get_by_test_id("complain-link")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert PARTY_ID not in page.content()
    phone.close()

    # And a stranger on a fresh phone gets the same answer for a confidential case (with a
    # real party's ID number) as for a number that does not exist
    stranger = _phone(browser)
    page = stranger.new_page()
    _look_up(page, url, "S2026110009", PARTY_ID)
    secret = page.get_by_role("alert").all_inner_texts()
    assert page.get_by_label("身份证号码").input_value() == ""  # not echoed back
    _look_up(page, url, "X0000000000", PARTY_ID)
    absent = page.get_by_role("alert").all_inner_texts()
    assert secret == absent == ["未找到该案件，请核对案件编号和身份证号码。"]
    stranger.close()
