"""Citizen pages of volunteers (/c/volunteers/): joining with a code-proven mobile and the
consent, signing up for an activity with the registered mobile, and the public recognition
list (names only of those who agreed)."""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.volunteers.models import Signup, Volunteer, VolunteerSource, VolunteerStatus
from minyi.volunteers.tests.factories import make_activity, make_signup, make_volunteer

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


def latest_code(mobile=MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


def _join_data(**extra):
    data = {
        "name": "陈志愿",
        "skills": ["patrol"],
        "availability": ["weekend"],
        "availability_note": "周六上午",
        "mobile": MOBILE,
        "action": "join",
    }
    data.update(extra)
    return data


def test_join_needs_the_consent_then_a_code(client, world):
    url = reverse("volunteers_public:join", args=[world.station_a2.code])
    page = client.get(url).content.decode()
    assert "志愿者个人信息告知书" in page and "仅用于组织志愿活动" in page
    client.post(url, {"mobile": MOBILE, "action": "send_code"})
    code = latest_code()

    # Without the consent: refused, with everything typed kept, the code not spent.
    response = client.post(url, _join_data(code=code))
    assert response.status_code == 400
    html = response.content.decode()
    assert "请阅读并勾选同意" in html
    assert "陈志愿" in html and "周六上午" in html
    assert not Volunteer.objects.exists()

    response = client.post(url, _join_data(code=code, consent="on", public_name="on"))
    assert response.status_code == 302
    volunteer = Volunteer.objects.get()
    assert volunteer.unit == world.station_a2
    assert volunteer.source == VolunteerSource.SELF
    assert volunteer.name == "陈志愿" and volunteer.public_name
    assert volunteer.skills == ["patrol"] and volunteer.consent_version
    html = client.get(url).content.decode()
    assert 'data-testid="joined"' in html and "138****5678" in html

    # The volunteer withdraws from the same page.
    client.post(url, {"action": "withdraw"})
    volunteer.refresh_from_db()
    assert volunteer.status == VolunteerStatus.WITHDRAWN


def test_join_with_a_wrong_code_keeps_what_was_typed(client, world):
    url = reverse("volunteers_public:join", args=[world.station_a2.code])
    client.post(url, {"mobile": MOBILE, "action": "send_code"})
    response = client.post(url, _join_data(code="000000", consent="on"))
    assert response.status_code == 400
    assert "陈志愿" in response.content.decode()
    assert not Volunteer.objects.exists()


def test_signup_by_proven_mobile(client, world):
    now = timezone.now()
    activity = make_activity(world.station_a2, starts_at=now + timedelta(days=2), capacity=1)
    station_page = client.get(reverse("volunteers_public:station", args=[world.station_a2.code]))
    assert activity.title in station_page.content.decode()
    url = reverse("volunteers_public:activity_signup", args=[activity.pk])

    # Not a volunteer yet: told to join first.
    client.post(url, {"mobile": MOBILE, "action": "send_code"})
    response = client.post(url, {"mobile": MOBILE, "code": latest_code(), "action": "signup"})
    assert response.status_code == 400
    assert "请先报名成为志愿者" in response.content.decode()

    volunteer = make_volunteer(world.station_a2, mobile=MOBILE)
    response = client.post(url, {"mobile": MOBILE, "action": "signup"})  # proven already
    assert response.status_code == 200
    assert 'data-testid="signed-up"' in response.content.decode()
    signup = Signup.objects.get()
    assert (signup.volunteer, signup.source) == (volunteer, VolunteerSource.SELF)

    # Full now: a second volunteer is refused with the reason.
    other = "13812340000"
    make_volunteer(world.station_a2, mobile=other)
    client2 = client.__class__()
    client2.post(url, {"mobile": other, "action": "send_code"})
    response = client2.post(url, {"mobile": other, "code": latest_code(other), "action": "signup"})
    assert response.status_code == 400
    assert "报名人数已满" in response.content.decode()


def test_a_sibling_station_volunteer_cannot_sign_up(client, world):
    activity = make_activity(world.station_a2, starts_at=timezone.now() + timedelta(days=1))
    make_volunteer(world.station_a1, mobile=MOBILE)
    url = reverse("volunteers_public:activity_signup", args=[activity.pk])
    client.post(url, {"mobile": MOBILE, "action": "send_code"})
    response = client.post(url, {"mobile": MOBILE, "code": latest_code(), "action": "signup"})
    assert response.status_code == 400
    assert not Signup.objects.exists()


def test_public_recognition_masks_names_without_consent(client, world):
    june = timezone.make_aware(datetime(2026, 6, 1, 10, 0))
    activity = make_activity(world.station_a2, starts_at=june)
    named = make_volunteer(world.station_a2, name="李公开", public_name=True)
    hidden = make_volunteer(world.station_a2, name="张不公开", public_name=False)
    make_signup(activity, named, attended=True, hours=Decimal("2"))
    make_signup(activity, hidden, attended=True, hours=Decimal("3"))
    html = client.get(
        reverse("volunteers_public:recognition", args=[world.station_a2.code]) + "?year=2026"
    ).content.decode()
    assert "李公开" in html
    assert "张**" in html and "张不公开" not in html
    assert hidden.mobile not in html


def test_unknown_station_is_404(client, world):
    assert client.get(reverse("volunteers_public:station", args=["NOPE"])).status_code == 404
    assert client.get(reverse("volunteers_public:index")).status_code == 200
