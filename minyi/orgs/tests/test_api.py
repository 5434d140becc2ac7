import pytest
from django.urls import reverse

from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_client(client, world):
    client.force_login(world.user("a", Role.SUPERVISOR))
    return client


def test_unknown_unit_is_a_404_with_a_code(api_client):
    response = api_client.get(reverse("api:officers_list"), {"unit_id": 999999})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_malformed_parameter_is_a_422_with_a_code(api_client):
    response = api_client.get(reverse("api:officers_list"), {"unit_id": "abc"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_officers_carry_masked_mobile_only(api_client, world):
    body = api_client.get(reverse("api:officers_list")).json()
    officer = world.officers["a1"]
    mine = next(item for item in body["items"] if item["police_number"] == officer.police_number)
    assert mine["mobile_masked"] == officer.mobile[:3] + "****" + officer.mobile[-4:]
    assert officer.mobile not in str(body)


def test_units_carry_their_parent(api_client, world):
    body = api_client.get(reverse("api:org_units_list")).json()
    parents = {item["code"]: item["parent_id"] for item in body["items"]}
    assert parents == {
        "TA00": world.city.pk,
        "TA01": world.district_a.pk,
        "TA02": world.district_a.pk,
    }


def test_openapi_schema_is_served(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/officers" in schema["paths"]
