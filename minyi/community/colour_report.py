"""The monthly three-colour report (三色管理月报) as PDF and Excel: the same numbers as the page
(`colours.colour_report_for`, scoped to the reader's subtree), the rule and its version
printed on every page."""

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from minyi.community.colours import RULE_VERSION, ColourReport, confidence_lines, rule_lines
from minyi.community.models import Colour

PDF_FONT = "STSong-Light"  # reportlab's built-in CID font for Simplified Chinese
pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))

COLOUR_HEX = {
    Colour.RED: "#f5222d",
    Colour.ORANGE: "#fa8c16",
    Colour.GREEN: "#52c41a",
    Colour.GREY: "#bfbfbf",
}
COLOUR_SYMBOL = {
    Colour.RED: gettext_lazy("红"),
    Colour.ORANGE: gettext_lazy("橙"),
    Colour.GREEN: gettext_lazy("绿"),
    Colour.GREY: gettext_lazy("灰"),
}


def report_title(report: ColourReport) -> str:
    month = report.month.strftime("%Y-%m") if report.month else "—"
    return _("社区三色管理月报（%(month)s）") % {"month": month}


def report_headers() -> list[str]:
    return [
        _("颜色"),
        _("本月信号"),
        _("社区"),
        _("网格编码"),
        _("所属派出所"),
        _("人口"),
        _("近12月发案数"),
        _("期望发案数"),
        _("万人年发案率"),
        _("平滑发案率"),
        _("平滑后相对全市"),
        _("90%可能范围（未平滑）"),
        _("p 值"),
        _("近12月颜色"),
    ]


def _interval(line) -> str:
    if line.low is None:
        return "—"
    return f"{line.low:.2f}–{line.high:.2f}"


def _trend(line) -> str:
    return "".join(str(COLOUR_SYMBOL[c]) if c in COLOUR_SYMBOL else "·" for _m, c in line.trend)


def report_rows(report: ColourReport) -> list[list]:
    rows = []
    for line in report.lines:
        c = line.colour
        rows.append(
            [
                c.get_colour_display(),
                c.get_signal_display(),
                line.area.name,
                line.area.code,
                line.area.station.display_name,
                c.population,
                c.observed,
                round(c.expected, 2),
                round(c.rate, 1),
                round(c.smoothed_rate, 1),
                round(c.ratio, 2),
                _interval(line),
                float(f"{c.p_value:.4g}"),
                _trend(line),
            ]
        )
    return rows


def effort_lines(report: ColourReport) -> list[str]:
    """Where prevention effort should go, in words."""
    if not report.lines:
        return [_("本月没有颜色数据。")]
    lines = [
        _(
            "红色社区 %(red)d 个、橙色 %(orange)d 个、绿色 %(green)d 个、样本不足 %(grey)d 个；"
            "近 12 个月共发案 %(total)d 起。"
        )
        % {**report.counts, "total": report.observed_total}
    ]
    if report.city_rate is not None:
        lines.append(_("全市平均：每万人每年 %(r).1f 起。") % {"r": report.city_rate})
    if report.focus:
        lines.append(
            _(
                "红色和橙色社区共 %(n)d 个，占人口的 %(pop).1f%%，却发生了 %(share).1f%% 的"
                "警情（%(obs)d 起）：防范力量应优先投向这些社区，先红后橙："
            )
            % {
                "n": len(report.focus),
                "pop": report.focus_population_share * 100,
                "share": report.focus_share * 100,
                "obs": report.focus_observed,
            }
        )
        lines.append(
            "、".join(
                f"{line.area.name}（{line.colour.get_colour_display()}）" for line in report.focus
            )
        )
    else:
        lines.append(_("本月没有红色或橙色社区。"))
    return lines


def _footer_text(report: ColourReport) -> str:
    versions = "、".join(report.rule_versions) or RULE_VERSION
    return _("规则版本：%(v)s　生成时间：%(t)s") % {
        "v": versions,
        "t": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }


def colour_report_xlsx(report: ColourReport) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("三色管理")
    sheet.append([report_title(report)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([_footer_text(report)])
    sheet.append([])
    sheet.append(report_headers())
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in report_rows(report):
        sheet.append(row)
        fill = COLOUR_HEX.get(report.lines[sheet.max_row - header_row - 1].colour.colour)
        if fill:
            sheet.cell(row=sheet.max_row, column=1).fill = PatternFill(
                "solid", fgColor=fill.lstrip("#")
            )
    sheet.column_dimensions["C"].width = 24
    sheet.column_dimensions["E"].width = 16
    sheet.column_dimensions["N"].width = 18

    notes = book.create_sheet(_("防范重点与规则"))
    notes.column_dimensions["A"].width = 120
    for title, texts in (
        (_("防范力量投向"), effort_lines(report)),
        (_("评色规则"), rule_lines()),
        (_("把握程度"), confidence_lines()),
    ):
        notes.append([title])
        notes.cell(row=notes.max_row, column=1).font = Font(bold=True)
        for text in texts:
            notes.append([text])
            notes.cell(row=notes.max_row, column=1).alignment = Alignment(wrap_text=True)
        notes.append([])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def colour_report_pdf(report: ColourReport) -> bytes:
    out = io.BytesIO()
    footer = _footer_text(report)

    def on_page(canvas, doc):
        # The rule's version on every page.
        canvas.saveState()
        canvas.setFont(PDF_FONT, 7.5)
        canvas.drawString(10 * mm, 6 * mm, footer + "　" + _("第 %(n)d 页") % {"n": doc.page})
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title="Minyi community colours",
    )
    title = ParagraphStyle("t", fontName=PDF_FONT, fontSize=14, leading=18)
    heading = ParagraphStyle("h", fontName=PDF_FONT, fontSize=10.5, leading=14)
    cell = ParagraphStyle("c", fontName=PDF_FONT, fontSize=7.5, leading=9.5)
    note = ParagraphStyle("n", fontName=PDF_FONT, fontSize=8.5, leading=12)

    def text(value) -> Paragraph:
        return Paragraph(escape(str(value)), cell)

    data = [[text(h) for h in report_headers()]] + [
        [text(v) for v in row] for row in report_rows(report)
    ]
    widths = [11, 13, 34, 22, 24, 15, 17, 17, 17, 17, 17, 24, 15, 28]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, line in enumerate(report.lines, start=1):
        style.append(
            ("BACKGROUND", (0, i), (0, i), colors.HexColor(COLOUR_HEX[line.colour.colour]))
        )
    table.setStyle(TableStyle(style))
    story = [Paragraph(escape(report_title(report)), title), Spacer(1, 3 * mm)]
    story.append(Paragraph(escape(_("防范力量投向")), heading))
    story += [Paragraph(escape(t), note) for t in effort_lines(report)]
    story += [Spacer(1, 3 * mm), table, Spacer(1, 4 * mm)]
    story.append(Paragraph(escape(_("评色规则")), heading))
    story += [Paragraph(escape(t), note) for t in rule_lines()]
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(escape(_("把握程度")), heading))
    story += [Paragraph(escape(t), note) for t in confidence_lines()]
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
