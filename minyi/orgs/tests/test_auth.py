"""Security baseline: lockout, password rules, idle expiry, TOTP for administrators, headers,
CSRF, audit of logins."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD

LOGIN = "/accounts/login/"


def _fail(client, username, **extra):
    return client.post(LOGIN, {"username": username, "password": "wrong-password"}, **extra)


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_with_the_right_password(client, world):
    user = world.user("a1", Role.EVALUATOR)
    for _ in range(5):
        _fail(client, user.username)
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
    assert "账号已锁定" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT).exists()
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.LOGIN_FAILED, actor_username=user.username
        ).count()
        >= 4
    )


@pytest.mark.django_db
def test_letter_case_and_spaces_do_not_give_more_guesses(world):
    # Given an account whose name sign-in accepts in any case
    user = world.user("a1", Role.EVALUATOR)
    name = user.username
    spellings = [name.upper(), name.capitalize(), f"  {name}  ", name.swapcase(), name]
    # When five failures come, each under another spelling, from other clients
    for spelling in spellings:
        _fail(Client(), spelling)
    # Then the account is locked under every spelling, even with the right password
    for spelling in (name, name.upper(), f" {name.title()} "):
        response = Client().post(LOGIN, {"username": spelling, "password": PASSWORD})
        assert response.status_code == 403, spelling
        # and the page says how long the lock lasts
        assert "分钟后" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_a_locked_account_is_told_when_it_can_try_again(client, world, settings):
    settings.AXES_COOLOFF_TIME = 0.5  # hours
    user = world.user("a1", Role.EVALUATOR)
    for _ in range(5):
        _fail(client, user.username)
    page = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    text = page.content.decode()
    assert "约 30 分钟后" in text


@pytest.mark.django_db
def test_one_address_guessing_across_accounts_is_blocked(world, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    victims = [world.user(f"a{i}", Role.EVALUATOR) for i in (1, 2)]
    # Given one address failing three times on each of two accounts (no account locked)
    for user in victims:
        for _ in range(3):
            _fail(Client(REMOTE_ADDR="192.0.2.66"), user.username)
    # Then that address cannot sign in, even with a right password, and is told for how long
    response = Client(REMOTE_ADDR="192.0.2.66").post(
        LOGIN, {"username": victims[0].username, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "本网络地址" in response.content.decode()
    # while the same account signs in from another address (a station's colleague)
    response = Client(REMOTE_ADDR="192.0.2.67").post(
        LOGIN, {"username": victims[0].username, "password": PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_reset_the_count(world):
    user = world.user("a1", Role.EVALUATOR)
    for i in range(5):
        # A fresh client and a different forged address on every attempt.
        _fail(Client(), user.username, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    response = Client().post(
        LOGIN,
        {"username": user.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_audit_records_the_socket_address_not_the_forged_one(world):
    _fail(Client(REMOTE_ADDR="192.0.2.10"), "nobody", HTTP_X_FORWARDED_FOR="203.0.113.9")
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.ip == "192.0.2.10"
    assert event.outcome == AuditOutcome.FAILURE


@pytest.mark.django_db
def test_trusted_proxy_count_takes_the_proxys_view(world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    _fail(Client(REMOTE_ADDR="10.0.0.2"), "nobody", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.23")
    assert AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED).ip == "198.51.100.23"


@pytest.mark.django_db
def test_login_is_case_insensitive_and_audited(client, world):
    user = world.user("a1", Role.EVALUATOR)
    response = client.post(LOGIN, {"username": user.username.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor=user).exists()


@pytest.mark.django_db
def test_session_is_an_idle_timeout_of_thirty_minutes(client, world):
    client.post(
        LOGIN, {"username": world.user("a1", Role.EVALUATOR).username, "password": PASSWORD}
    )
    assert client.session.get_expiry_age() == 30 * 60


@pytest.mark.django_db
def test_each_staff_request_restarts_the_idle_timeout_but_a_citizen_view_writes_nothing(
    client, world
):
    from django.contrib.sessions.models import Session

    # Given a signed-in evaluator whose session row is about to expire
    client.post(
        LOGIN, {"username": world.user("a1", Role.EVALUATOR).username, "password": PASSWORD}
    )
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=1))
    # When they open a page, the expiry moves 30 minutes ahead again
    client.get(reverse("console:home"))
    assert Session.objects.get(pk=key).expire_date > timezone.now() + timedelta(minutes=29)
    # And a citizen's session that did not change is not written back on a page view
    citizen = Client()
    session = citizen.session
    session["x"] = 1
    session.save()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    citizen.get(reverse("portal:home"))
    assert Session.objects.get(pk=session.session_key).expire_date < timezone.now() + timedelta(
        minutes=2
    )


@pytest.mark.django_db
def test_administrator_must_pass_totp(client, world, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp slows retries after a wrong code
    admin = world.user("a1", Role.ADMIN)
    client.post(LOGIN, {"username": admin.username, "password": PASSWORD})
    # Without the second factor every page, and the API, sends them to verify.
    assert client.get(reverse("console:home")).url == reverse("second_factor")
    assert client.get(reverse("api:me")).json()["code"] == "second_factor_required"
    # A wrong code is refused and audited.
    response = client.post(reverse("second_factor"), {"token": "000000"})
    assert "验证码不正确" in response.content.decode()
    # The current code lets them in.
    device = admin.totpdevice_set.get()
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    response = client.post(reverse("second_factor"), {"token": token})
    assert response.status_code == 302
    assert client.get(reverse("console:home")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_second_factor_never_redirects_off_site(client, world, settings, target):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    admin = world.user("a1", Role.ADMIN)
    client.post(LOGIN, {"username": admin.username, "password": PASSWORD})
    device = admin.totpdevice_set.get()
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    response = client.post(f"{reverse('second_factor')}?next={target}", {"token": token})
    assert response.status_code == 302
    assert response.url == reverse("console:home")


@pytest.mark.django_db
def test_second_factor_follows_a_local_next(client, world, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    admin = world.user("a1", Role.ADMIN)
    client.post(LOGIN, {"username": admin.username, "password": PASSWORD})
    device = admin.totpdevice_set.get()
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    response = client.post(f"{reverse('second_factor')}?next=/admin/", {"token": token})
    assert response.url == "/admin/"


@pytest.mark.django_db
def test_first_login_of_an_administrator_enrols_a_device(client, world):
    admin = world.user("a1", Role.ADMIN)
    admin.totpdevice_set.all().delete()
    client.force_login(admin)
    response = client.get(reverse("second_factor"))
    assert "data:image/svg+xml;base64," in response.content.decode()
    assert admin.totpdevice_set.get().confirmed is False


@pytest.mark.django_db
def test_other_roles_need_no_second_factor(client, world):
    client.post(
        LOGIN, {"username": world.user("a1", Role.UNIT_LEADER).username, "password": PASSWORD}
    )
    assert client.get(reverse("console:home")).status_code == 200


@pytest.mark.django_db
def test_login_form_requires_csrf(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": "a1_evaluator", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.django_db
def test_secure_headers(client):
    response = client.get(LOGIN)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_ui_is_chinese_by_default_and_english_when_chosen(client):
    # An English browser still gets Chinese until the person chooses English.
    assert "工作人员登录" in client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert "Staff sign-in" in client.get(LOGIN).content.decode()
