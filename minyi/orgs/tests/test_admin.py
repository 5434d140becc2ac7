"""The admin writes through the services: the same refusals, nothing half-saved."""

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from minyi.core.models import AuditAction, AuditEvent
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import OrgUnit, User

pytestmark = pytest.mark.django_db


def _admin_client(client, user):
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
    session.save()
    return client


def _unit_form(unit, parent, **changes):
    data = {
        "name": unit.name,
        "short_name": unit.short_name,
        "code": unit.code,
        "kind": unit.kind,
        "duty_phone": unit.duty_phone,
        "address": unit.address,
        "is_active": "on",
        "parent": parent.pk if parent else "",
    }
    data.update(changes)
    return data


def test_moving_a_unit_under_its_own_child_is_refused_in_the_admin(client, world):
    client = _admin_client(client, world.user("city", Role.ADMIN))
    paths = dict(OrgUnit.objects.values_list("pk", "path"))
    url = reverse("admin:orgs_orgunit_change", args=[world.district_a.pk])
    response = client.post(url, _unit_form(world.district_a, world.station_a1))
    assert response.status_code == 200
    assert "不能把单位移动到它自己或它的下级单位之下" in response.content.decode()
    assert dict(OrgUnit.objects.values_list("pk", "path")) == paths


def test_adding_and_moving_units_in_the_admin(client, world):
    client = _admin_client(client, world.user("city", Role.ADMIN))
    response = client.post(
        reverse("admin:orgs_orgunit_add"),
        {
            "name": "甲三派出所",
            "code": "TA03",
            "kind": UnitKind.POLICE_STATION,
            "parent": world.district_a.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    added = OrgUnit.objects.get(code="TA03")
    assert OrgUnit.objects.get(pk=world.district_a.pk).contains(added)

    url = reverse("admin:orgs_orgunit_change", args=[added.pk])
    client.post(url, _unit_form(added, world.district_b))
    assert OrgUnit.objects.get(pk=world.district_b.pk).contains(OrgUnit.objects.get(pk=added.pk))
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, object_id=str(added.pk)).exists()


def test_admin_cannot_put_a_unit_outside_their_subtree(client, world):
    client = _admin_client(client, world.user("a", Role.ADMIN))
    response = client.post(
        reverse("admin:orgs_orgunit_add"),
        {
            "name": "越界所",
            "code": "TX99",
            "kind": UnitKind.POLICE_STATION,
            "parent": world.district_b.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form shows the error
    assert not OrgUnit.objects.filter(code="TX99").exists()


def test_duplicate_username_in_the_admin_is_refused(client, world):
    client = _admin_client(client, world.user("a", Role.ADMIN))
    response = client.post(
        reverse("admin:orgs_user_add"),
        {
            "username": "A1_EVALUATOR",
            "full_name": "重名",
            "role": Role.EVALUATOR,
            "unit": world.station_a1.pk,
            "password": "Another-Secret-99",
        },
    )
    assert response.status_code == 200
    assert "该用户名已被使用" in response.content.decode()
    assert User.objects.filter(username__iexact="a1_evaluator").count() == 1


def test_officer_with_malformed_mobile_in_the_admin(client, world):
    client = _admin_client(client, world.user("a", Role.ADMIN))
    response = client.post(
        reverse("admin:orgs_officer_add"),
        {
            "police_number": "555555",
            "name": "李四",
            "unit": world.station_a1.pk,
            "position": "patrol",
            "is_public": "on",
            "is_active": "on",
            "new_mobile": "1234",
        },
    )
    assert response.status_code == 200
    assert "手机号码格式不正确" in response.content.decode()


def test_api_key_is_shown_once_and_works(client, world):
    from minyi.orgs.models import ApiKey
    from minyi.orgs.services import apikey_authenticate

    client = _admin_client(client, world.user("a", Role.ADMIN))
    response = client.post(
        reverse("admin:orgs_apikey_add"),
        {"name": "窗口系统", "unit": world.station_a1.pk},
        follow=True,
    )
    page = response.content.decode()
    key = page.split("：mk_")[1].split("<")[0].strip()
    api_key = ApiKey.objects.get()
    assert apikey_authenticate(f"mk_{key}") == api_key
    assert key not in api_key.key_hash
    assert (
        "mk_" + key
        not in client.get(reverse("admin:orgs_apikey_change", args=[api_key.pk])).content.decode()
    )


def test_api_key_revocation_is_final_and_audited(client, world):
    from minyi.orgs.models import ApiKey
    from minyi.orgs.services import apikey_authenticate, apikey_create

    api_key, key = apikey_create(actor=world.user("a", Role.ADMIN), name="k", unit=world.station_a1)
    client = _admin_client(client, world.user("a", Role.ADMIN))
    client.post(
        reverse("admin:orgs_apikey_changelist"),
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )
    assert apikey_authenticate(key) is None
    revoked_at = ApiKey.objects.get().revoked_at
    assert revoked_at is not None
    # The change form cannot clear it.
    client.post(reverse("admin:orgs_apikey_change", args=[api_key.pk]), {"revoked_at": ""})
    assert ApiKey.objects.get().revoked_at == revoked_at
    assert AuditEvent.objects.filter(object_id=str(api_key.pk), detail__revoked=True).exists()
