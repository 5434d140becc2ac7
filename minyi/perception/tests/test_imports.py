"""Import of service events (导入服务事件): each row checked like the API's, all or nothing, a
row already stored is a duplicate and not an error. The file rules are tested in
minyi/core/tests/test_imports.py."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import Workbook

from minyi.core.errors import PermissionDenied
from minyi.core.imports import table_read
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory
from minyi.perception import imports
from minyi.perception.imports import COLUMNS, CSV_COLUMNS, events_import
from minyi.perception.models import ServiceEvent

pytestmark = pytest.mark.django_db


def _now() -> str:
    return (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")


HEADER = ",".join(CSV_COLUMNS)


def _table(*lines):
    return table_read(("\n".join([HEADER, *lines]) + "\n").encode(), columns=COLUMNS)


def test_good_rows_are_ingested_and_duplicates_skipped(world, btypes):
    unit = world.station_a1.code
    report = events_import(
        actor=world.user("a", Role.EVALUATOR),
        table=_table(
            f"window,W1,hukou,{unit},,13800002222,{_now()}",
            f"window,W1,hukou,{unit},,13800002222,{_now()}",
        ),
    )
    assert report.stored
    assert [(r["line"], r["status"]) for r in report.results] == [
        (2, "accepted"),
        (3, "duplicate"),
    ]
    assert ServiceEvent.objects.get().unit == world.station_a1


def test_a_bad_row_stores_nothing_and_is_named_with_its_column(world, btypes):
    a1, b1 = world.station_a1.code, world.station_b1.code
    report = events_import(
        actor=world.user("a", Role.EVALUATOR),
        table=_table(
            f"window,W1,hukou,{a1},,13800002222,{_now()}",
            f"window,W2,hukou,{b1},,13800002223,{_now()}",  # outside district a
            f"window,W3,nosuch,{a1},,13800002224,{_now()}",
            f"window,W4,hukou,{a1},,12345,{_now()}",
            f"window,W5,hukou,{a1},,,yesterday",
            f"{'x' * 41},W6,hukou,{a1},,,{_now()}",
        ),
    )
    assert not report.stored and not ServiceEvent.objects.exists()
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (3, "unit", "unit_out_of_scope"),
        (4, "business_type", "unknown_business_type"),
        (5, "citizen_mobile", "invalid_mobile"),
        (6, "occurred_at", "invalid_time"),
        (7, "source", "invalid_item"),
    ]
    assert "不能超过 40 个字符" in report.errors[-1].message


def test_an_excel_file_with_chinese_headers_and_a_time_cell(world, btypes):
    book = Workbook()
    book.active.append(
        ["来源系统", "外部编号", "业务类型", "单位代码", "警号", "群众手机", "发生时间"]
    )
    moment = timezone.localtime().replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    book.active.append(["window", "X1", "hukou", world.station_a1.code, None, 13800002222, moment])
    out = io.BytesIO()
    book.save(out)
    report = events_import(
        actor=world.user("a", Role.EVALUATOR),
        table=table_read(out.getvalue(), columns=COLUMNS),
    )
    assert report.stored, report.errors
    event = ServiceEvent.objects.get()
    assert timezone.localtime(event.occurred_at).replace(tzinfo=None) == moment
    assert event.citizen_mobile == "13800002222"


def test_big_files_go_in_by_chunks_with_progress(world, btypes, monkeypatch):
    # Given chunks of 2 rows, and a duplicate of row 2 in the second chunk
    monkeypatch.setattr(imports, "INGEST_CHUNK", 2)
    unit = world.station_a1.code
    lines = [f"window,E{i},hukou,{unit},,,{_now()}" for i in range(4)]
    calls = []
    report = events_import(
        actor=world.user("a", Role.EVALUATOR),
        table=_table(*lines, lines[0]),
        progress=lambda *call: calls.append(call),
    )
    assert [r["status"] for r in report.results] == ["accepted"] * 4 + ["duplicate"]
    assert ServiceEvent.objects.count() == 4
    assert calls[-1] == ("store", 5, 5)


def test_an_importer_without_a_unit_imports_nothing(world, btypes):
    nobody = UserFactory.build(role=Role.EVALUATOR, unit=None)
    with pytest.raises(PermissionDenied):
        events_import(actor=nobody, table=_table(f"w,E,hukou,{world.station_a1.code},,,{_now()}"))
    assert not ServiceEvent.objects.exists()
