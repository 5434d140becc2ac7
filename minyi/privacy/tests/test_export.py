"""The access-request export (查阅复制): one citizen's rows, inside the actor's subtree only,
always audited; refused to a role that may not reveal personal data."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.orgs.choices import Role
from minyi.privacy.export import citizen_data_export
from minyi.privacy.tests.factories import (
    CITIZEN,
    OTHER,
    aged_inbound,
    aged_opinion,
    aged_outbound,
    aged_survey,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(world, btypes):
    """The citizen's survey, SMS and opinion at station a2, another citizen's at a2, and the
    citizen's survey at the sibling station a1."""
    now = timezone.now()
    aged_survey(world.station_a2, btypes["hukou"], now=now, days=3, comment="排队太久了")
    aged_inbound(now=now, days=3, text="窗口民警很耐心", unit=world.station_a2)
    aged_opinion(world, now=now, days=3, content="小区路灯坏了很久")
    aged_outbound(now=now, days=3, body="张三您好")
    aged_survey(
        world.station_a2, btypes["hukou"], now=now, days=3, mobile=OTHER, comment="别人的留言"
    )
    aged_survey(world.station_a1, btypes["hukou"], now=now, days=3, comment="甲一所的留言")


def _login(client, user):
    client.force_login(user)
    if user.needs_second_factor:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    return client


def test_export_holds_the_citizens_rows_and_nothing_of_another(world, held):
    supervisor = world.user("a2", Role.SUPERVISOR)

    export = citizen_data_export(actor=supervisor, mobile="139 0000 1111")

    text = json.dumps(export, ensure_ascii=False, default=str)
    assert export["mobile"] == CITIZEN
    assert [s["comment"] for s in export["held"]["perception.Survey"]] == ["排队太久了"]
    assert export["held"]["perception.ServiceEvent"][0]["citizen_mobile"] == CITIZEN
    assert export["held"]["sms.InboundSms"][0]["text"] == "窗口民警很耐心"
    assert export["held"]["opinions.Opinion"][0]["content"] == "小区路灯坏了很久"
    assert "别人的留言" not in text and OTHER not in text
    # The sibling station's survey of the same citizen is outside a2's subtree.
    assert "甲一所的留言" not in text


def test_a_higher_unit_sees_its_whole_subtree(world, held):
    export = citizen_data_export(actor=world.user("a", Role.SUPERVISOR), mobile=CITIZEN)
    comments = sorted(s["comment"] for s in export["held"]["perception.Survey"])
    assert comments == ["排队太久了", "甲一所的留言"]


def test_sibling_unit_gets_nothing(world, held):
    export = citizen_data_export(actor=world.user("b1", Role.SUPERVISOR), mobile=CITIZEN)
    assert not any(export["held"].values())


def test_export_is_audited_as_a_reveal_without_the_number(world, held):
    supervisor = world.user("a2", Role.SUPERVISOR)
    citizen_data_export(actor=supervisor, mobile=CITIZEN)
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert event.actor == supervisor and event.outcome == AuditOutcome.SUCCESS
    assert event.detail["export"] == "citizen_data"
    assert event.detail["rows"]["perception.Survey"] == 1
    assert CITIZEN not in json.dumps(event.detail)


def test_role_without_reveal_is_refused_and_the_refusal_audited(world, held):
    evaluator = world.user("a2", Role.EVALUATOR)
    with pytest.raises(PermissionDenied):
        citizen_data_export(actor=evaluator, mobile=CITIZEN)
    assert AuditEvent.objects.get(action=AuditAction.PII_REVEAL).outcome == AuditOutcome.DENIED


def test_malformed_number_refused(world):
    with pytest.raises(ApplicationError) as exc:
        citizen_data_export(actor=world.user("a2", Role.SUPERVISOR), mobile="12345")
    assert exc.value.code == "invalid_mobile"
    assert not AuditEvent.objects.exists()


def test_page_downloads_json_and_never_caches(client, world, held):
    _login(client, world.user("a2", Role.SUPERVISOR))
    url = reverse("privacy:citizen_export")
    assert client.get(url).status_code == 200

    response = client.post(url, {"mobile": CITIZEN})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert [s["comment"] for s in data["held"]["perception.Survey"]] == ["排队太久了"]
    assert AuditEvent.objects.get(action=AuditAction.PII_REVEAL).path == url


def test_page_shows_the_error_for_a_bad_number(client, world):
    _login(client, world.user("a2", Role.SUPERVISOR))
    response = client.post(reverse("privacy:citizen_export"), {"mobile": "abc"})
    assert response.status_code == 200
    assert "手机号码格式不正确" in response.content.decode()


def test_page_refused_to_a_role_without_reveal(client, world, held):
    _login(client, world.user("a2", Role.UNIT_LEADER))
    response = client.post(reverse("privacy:citizen_export"), {"mobile": CITIZEN})
    assert response.status_code == 403
    assert "排队太久了" not in response.content.decode()


def test_command_exports_everything_and_audits_the_operator(world, held, tmp_path):
    out = tmp_path / "export.json"
    call_command("export_citizen_data", CITIZEN, "--operator", "王工", "--output", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    comments = sorted(s["comment"] for s in data["held"]["perception.Survey"])
    assert comments == ["排队太久了", "甲一所的留言"]
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert event.actor_username == "manage.py:王工"
