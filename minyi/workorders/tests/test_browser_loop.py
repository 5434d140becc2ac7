"""The whole loop with four people in a real browser (Playwright, Debian's Chromium): a citizen
replies 不满意 by SMS, an evaluator takes the callback and attributes it, the unit leader
rectifies, the evaluator makes the second callback, a supervisor closes; and the leader of a
sibling station sees none of it."""

import struct
import zlib

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from minyi.callbacks.models import Attribution, Callback, CallbackKind
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD, make_world
from minyi.perception.services.replies import inbound_process_pending
from minyi.perception.tests.factories import business_types
from minyi.perception.tests.test_surveys import _sent_survey
from minyi.workorders.models import WorkOrder, WorkOrderStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITIZEN = "13900007777"
TOKEN = "loop-test-token"


def _png(path):
    """A real 1×1 PNG for the evidence upload."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"\x00\xff\xff\xff"
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)
    return str(path)


def _sign_in(browser, live_server, user):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("whoami")).to_contain_text(str(user))
    return page


@override_settings(
    SURVEY_QUIET_START=24, SURVEY_QUIET_END=0, SMS_CALLBACK_TOKEN=TOKEN, DEMO_MODE=False
)
def test_four_people_close_the_loop(live_server, browser, tmp_path):
    world = make_world()
    # District a runs the perception centre that calls back about 110 contacts in its stations
    world.district_a.has_perception_centre = True
    world.district_a.save()
    business_types()
    officer = world.officers["a2"]
    survey = _sent_survey(world, "jcj_110", mobile=CITIZEN, unit=world.station_a2)
    survey.event.officers.add(officer)
    evaluator = world.user("city", Role.EVALUATOR)
    leader = world.user("a2", Role.UNIT_LEADER)
    supervisor = world.user("a", Role.SUPERVISOR)
    sibling = world.user("a1", Role.UNIT_LEADER)

    # 1. The citizen answers the survey SMS with 不满意, delivered by the gateway's HTTP call
    evaluator_page = _sign_in(browser, live_server, evaluator)
    reply = evaluator_page.request.get(
        f"{live_server.url}/sms/kannel/inbound",
        params={"token": TOKEN, "id": "loop-1", "from": CITIZEN, "text": "不满意，民警态度很差"},
    )
    assert reply.ok
    inbound_process_pending()
    assert Callback.objects.filter(survey=survey, kind=CallbackKind.FIRST).exists()

    # 2. The evaluator takes the next task, reveals the number and records the call
    evaluator_page.goto(f"{live_server.url}/perception/callbacks/")
    evaluator_page.keyboard.press("n")  # the queue's shortcut for "take the next one"
    expect(evaluator_page.get_by_test_id("record-form")).to_be_visible()
    expect(evaluator_page.get_by_test_id("citizen-mobile")).to_have_text("139****7777")
    evaluator_page.get_by_test_id("reveal").click()
    expect(evaluator_page.get_by_test_id("citizen-mobile")).to_have_text(CITIZEN)
    evaluator_page.keyboard.press("1")  # 已接通
    evaluator_page.get_by_test_id("reason").fill("民警态度生硬，办事时不耐烦，还训斥群众")
    # The tags suggested from the text arrive and are confirmed
    expect(evaluator_page.locator("#tag-choices input[value=attitude]")).to_be_checked()
    evaluator_page.get_by_label("民警责任").check()
    evaluator_page.get_by_label("责任民警").select_option(str(officer.pk))
    evaluator_page.get_by_test_id("save").click()
    expect(evaluator_page.get_by_text("已派发整改工单")).to_be_visible()
    order = WorkOrder.objects.get(survey=survey)
    assert order.unit == world.station_a2 and order.status == WorkOrderStatus.DISPATCHED

    # 3. The unit leader is notified, accepts and reports back with a photo
    leader_page = _sign_in(browser, live_server, leader)
    expect(leader_page.get_by_test_id("unread-count")).to_have_text("1")
    leader_page.get_by_test_id("bell").click()
    leader_page.get_by_text(order.number).first.click()
    leader_page.get_by_test_id("accept").click()
    leader_page.get_by_label("整改情况").fill("已约谈当事民警，责令当面道歉，并在所务会上通报。")
    leader_page.get_by_label("整改佐证（照片或 PDF）").set_input_files(_png(tmp_path / "photo.png"))
    leader_page.get_by_test_id("feedback").click()
    expect(leader_page.get_by_test_id("order-status")).to_have_text("已反馈待追评")

    # 4. The evaluator makes the second callback (追评): the citizen is satisfied now
    evaluator_page.goto(f"{live_server.url}/perception/callbacks/")
    evaluator_page.get_by_test_id("take-next").click()
    expect(evaluator_page.get_by_test_id("record-form")).to_be_visible()
    evaluator_page.keyboard.press("1")
    evaluator_page.get_by_label("满意", exact=True).check()
    evaluator_page.get_by_test_id("save").click()
    order.refresh_from_db()
    assert order.status == WorkOrderStatus.AUDIT

    # 5. The district supervisor audits and closes it
    supervisor_page = _sign_in(browser, live_server, supervisor)
    supervisor_page.goto(f"{live_server.url}/workorders/{order.pk}/")
    supervisor_page.get_by_test_id("close").click()
    expect(supervisor_page.get_by_test_id("order-status")).to_have_text("已办结")
    history = supervisor_page.get_by_test_id("order-history")
    for step in ("已派发", "已签收", "已反馈待追评", "待审核", "已办结"):
        expect(history).to_contain_text(step)
    order.refresh_from_db()
    assert order.resolved and order.callback.attribution == Attribution.AT_FAULT

    # 6. The leader of the sibling station sees none of it
    sibling_page = _sign_in(browser, live_server, sibling)
    sibling_page.goto(f"{live_server.url}/workorders/")
    expect(sibling_page.get_by_text(order.number)).to_have_count(0)
    assert sibling_page.goto(f"{live_server.url}/workorders/{order.pk}/").status == 404
    expect(sibling_page.get_by_test_id("unread-count")).to_have_count(0)
