"""Case services: upsert, progress steps and their SMS, the party's lookup."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from minyi.cases.models import Case, CaseParty, CaseProgress, CaseStage
from minyi.cases.services import (
    case_lookup_start,
    case_lookup_verify,
    case_progress_add,
    case_upsert,
)
from minyi.cases.tests.factories import (
    PARTY_ID,
    PARTY_MOBILE,
    bad_checksum,
    case_data,
    make_case,
    otp_code,
    valid_id,
)
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditEvent
from minyi.integrations.sms.models import OutboundSms, SmsPurpose

pytestmark = pytest.mark.django_db


def _notifications():
    return OutboundSms.objects.filter(purpose=SmsPurpose.NOTIFICATION)


def _otp_code() -> str:
    return otp_code()


def _step(stage, when, external_id, note=""):
    return {
        "stage": stage,
        "occurred_at": when.isoformat(),
        "note": note,
        "external_id": external_id,
    }


# --- Upsert -----------------------------------------------------------------------------------


def test_upsert_creates_a_case_with_its_party_and_timeline(world):
    case, created = case_upsert(scope=world.district_a, data=case_data(world), source="t")
    assert created
    assert (case.number, case.stage, case.unit) == (
        "A2026110001",
        CaseStage.FILED,
        world.station_a2,
    )
    assert list(case.progress.values_list("stage", flat=True)) == ["received", "filed"]
    party = case.parties.get()
    assert (party.id_number, party.mobile, party.role) == (PARTY_ID, PARTY_MOBILE, "victim")
    # Stored encrypted: the raw numbers are not in the table
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, mobile FROM cases_caseparty")
        raw_id, raw_mobile = cursor.fetchone()
    assert PARTY_ID not in raw_id and PARTY_MOBILE not in raw_mobile
    # One SMS for the new case, for its newest step only
    sms = _notifications().get()
    assert sms.to_mobile == PARTY_MOBILE and "立案" in sms.body and case.number in sms.body
    assert PARTY_ID not in sms.body
    assert case.progress.get(stage="filed").notified_at is not None
    assert case.progress.get(stage="received").notified_at is None
    # Audited without personal data
    event = AuditEvent.objects.get(object_id=str(case.pk))
    assert event.action == "create" and PARTY_ID not in str(event.detail) + event.object_repr


def test_upsert_updates_and_is_idempotent_on_external_ids(world):
    make_case(world)
    data = case_data(world, case_type="诈骗", confidential=False)
    data["progress"].append(
        _step("investigating", timezone.now() - timedelta(hours=1), "A2026110001-3")
    )
    case, created = case_upsert(scope=None, unrestricted=True, data=data, source="t")
    assert not created
    assert case.case_type == "诈骗" and case.stage == CaseStage.INVESTIGATING
    assert case.progress.count() == 3
    assert CaseParty.objects.filter(case=case).count() == 1
    # The same request again changes nothing and sends nothing
    before = _notifications().count()
    case_upsert(scope=None, unrestricted=True, data=data, source="t")
    assert case.progress.count() == 3 and _notifications().count() == before


def test_lower_case_number_is_stored_upper_and_found(world):
    make_case(world, number="a2026x7")
    assert Case.objects.filter(number="A2026X7").exists()
    party = case_lookup_start(number=" a2026x7 ", id_number=PARTY_ID.lower(), ip="1.1.1.1")
    assert party.case.number == "A2026X7"


def test_csv_style_flags_are_read_as_yes_and_no(world):
    case = make_case(world, confidential="0", private="1")
    assert (case.confidential, case.private) == (False, True)


def test_progress_step_is_idempotent_and_pushed_once(world):
    make_case(world)
    step = _step("solved", timezone.now() - timedelta(minutes=5), "S-9")
    case, progress = case_progress_add(scope=world.station_a2, number="A2026110001", step=step)
    assert progress is not None and case.stage == CaseStage.SOLVED
    again_case, again = case_progress_add(scope=world.station_a2, number="A2026110001", step=step)
    assert again is None and again_case.stage == CaseStage.SOLVED
    assert _notifications().filter(body__contains="破案").count() == 1


def test_a_late_older_step_does_not_rewind_the_stage(world):
    # Given a case filed yesterday
    make_case(world)
    # When an investigating step arrives, then a step dated before it arrives late
    now = timezone.now()
    case_progress_add(
        scope=None, unrestricted=True, number="A2026110001", step=_step("investigating", now, "X-3")
    )
    case, _ = case_progress_add(
        scope=None,
        unrestricted=True,
        number="A2026110001",
        step=_step("received", now - timedelta(days=3), "X-0"),
    )
    # Then the case stays at the newest stage; the old step is on the timeline in its place
    assert case.stage == CaseStage.INVESTIGATING
    assert next(iter(case.progress.values_list("external_id", flat=True))) == "X-0"
    assert Case.objects.get(pk=case.pk).stage == CaseStage.INVESTIGATING


@pytest.mark.parametrize(
    ("end", "note"), [("closed", ""), ("not_filed", "没有犯罪事实")], ids=["closed", "not_filed"]
)
def test_a_later_step_of_an_earlier_stage_does_not_reopen_an_ended_case(world, end, note):
    # Given a case that ended an hour ago
    make_case(world)
    now = timezone.now()
    case_progress_add(
        scope=world.station_a2,
        number="A2026110001",
        step=_step(end, now - timedelta(hours=1), "END", note=note),
    )
    # When a step of an earlier stage, dated after the end, arrives
    case, progress = case_progress_add(
        scope=world.station_a2, number="A2026110001", step=_step("investigating", now, "LATE")
    )
    # Then it is on the timeline, last, but the case stays ended
    assert progress is not None
    assert list(case.progress.values_list("external_id", flat=True))[-1] == "LATE"
    assert case.stage == end and Case.objects.get(pk=case.pk).stage == end
    # And through an upsert too
    data = case_data(world)
    data["progress"].append(_step("solved", now, "LATE-2"))
    case, _ = case_upsert(scope=world.station_a2, data=data, source="t")
    assert Case.objects.get(pk=case.pk).stage == end and case.progress.count() == 5


def test_same_time_steps_order_by_stage(world):
    when = timezone.now() - timedelta(hours=2)
    data = case_data(world, progress=[_step("filed", when, "b"), _step("received", when, "a")])
    case, _ = case_upsert(scope=None, unrestricted=True, data=data, source="t")
    assert case.stage == CaseStage.FILED


def test_not_filed_needs_a_reason(world):
    make_case(world)
    with pytest.raises(ApplicationError) as exc:
        case_progress_add(
            scope=None,
            unrestricted=True,
            number="A2026110001",
            step=_step("not_filed", timezone.now(), "N-1"),
        )
    assert exc.value.code == "reason_required" and exc.value.field == "progress[0].note"
    case, progress = case_progress_add(
        scope=None,
        unrestricted=True,
        number="A2026110001",
        step=_step("not_filed", timezone.now(), "N-1", note="没有犯罪事实"),
    )
    assert case.stage == CaseStage.NOT_FILED and progress.note == "没有犯罪事实"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            {"parties": [{"name": "甲", "id_number": bad_checksum(PARTY_ID)}]},
            "invalid_id_number",
            "parties[0].id_number",
        ),
        (
            {"parties": [{"name": "甲", "id_number": valid_id(1), "mobile": "12345"}]},
            "invalid_mobile",
            "parties[0].mobile",
        ),
        (
            {
                "progress": [
                    {"stage": "done", "occurred_at": "2026-01-01T00:00", "external_id": "x"}
                ]
            },
            "invalid_stage",
            "progress[0].stage",
        ),
        (
            {"progress": [{"stage": "filed", "occurred_at": "yesterday", "external_id": "x"}]},
            "invalid_time",
            "progress[0].occurred_at",
        ),
        ({"progress": []}, "progress_required", "progress"),
        ({"unit_code": "NOPE"}, "invalid_unit", "unit_code"),
        ({"officer_police_number": "000000"}, "invalid_officer", "officer_police_number"),
        ({"number": ""}, "invalid_number", "number"),
    ],
)
def test_upsert_refuses_bad_input_with_a_field(world, change, code, field):
    with pytest.raises(ApplicationError) as exc:
        case_upsert(scope=None, unrestricted=True, data=case_data(world, **change), source="t")
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not Case.objects.exists()


def test_future_step_is_refused(world):
    data = case_data(world)
    data["progress"][1]["occurred_at"] = (timezone.now() + timedelta(days=1)).isoformat()
    with pytest.raises(ApplicationError) as exc:
        case_upsert(scope=None, unrestricted=True, data=data, source="t")
    assert exc.value.code == "future_time"


def test_scope_refuses_a_unit_outside_the_writer_subtree(world):
    with pytest.raises(ApplicationError) as exc:
        case_upsert(scope=world.district_b, data=case_data(world), source="t")
    assert exc.value.code == "invalid_unit"
    make_case(world)
    # Nor may district b move station a2's case into its own subtree
    with pytest.raises(ApplicationError):
        case_upsert(
            scope=world.district_b, data=case_data(world, unit=world.station_b1), source="t"
        )
    with pytest.raises(ApplicationError) as exc:
        case_progress_add(
            scope=world.district_b,
            number="A2026110001",
            step=_step("closed", timezone.now(), "C"),
        )
    assert exc.value.status == 404
    assert Case.objects.get().unit == world.station_a2


# --- SMS to the parties -------------------------------------------------------------------


def test_sms_goes_only_to_parties_with_notify_and_a_mobile(world):
    data = case_data(world)
    data["parties"] += [
        {
            "role": "reporter",
            "name": "李四",
            "id_number": valid_id(2),
            "mobile": "13900001111",
            "notify": False,
        },
        {"role": "party", "name": "赵五", "id_number": valid_id(3)},
    ]
    case_upsert(scope=None, unrestricted=True, data=data, source="t")
    assert list(_notifications().values_list("to_mobile", flat=True)) == [PARTY_MOBILE]


@pytest.mark.parametrize("flag", ["confidential", "private"])
def test_never_an_sms_for_a_confidential_or_private_case(world, flag):
    make_case(world, **{flag: True})
    _case, progress = case_progress_add(
        scope=None,
        unrestricted=True,
        number="A2026110001",
        step=_step("solved", timezone.now(), "S"),
    )
    assert progress is not None and progress.notified_at is None
    assert not _notifications().exists()


def test_step_with_notify_off_is_not_pushed(world):
    make_case(world)
    before = _notifications().count()
    step = {**_step("solved", timezone.now(), "S"), "notify": False}
    case_progress_add(scope=None, unrestricted=True, number="A2026110001", step=step)
    assert _notifications().count() == before


# --- The party's lookup -------------------------------------------------------------------


def test_lookup_sends_a_code_and_verifies_it_once(world):
    case = make_case(world)
    party = case_lookup_start(number=case.number, id_number=PARTY_ID, ip="1.2.3.4")
    code = _otp_code()
    assert case_lookup_verify(party_id=party.pk, code=code) == party
    with pytest.raises(ApplicationError) as exc:
        case_lookup_verify(party_id=party.pk, code=code)
    assert exc.value.code == "otp_used"


def test_expired_and_wrong_codes_are_refused(world):
    case = make_case(world)
    past = timezone.now() - timedelta(minutes=30)
    party = case_lookup_start(number=case.number, id_number=PARTY_ID, ip="1.2.3.4", now=past)
    with pytest.raises(ApplicationError) as exc:
        case_lookup_verify(party_id=party.pk, code=_otp_code())
    assert exc.value.code == "otp_expired"
    with pytest.raises(ApplicationError) as exc:
        case_lookup_verify(party_id=party.pk, code="12345")
    assert exc.value.code == "invalid_code"
    # A new code, then a wrong one: counted, with the tries left
    case_lookup_start(number=case.number, id_number=PARTY_ID, ip="1.2.3.4")
    wrong = "000000" if _otp_code() != "000000" else "111111"
    with pytest.raises(ApplicationError) as exc:
        case_lookup_verify(party_id=party.pk, code=wrong)
    assert exc.value.code == "otp_wrong" and "还可以再试" in str(exc.value.message)


def _refusal(**kwargs):
    with pytest.raises(ApplicationError) as exc:
        case_lookup_start(ip="9.9.9.9", **kwargs)
    return (exc.value.code, str(exc.value.message), exc.value.field, exc.value.status)


@pytest.mark.parametrize("flag", ["confidential", "private"])
def test_confidential_case_is_refused_exactly_like_a_wrong_number(world, flag):
    make_case(world, number="A1")
    make_case(world, number="S1", **{flag: True})
    wrong_number = _refusal(number="NOPE", id_number=PARTY_ID)
    wrong_id = _refusal(number="A1", id_number=valid_id(7))
    secret = _refusal(number="S1", id_number=PARTY_ID)
    assert wrong_number == wrong_id == secret
    assert wrong_number[0] == "case_not_found"
    assert not OutboundSms.objects.filter(purpose="otp").exists()


def test_case_turned_confidential_after_step_one_is_not_found(world):
    case = make_case(world)
    party = case_lookup_start(number=case.number, id_number=PARTY_ID, ip="1.2.3.4")
    Case.objects.filter(pk=case.pk).update(confidential=True)
    with pytest.raises(ApplicationError) as exc:
        case_lookup_verify(party_id=party.pk, code=_otp_code())
    assert exc.value.code == "case_not_found"


def test_bad_checksum_is_its_own_clear_message(world):
    make_case(world)
    code, message, field, _status = _refusal(number="A2026110001", id_number=bad_checksum(PARTY_ID))
    assert (code, field) == ("invalid_id_number", "id_number") and "校验位" in message


def test_thirty_first_lookup_in_an_hour_from_one_address_is_refused(world, settings):
    settings.CASE_LOOKUPS_PER_IP_HOUR = 30
    for _ in range(30):
        assert _refusal(number="NOPE", id_number=PARTY_ID)[0] == "case_not_found"
    code, message, _field, status = _refusal(number="NOPE", id_number=PARTY_ID)
    assert (code, status) == ("rate_limited", 429) and "频繁" in message
    # Another address is not affected
    with pytest.raises(ApplicationError) as exc:
        case_lookup_start(number="NOPE", id_number=PARTY_ID, ip="8.8.8.8")
    assert exc.value.code == "case_not_found"


def test_party_without_a_mobile_is_told_to_come_in(world):
    data = case_data(world)
    data["parties"][0]["mobile"] = ""
    case_upsert(scope=None, unrestricted=True, data=data, source="t")
    code = _refusal(number="A2026110001", id_number=PARTY_ID)[0]
    assert code == "no_mobile_on_record"
    assert CaseProgress.objects.count() == 2


# --- Flags left out of an update (H1) ----------------------------------------------------------


def _update_without_flags(world, number="A2026110001") -> dict:
    """The case re-sent with a new step and no word about its flags."""
    data = case_data(world, number)
    del data["confidential"], data["private"]
    data["progress"].append(_step("solved", timezone.now() - timedelta(minutes=5), "NEW"))
    return data


@pytest.mark.parametrize("flag", ["confidential", "private"])
@pytest.mark.parametrize(
    "silence", ["absent", None, "", "  "], ids=["absent", "null", "blank", "spaces"]
)
def test_an_update_that_leaves_out_a_flag_keeps_the_case_hidden(world, flag, silence):
    # Given a hidden case
    make_case(world, **{flag: True})
    sent = _notifications().count()
    # When it is updated with a new step and nothing (or a blank) for the flags
    data = _update_without_flags(world)
    if silence != "absent":
        data[flag] = silence
    case, created = case_upsert(scope=world.district_a, data=data, source="t")
    # Then it stays hidden: no SMS, and the party's lookup answers "not found"
    assert not created and case.stage == CaseStage.SOLVED
    assert getattr(Case.objects.get(pk=case.pk), flag) is True
    assert _notifications().count() == sent
    with pytest.raises(ApplicationError) as exc:
        case_lookup_start(number=case.number, id_number=PARTY_ID, ip="1.1.1.1")
    assert exc.value.code == "case_not_found"
    # And no flag change was audited
    assert not AuditEvent.objects.filter(object_id=str(case.pk), detail__has_key="flags").exists()


def test_a_new_case_without_flags_is_public(world):
    data = case_data(world)
    del data["confidential"], data["private"]
    case, created = case_upsert(scope=world.district_a, data=data, source="t")
    assert created and case.is_public and _notifications().count() == 1


def test_making_a_hidden_case_public_is_audited_without_personal_data(world):
    # Given a confidential case
    case = make_case(world, confidential=True)
    # When an update says explicitly it is no longer confidential
    data = _update_without_flags(world)
    data["confidential"] = False
    case_upsert(scope=world.district_a, data=data, source="api:案件系统")
    # Then it is public, the new step is pushed, and the change is on the audit log
    assert Case.objects.get(pk=case.pk).is_public
    assert _notifications().filter(body__contains="破案").count() == 1
    event = AuditEvent.objects.get(object_id=str(case.pk), detail__has_key="flags")
    assert event.detail["flags"] == {"confidential": [True, False], "private": [False, False]}
    assert event.detail["made_public"] is True and event.actor_username == "api:案件系统"
    text = str(event.detail) + event.object_repr
    assert PARTY_ID not in text and PARTY_MOBILE not in text and "王小明" not in text


def test_hiding_a_public_case_is_audited_as_not_made_public(world):
    case = make_case(world)
    data = _update_without_flags(world)
    data["private"] = True
    case_upsert(scope=world.district_a, data=data, source="t")
    event = AuditEvent.objects.get(object_id=str(case.pk), detail__has_key="flags")
    assert event.detail["flags"]["private"] == [False, True]
    assert event.detail["made_public"] is False


# --- No scope means no writing, unless said (M4) -----------------------------------------------


def test_upsert_without_a_scope_is_refused_unless_unrestricted(world):
    with pytest.raises(PermissionDenied):
        case_upsert(scope=None, data=case_data(world), source="t")
    assert not Case.objects.exists()
    case, created = case_upsert(scope=None, data=case_data(world), source="t", unrestricted=True)
    assert created and case.unit == world.station_a2


def test_progress_without_a_scope_is_refused_unless_unrestricted(world):
    make_case(world)
    step = _step("solved", timezone.now(), "S-1")
    with pytest.raises(PermissionDenied):
        case_progress_add(scope=None, number="A2026110001", step=step)
    assert not CaseProgress.objects.filter(external_id="S-1").exists()
    _case, progress = case_progress_add(
        scope=None, number="A2026110001", step=step, unrestricted=True
    )
    assert progress is not None
