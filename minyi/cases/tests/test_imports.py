"""Import of cases: rows merged per case, each line answered; a file with a bad row stores
nothing and says which row, which column and why. The file rules themselves (encodings,
Excel, headers, progress) are tested in minyi/core/tests/test_imports.py."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from minyi.cases.imports import COLUMNS, CSV_COLUMNS, cases_import
from minyi.cases.models import Case, CaseStage
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, bad_checksum, login, valid_id
from minyi.core.errors import PermissionDenied
from minyi.core.imports import table_read
from minyi.integrations.sms.models import OutboundSms
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(CSV_COLUMNS)
HEADER_ZH = ",".join(column.header for column in COLUMNS)


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


def _csv(*rows, bom=False, header=HEADER, encoding="utf-8") -> bytes:
    text = "\n".join([header, *rows]) + "\n"
    return (("\ufeff" if bom else "") + text).encode(encoding)


def _table(*rows, **kwargs):
    return table_read(_csv(*rows, **kwargs), columns=COLUMNS)


def _import(actor, *rows, **kwargs):
    return cases_import(actor=actor, table=_table(*rows, **kwargs))


def test_rows_of_a_case_are_merged_and_each_line_answered(world):
    leader = world.user("a", Role.ADMIN)
    report = _import(
        leader,
        _row(step="s1"),
        _row(stage="filed", at="2026-01-06 10:00", step="s2"),
        _row("C2026003", step="u1", stage="closed", at="2026-01-07 08:00"),
        bom=True,
    )
    assert report.stored and report.table.encoding == "utf-8-sig"
    assert [(r["line"], r["status"]) for r in report.results] == [
        (2, "imported"),
        (3, "imported"),
        (4, "imported"),
    ]
    case = Case.objects.get(number="C2026001")
    assert case.stage == CaseStage.FILED and case.progress.count() == 2
    assert case.parties.count() == 1 and case.parties.get().mobile == PARTY_MOBILE
    assert Case.objects.get(number="C2026003").stage == CaseStage.CLOSED
    # The result never holds an ID number unmasked
    assert PARTY_ID not in str(report.results)
    assert report.results[0]["party"] == "3306**********003X"
    # One SMS per case imported, for its newest step
    assert OutboundSms.objects.filter(purpose="notification").count() == 2


def test_a_file_with_bad_rows_stores_nothing_and_names_each_bad_row(world):
    # Given a file whose rows 4 and 5 are bad (no reason for 不予立案; a wrong checksum)
    report = _import(
        world.user("a", Role.ADMIN),
        _row(step="s1"),
        _row(stage="filed", at="2026-01-06 10:00", step="s2"),
        _row(stage="not_filed", at="2026-01-06 10:00", step="s3"),
        _row("C2026002", party_id=bad_checksum(valid_id(5)), step="t1"),
        _row("C2026003", step="u1", stage="closed", at="2026-01-07 08:00"),
    )
    # Then nothing at all is stored, not even the good rows' cases or their SMS
    assert not report.stored and report.results == []
    assert not Case.objects.exists() and not OutboundSms.objects.exists()
    # And each bad row is named with its column, code and a Chinese message
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (4, "note", "reason_required"),
        (5, "party_id_number", "invalid_id_number"),
    ]
    assert "理由" in report.errors[0].message and "校验位" in report.errors[1].message
    assert report.errors[1].header == "party_id_number"


def test_reimport_is_harmless(world):
    actor = world.user("a2", Role.ADMIN)
    table = _table(_row(step="s1"), _row(stage="filed", at="2026-01-06 10:00", step="s2"))
    cases_import(actor=actor, table=table)
    sent = OutboundSms.objects.count()
    report = cases_import(actor=actor, table=table)
    assert {r["status"] for r in report.results} == {"imported"}
    assert Case.objects.get().progress.count() == 2 and OutboundSms.objects.count() == sent


def test_rows_outside_the_importer_subtree_are_refused(world):
    report = _import(world.user("a1", Role.ADMIN), _row(unit="TA02"))
    [error] = report.errors
    assert (error.row, error.column, error.code) == (2, "unit_code", "invalid_unit")
    assert "授权范围" in error.message
    assert not Case.objects.exists()


def test_disagreeing_case_fields_are_flagged_on_the_row(world):
    report = _import(
        world.user("a", Role.ADMIN), _row(step="s1"), _row(step="s2", confidential="1")
    )
    [error] = report.errors
    assert (error.row, error.column, error.code) == (3, "confidential", "case_fields_differ")
    assert "第 2 行" in error.message
    assert not Case.objects.exists()


def test_confidential_flag_from_csv(world):
    _import(world.user("a", Role.ADMIN), _row(confidential="1"))
    assert Case.objects.get().confidential is True
    assert not OutboundSms.objects.exists()


@pytest.mark.parametrize("flag", ["confidential", "private"])
def test_a_reimport_with_a_blank_flag_keeps_the_case_hidden(world, flag):
    actor = world.user("a", Role.ADMIN)
    # Given a case imported as hidden
    _import(actor, _row(**{flag: "1"}))
    # When it is imported again, with a new step and a blank cell for the flag
    report = _import(
        actor,
        _row(**{flag: ""}),
        _row(stage="filed", at="2026-01-06 10:00", step="s2", **{flag: ""}),
    )
    # Then the step is in, the case is still hidden, and no SMS went out
    assert {r["status"] for r in report.results} == {"imported"}
    case = Case.objects.get()
    assert case.stage == CaseStage.FILED and getattr(case, flag) is True
    assert not OutboundSms.objects.exists()
    # And a "0" in the cell does make it public again
    _import(actor, _row(step="s3", **{flag: "0"}))
    assert Case.objects.get().is_public


def test_a_new_case_with_blank_flags_is_public(world):
    _import(world.user("a", Role.ADMIN), _row(confidential="", private=""))
    assert Case.objects.get().is_public


def test_an_importer_without_a_unit_imports_nothing(world):
    # Given a staff account that is not a superuser and has no unit (the database refuses to
    # store one; this is the guard behind it, should a row ever slip through)
    nobody = UserFactory.build(role=Role.ADMIN, unit=None)
    # When it imports a file, it is refused outright (no scope is not "every unit")
    with pytest.raises(PermissionDenied):
        _import(nobody, _row())
    assert not Case.objects.exists()


def test_a_superuser_without_a_unit_imports_for_any_unit(world):
    root = UserFactory(role=Role.ADMIN, unit=None, is_superuser=True)
    report = _import(root, _row(unit="TB01"))
    assert report.results[0]["status"] == "imported"
    assert Case.objects.get().unit == world.station_b1


def test_a_gbk_file_with_chinese_headers_and_excel_times_is_imported(world):
    # Given the file as Excel on a Chinese Windows saves it: GBK, Chinese headers, 2026/1/5 9:30
    report = _import(
        world.user("a", Role.ADMIN),
        _row(at="2026/1/5 9:30"),
        header=HEADER_ZH,
        encoding="gbk",
    )
    assert report.stored and report.table.encoding == "gb18030"
    case = Case.objects.get()
    assert case.case_type == "盗窃" and case.parties.get().name == "王小明"
    assert timezone.localtime(case.progress.get().occurred_at).hour == 9


def test_import_page_lists_results_masked(client, world):
    login(client, world.user("a", Role.ADMIN))
    upload = SimpleUploadedFile("cases.csv", _csv(_row(step="s1")), content_type="text/csv")
    response = client.post(reverse("cases:case_import"), {"file": upload})
    assert response.status_code == 200
    text = response.content.decode()
    assert "已导入" in text and "3306**********003X" in text and "UTF-8" in text
    assert PARTY_ID not in text and PARTY_MOBILE not in text


def test_import_page_lists_bad_rows_masked_and_stores_nothing(client, world):
    login(client, world.user("a", Role.ADMIN))
    upload = SimpleUploadedFile(
        "cases.csv",
        _csv(_row(step="s1"), _row("C9", party_id=bad_checksum(PARTY_ID), step="z")),
        content_type="text/csv",
    )
    response = client.post(reverse("cases:case_import"), {"file": upload})
    assert response.status_code == 200
    text = response.content.decode()
    assert "1 处错误" in text and "校验位" in text and 'data-code="invalid_id_number"' in text
    assert PARTY_ID not in text and bad_checksum(PARTY_ID) not in text and PARTY_MOBILE not in text
    assert not Case.objects.exists()


def test_import_page_refuses_an_unreadable_file(client, world):
    login(client, world.user("a", Role.ADMIN))
    upload = SimpleUploadedFile("x.csv", b"\xff\xfe\xff\xff")
    response = client.post(reverse("cases:case_import"), {"file": upload})
    assert "无法识别文件编码" in response.content.decode()
    assert not Case.objects.exists()
