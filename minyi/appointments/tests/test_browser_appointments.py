"""A citizen books a mobile visit (移动办证) on a phone, the station confirms it and records
it done in the console, the visit's satisfaction survey is sent by the usual sweep, and the
citizen rates it on the survey page (Playwright, Debian's Chromium; the citizen's pages work
without JavaScript)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from minyi.appointments.models import Appointment, AppointmentStatus, ServiceSlot
from minyi.appointments.tests.factories import in_days, make_slot
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD, make_world
from minyi.perception.models import Survey, SurveyStatus
from minyi.perception.services.surveys import surveys_dispatch_due, surveys_schedule_pending

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "13900006666"
ADDRESS = "越城区府山街道仓桥直街12号"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "java_script_enabled": False,
}


def _sms(purpose):
    return OutboundSms.objects.filter(purpose=purpose, to_mobile_hash=lookup_hash("mobile", MOBILE))


def _code() -> str:
    return re.search(r"\d{6}", _sms(SmsPurpose.OTP).latest("id").body).group(0)


def test_a_citizen_books_a_visit_and_rates_it(live_server, browser, settings):
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 24, 0  # any hour of the day
    world = make_world()
    slot = make_slot(world.station_a2, in_days(2), capacity=2)
    phone = browser.new_context(**PHONE)
    page = phone.new_page()

    # Given the citizen on the appointments page, looking for their station
    page.goto(f"{live_server.url}/c/appointments/")
    page.get_by_label("派出所或社区名称").fill("甲二")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name=world.station_a2.name).click()
    expect(page.get_by_role("heading", name=world.station_a2.name)).to_be_visible()

    # When they choose the slot, say who they are and ask for a code
    page.locator(f"#slot-{slot.pk}").check()
    page.get_by_label("老年人").check()
    page.get_by_label("身份证").check()
    page.get_by_label("上门（家中）").check()
    page.get_by_label("姓名").fill("王阿婆")
    page.get_by_label("上门地址").fill(ADDRESS)
    page.get_by_label("手机号码").fill(MOBILE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_role("status").first).to_contain_text("验证码已发送至 139****6666")
    expect(page.get_by_label("上门地址")).to_have_value(ADDRESS)
    expect(page.locator(f"#slot-{slot.pk}")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # And submit with the code from the SMS
    page.get_by_label("短信验证码").fill(_code())
    page.get_by_role("button", name="提交预约").click()

    # Then they see the appointment's number
    appointment = Appointment.objects.get()
    expect(page.get_by_test_id("appointment-number")).to_have_text(appointment.number)
    expect(page.get_by_test_id("appointment-status")).to_have_text("待确认")

    # When the station's leader confirms it in the console
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    staff = desk.new_page()
    leader = world.user("a2", Role.UNIT_LEADER)
    staff.goto(f"{live_server.url}/accounts/login/")
    staff.get_by_label("用户名").fill(leader.username)
    staff.get_by_label("密码").fill(PASSWORD)
    staff.get_by_role("button", name="登录").click()
    staff.goto(f"{live_server.url}/appointments/")
    row = staff.get_by_test_id(f"appointment-{appointment.number}")
    expect(row).to_contain_text("139****6666")
    expect(row).not_to_contain_text(ADDRESS)
    row.get_by_role("link", name=appointment.number).click()
    staff.get_by_test_id("confirm").click()
    expect(staff.get_by_test_id("appointment-status")).to_have_text("已确认")
    assert "已确认" in _sms(SmsPurpose.APPOINTMENT).get().body

    # And the visit's day comes (its slot moved to yesterday: an outcome is recorded only
    # once the slot has started)
    ServiceSlot.objects.filter(pk=slot.pk).update(date=in_days(-1))
    staff.reload()

    # And the day's route list shows the stop
    staff.get_by_role("link", name="当日路线").click()
    expect(staff.get_by_test_id(f"stop-{appointment.number}")).to_be_visible()
    staff.get_by_role("link", name=appointment.number).click()

    # And records it done
    staff.get_by_label("已办结", exact=True).check()
    staff.get_by_label("情况说明（未办成、取消时必填）").fill("已上门采集照片，证件办理中")
    staff.get_by_test_id("outcome-save").click()
    expect(staff.get_by_test_id("appointment-status")).to_have_text("已办结")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.DONE and appointment.service_event_id

    # Then the survey sweep asks the citizen, as for any window contact
    later = timezone.now() + timedelta(hours=1)
    surveys_schedule_pending(now=later)
    assert surveys_dispatch_due(now=later) == 1
    survey = Survey.objects.get(event_id=appointment.service_event_id)
    assert survey.status == SurveyStatus.SENT
    assert survey.token in _sms(SmsPurpose.SURVEY).get().body

    # And the citizen rates the visit on the survey page
    page.goto(f"{live_server.url}/s/{survey.token}")
    expect(page.get_by_role("heading", name="请您评价本次服务")).to_be_visible()
    page.get_by_label("满意", exact=True).check()
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    survey.refresh_from_db()
    assert (survey.status, survey.rating) == (SurveyStatus.ANSWERED, 2)
    desk.close()
    phone.close()
