"""A station leader records a question at a 恳谈会, answers it on the opinion's page, writes its
public answer (公开答复) on the meeting's page, records the attendance, writes and publishes
the minutes; a citizen on a phone then reads the question with its public answer on the
portal, never the answer sent to the citizen, nor their name or number (issue 17).
Playwright, Debian's Chromium."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from minyi.meetings.models import Meeting, MeetingKind, MeetingStatus
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True}
WORDS = "我姓王，住幸福里，公交站晚上总有人扒窃，手机被偷过两次。"
SUMMARY = "幸福里公交站夜间扒窃多发"
ANSWER = "王先生您好，已在您家附近的幸福里公交站增设夜间巡逻点，您被偷的手机已找回。"
PUBLIC_ANSWER = "已在幸福里公交站增设夜间巡逻点，并抓获扒窃嫌疑人两名。"
MOBILE = "13800006543"


def test_a_forum_question_is_answered_and_shown_in_the_minutes(live_server, browser, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    start = timezone.now() - timedelta(hours=1)
    meeting = Meeting.objects.create(
        kind=MeetingKind.FORUM,
        unit=world.station_a2,
        title="幸福里社区警民恳谈会",
        place="幸福里社区会议室",
        agenda="通报辖区治安；群众提问",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )
    errors = []
    desk = browser.new_context(**DESK)
    page = desk.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(leader.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(f"{live_server.url}/accounts/login/")

    # Given the station's 恳谈会 in the list
    page.goto(f"{live_server.url}{reverse('meetings:meeting_list')}")
    page.get_by_role("link", name="幸福里社区警民恳谈会").click()

    # When the leader records a citizen's question, with the citizen's consent to keep the number
    page.get_by_test_id("question-new").click()
    page.get_by_label("诉求类别").select_option(label="投诉")
    page.get_by_label("群众原话").fill(WORDS)
    page.get_by_label("问题摘要（公开）").fill(SUMMARY)
    page.get_by_label("群众姓名（选填）").fill("王先生")
    page.get_by_label("手机号码（选填）").fill(MOBILE)
    page.get_by_label("群众同意留存联系方式，用于答复").check()
    page.get_by_test_id("question-save").click()
    row = page.get_by_test_id("question-row")
    expect(row).to_contain_text(SUMMARY)
    expect(row.get_by_test_id("question-status")).to_have_text("待签收")

    # And answers it on the opinion's page (the same flow as any opinion)
    row.get_by_role("link").click()
    form = page.get_by_test_id("answer-form")
    form.get_by_role("textbox").fill(ANSWER)
    form.get_by_role("button", name="提交答复").click()
    expect(page.get_by_test_id("answer-form")).to_have_count(0)
    page.goto(f"{live_server.url}{meeting.get_absolute_url()}")
    expect(page.get_by_test_id("question-status")).to_have_text("已答复")
    answer_form = page.get_by_test_id("public-answer-form")
    answer_form.get_by_label("公开答复").fill(PUBLIC_ANSWER)
    answer_form.get_by_test_id("public-answer-save").click()
    expect(page.get_by_test_id("question-public-answer")).to_contain_text(PUBLIC_ANSWER)

    # And records the attendance, writes the minutes and the follow-up, and publishes them
    page.get_by_test_id("attendance-link").click()
    page.get_by_label("参加群众人数").fill("38")
    page.get_by_label("出席民警").fill("张所长、李警官")
    page.get_by_test_id("form-save").click()
    expect(page.get_by_test_id("meeting-status")).to_have_text("已召开")
    page.get_by_test_id("minutes-link").click()
    page.get_by_label("会议纪要（公开）").fill("通报辖区治安形势；群众提问 1 个，已答复。")
    page.get_by_label("后续成效（公开）").fill("公交站扒窃已打掉")
    page.get_by_test_id("form-save").click()
    page.get_by_test_id("meeting-publish").click()
    expect(page.get_by_test_id("meeting-status")).to_have_text("纪要已公开")
    desk.close()

    # Then a citizen on a phone reads the question with its public answer, and nothing personal
    phone = browser.new_context(**PHONE)
    citizen = phone.new_page()
    citizen.on("pageerror", lambda exc: errors.append(str(exc)))
    citizen.goto(f"{live_server.url}{reverse('meetings_public:index')}")
    citizen.get_by_test_id("public-past").get_by_role("link", name="幸福里社区警民恳谈会").click()
    question = citizen.get_by_test_id("public-question")
    expect(question).to_contain_text(SUMMARY)
    expect(question.get_by_test_id("public-question-status")).to_have_text("已答复")
    expect(question.get_by_test_id("public-question-answer")).to_contain_text(PUBLIC_ANSWER)
    expect(citizen.get_by_test_id("public-follow-up")).to_have_text("公交站扒窃已打掉")
    body = citizen.content()
    for secret in ("王先生", MOBILE, WORDS, ANSWER, "手机已找回"):
        assert secret not in body
    assert citizen.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()
    assert Meeting.objects.get().status == MeetingStatus.PUBLISHED
    assert errors == []
