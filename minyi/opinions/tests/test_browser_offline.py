"""A letter from the mailbox (邮递箱来信) into the same flow, in a real browser (Playwright,
Debian's Chromium): the perception centre's clerk keys it in with a photo of the paper, the
citizen's mobile and consent; the station's leader accepts and answers it; the citizen gets
the answer by SMS."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms
from minyi.opinions.models import Opinion, OpinionChannel, OpinionStatus, ReplyBy
from minyi.opinions.tests.factories import png_bytes
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "13900006543"
CONTENT = "邮递箱来信：甲二村幸福路口晚上没有路灯，老人散步经常摔跤，希望派出所帮忙协调。"
ANSWER = "经联系街道和供电部门，幸福路口的路灯已于本周安装完毕，夜间巡逻也已加密。"


def _sign_in(browser, live_server, user):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("whoami")).to_contain_text(str(user))
    return page


def test_clerk_keys_in_a_letter_and_the_citizen_gets_the_answer_by_sms(
    live_server, browser, tmp_path
):
    world = make_world()
    clerk = world.user("city", Role.EVALUATOR)
    leader = world.user("a2", Role.UNIT_LEADER)
    paper = tmp_path / "letter.png"
    paper.write_bytes(png_bytes())
    received = timezone.localtime() - timedelta(hours=3)

    # Given the centre's clerk on the opinion list, opening 录入线下诉求
    page = _sign_in(browser, live_server, clerk)
    page.goto(f"{live_server.url}/opinions/")
    page.get_by_test_id("key-in-link").click()
    expect(page.get_by_role("heading", name="录入线下诉求")).to_be_visible()

    # When they key in the letter: channel, kind, when it came, the words, the photo, the
    # citizen's name and mobile with consent, and the station
    page.get_by_label("受理渠道").select_option(label="邮递箱来信")
    page.get_by_label("建议", exact=True).check()
    page.get_by_label("收到时间").fill(received.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("诉求内容").fill(CONTENT)
    page.get_by_label("纸质原件照片（选填，最多 3 张 JPG/PNG）").set_input_files(str(paper))
    page.get_by_label("群众姓名（选填）").fill("周大爷")
    page.get_by_label("手机号码（选填）").fill(MOBILE)
    # Forgetting the consent first: a clear message, nothing typed is lost
    page.get_by_test_id("key-in-submit").click()
    expect(page.get_by_test_id("error-consent")).to_contain_text("须经本人同意")
    expect(page.get_by_label("诉求内容")).to_have_value(CONTENT)
    page.get_by_label("群众同意留存以上联系方式，用于答复").check()
    page.get_by_label("纸质原件照片（选填，最多 3 张 JPG/PNG）").set_input_files(str(paper))
    page.get_by_label("承办单位（选填）").select_option(label=world.station_a2.name)
    page.get_by_test_id("key-in-submit").click()

    # Then the opinion's page shows it came from the mailbox, with the paper, answered by SMS
    opinion = Opinion.objects.get()
    expect(page.get_by_test_id("opinion-number")).to_have_text(opinion.number)
    expect(page.get_by_test_id("channel")).to_contain_text("邮递箱来信")
    expect(page.get_by_test_id("reply-by")).to_contain_text("短信答复")
    expect(page.get_by_test_id("paper-photo")).to_have_count(1)
    assert opinion.channel == OpinionChannel.MAILBOX and opinion.reply_by == ReplyBy.SMS
    assert opinion.unit == world.station_a2 and opinion.entered_by == clerk
    to_citizen = OutboundSms.objects.filter(to_mobile_hash=lookup_hash("mobile", MOBILE))
    assert opinion.number in to_citizen.get().body  # the acknowledgement

    # When the station's leader finds it in the queue, accepts and answers it
    station = _sign_in(browser, live_server, leader)
    station.goto(f"{live_server.url}/opinions/")
    station.get_by_role("link", name=opinion.number).click()
    station.get_by_test_id("accept").click()
    expect(station.get_by_test_id("opinion-status")).to_have_text("办理中")
    station.get_by_label("答复内容").fill(ANSWER)
    station.get_by_test_id("answer").click()
    expect(station.get_by_test_id("opinion-status")).to_have_text("已答复")
    expect(station.get_by_test_id("answer")).to_contain_text("路灯已于本周安装完毕")

    # Then the citizen gets the answer by SMS, with the number to look it up and rate it
    opinion.refresh_from_db()
    assert opinion.status == OpinionStatus.ANSWERED and opinion.answer == ANSWER
    answer_sms = to_citizen.latest("id")
    assert to_citizen.count() == 2
    assert opinion.number in answer_sms.body and "已答复" in answer_sms.body

    # And a sibling station's leader does not find it
    sibling = _sign_in(browser, live_server, world.user("a1", Role.UNIT_LEADER))
    sibling.goto(f"{live_server.url}/opinions/?status=all")
    expect(sibling.get_by_role("link", name=opinion.number)).to_have_count(0)
