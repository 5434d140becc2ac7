"""The case API: POST /api/v1/cases and /api/v1/cases/{number}/progress with an API key."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.cases.models import Case, CaseProgress
from minyi.cases.services import case_lookup_start
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, bad_checksum, case_data, make_case
from minyi.core.errors import ApplicationError
from minyi.integrations.sms.models import OutboundSms
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create

pytestmark = pytest.mark.django_db

CASES_URL = "/api/v1/cases"


def _key(world, unit_key="a") -> str:
    unit = {"a": world.district_a, "b": world.district_b, "a2": world.station_a2}[unit_key]
    return apikey_create(actor=world.user("city", Role.ADMIN), name="案件系统", unit=unit)[1]


def _post(client, url, body, key):
    return client.post(
        url,
        data=body if isinstance(body, (bytes, str)) else json.dumps(body),
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )


def _assert_no_pii(response):
    text = response.content.decode()
    assert PARTY_ID not in text and PARTY_ID.lower() not in text and PARTY_MOBILE not in text


def test_upsert_creates_then_updates(client, world):
    key = _key(world)
    response = _post(client, CASES_URL, case_data(world), key)
    assert response.status_code == 201
    assert response.json() == {"number": "A2026110001", "stage": "filed", "created": True}
    _assert_no_pii(response)
    again = _post(client, CASES_URL, case_data(world, case_type="诈骗"), key)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert Case.objects.get().case_type == "诈骗"
    assert Case.objects.get().source.startswith("api:")


def test_an_update_without_the_confidential_key_keeps_the_case_confidential(client, world):
    # Given a case created confidential through the API
    key = _key(world)
    assert _post(client, CASES_URL, case_data(world, confidential=True), key).status_code == 201
    # When it is sent again with a new step and neither flag in the body
    body = case_data(world)
    del body["confidential"], body["private"]
    body["progress"].append(
        {
            "stage": "solved",
            "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
            "external_id": "A2026110001-3",
        }
    )
    response = _post(client, CASES_URL, body, key)
    # Then it is updated, still confidential, no SMS went out, and the lookup finds nothing
    assert response.status_code == 200 and response.json()["stage"] == "solved"
    case = Case.objects.get()
    assert case.confidential is True and case.private is False
    assert not OutboundSms.objects.filter(purpose="notification").exists()
    with pytest.raises(ApplicationError) as exc:
        case_lookup_start(number=case.number, id_number=PARTY_ID, ip="1.1.1.1")
    assert exc.value.code == "case_not_found"
    # And an explicit false does make it public
    body["confidential"] = False
    assert _post(client, CASES_URL, body, key).status_code == 200
    assert Case.objects.get().is_public


def test_progress_is_created_then_idempotent(client, world):
    make_case(world)
    key = _key(world, "a2")
    step = {
        "stage": "investigating",
        "occurred_at": timezone.now().isoformat(),
        "note": "",
        "external_id": "EXT-7",
    }
    url = f"{CASES_URL}/A2026110001/progress"
    first = _post(client, url, step, key)
    assert first.status_code == 201
    assert first.json() == {
        "number": "A2026110001",
        "stage": "investigating",
        "external_id": "EXT-7",
        "created": True,
    }
    second = _post(client, url, step, key)
    assert second.status_code == 200 and second.json()["created"] is False
    assert CaseProgress.objects.filter(external_id="EXT-7").count() == 1


def test_without_or_with_a_wrong_key_is_401(client, world):
    assert client.post(CASES_URL, data="{}", content_type="application/json").status_code == 401
    response = _post(client, CASES_URL, case_data(world), "mk_nope_nope")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    assert not Case.objects.exists()


def test_a_key_of_district_b_cannot_write_a_case_of_station_a2(client, world):
    key_b = _key(world, "b")
    response = _post(client, CASES_URL, case_data(world), key_b)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_unit" and response.json()["field"] == "unit_code"
    # Nor an existing a2 case, by naming a unit of its own, nor a step on it
    make_case(world)
    moved = _post(client, CASES_URL, case_data(world, unit=world.station_b1), key_b)
    assert moved.status_code == 400
    step = {"stage": "closed", "occurred_at": timezone.now().isoformat(), "external_id": "Z"}
    assert _post(client, f"{CASES_URL}/A2026110001/progress", step, key_b).status_code == 404
    assert Case.objects.get().unit == world.station_a2
    assert not CaseProgress.objects.filter(external_id="Z").exists()


def test_unknown_case_progress_is_404(client, world):
    step = {"stage": "closed", "occurred_at": timezone.now().isoformat(), "external_id": "Z"}
    response = _post(client, f"{CASES_URL}/NOPE/progress", step, _key(world))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_bad_id_checksum_is_400_and_not_echoed(client, world):
    data = case_data(world)
    wrong = bad_checksum(PARTY_ID)
    data["parties"][0]["id_number"] = wrong
    response = _post(client, CASES_URL, data, _key(world))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_id_number" and body["field"] == "parties[0].id_number"
    assert wrong not in response.content.decode()


def test_wrong_type_is_422_naming_the_field_without_the_input(client, world):
    data = case_data(world)
    data["parties"][0]["id_number"] = int(PARTY_ID[:17])  # a number, not a string
    response = _post(client, CASES_URL, data, _key(world))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_field"
    assert response.json()["field"] == "parties[0].id_number"
    assert PARTY_ID[:17] not in response.content.decode()


@pytest.mark.parametrize("body", [b"not json", b"[]", b""])
def test_malformed_body_is_422(client, world, body):
    response = _post(client, CASES_URL, body, _key(world))
    assert response.status_code == 422 and response.json()["code"] == "malformed_body"


def test_missing_field_is_422(client, world):
    data = case_data(world)
    del data["unit_code"]
    response = _post(client, CASES_URL, data, _key(world))
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_field",
        "message": "缺少字段 unit_code。",
        "field": "unit_code",
    }


def test_not_filed_without_reason_is_400(client, world):
    make_case(world)
    step = {
        "stage": "not_filed",
        "occurred_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "external_id": "NF",
    }
    response = _post(client, f"{CASES_URL}/A2026110001/progress", step, _key(world))
    assert response.status_code == 400 and response.json()["code"] == "reason_required"


@pytest.mark.parametrize("bad", ["A\x00B", "\ud800"])
def test_unstorable_text_is_422_not_a_crash(client, world, bad):
    data = case_data(world)
    data["parties"][0]["name"] = bad
    response = _post(client, CASES_URL, json.dumps(data, ensure_ascii=True), _key(world))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_text"
    assert response.json()["field"] == "parties[0].name"
    step = {"stage": "closed", "occurred_at": timezone.now().isoformat(), "external_id": "Z"}
    response = _post(client, f"{CASES_URL}/A%00B/progress", step, _key(world))
    assert response.status_code == 422


def test_a_party_mobile_in_another_scripts_digits_is_refused(client, world):
    # Issue 12: "1381234000١" is not a mobile; a full-width one is
    party = {**case_data(world)["parties"][0], "mobile": "1381234000١"}
    response = _post(client, CASES_URL, case_data(world, parties=[party]), _key(world))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_mobile"
    assert not Case.objects.exists()
    party["mobile"] = "１３８１２３４５６７８"
    assert (
        _post(client, CASES_URL, case_data(world, parties=[party]), _key(world)).status_code == 201
    )
    assert Case.objects.get().parties.get().mobile == PARTY_MOBILE
