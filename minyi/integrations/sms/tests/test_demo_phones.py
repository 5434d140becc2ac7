"""模拟手机 explains quiet hours, and says plainly when the demo's "send now"
(MINYI_DEMO_IGNORE_QUIET_HOURS) lets messages go at once."""

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import sms_enqueue
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db
MOBILE = "13800001111"


@pytest.fixture
def demo(client, world, settings):
    settings.DEMO_MODE, settings.SMS_BACKEND = True, "console"
    client.force_login(world.user("city", Role.EVALUATOR))
    return client


def _page(client) -> str:
    return client.get(reverse("sms:demo_phones")).content.decode()


def test_the_page_explains_quiet_hours(demo, settings):
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 21, 8
    html = _page(demo)
    assert 'data-testid="quiet-hours"' in html
    assert "21:00 至次日 08:00" in html and "08:00 后再发出" in html


def test_at_night_without_the_setting_it_says_surveys_wait_and_how_to_send_now(demo, settings):
    # Quiet all day long: the clock is always in quiet hours
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 0, 0
    sms_enqueue(mobile=MOBILE, body="【测试】请评价", purpose=SmsPurpose.SURVEY)
    html = _page(demo)
    assert 'data-testid="quiet-waiting"' in html
    assert "MINYI_DEMO_IGNORE_QUIET_HOURS=true" in html
    assert "待发送，" in html and "后发出" in html  # the waiting message is marked


def test_with_the_setting_it_says_messages_go_now(demo, settings):
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 0, 0
    settings.DEMO_IGNORE_QUIET_HOURS = True
    sms_enqueue(mobile=MOBILE, body="【测试】请评价", purpose=SmsPurpose.SURVEY)
    html = _page(demo)
    assert 'data-testid="quiet-ignored"' in html
    assert "免打扰时段不生效，短信立即发出" in html
    assert "待发送，" not in html


def test_a_message_dated_later_is_marked_with_its_time(demo, settings):
    later = timezone.now() + timezone.timedelta(hours=3)
    sms_enqueue(
        mobile=MOBILE, body="【测试】稍后", purpose=SmsPurpose.NOTIFICATION, not_before=later
    )
    html = _page(demo)
    assert f"待发送，{timezone.localtime(later):%m-%d %H:%M} 后发出" in html
