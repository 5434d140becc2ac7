"""minyi.wsgi serves Kannel's callbacks through a short middleware chain (minyi/core/wsgi.py)
and every other path through the whole stack. Driven as gunicorn drives it: a WSGI environ."""

import io
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from minyi.integrations.sms.models import InboundSms
from minyi.wsgi import application

pytestmark = pytest.mark.django_db
TOKEN = "callback-secret"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.SMS_CALLBACK_TOKEN = TOKEN
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the handler's request signals would close the test's
    connection (and its transaction) after each call."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _call(path: str, **query) -> tuple[str, dict[str, list[str]], bytes]:
    environ = {
        "PATH_INFO": path,
        "QUERY_STRING": urlencode(query),
        "SERVER_NAME": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status
        answer["headers"] = {}
        for name, value in headers:
            answer["headers"].setdefault(name.lower(), []).append(value)

    body = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], body


def test_an_incoming_sms_is_stored_through_the_gateway_chain():
    query = {"token": TOKEN, "id": "k-1", "from": "+8613800001111", "to": "1069", "text": "满意"}
    status, headers, body = _call("/sms/kannel/inbound", **query)
    assert (status, body) == ("200 OK", b"")
    inbound = InboundSms.objects.get()
    assert (inbound.from_mobile, inbound.text) == ("13800001111", "满意")
    # The short chain: the security headers stay, no session, CSRF or CSP work is done.
    assert headers["x-content-type-options"] == ["nosniff"]
    assert "set-cookie" not in headers
    assert "content-security-policy" not in headers
    assert "vary" not in headers  # no session or language middleware looked at the request
    # Kannel repeats the same message: answered the same, no second row.
    assert _call("/sms/kannel/inbound", **query)[0] == "200 OK"
    assert InboundSms.objects.count() == 1


def test_the_gateway_chain_keeps_the_token_and_field_checks():
    assert _call("/sms/kannel/inbound", token="wrong", id="1", **{"from": "138"})[0].startswith(
        "403"
    )
    assert _call("/sms/kannel/inbound", token=TOKEN, text="1")[0].startswith("400")
    assert _call("/sms/kannel/dlr", token=TOKEN, id="x", type="1")[0].startswith("400")
    assert not InboundSms.objects.exists()


def test_other_paths_keep_the_whole_stack():
    status, headers, body = _call("/accounts/login/")
    assert status == "200 OK"
    assert "content-security-policy" in headers
    assert any("csrftoken=" in cookie for cookie in headers["set-cookie"])
    assert "登录".encode() in body  # the language middleware: Chinese by default
    # A path that only looks like the gateway's is not the gateway's.
    assert _call("/sms/kannelx/inbound")[0].startswith("404")
