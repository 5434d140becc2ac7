"""The monthly report as an Excel workbook: one sheet per section, numbers as numbers (rates
as fractions formatted as percentages, an interval as two columns, its bounds), "<5" and "—"
as text, the title, unit and month on every sheet."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from minyi.core.batches import NOT_TEXT
from minyi.dashboards.cells import DASH, Cell
from minyi.reports.tables import IntervalCell, Section, report_sections, report_title


def _sheet_title(title: str, taken: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\, unique in the workbook.
    cleaned = "".join(ch for ch in str(title) if ch not in "[]:*?/\\")[:31] or "Sheet"
    name, n = cleaned, 2
    while name in taken:
        name = f"{cleaned[:28]}({n})"
        n += 1
    taken.add(name)
    return name


def _value(sheet, row: int, column: int, c: Cell) -> None:
    value = c.value if c.value is not None else (None if c.text == DASH else c.text)
    if isinstance(value, str):  # a control character pasted into a letter: not in a workbook
        value = NOT_TEXT.sub("", value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # a citizen's quote starting with "=" stays text
    elif c.fmt:
        cell.number_format = c.fmt


def _expanded(section: Section) -> set[int]:
    """Columns holding intervals: two columns (low, high) in the workbook."""
    return {
        i
        for row in section.rows
        for i, c in enumerate(row)
        if isinstance(c, IntervalCell) and c.low is not None
    }


def _headers(section: Section, wide: set[int]) -> list[str]:
    out = []
    for i, h in enumerate(section.headers):
        out += [_("%(h)s下限") % {"h": h}, _("%(h)s上限") % {"h": h}] if i in wide else [str(h)]
    return out


def _cells(row: list[Cell], wide: set[int]) -> list[Cell]:
    out = []
    for i, c in enumerate(row):
        if i not in wide:
            out.append(c)
        elif isinstance(c, IntervalCell) and c.low is not None:
            out += [Cell(c.text, c.low, fmt="0.0%"), Cell(c.text, c.high, fmt="0.0%")]
        else:  # "<5" or "—" in both
            out += [c, c]
    return out


def _write(sheet, section: Section, title: str) -> None:
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append([section.title])
    sheet["A2"].font = Font(bold=True)
    for line in section.lines:
        sheet.append([line])
    sheet.append([])
    wide = _expanded(section)
    sheet.append(_headers(section, wide))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in section.rows:
        index = sheet.max_row + 1
        for column, c in enumerate(_cells(row, wide), start=1):
            _value(sheet, index, column, c)
    if section.note:
        sheet.append([])
        sheet.append([section.note])
        sheet.cell(row=sheet.max_row, column=1).alignment = Alignment(wrap_text=False)
    sheet.column_dimensions["A"].width = 28
    for letter in "BCDEFGHIJKL":
        sheet.column_dimensions[letter].width = 14


def report_xlsx(figures: dict) -> bytes:
    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    title = report_title(figures)
    for section in report_sections(figures):
        _write(book.create_sheet(_sheet_title(section.title, taken)), section, title)
    info = book.create_sheet(_sheet_title(_("说明"), taken))
    info.append([title])
    info.append([_("生成时间"), figures["generated_at"][:16].replace("T", " ")])
    info.append([_("统计规则版本"), figures["stats_rule_version"]])
    info.append(
        [_("所有数字与数据看板同一时段、同一范围的数字一致；少于 5 人的细分数字显示为“<5”。")]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
