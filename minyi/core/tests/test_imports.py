"""The import rules every staff import shares (minyi.core.imports): CSV in UTF-8 (with or
without BOM) or GBK, Excel .xlsx, headers in English or Chinese, row-level errors, all or
nothing, progress. A toy importer stores audit rows, so nothing here depends on an app."""

import io
import zipfile
from datetime import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.imports import (
    MAX_BYTES,
    Column,
    ImportFileForm,
    RowError,
    cell_datetime,
    row_error,
    rows_import,
    table_read,
)
from minyi.core.models import AuditAction, AuditEvent

COLUMNS = [Column("name", "姓名"), Column("count", "数量", ("件数",)), Column("mobile", "手机")]
MOBILE = "13812345678"


def _csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _xlsx(*rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _check(row):
    if not row.cells["count"].isdigit():
        raise ApplicationError(
            "invalid_count", f"数量“{row.cells['count']}”不是整数。", field="count"
        )
    return int(row.cells["count"])


def _import(table, progress=None, every=500):
    """Stores one audit row per row; a row named "taken" is refused by the write."""

    def store(checked):
        for row, count in checked:
            if row.cells["name"] == "taken":
                refusal = ApplicationError("name_taken", "名称已被使用。", field="name")
                yield row, row_error(row, refusal, table)
                continue
            audit_record(action=AuditAction.CREATE, detail={"name": row.cells["name"], "n": count})
            yield row, {"line": row.number, "name": row.cells["name"]}

    return rows_import(table=table, check_row=_check, store=store, progress=progress, every=every)


# --- Reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (_csv("name,count,mobile", "张三,2,").encode(), "utf-8"),
        (("\ufeff" + _csv("name,count,mobile", "张三,2,")).encode(), "utf-8-sig"),
        (_csv("姓名,数量,手机", "张三,2,").encode("gbk"), "gb18030"),
        (_csv("姓名,数量,手机", "張三,2,").encode("gb18030"), "gb18030"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "gb18030"],
)
def test_csv_encodings_are_detected_and_reported(data, encoding):
    table = table_read(data, columns=COLUMNS)
    assert table.encoding == encoding and table.encoding_label
    assert [row.cells["name"] for row in table.rows] in (["张三"], ["張三"])
    assert table.rows[0].cells["count"] == "2" and table.rows[0].number == 2


def test_an_xlsx_file_is_read_by_its_first_bytes_with_typed_cells():
    # Given a sheet as people fill it: Chinese headers, a number, a mobile typed as a number,
    # a real date-time cell, an extra column and a blank row
    data = _xlsx(
        ["*姓名", "件数", "手机", "备注"],
        ["张三", 3, 13812345678, "x"],
        [None, None, None, None],
        ["李四", 4.0, None, datetime(2026, 1, 5, 9, 30)],
    )
    table = table_read(data, columns=COLUMNS)
    assert table.encoding == "xlsx"
    assert table.headers == {"name": "*姓名", "count": "件数", "mobile": "手机"}
    assert [(r.number, r.cells) for r in table.rows] == [
        (2, {"name": "张三", "count": "3", "mobile": MOBILE}),
        (4, {"name": "李四", "count": "4", "mobile": ""}),
    ]


def test_rows_are_numbered_as_the_sheet_shows_them():
    table = table_read(
        _csv("Name , COUNT,mobile,extra", "a,1,,", "", 'b,2,,"two\nlines"', "c,3,,").encode(),
        columns=COLUMNS,
    )
    assert [(r.number, r.cells["name"]) for r in table.rows] == [(2, "a"), (4, "b"), (5, "c")]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xff\xfe\xff\xff", "unknown_encoding"),
        ("\ufeff姓名".encode() + "数量".encode("gbk"), "unknown_encoding"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls_not_supported"),
        (b"PK\x03\x04 not really a workbook", "unreadable_xlsx"),
        (b"name,count\x00,mobile\n", "unreadable_csv"),
        (b"name,count\nA,1\n", "missing_columns"),
        ("姓名,name,数量,手机\n".encode(), "duplicate_column"),
        (b"x" * (MAX_BYTES + 1), "file_too_large"),
    ],
)
def test_unreadable_files_are_refused(data, code):
    with pytest.raises(ApplicationError) as exc:
        table_read(data, columns=COLUMNS)
    assert exc.value.code == code and exc.value.field == "file"


def test_a_workbook_with_a_broken_sheet_is_refused_not_a_server_error():
    whole = zipfile.ZipFile(io.BytesIO(_xlsx(["name", "count", "mobile"], ["a", 1, None])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for name in whole.namelist():
            data = whole.read(name)
            broken.writestr(name, data[: len(data) // 2] if "sheet1" in name else data)
    with pytest.raises(ApplicationError) as exc:
        table_read(out.getvalue(), columns=COLUMNS)
    assert exc.value.code == "unreadable_xlsx"


def test_missing_columns_are_named_both_ways():
    with pytest.raises(ApplicationError) as exc:
        table_read(b"name\nA\n", columns=COLUMNS)
    assert str(exc.value.message) == "缺少列：count（数量）, mobile（手机）"


def test_a_csv_row_that_does_not_line_up_with_the_header_is_a_row_error():
    table = table_read(
        _csv("name,count,mobile", "a,1", "b,2,,3", "c,3,,").encode(), columns=COLUMNS
    )
    assert [(r.number, r.error and r.error.code) for r in table.rows] == [
        (2, "cell_count"),
        (3, "cell_count"),
        (4, None),  # an empty cell past the header is no shift
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24 09:30", (2026, 11, 24, 9, 30)),
        ("2026-11-24T09:30:00+08:00", (2026, 11, 24, 9, 30)),
        ("2026/11/24 9:30", (2026, 11, 24, 9, 30)),
        ("2026/1/5 9:30:15", (2026, 1, 5, 9, 30)),
    ],
)
def test_cell_times_in_iso_or_as_excel_writes_them(text, expected):
    moment = timezone.localtime(cell_datetime(text, column="at"))
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-11-24", "2026/11/24", "24.11.2026 9:30"])
def test_a_cell_time_must_say_the_day_and_the_time(text):
    with pytest.raises(ApplicationError) as exc:
        cell_datetime(text, column="at")
    assert (exc.value.code, exc.value.field) == ("invalid_time", "at")


# --- Checking and storing --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_good_file_is_stored_with_a_result_per_row():
    report = _import(
        table_read(_csv("name,count,mobile", "a,1,", "b,2,").encode(), columns=COLUMNS)
    )
    assert report.stored and report.errors == []
    assert report.results == [{"line": 2, "name": "a"}, {"line": 3, "name": "b"}]
    assert sorted(e.detail["name"] for e in AuditEvent.objects.all()) == ["a", "b"]


@pytest.mark.django_db
def test_a_bad_row_stores_nothing_and_every_bad_row_is_named():
    # Given a file with a row bad by itself (row 3), a row the write refuses (row 5), a row
    # whose cells are shifted (row 6) and good rows around them
    table = table_read(
        _csv(
            "name,count,mobile",
            "a,1,",
            f"b,{MOBILE}x,",
            "c,3,",
            "taken,4,",
            "d,5,,6",
            "e,6,",
        ).encode(),
        columns=COLUMNS,
    )
    report = _import(table)
    # Then nothing is stored, the good rows' writes included
    assert not report.stored and report.results == []
    assert not AuditEvent.objects.exists()
    # And each bad row is reported precisely, in row order, its message masked
    assert report.errors == [
        RowError(3, "count", "invalid_count", "数量“138****5678x”不是整数。", "count"),
        RowError(5, "name", "name_taken", "名称已被使用。", "name"),
        RowError(6, "", "cell_count", "该行有 4 个单元格，列名行有 3 个：可能少了或多了逗号。", ""),
    ]


@pytest.mark.django_db
def test_progress_is_reported_every_n_rows_of_each_stage():
    lines = [f"n{i},{i}," for i in range(7)]
    table = table_read(_csv("name,count,mobile", *lines).encode(), columns=COLUMNS)
    calls = []
    _import(table, progress=lambda *call: calls.append(call), every=3)
    assert calls == [
        ("check", 3, 7),
        ("check", 6, 7),
        ("check", 7, 7),
        ("store", 3, 7),
        ("store", 6, 7),
        ("store", 7, 7),
    ]
    assert AuditEvent.objects.count() == 7


# --- The upload form -------------------------------------------------------------------------


def test_the_upload_form_gives_the_table_or_the_reason():
    good = SimpleUploadedFile("名单.csv", _csv("姓名,数量,手机", "张三,1,").encode("gbk"))
    form = ImportFileForm({}, {"file": good}, columns=COLUMNS)
    assert form.is_valid() and form.cleaned_data["file"].encoding == "gb18030"
    bad = SimpleUploadedFile("x.csv", b"name\n")
    form = ImportFileForm({}, {"file": bad}, columns=COLUMNS)
    assert not form.is_valid() and "缺少列" in form.errors["file"][0]
    assert form.errors.as_data()["file"][0].code == "missing_columns"
