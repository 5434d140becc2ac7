"""The PDF and the workbook: drawn on the server (reportlab, openpyxl), the same numbers as
the figures, a district's report with nothing of another district in its text, no mobile
number anywhere. The PDF's text is read back with tests/pdftext.py (no PDF library is
installed)."""

import io
import re

import pytest
from openpyxl import load_workbook
from reportlab.graphics.shapes import Polygon, PolyLine

from minyi.reports.figures import ReportScope, monthly_figures
from minyi.reports.models import MonthlyReport
from minyi.reports.pdf import report_pdf, trend_chart
from minyi.reports.services import monthly_report_generate
from minyi.reports.tests.factories import (
    A_MARKER,
    B_MARKER,
    MOBILE_IN_TEXT,
    MONTH,
    NOW,
    month_data,
)
from minyi.reports.tests.pdftext import pdf_text
from minyi.reports.xlsx import report_xlsx

MOBILE = re.compile(r"(?<![\d.])1[3-9]\d{9}(?!\d)")


@pytest.fixture
def report_a(world):
    month_data(world)
    return monthly_report_generate(unit=world.district_a, month=MONTH, now=NOW)


def _cells(xlsx: bytes):
    book = load_workbook(io.BytesIO(xlsx))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                yield sheet.title, cell


@pytest.mark.django_db
def test_a_districts_pdf_holds_its_own_units_and_nothing_of_another(world, report_a):
    pdf = bytes(report_a.pdf)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "甲区分局民意分析报告（2026-10）" in text
    for title in ("满意率走势", "同类单位排名", "回访及时率", "整改工单", "诉求答复率（按渠道）"):
        assert title in text
    for title in ("不满意原因（回访）", "热点（新出现的问题）", "三色预警及处置", "与上月相比"):
        assert title in text
    assert world.station_a2.name in text and world.officers["a2"].name in text
    assert A_MARKER in text  # a masked quote of the district's own texts
    for other in (world.district_b.name, world.station_b1.name, world.officers["b1"].name):
        assert other not in text
    assert B_MARKER not in text
    assert MOBILE_IN_TEXT not in text and not MOBILE.search(text)


@pytest.mark.django_db
def test_the_citys_pdf_reads_back_both_districts(world, report_a):
    """The check above is not blind: the city's report does show district B."""
    report = monthly_report_generate(unit=world.city, month=MONTH, now=NOW)
    text = pdf_text(bytes(report.pdf))
    assert world.district_a.name in text and world.district_b.name in text
    assert not MOBILE.search(text)


@pytest.mark.django_db
def test_the_workbook_has_a_sheet_per_section_and_numbers_as_numbers(world, report_a):
    book = load_workbook(io.BytesIO(bytes(report_a.xlsx)))
    names = book.sheetnames
    assert names[0] == "概览" and "满意率走势" in names and "与上月相比" in names
    assert "诉求答复率（按渠道）" in names and "三色预警及处置" in names
    summary = book["概览"]
    figures = report_a.figures
    total = figures["current"]["satisfaction"]["total"]
    header = next(r for r in summary.iter_rows() if r[0].value == "指标")
    assert [c.value for c in header[1:5]] == ["本月", "95%区间下限", "95%区间上限", "样本"]
    row = next(r for r in summary.iter_rows() if r[0].value == "满意率")
    assert row[1].value == round(total["rate"], 4) and row[1].number_format == "0.0%"
    assert (row[2].value, row[3].value) == (round(total["low"], 4), round(total["high"], 4))
    assert row[4].value == total["n"] and isinstance(row[4].value, int)
    channels = book["诉求答复率（按渠道）"]
    web = next(r for r in channels.iter_rows() if r[0].value == "网上留言")
    assert web[1].value == 4 and isinstance(web[1].value, int)
    values = [str(c.value) for _s, c in _cells(bytes(report_a.xlsx)) if c.value is not None]
    joined = "\n".join(values)
    assert world.station_a2.name in joined and A_MARKER in joined
    for other in (world.district_b.name, world.station_b1.name, world.officers["b1"].name):
        assert other not in joined
    assert B_MARKER not in joined and not MOBILE.search(joined)


@pytest.mark.django_db
def test_the_stored_figures_are_the_figures_and_the_files_follow_them(world, report_a):
    fresh = monthly_figures(ReportScope(world.district_a), world.district_a, MONTH, now=NOW)
    assert report_a.figures == fresh
    assert report_pdf(fresh)[:4] == b"%PDF"
    assert (
        load_workbook(io.BytesIO(report_xlsx(fresh))).sheetnames
        == load_workbook(io.BytesIO(bytes(report_a.xlsx))).sheetnames
    )
    assert MonthlyReport.objects.get().generated_by is None


def test_the_trend_is_a_line_over_its_band_with_gaps_for_suppressed_days():
    def point(day, rate):
        if rate is None:
            return {"start": f"2026-10-{day:02d}", "rate": None, "low": None, "high": None}
        return {
            "start": f"2026-10-{day:02d}",
            "rate": rate,
            "low": rate - 0.05,
            "high": rate + 0.03,
        }

    points = [point(1, 0.9), point(2, 0.92), point(3, None), point(4, 0.88), point(5, 0.9)]
    drawing = trend_chart(points)
    shapes = drawing.contents
    assert sum(isinstance(s, Polygon) for s in shapes) == 2  # one band per run of days
    assert sum(isinstance(s, PolyLine) for s in shapes) == 2  # the line breaks at the gap


def test_emoji_are_left_out_of_the_pdf_not_drawn_as_boxes():
    from minyi.reports.pdf import drawable

    assert drawable("今天又白跑一趟！😡👍 好☀️") == "今天又白跑一趟！ 好"
    assert drawable("民警态度很差") == "民警态度很差"
