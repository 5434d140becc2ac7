"""A citizen votes from the shared link on a cheap phone's screen (issue 15, 票选): too many
ticks are refused with the ticks kept, a one-time code proves the mobile, the receipt shows
what was chosen, and back on the vote page the phone is pointed to its receipt (a second
ballot from the same mobile is refused: test_public.py). With and without JavaScript: the page
is a plain form (htmx only refreshes the turnout). Playwright, Debian's Chromium."""

import re

import pytest
from playwright.sync_api import expect

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.votes.ballots import ballot_cast
from minyi.votes.models import Ballot, CampaignStatus
from minyi.votes.tests.factories import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
MOBILE = "13900007777"


def _code(mobile: str = MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"(?<!\d)(\d{6})(?!\d)", sms.body).group(1)


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_citizen_votes_on_a_small_phone(live_server, browser, world, javascript):
    campaign = make_campaign(
        world,
        title="2027年度惠民实事票选",
        options=5,
        max_choices=3,
        description="请选出您最希望办的实事。",
    )
    # Two people voted before
    ballot_cast(campaign, mobile="13700000001", choices=[1])
    ballot_cast(campaign, mobile="13700000002", choices=[2, 3])
    phone = browser.new_context(
        viewport={"width": WIDTH, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=javascript,
    )
    page = phone.new_page()
    external = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None,
    )

    # Given the link shared in WeChat
    page.goto(f"{live_server.url}/c/votes/{campaign.code}/")
    expect(page.get_by_role("heading", name="2027年度惠民实事票选")).to_be_visible()
    expect(page.get_by_test_id("turnout")).to_contain_text("已有 2 人参与投票")
    expect(page.get_by_text("最多选 3 项", exact=True)).to_be_visible()
    _fits(page)

    # When they tick four options, type their mobile and ask for a code
    for n in (1, 2, 4, 5):
        page.get_by_label(f"{n}. 候选项目{n}").check()
    page.get_by_label("手机号码").fill(MOBILE)
    page.get_by_role("button", name="获取验证码").click()

    # Then the code is on its way and the ticks are still there
    expect(page.get_by_role("status").filter(has_text="验证码已发送至 139****7777")).to_be_visible()
    for n in (1, 2, 4, 5):
        expect(page.get_by_label(f"{n}. 候选项目{n}")).to_be_checked()
    expect(page.get_by_label("手机号码")).to_have_value(MOBILE)

    # When they type the code and submit the four ticks
    page.get_by_label("短信验证码").fill(_code())
    submit = page.get_by_role("button", name="提交投票")
    submit.scroll_into_view_if_needed()
    box = submit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    submit.click()

    # Then they are told in Chinese how many they may choose, with their ticks kept
    expect(
        page.get_by_role("alert").filter(has_text="最多可选 3 项，您选了 4 项。")
    ).to_be_visible()
    for n in (1, 2, 4, 5):
        expect(page.get_by_label(f"{n}. 候选项目{n}")).to_be_checked()
    expect(page.get_by_label("3. 候选项目3")).not_to_be_checked()
    assert Ballot.objects.filter(campaign=campaign).count() == 2
    _fits(page)

    # When they untick one and submit again (the code was not spent on the refusal)
    page.get_by_label("5. 候选项目5").uncheck()
    expect(page.get_by_label("短信验证码")).to_have_value(_code())
    page.get_by_role("button", name="提交投票").click()

    # Then they see the receipt code and what they chose
    expect(page.get_by_role("heading", name="投票成功，感谢参与")).to_be_visible()
    ballot = Ballot.objects.get(campaign=campaign, seq__gt=2)
    assert ballot.chosen_numbers() == [1, 2, 4]
    expect(page.get_by_test_id("receipt-code")).to_have_text(ballot.receipt)
    expect(page.get_by_test_id("receipt-choices")).to_have_text(
        re.compile(r"1\. 候选项目1\s*2\. 候选项目2\s*4\. 候选项目4")
    )
    expect(page.get_by_text("验证手机：139****7777")).to_be_visible()
    _fits(page)

    # When they come back to the vote page, it points to their receipt, not to a new ballot
    page.get_by_role("link", name="返回投票页").click()
    expect(page.get_by_test_id("voted")).to_contain_text("您已在本机投过票")
    expect(page.get_by_test_id("ballot-form")).to_have_count(0)
    page.get_by_role("link", name="查看回执码").click()
    expect(page.get_by_test_id("receipt-code")).to_have_text(ballot.receipt)
    assert Ballot.objects.filter(campaign=campaign).count() == 3
    _fits(page)

    # And no asset came from anywhere but this server
    assert external == []
    phone.close()


def test_closed_campaign_shows_no_ballot_on_a_phone(live_server, browser, world):
    campaign = make_campaign(world, title="最满意派出所评选", status=CampaignStatus.CLOSED)
    phone = browser.new_context(
        viewport={"width": WIDTH, "height": 740}, is_mobile=True, locale="zh-CN"
    )
    page = phone.new_page()
    page.goto(f"{live_server.url}/c/votes/{campaign.code}/")
    expect(page.get_by_test_id("closed")).to_contain_text("截止")
    expect(page.get_by_role("button", name="提交投票")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    _fits(page)
    phone.close()
