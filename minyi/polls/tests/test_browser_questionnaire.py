"""A resident answers the anonymous poll questionnaire on a cheap phone's screen, without
JavaScript (Playwright, Debian's Chromium)."""

import pytest
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from minyi.orgs.tests.factories import make_world
from minyi.perception.tests.factories import business_types
from minyi.polls.models import InvitationStatus, PollInvitation, PollRespondent
from minyi.polls.tests.test_collection import sent_invitations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@override_settings(SURVEY_QUIET_START=24, SURVEY_QUIET_END=0)
def test_resident_answers_the_poll_on_a_small_phone(live_server, browser):
    world = make_world()
    btypes = business_types()
    _poll, [invitation] = sent_invitations(world, btypes, 1, now=timezone.now())
    phone = browser.new_context(
        viewport={"width": 320, "height": 640},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=False,
    )
    page = phone.new_page()
    external = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None,
    )

    # Given the link from the SMS
    page.goto(f"{live_server.url}/q/{invitation.token}")
    expect(page.get_by_role("heading", name="民意测评问卷")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

    # When they answer only the first question and submit, they are told what is missing
    page.get_by_role("group", name="近一个月您在居住地附近见过巡逻民警吗？").get_by_label(
        "见过", exact=True
    ).check()
    page.get_by_role("button", name="提交问卷").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    expect(
        page.get_by_role("group", name="您觉得本地治安安全吗？").get_by_text("请回答这一题。")
    ).to_be_visible()

    # And then answer everything
    for question, answer in (
        ("民警服务态度您满意吗？", "满意"),
        ("您知道您所在社区的社区民警是谁吗？", "不知道"),
        ("您对本地公安工作总体满意吗？", "满意"),
        ("您觉得本地治安安全吗？", "安全"),
        ("您的年龄段", "60岁及以上"),
        ("您的性别", "女"),
        ("您是本地户籍还是外来人员？", "本地户籍"),
    ):
        page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    page.get_by_role("button", name="提交问卷").click()

    # Then they are thanked, and the link is used up
    expect(page.get_by_role("heading", name="感谢您的参与")).to_be_visible()
    page.goto(f"{live_server.url}/q/{invitation.token}")
    expect(page.get_by_role("heading", name="感谢您的参与")).to_be_visible()
    respondent = PollRespondent.objects.get()
    assert (respondent.saw_police, respondent.familiarity, respondent.age_band) == (
        True,
        False,
        "60+",
    )
    assert PollInvitation.objects.get().status == InvitationStatus.ANSWERED
    # No asset came from anywhere but this server
    assert external == []
    phone.close()
