"""The permission matrix, generated from the URL configuration.

Every URL the project serves is either listed in PUBLIC or has a Case here; a URL added later
without one fails `test_every_url_has_a_case`. Each case is requested as anonymous, as a role
without the permission, as an allowed role of a sibling unit (must see nothing) and as an
allowed role of the owning unit. Django admin pages are generated from the admin registry.
"""

import importlib
import pkgutil

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp import DEVICE_ID_SESSION_KEY

import minyi
from minyi.console.tests.matrix import Case
from minyi.core.audit import audit_record
from minyi.core.models import AuditAction
from minyi.directory import urls as directory_urls
from minyi.orgs.admin import admin_site
from minyi.orgs.choices import Role
from minyi.orgs.roles import ROLE_PERMS, Perm

# URLs anyone may request.
PUBLIC = {
    "login",
    "logout",
    "second_factor",  # login_required; tested in orgs/tests/test_auth.py
    "set_language",
    "healthz",
    "readyz",
    "metrics",  # counts only; token or loopback (ops/tests/test_metrics.py)
    "api:openapi-json",
    "api:openapi-view",
    "api:api-root",  # django-ninja's index of the API: no data
    "survey_h5",  # the citizen's single-use link; tested in perception/tests/test_views.py
    "questionnaire",  # a poll's single-use link; polls/tests/test_collection.py
    "sms:kannel_inbound",  # gateway callbacks: shared token; sms/tests/test_callbacks.py
    "sms:kannel_dlr",
    "sms:demo_phones",  # demo mode only (404 otherwise); sms/tests/test_callbacks.py
    "sms:demo_phone_reply",
    "api:votes_campaign_api",  # public vote API, OTP-proven; votes/tests/test_api.py
    "api:votes_otp_api",  # votes/tests/test_api.py, test_otp_lock.py
    "api:votes_ballot_api",  # votes/tests/test_api.py, test_otp_lock.py
    "api:votes_receipt_api",  # published receipts only; votes/tests/test_api.py
}

# Integration endpoints authenticated by API key, scoped to the key's subtree
# (perception/tests/test_ingest_api.py covers wrong keys and other subtrees).
API_KEY_ONLY = {
    "api:events_ingest_api",
    "api:cases_upsert_api",
    "api:cases_progress_add_api",
    "api:community_incidents_ingest_api",  # community/tests/test_incidents.py
    "api:patrol_pings_ingest_api",  # community/tests/test_patrol_api.py
    "api:patrol_checkins_ingest_api",
    "api:reminder_items_ingest_api",  # reminders/tests
}


def _audit_marker(world):
    audit_record(
        action=AuditAction.EXPORT, actor=world.user("a2", Role.SUPERVISOR), obj=world.station_a2
    )
    return world.station_a2.name


def _callback_marker(world):
    from minyi.integrations.sms.services import inbound_receive
    from minyi.perception.services.replies import reply_record_sms
    from minyi.perception.tests.factories import business_types
    from minyi.perception.tests.test_surveys import _sent_survey

    business_types()
    world.station_a2.has_perception_centre = True
    world.station_a2.save()
    with override_settings(SURVEY_QUIET_START=24, SURVEY_QUIET_END=0):  # any time of day
        _sent_survey(world, "hukou", unit=world.station_a2, mobile="13800005555")
    inbound, _ = inbound_receive(
        gateway="t", gateway_message_id="m", sender="13800005555", text="不满意"
    )
    reply_record_sms(inbound_id=inbound.pk)
    return "户籍办理"


def _inbox_message(world):
    from minyi.integrations.sms.models import InboundSms, InboundStatus
    from minyi.integrations.sms.services import inbound_receive

    inbound, _ = inbound_receive(
        gateway="t", gateway_message_id="i", sender="13800006666", text="甲二所的民警很好"
    )
    InboundSms.objects.filter(pk=inbound.pk).update(
        status=InboundStatus.NEEDS_REVIEW, unit=world.station_a2
    )
    return inbound


def _inbox_marker(world):
    _inbox_message(world)
    return "甲二所的民警很好"


CASES = {
    "console:home": Case(
        Perm.ORG_VIEW, lambda w: reverse("console:home"), lambda w: w.station_a2.name
    ),
    "console:unit_tree": Case(
        Perm.ORG_VIEW, lambda w: reverse("console:unit_tree"), lambda w: w.station_a2.name
    ),
    "console:unit_detail": Case(
        Perm.ORG_VIEW,
        lambda w: reverse("console:unit_detail", args=[w.station_a2.pk]),
        lambda w: w.station_a2.name,
        detail=True,
    ),
    "console:officer_list": Case(
        Perm.OFFICER_VIEW,
        lambda w: reverse("console:officer_list"),
        lambda w: w.officers["a2"].name,
    ),
    "console:officer_detail": Case(
        Perm.OFFICER_VIEW,
        lambda w: reverse("console:officer_detail", args=[w.officers["a2"].pk]),
        lambda w: w.officers["a2"].name,
        detail=True,
    ),
    "console:officer_reveal": Case(
        Perm.OFFICER_REVEAL_PII,
        lambda w: reverse("console:officer_reveal", args=[w.officers["a2"].pk, "mobile"]),
        lambda w: w.officers["a2"].mobile,
        method="post",
        detail=True,
    ),
    "console:audit_list": Case(
        Perm.AUDIT_VIEW, lambda w: reverse("console:audit_list"), _audit_marker
    ),
    "callbacks:callback_list": Case(
        Perm.CALLBACK_VIEW, lambda w: reverse("callbacks:callback_list"), _callback_marker
    ),
    "inbox:inbox": Case(Perm.INBOX_VIEW, lambda w: reverse("inbox:inbox"), _inbox_marker),
    "inbox:inbox_mark_read": Case(
        Perm.INBOX_VIEW,
        lambda w: reverse("inbox:inbox_mark_read", args=[_inbox_message(w).pk]),
        _inbox_marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "perception:event_import": Case(
        Perm.EVENT_IMPORT, lambda w: reverse("perception:event_import"), None
    ),
    "api:me": Case(
        Perm.ORG_VIEW, lambda w: reverse("api:me"), lambda w: w.station_a2.name, api=True
    ),
    "api:org_units_list": Case(
        Perm.ORG_VIEW,
        lambda w: reverse("api:org_units_list"),
        lambda w: w.station_a2.name,
        api=True,
    ),
    "api:org_units_get": Case(
        Perm.ORG_VIEW,
        lambda w: reverse("api:org_units_get", args=[w.station_a2.pk]),
        lambda w: w.station_a2.name,
        api=True,
        detail=True,
    ),
    "api:officers_list": Case(
        Perm.OFFICER_VIEW,
        lambda w: reverse("api:officers_list"),
        lambda w: w.officers["a2"].name,
        api=True,
    ),
    "api:officers_get": Case(
        Perm.OFFICER_VIEW,
        lambda w: reverse("api:officers_get", args=[w.officers["a2"].pk]),
        lambda w: w.officers["a2"].name,
        api=True,
        detail=True,
    ),
}

# Each app may add its own cases in tests/permission_cases.py: CASES (URL name → Case) and
# ADMIN_OBJECTS (admin label → function making an object owned by station a2), with
# CITY_ADMIN_LABELS for city-wide configuration only city administrators change.
ADMIN_OBJECTS = {}
CITY_ADMIN_LABELS = {"perception.businesstype", "core.calendaroverride", "core.calendaryear"}
for _app in pkgutil.walk_packages(minyi.__path__, "minyi."):
    if _app.name.endswith(".tests.permission_cases"):
        _module = importlib.import_module(_app.name)
        CASES.update(getattr(_module, "CASES", {}))
        ADMIN_OBJECTS.update(getattr(_module, "ADMIN_OBJECTS", {}))
        CITY_ADMIN_LABELS |= set(getattr(_module, "CITY_ADMIN_LABELS", ()))


def _named_callbacks(resolver: URLResolver, namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue  # generated from the admin registry below
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_callbacks(pattern, ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else f"<unnamed {pattern}>"
            yield name, pattern.callback


def _named_urls(resolver: URLResolver):
    return (name for name, _callback in _named_callbacks(resolver))


def _roles_with(permission):
    return [r for r in Role.values if permission in ROLE_PERMS[r]]


def _roles_without(permission):
    return [r for r in Role.values if permission not in ROLE_PERMS[r]]


def _login(client, user):
    client.force_login(user)
    if user.needs_second_factor:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    return client


def _request(client, case: Case, url: str):
    return getattr(client, case.method)(url)


def test_every_url_has_a_case():
    names = set(_named_urls(get_resolver()))
    # The citizen pages (/c/: namespace "portal", and the officer directory's citizen pages)
    # have no staff login: a citizen proves a mobile with a one-time code. They are tested in
    # verification/tests (codes), directory/tests, opinions/tests/test_public_views.py and
    # cases/tests (a confidential case answers like a wrong number), votes/tests (ballots);
    # none of them shows a staff page's data.
    citizen = {
        name
        for name in names
        if name.startswith(
            (
                "portal:",
                "votes_public:",
                "community_public:",
                "meetings_public:",
                "reminders_public:",
                "appointments_public:",
                "volunteers_public:",
            )
        )
    } | {f"directory:{pattern.name}" for pattern in directory_urls.citizen_urlpatterns}
    uncovered = names - PUBLIC - API_KEY_ONLY - citizen - set(CASES)
    assert not uncovered, f"URLs without a permission-matrix case: {sorted(uncovered)}"
    assert not set(CASES) - names, "cases for URLs that no longer exist"


def test_every_staff_view_declares_its_permission():
    callbacks = dict(_named_callbacks(get_resolver()))
    for name, case in CASES.items():
        if not case.api:
            declared = getattr(callbacks[name], "required_permission", None)
            assert declared == case.permission, name


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CASES))
def test_anonymous_is_refused(client, world, name):
    case = CASES[name]
    response = _request(client, case, case.url(world))
    if case.api:
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
    else:
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


WRONG_ROLE = [(n, r) for n in sorted(CASES) for r in _roles_without(CASES[n].permission)]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), WRONG_ROLE)
def test_wrong_role_is_refused(client, world, name, role):
    case = CASES[name]
    _login(client, world.user("a2", role))
    response = _request(client, case, case.url(world))
    assert response.status_code == 403
    if case.api:
        assert response.json()["code"] == "permission_denied"


ALLOWED = [(n, r) for n in sorted(CASES) for r in _roles_with(CASES[n].permission)]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), ALLOWED)
def test_sibling_unit_sees_nothing(client, world, name, role):
    case = CASES[name]
    marker = case.marker(world) if case.marker else None
    _login(client, world.user("a1", role))
    response = _request(client, case, case.url(world))
    expected = case.sibling_status or (404 if case.detail else 200)
    assert response.status_code == expected
    if marker:
        assert marker not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), ALLOWED)
def test_owner_sees_it(client, world, name, role):
    case = CASES[name]
    marker = case.marker(world) if case.marker else None
    _login(client, world.user("a2", role))
    response = _request(client, case, case.url(world))
    assert response.status_code == case.owner_status
    if marker and case.owner_status == 200:
        assert marker in response.content.decode()
    if "reveal" in name or "identity" in name:
        # A revealed number is never kept by the browser or a proxy.
        assert "no-store" in response["Cache-Control"]


# --- Django admin, generated from the admin registry ----------------------------------------

ADMIN_MODELS = sorted(m._meta.label_lower for m in admin_site._registry)


def _admin_changelist(label):
    app, model = label.split(".")
    return reverse(f"admin:{app}_{model}_changelist")


@pytest.mark.django_db
@pytest.mark.parametrize("label", ADMIN_MODELS)
def test_admin_refuses_anonymous_and_other_roles(client, world, label):
    url = _admin_changelist(label)
    assert client.get(url).status_code == 302
    for role in _roles_without(Perm.ADMIN_SITE):
        _login(client, world.user("a2", role))
        assert client.get(url).status_code == 302  # to the admin login: not allowed here


@pytest.mark.django_db
def test_admin_without_second_factor_is_sent_to_verify(client, world):
    client.force_login(world.user("a2", Role.ADMIN))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url == reverse("second_factor")


@pytest.mark.django_db
@pytest.mark.parametrize("label", ADMIN_MODELS)
def test_admin_sibling_sees_nothing(client, world, label):
    # Given an object owned by station a2 (or the a2 admin's own audit trail)
    owned = _admin_object_of_a2(world, label)
    # When the administrator of sibling station a1 looks for it
    _login(client, world.user("a1", Role.ADMIN))
    changelist = client.get(_admin_changelist(label))
    app, model = label.split(".")
    # Then the changelist does not list it and its change page does not exist for them
    change_url = reverse(f"admin:{app}_{model}_change", args=[owned.pk])
    if changelist.status_code == 200:
        assert change_url not in changelist.content.decode()
        assert client.get(change_url).status_code == 302  # "does not exist" → admin index
    else:
        assert changelist.status_code == 403  # city-wide configuration: city admins only


def _admin_object_of_a2(world, label):
    from minyi.core.models import CalendarOverride
    from minyi.perception.models import BusinessType

    match label:
        case "orgs.orgunit":
            return world.station_a2
        case "orgs.officer":
            return world.officers["a2"]
        case "orgs.user":
            return world.user("a2", Role.EVALUATOR)
        case "orgs.apikey":
            from minyi.orgs.services import apikey_create

            return apikey_create(
                actor=world.user("a2", Role.ADMIN), name="甲二所窗口系统", unit=world.station_a2
            )[0]
        case "core.auditevent":
            return audit_record(action=AuditAction.LOGIN, actor=world.user("a2", Role.EVALUATOR))
        case "perception.businesstype":
            return BusinessType.objects.create(
                code="t_window", name="测试窗口业务", category="window"
            )
        case "core.calendaryear":
            from minyi.core.models import CalendarYear

            return CalendarYear.objects.create(year=2027, complete=True)
        case "core.calendaroverride":
            import datetime

            return CalendarOverride.objects.create(
                day=datetime.date(2027, 2, 8), is_workday=False, name="测试"
            )
    if label in ADMIN_OBJECTS:
        return ADMIN_OBJECTS[label](world)
    raise AssertionError(f"no admin ownership case for {label}; add one")


@pytest.mark.django_db
@pytest.mark.parametrize("label", ADMIN_MODELS)
def test_admin_owner_sees_it(client, world, label):
    owned = _admin_object_of_a2(world, label)
    admin = (
        world.user("a2", Role.ADMIN)
        if label not in CITY_ADMIN_LABELS
        else world.user("city", Role.ADMIN)
    )
    _login(client, admin)
    response = client.get(_admin_changelist(label))
    assert response.status_code == 200
    app, model = label.split(".")
    change_url = reverse(f"admin:{app}_{model}_change", args=[owned.pk])
    assert change_url in response.content.decode()
    assert client.get(change_url).status_code == 200
