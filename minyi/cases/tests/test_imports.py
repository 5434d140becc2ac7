"""CSV import of cases: rows merged per case, each line answered, bad rows do not stop others."""

import pytest
from django.urls import reverse

from minyi.cases.imports import CSV_COLUMNS, cases_import_rows, read_csv
from minyi.cases.models import Case, CaseStage
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, bad_checksum, login, valid_id
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.integrations.sms.models import OutboundSms
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(CSV_COLUMNS)


def _row(
    number="C2026001",
    *,
    unit="TA02",
    stage="received",
    at="2026-01-05 09:30",
    step="s1",
    party_id=PARTY_ID,
    mobile=PARTY_MOBILE,
    note="",
    confidential="0",
    private="0",
):
    cells = [
        number,
        "盗窃",
        unit,
        confidential,
        private,
        "victim",
        "王小明",
        party_id,
        mobile,
        stage,
        at,
        note,
        step,
    ]
    return ",".join(cells)


def _csv(*rows, bom=False) -> bytes:
    text = "\n".join([HEADER, *rows]) + "\n"
    return (("\ufeff" if bom else "") + text).encode()


def test_rows_of_a_case_are_merged_and_each_line_answered(world):
    leader = world.user("a", Role.ADMIN)
    rows = read_csv(
        _csv(
            _row(step="s1"),
            _row(stage="filed", at="2026-01-06 10:00", step="s2"),
            _row(stage="not_filed", at="2026-01-06 10:00", step="s3"),  # no reason
            _row("C2026002", party_id=bad_checksum(valid_id(5)), step="t1"),
            _row("C2026003", step="u1", stage="closed", at="2026-01-07 08:00"),
            bom=True,
        )
    )
    results = cases_import_rows(actor=leader, rows=rows)
    assert [(r["line"], r["status"]) for r in results] == [
        (2, "imported"),
        (3, "imported"),
        (4, "error"),
        (5, "error"),
        (6, "imported"),
    ]
    assert "理由" in results[2]["message"]
    assert "校验位" in results[3]["message"]
    case = Case.objects.get(number="C2026001")
    assert case.stage == CaseStage.FILED and case.progress.count() == 2
    assert case.parties.count() == 1 and case.parties.get().mobile == PARTY_MOBILE
    assert not Case.objects.filter(number="C2026002").exists()
    assert Case.objects.get(number="C2026003").stage == CaseStage.CLOSED
    # The result never holds an ID number unmasked
    assert PARTY_ID not in str(results) and results[0]["party"] == "3306**********003X"
    # One SMS per case imported, for its newest step
    assert OutboundSms.objects.filter(purpose="notification").count() == 2


def test_reimport_is_harmless(world):
    actor = world.user("a2", Role.ADMIN)
    rows = read_csv(_csv(_row(step="s1"), _row(stage="filed", at="2026-01-06 10:00", step="s2")))
    cases_import_rows(actor=actor, rows=rows)
    sent = OutboundSms.objects.count()
    results = cases_import_rows(actor=actor, rows=rows)
    assert {r["status"] for r in results} == {"imported"}
    assert Case.objects.get().progress.count() == 2 and OutboundSms.objects.count() == sent


def test_rows_outside_the_importer_subtree_are_refused(world):
    results = cases_import_rows(
        actor=world.user("a1", Role.ADMIN), rows=read_csv(_csv(_row(unit="TA02")))
    )
    assert results[0]["status"] == "error" and "授权范围" in results[0]["message"]
    assert not Case.objects.exists()


def test_disagreeing_case_fields_are_flagged_on_the_row(world):
    rows = read_csv(_csv(_row(step="s1"), _row(step="s2", confidential="1")))
    results = cases_import_rows(actor=world.user("a", Role.ADMIN), rows=rows)
    assert [r["status"] for r in results] == ["imported", "error"]
    assert "第 2 行" in results[1]["message"]


def test_confidential_flag_from_csv(world):
    rows = read_csv(_csv(_row(confidential="1")))
    cases_import_rows(actor=world.user("a", Role.ADMIN), rows=rows)
    assert Case.objects.get().confidential is True
    assert not OutboundSms.objects.exists()


@pytest.mark.parametrize("flag", ["confidential", "private"])
def test_a_reimport_with_a_blank_flag_keeps_the_case_hidden(world, flag):
    actor = world.user("a", Role.ADMIN)
    # Given a case imported as hidden
    cases_import_rows(actor=actor, rows=read_csv(_csv(_row(**{flag: "1"}))))
    # When it is imported again, with a new step and a blank cell for the flag
    rows = read_csv(
        _csv(
            _row(**{flag: ""}),
            _row(stage="filed", at="2026-01-06 10:00", step="s2", **{flag: ""}),
        )
    )
    results = cases_import_rows(actor=actor, rows=rows)
    # Then the step is in, the case is still hidden, and no SMS went out
    assert {r["status"] for r in results} == {"imported"}
    case = Case.objects.get()
    assert case.stage == CaseStage.FILED and getattr(case, flag) is True
    assert not OutboundSms.objects.exists()
    # And a "0" in the cell does make it public again
    cases_import_rows(actor=actor, rows=read_csv(_csv(_row(step="s3", **{flag: "0"}))))
    assert Case.objects.get().is_public


def test_a_new_case_with_blank_flags_is_public(world):
    rows = read_csv(_csv(_row(confidential="", private="")))
    cases_import_rows(actor=world.user("a", Role.ADMIN), rows=rows)
    assert Case.objects.get().is_public


def test_an_importer_without_a_unit_imports_nothing(world):
    # Given a staff account that is not a superuser and has no unit (the database refuses to
    # store one; this is the guard behind it, should a row ever slip through)
    nobody = UserFactory.build(role=Role.ADMIN, unit=None)
    # When it imports a file, it is refused outright (no scope is not "every unit")
    with pytest.raises(PermissionDenied):
        cases_import_rows(actor=nobody, rows=read_csv(_csv(_row())))
    assert not Case.objects.exists()


def test_a_superuser_without_a_unit_imports_for_any_unit(world):
    root = UserFactory(role=Role.ADMIN, unit=None, is_superuser=True)
    results = cases_import_rows(actor=root, rows=read_csv(_csv(_row(unit="TB01"))))
    assert results[0]["status"] == "imported"
    assert Case.objects.get().unit == world.station_b1


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("案件编号\n1\n".encode("gbk"), "not_utf8"),
        (b"case_number,stage\nA,received\n", "missing_columns"),
    ],
)
def test_unreadable_files_are_refused(data, code):
    with pytest.raises(ApplicationError) as exc:
        read_csv(data)
    assert exc.value.code == code


def test_import_page_lists_results_masked(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, world.user("a", Role.ADMIN))
    upload = SimpleUploadedFile(
        "cases.csv",
        _csv(_row(step="s1"), _row("C9", party_id=bad_checksum(PARTY_ID), step="z")),
        content_type="text/csv",
    )
    response = client.post(reverse("cases:case_import"), {"file": upload})
    assert response.status_code == 200
    text = response.content.decode()
    assert "已导入" in text and "校验位" in text and "3306**********003X" in text
    assert PARTY_ID not in text and bad_checksum(PARTY_ID) not in text and PARTY_MOBILE not in text


def test_import_page_refuses_a_non_utf8_file(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, world.user("a", Role.ADMIN))
    upload = SimpleUploadedFile("x.csv", "案件,编号\n".encode("gbk"))
    response = client.post(reverse("cases:case_import"), {"file": upload})
    assert "不是 UTF-8" in response.content.decode()
    assert not Case.objects.exists()
