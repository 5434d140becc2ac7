"""The code's cool-down is per mobile and says so: a second browser that never saw the first
code is told plainly where it went (138****5678), whether it works here, and how many seconds
are left; the one-a-minute limit per mobile stays."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.verification.models import OtpChallenge, OtpPurpose
from minyi.verification.services import otp_request

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"
LOOKUP = OtpPurpose.OPINION_LOOKUP
SUBMIT = OtpPurpose.OPINION_SUBMIT


def _refusal(**kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        otp_request(**kwargs)
    return caught.value


def test_a_second_request_names_the_mobile_masked_and_the_seconds_left():
    t0 = timezone.now().replace(microsecond=0)
    otp_request(mobile=MOBILE, purpose=LOOKUP, ip="203.0.113.7", now=t0)
    # Another device, another address, 30 s later
    error = _refusal(
        mobile=MOBILE, purpose=LOOKUP, ip="198.51.100.9", now=t0 + timedelta(seconds=30)
    )
    assert (error.code, error.status) == ("rate_limited", 429)
    message = str(error.message)
    assert "138****5678" in message and MOBILE not in message
    assert "30 秒后" in message
    assert "每个手机号每分钟只能获取一次" in message
    assert "请使用该短信中的验证码" in message
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1


def test_a_code_for_another_purpose_is_said_not_to_work_here():
    t0 = timezone.now().replace(microsecond=0)
    otp_request(mobile=MOBILE, purpose=SUBMIT, ip="203.0.113.7", now=t0)
    error = _refusal(
        mobile=MOBILE, purpose=LOOKUP, ip="203.0.113.7", now=t0 + timedelta(seconds=45)
    )
    message = str(error.message)
    assert "其他业务" in message and "不能用于本次操作" in message and "15 秒后" in message


def test_the_limit_is_per_mobile_not_per_browser_or_address():
    t0 = timezone.now().replace(microsecond=0)
    otp_request(mobile=MOBILE, purpose=LOOKUP, ip="203.0.113.7", now=t0)
    # Another mobile from the same address at once: sent
    otp_request(mobile="13900001111", purpose=LOOKUP, ip="203.0.113.7", now=t0)
    assert OtpChallenge.objects.count() == 2


def _code() -> str:
    body = OutboundSms.objects.filter(purpose=SmsPurpose.OTP).latest("id").body
    return re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", body).group(0)


def test_the_second_browser_is_told_plainly_and_can_use_the_code_it_was_sent(client):
    track = reverse("portal:opinion_track")
    # Given browser A asked for a code for the mobile
    client.post(track, {"mobile": MOBILE, "action": "send_code"})
    code = _code()
    # When browser B, which never asked, asks for the same mobile
    browser_b = Client()
    page = browser_b.post(track, {"mobile": MOBILE, "action": "send_code"}).content.decode()
    # Then it is told where the code went and how long to wait, not left waiting
    assert "不到 1 分钟前已向 138****5678 发送过验证码" in page
    assert re.search(r"或 \d+ 秒后再重新获取", page)
    # And the code on the phone works in browser B
    response = browser_b.post(track, {"mobile": MOBILE, "code": code, "action": "lookup"})
    assert response.status_code == 302
