"""Every /api/ answer is JSON with a code: deeply nested bodies, unknown URLs, wrong methods,
over-long URLs (issue 12, item 5)."""

import pytest

from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(world):
    _, plaintext = apikey_create(
        actor=world.user("a", Role.ADMIN), name="110 接处警", unit=world.district_a
    )
    return plaintext


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize("depth", [17, 500, 1000, 5000])
@pytest.mark.parametrize("url", ["/api/v1/events", "/api/v1/cases", "/api/v1/cases/X1/progress"])
def test_deeply_nested_json_is_400_with_a_code(client, key, url, depth):
    body = '{"events": ' + _nested(depth) + "}"
    response = client.post(url, body, content_type="application/json", HTTP_X_API_KEY=key)
    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"


def test_nesting_within_the_bound_is_an_ordinary_rejection(client, key):
    response = client.post(
        "/api/v1/events",
        '{"events": ' + _nested(10) + "}",
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")


def test_unknown_api_url_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_unknown_api_url_is_json_404_in_debug_too(client, settings):
    settings.DEBUG = True
    response = client.get("/api/v2/events")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_json_405_with_allow(client, key):
    response = client.get("/api/v1/events", HTTP_X_API_KEY=key)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


def test_over_long_url_is_json_414(client):
    response = client.get("/api/v1/org-units?" + "q=" + "x" * 5000)
    assert response.status_code == 414
    assert response.json()["code"] == "uri_too_long"


def test_console_pages_keep_their_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_every_reference_in_the_openapi_document_resolves(client):
    document = client.get("/api/openapi.json").json()
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    for ref in refs:
        assert ref.startswith("#/"), ref
        target = document
        for part in ref[2:].split("/"):
            assert part in target, f"{ref} does not resolve"
            target = target[part]
    # and the nested fields of a case are there for clients to see
    body = document["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]
    parties = body["application/json"]["schema"]["properties"]["parties"]
    assert "id_number" in parties["items"]["properties"]
