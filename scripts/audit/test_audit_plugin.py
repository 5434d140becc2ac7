"""The audit's scanner finds what it must and nothing else (runs in `make test`)."""

import logging

import pytest
from audit_plugin import (
    ALLOWED_REVEALS,
    Audit,
    _remembered_get_prep_value,
    _scanned_get_response,
    _scanned_handle,
)
from django.core.handlers.base import BaseHandler
from django.urls import get_resolver, reverse

from minyi.core.pii import EncryptedTextField
from minyi.orgs.choices import Role


def test_unmasked_numbers_are_hits_and_masked_ones_are_not():
    audit = Audit()
    audit.scan("page", "手机13812345678，身份证33060219850615003x")
    audit.scan("page", "138****5678 3306**********003X 订单 913812345678901 时间 1733280000000")
    audit.scan("page", "hash 9f13812345678e0c token c33060219850615003xd")
    assert [(kind, masked) for _, kind, masked in audit.hits] == [
        ("mobile", "138****5678"),
        ("id number", "330****003X"),
    ]


def test_a_number_the_run_stored_is_found_inside_a_longer_number():
    audit = Audit(known={"13900000042"})
    audit.scan("export", "ref 9913900000042007")
    assert [kind for _, kind, _ in audit.hits] == ["known number"]


def test_every_allowed_reveal_is_a_url_the_project_serves():
    from minyi.console.tests.test_permission_matrix import _named_urls

    served = set(_named_urls(get_resolver()))
    assert set(ALLOWED_REVEALS) <= served, set(ALLOWED_REVEALS) - served


def test_a_number_the_request_carried_may_be_shown_back_another_may_not():
    audit = Audit()
    audit.scan("form", "13812345678 13900000001", echoed=frozenset({"13812345678"}))
    assert [masked for _, _, masked in audit.hits] == ["139****0001"]
    assert audit.allowed_hits["echo"] == 1


def test_an_allowed_reveal_is_counted_not_a_hit():
    audit = Audit()
    audit.scan("reveal", "13812345678", allowed="console:officer_reveal")
    assert not audit.hits
    assert audit.allowed_hits["console:officer_reveal"] == 1


@pytest.mark.django_db
def test_pages_log_records_and_stored_numbers_are_seen(client, world, monkeypatch, caplog):
    # Given the audit's hooks installed on a fresh tally
    audit = Audit()
    monkeypatch.setattr("audit_plugin.AUDIT", audit)
    monkeypatch.setattr(BaseHandler, "get_response", _scanned_get_response)
    monkeypatch.setattr(logging.Logger, "handle", _scanned_handle)
    monkeypatch.setattr(EncryptedTextField, "get_prep_value", _remembered_get_prep_value)
    officer = world.officers["a2"]
    officer.mobile = "13900004242"
    officer.save()
    # When an administrator reveals the officer's mobile and something logs a number
    client.force_login(world.user("a2", Role.SUPERVISOR))
    client.get(reverse("console:officer_list"))
    revealed = client.post(reverse("console:officer_reveal", args=[officer.pk, "mobile"]))
    logging.getLogger("minyi.audit_selftest").warning("sent to %s", "13900004242")
    # Then the stored number is known, the reveal is allowed and the log line is a hit
    assert "13900004242" in audit.known
    assert audit.responses == 2
    assert revealed.status_code == 200
    assert audit.allowed_hits["console:officer_reveal"] == 1
    assert [where for where, _, _ in audit.hits] == ["log minyi.audit_selftest WARNING"]
