"""The monthly report as a PDF, drawn entirely on the server with reportlab: text in the
built-in CID font (no font file, no download), charts with reportlab.graphics (the
satisfaction trend with its 95% band, the reasons as bars). No browser is involved."""

import io
import re
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from minyi.reports.tables import Section, report_sections, report_title

PDF_FONT = "STSong-Light"  # reportlab's built-in CID font for Simplified Chinese
pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))

BLUE = colors.HexColor("#1f5fa8")
BAND = colors.HexColor("#c9daf0")
GRID = colors.HexColor("#d9d9d9")
WIDTH = 180 * mm

_TITLE = ParagraphStyle("title", fontName=PDF_FONT, fontSize=15, leading=20)
_HEADING = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=11.5, leading=16, spaceBefore=6)
_TEXT = ParagraphStyle("text", fontName=PDF_FONT, fontSize=9, leading=13)
_NOTE = ParagraphStyle("note", fontName=PDF_FONT, fontSize=7.5, leading=10, textColor=colors.grey)
_CELL = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=7.5, leading=9.5)


def _label(drawing: Drawing, x, y, value: str, *, size=7, anchor="start", colour=colors.black):
    drawing.add(
        String(x, y, value, fontName=PDF_FONT, fontSize=size, textAnchor=anchor, fillColor=colour)
    )


def trend_chart(points: list[dict], *, width=WIDTH, height=62 * mm) -> Drawing:
    """Daily (or weekly) satisfaction as a line over its Wilson 95% band, 0–100%. Suppressed
    points (fewer than 5 replies) and days without replies are gaps, never zeros."""
    drawing = Drawing(width, height)
    left, bottom, right, top = 28, 22, width - 8, height - 18
    plot_w, plot_h = right - left, top - bottom
    lowest = min((p["low"] for p in points if p.get("low") is not None), default=0.0)
    floor = max(0.0, min(0.8, (int(lowest * 10) / 10)))  # the y axis starts at a tenth

    def y(value):
        return bottom + (value - floor) / (1 - floor) * plot_h

    step = plot_w / max(1, len(points) - 1)

    def x(i):
        return left + i * step if len(points) > 1 else left + plot_w / 2

    tick = floor
    while tick <= 1.0001:
        drawing.add(Line(left, y(tick), right, y(tick), strokeColor=GRID, strokeWidth=0.4))
        _label(drawing, left - 3, y(tick) - 2.5, f"{tick * 100:.0f}%", anchor="end")
        tick += 0.1 if floor < 0.5 else 0.05
    runs, run = [], []
    for i, p in enumerate(points):
        if p.get("rate") is None:
            if run:
                runs.append(run)
            run = []
            continue
        run.append((i, p))
    if run:
        runs.append(run)
    for run in runs:
        upper = [(x(i), y(p["high"])) for i, p in run]
        lower = [(x(i), y(p["low"])) for i, p in reversed(run)]
        if len(run) == 1:  # a lone point: its interval as an error bar
            (i, p) = run[0]
            drawing.add(Line(x(i), y(p["low"]), x(i), y(p["high"]), strokeColor=BLUE))
        else:
            coords = [c for point in upper + lower for c in point]
            drawing.add(Polygon(coords, fillColor=BAND, strokeColor=None))
        line = [c for i, p in run for c in (x(i), y(p["rate"]))]
        if len(run) > 1:
            drawing.add(PolyLine(line, strokeColor=BLUE, strokeWidth=1.2))
        for i, p in run:
            drawing.add(Rect(x(i) - 1, y(p["rate"]) - 1, 2, 2, fillColor=BLUE, strokeColor=None))
    every = max(1, len(points) // 8)
    for i, p in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            _label(drawing, x(i), bottom - 10, str(p["start"])[5:], anchor="middle")
    drawing.add(Line(left, bottom, right, bottom, strokeColor=colors.grey, strokeWidth=0.6))
    _label(drawing, left, height - 7, _("满意率（蓝线）与 95%区间（浅色带）"), size=7.5)
    return drawing


def bar_chart(rows: list[tuple[str, float]], *, width=WIDTH) -> Drawing:
    """Horizontal bars, one per (label, share 0–1), the share written at the bar's end."""
    bar, gap = 11, 5
    height = max(1, len(rows)) * (bar + gap) + 10
    drawing = Drawing(width, height)
    left, right = 70, width - 40
    top = max((share for _label_, share in rows), default=0) or 1
    for i, (name, share) in enumerate(rows):
        y = height - (i + 1) * (bar + gap)
        length = (right - left) * share / top
        drawing.add(Rect(left, y, length, bar, fillColor=BLUE, strokeColor=None))
        _label(drawing, left - 4, y + 3, name, size=8, anchor="end")
        _label(drawing, left + length + 3, y + 3, f"{share * 100:.1f}%", size=7.5)
    return drawing


# Emoji and other pictographs citizens type have no glyph in the PDF's Chinese font: left out
# rather than drawn as boxes (the workbook keeps them).
_NO_GLYPH = re.compile("[\U00010000-\U0010ffff\u2600-\u27bf\ufe0f\u200d]")


def drawable(value: str) -> str:
    return _NO_GLYPH.sub("", value)


def _table(section: Section) -> Table | None:
    if not section.rows:
        return None

    def para(value) -> Paragraph:
        return Paragraph(escape(drawable(str(value))), _CELL)

    data = [[para(h) for h in section.headers]]
    data += [[para(c.text) for c in row] for row in section.rows]
    first = 34 * mm if len(section.headers) > 5 else 50 * mm
    rest = (WIDTH - first) / (len(section.headers) - 1)
    table = Table(data, colWidths=[first] + [rest] * (len(section.headers) - 1), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _charts(section: Section, figures: dict) -> list:
    current = figures["current"]
    if section.key == "trend" and any(
        p["rate"] is not None for p in current["satisfaction"]["points"]
    ):
        return [trend_chart(current["satisfaction"]["points"]), Spacer(1, 2 * mm)]
    if section.key == "reasons":
        bars = [
            (r["label"], r["rate"])
            for r in current["reasons"]["rows"][:8]
            if not r["suppressed"] and r["rate"] is not None
        ]
        if bars:
            return [bar_chart(bars), Spacer(1, 2 * mm)]
    if section.key == "text_reasons" and current["text_reasons"]:
        bars = [
            (r["label"], r["share"]) for r in current["text_reasons"]["rows"][:8] if r.get("share")
        ]
        if bars:
            return [bar_chart(bars), Spacer(1, 2 * mm)]
    return []


def report_pdf(figures: dict) -> bytes:
    """The whole report: a title, then one part per section (sentences, chart, table,
    note), the unit, month and generation time on every page."""
    out = io.BytesIO()
    footer = _("%(unit)s　%(month)s　生成于 %(at)s") % {
        "unit": figures["unit"]["name"],
        "month": figures["month"],
        "at": figures["generated_at"][:16].replace("T", " "),
    }

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont(PDF_FONT, 7.5)
        canvas.drawString(15 * mm, 8 * mm, footer + "　" + _("第 %(n)d 页") % {"n": doc.page})
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title="Minyi monthly report",
    )
    story = [Paragraph(escape(report_title(figures)), _TITLE), Spacer(1, 3 * mm)]
    for number, section in enumerate(report_sections(figures), start=1):
        head = [Paragraph(escape(f"{number}. {section.title}"), _HEADING)]
        head += [Paragraph(escape(line), _TEXT) for line in section.lines]
        story.append(CondPageBreak(50 * mm))
        story.append(KeepTogether(head + _charts(section, figures)))
        table = _table(section)
        if table is not None:
            story.append(table)
        if section.note:
            story.append(Paragraph(escape(section.note), _NOTE))
        story.append(Spacer(1, 3 * mm))
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
