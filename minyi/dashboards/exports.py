"""Excel export of any dashboard or drill-down table (导出), audited.

The workbook is written in openpyxl's write-only mode, row by row, to a temporary file that
is then streamed: memory stays flat however many rows. Cells are the same `Cell`s the page
shows, so small cells stay "<5" and mobiles stay masked.
"""

import tempfile
from collections.abc import Iterable

from django.http import FileResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from minyi.core.audit import audit_record
from minyi.core.models import AuditAction
from minyi.dashboards.cells import DASH, Cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_write(*, title: str, headers: list[str], rows: Iterable[list[Cell]], note: str = ""):
    """(file positioned at 0, data rows written). Header row in Chinese, bold."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    bold = Font(bold=True)
    header = []
    for h in headers:
        cell = WriteOnlyCell(sheet, value=str(h))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    n = 0
    for row in rows:
        sheet.append([_cell(sheet, c) for c in row])
        n += 1
    if note:
        sheet.append([])
        sheet.append([_cell(sheet, Cell(note))])
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    workbook.save(out)
    out.seek(0)
    return out, n


def _sheet_title(title: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    cleaned = "".join(ch for ch in str(title) if ch not in "[]:*?/\\")
    return cleaned[:31] or "Sheet1"


def _cell(sheet, c: Cell) -> WriteOnlyCell:
    value = c.value if c.value is not None else (None if c.text == DASH else c.text)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # A citizen's text starting with "=" must stay text, never become a formula.
        cell.data_type = "s"
    elif c.fmt:
        cell.number_format = c.fmt
    return cell


def table_export(
    *,
    actor,
    request,
    name: str,
    title: str,
    headers: list[str],
    rows: Iterable[list[Cell]],
    detail: dict,
    note: str = "",
    unit=None,
) -> FileResponse:
    """Write the table and record the export (who, which table, which filters, how many
    rows) in the audit log."""
    out, n = xlsx_write(title=title, headers=headers, rows=rows, note=note)
    audit_record(
        action=AuditAction.EXPORT,
        actor=actor,
        request=request,
        obj=unit,
        detail={**detail, "table": name, "rows": n},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        out, as_attachment=True, filename=f"minyi-{name}-{stamp}.xlsx", content_type=XLSX
    )
