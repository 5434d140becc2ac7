"""Staff imports of tables (导入): one reader and one set of rules for every file people upload
row by row — cases (导入案件), service events (导入服务事件), and the poll and paper-ballot
imports to come.

The rules, written once:
- A file is CSV or Excel (.xlsx, its first sheet), judged by its first bytes, not its name.
  CSV may be UTF-8 with or without BOM, or GB18030 (a superset of GBK, what Excel saves on a
  Chinese Windows, and what police systems export); the encoding used is reported.
- At most `MAX_BYTES` per file and `MAX_ROWS` data rows.
- The first row names the columns, by field name (`case_number`) or Chinese name (案件编号);
  other columns are ignored, a missing one refuses the file.
- A row is numbered as the spreadsheet shows it (the header is row 1). A CSV row whose cells
  do not line up with the header (a stray comma) is refused, not guessed at.
- Every row is checked and every bad row is reported (row, column, machine code, Chinese
  message, numbers masked). If any row is bad, nothing is stored: the rows are written in one
  transaction, rolled back as a whole. The writes still run for the good rows, so the errors
  they find (a unit outside the importer's subtree) are reported in the same pass.
- Progress of a big file goes to an optional callback every `PROGRESS_EVERY` rows.

An importer gives `rows_import` two functions: `check_row(row)` returns what the row means or
raises ApplicationError (its `field` naming the column), and `store(checked)` writes the
checked rows and yields `(row, result)` for each, the result being a RowError when the write
refused it.
"""

import codecs
import csv
import hashlib
import io
import math
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.masking import mask_text
from minyi.core.models import AuditAction, ImportFile, ImportStatus

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
PROGRESS_EVERY = 500

XLSX_MAGIC = b"PK\x03\x04"  # a zip archive
XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary Excel (OLE)
UTF8, UTF8_BOM, GB18030, XLSX = "utf-8", "utf-8-sig", "gb18030", "xlsx"
# What openpyxl raises on a damaged or hostile workbook (no exception of its own; a broken
# sheet's XML is a SyntaxError).
XLSX_ERRORS = (
    zipfile.BadZipFile,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    OSError,
    SyntaxError,
)
ENCODING_LABELS = {
    UTF8: "UTF-8",
    UTF8_BOM: gettext_lazy("UTF-8（带 BOM）"),
    GB18030: "GB18030/GBK",
    XLSX: gettext_lazy("Excel（.xlsx）"),
}
# Excel on a Chinese Windows writes times as 2026/11/24 9:30; ISO forms are read first.
TIME_FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Column:
    """A column an importer reads: `name` is the field (and its English header), `header` its
    Chinese header; `aliases` are other headers people's exports use for it."""

    name: str
    header: str
    aliases: tuple[str, ...] = ()
    # An optional column may be left out of the file; its cells are then absent from
    # `Row.cells` (read them with `.get`).
    required: bool = True

    def __str__(self):
        return f"{self.name}（{self.header}）"

    def header_keys(self) -> set[str]:
        return {_header_key(h) for h in (self.name, self.header, *self.aliases)}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # column name, "" when the row as a whole is at fault
    code: str  # machine-readable, snake_case
    message: str  # for people, in Chinese, numbers masked
    header: str = ""  # the column as the file's header row names it


@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    cells: dict[str, str]  # column name → its text, stripped ("" when empty)
    error: RowError | None = None  # found while reading (cells not lined up with the header)


@dataclass
class Table:
    rows: list[Row]
    encoding: str  # UTF8, UTF8_BOM, GB18030 or XLSX
    headers: dict[str, str]  # column name → its header as written in the file

    @property
    def encoding_label(self) -> str:
        return str(ENCODING_LABELS[self.encoding])


@dataclass
class ImportReport:
    table: Table
    errors: list[RowError] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)  # what `store` said, kept when stored
    # What a stored import (ImportFile) keeps as its result besides the row count: the
    # importer's own figures (e.g. the poll's weighting), set after `rows_import`.
    summary: dict = field(default_factory=dict)

    @property
    def stored(self) -> bool:
        return not self.errors


Progress = Callable[[str, int, int], None]  # (stage: "check" | "store", done, total)


def _header_key(text) -> str:
    """Headers match whatever the case, spaces or the * that marks a required column."""
    return "".join(str(text or "").split()).lstrip("*").lower()


def cell_datetime(text: str, *, column: str) -> datetime:
    """A date and time from a cell (ISO, or as Excel writes it), aware in the local zone."""
    moment = None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for pattern in TIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)  # made aware below
                break
            except ValueError:
                continue
    # A date alone is not a moment: the time of day matters (quiet hours, deadlines).
    if moment is None or len(text) <= len("2026-11-24"):
        raise ApplicationError(
            "invalid_time", _("时间格式不正确，应如 2026-11-24 09:30。"), field=column
        )
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


# --- Reading ---------------------------------------------------------------------------------


def cell_number(text: str, *, column: str) -> float:
    """A cell as a finite number, or the ApplicationError naming it."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ApplicationError(
            "invalid_number", _("“%(text)s”不是数字。") % {"text": text[:20]}, field=column
        )
    return value


def ingest_rows(table: Table, checked, *, ingest, chunk: int, columns: dict[str, str]):
    """`rows_import`'s `store` for an importer whose rows go through a batch ingest service
    (events, incidents): `ingest(items)` answers one ItemResult per item (core.batches); a
    rejected item becomes its row's RowError, in the column `columns` names for its code."""
    for start in range(0, len(checked), chunk):
        part = checked[start : start + chunk]
        for result in ingest([item for _row, item in part]):
            row = part[result.index][0]
            if result.status == "rejected":
                column = columns.get(result.code, "")
                error = RowError(
                    row=row.number,
                    column=column,
                    code=result.code,
                    message=result.message,
                    header=table.headers.get(column, ""),
                )
                yield row, error
            else:
                outcome = {
                    "line": row.number,
                    "external_id": result.external_id,
                    "status": result.status,
                }
                yield row, outcome


def table_read(data: bytes, *, columns: list[Column], max_bytes: int = MAX_BYTES) -> Table:
    """The rows of an uploaded CSV or .xlsx file with `columns`, or ApplicationError. An
    importer whose files are wide and long (a poll's 100,000 respondents) may allow more
    than `MAX_BYTES`."""
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    if data.startswith(XLS_MAGIC):
        raise ApplicationError(
            "xls_not_supported",
            _("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后上传。"),
            field="file",
        )
    if data.startswith(XLSX_MAGIC):
        encoding, records = XLSX, _xlsx_records(data)
    else:
        encoding, text = _decode(data)
        records = _csv_records(text)
    try:
        header = next(records, None)
        positions, headers = _map_header(header or (), columns)
        rows = []
        for number, record in enumerate(records, start=2):
            if not any(cell.strip() for cell in record):
                continue  # a blank line
            if len(rows) >= MAX_ROWS:
                raise ApplicationError(
                    "too_many_rows",
                    _("文件不能超过 %(n)d 行，请分成几个文件导入。") % {"n": MAX_ROWS},
                    field="file",
                )
            rows.append(
                _row(number, record, positions, width=len(header or ()), is_csv=encoding != XLSX)
            )
    except csv.Error:
        raise _unreadable(encoding) from None
    return Table(rows=rows, encoding=encoding, headers=headers)


def _too_large(max_bytes: int) -> ApplicationError:
    return ApplicationError(
        "file_too_large",
        _("文件不能超过 %(mb)d MB。") % {"mb": max_bytes // 2**20},
        field="file",
    )


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        candidates = [UTF8_BOM]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = []  # Excel's "Unicode text": not a CSV
    else:
        candidates = [UTF8, GB18030]
    for encoding in candidates:
        try:
            return encoding, data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ApplicationError(
        "unknown_encoding",
        _("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV 文件，或 Excel（.xlsx）文件。"),
        field="file",
    )


def _unreadable(encoding: str) -> ApplicationError:
    if encoding == XLSX:
        message = _("无法读取该 Excel 文件，请确认是 .xlsx 格式。")
    else:
        message = _("无法读取该 CSV 文件，请检查文件内容。")
    return ApplicationError(
        f"unreadable_{'xlsx' if encoding == XLSX else 'csv'}", message, field="file"
    )


def _csv_records(text: str) -> Iterator[list[str]]:
    """Records of a CSV text; a blank line is an empty record, so numbers match the sheet."""
    if "\x00" in text:  # no database stores it in text; a binary file read as text
        raise _unreadable(UTF8)
    return iter(csv.reader(io.StringIO(text, newline="")))


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    """Records of the first sheet, streamed (read-only mode): a big sheet is never whole in
    memory, and reading stops at MAX_ROWS."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except XLSX_ERRORS:
        raise _unreadable(XLSX) from None
    try:
        for values in book.worksheets[0].iter_rows(values_only=True):
            yield [_cell_text(value) for value in values]
    except XLSX_ERRORS:
        raise _unreadable(XLSX) from None
    finally:
        book.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a mobile typed as a number comes back as 13800002222.0
    return str(value)


def _map_header(header, columns: list[Column]) -> tuple[dict[str, int], dict[str, str]]:
    """(column name → position, column name → header as written), or ApplicationError."""
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    for position, text in enumerate(header):
        key = _header_key(text)
        column = next((c for c in columns if key and key in c.header_keys()), None)
        if column is None:
            continue  # a column this import does not read
        if column.name in positions:
            raise ApplicationError(
                "duplicate_column",
                _("列“%(a)s”和“%(b)s”是同一列（%(column)s），请删去一个。")
                % {"a": headers[column.name], "b": text.strip(), "column": column},
                field="file",
            )
        positions[column.name] = position
        headers[column.name] = text.strip()
    missing = [str(c) for c in columns if c.required and c.name not in positions]
    if missing:
        raise ApplicationError(
            "missing_columns", _("缺少列：%(cols)s") % {"cols": ", ".join(missing)}, field="file"
        )
    return positions, headers


def _row(number: int, record: list[str], positions: dict[str, int], *, width: int, is_csv: bool):
    cells = {name: record[i].strip() if i < len(record) else "" for name, i in positions.items()}
    # In a CSV a missing or extra comma shifts every cell after it: refuse rather than guess.
    # (An .xlsx has no commas to miss; its rows just stop at their last value.)
    short = len(record) < max(positions.values()) + 1
    extra = any(cell.strip() for cell in record[width:])
    error = None
    if is_csv and (short or extra):
        error = RowError(
            row=number,
            column="",
            code="cell_count",
            message=_("该行有 %(n)d 个单元格，列名行有 %(m)d 个：可能少了或多了逗号。")
            % {"n": len(record), "m": width},
        )
    return Row(number=number, cells=cells, error=error)


# --- Checking and storing ----------------------------------------------------------------------


def row_error(row: Row, exc: ApplicationError, table: Table) -> RowError:
    """The RowError of a refusal about `row`, in the column its field names (if it names one
    of the table's)."""
    name = exc.field if exc.field in table.headers else ""
    return RowError(
        row=row.number,
        column=name,
        code=exc.code,
        message=mask_text(str(exc.message)),
        header=table.headers.get(name, ""),
    )


def rows_import(
    *,
    table: Table,
    check_row: Callable[[Row], Any],
    store: Callable[[list[tuple[Row, Any]]], Iterable[tuple[Row, Any]]],
    progress: Progress | None = None,
    every: int = PROGRESS_EVERY,
) -> ImportReport:
    """Check every row of `table`, store the good ones in one transaction, and keep what was
    stored only if no row at all was bad. See the module docstring for the contract."""
    total = len(table.rows)
    errors: list[RowError] = []
    checked: list[tuple[Row, Any]] = []
    for done, row in enumerate(table.rows, start=1):
        if row.error is not None:
            errors.append(row.error)
        else:
            try:
                checked.append((row, check_row(row)))
            except ApplicationError as exc:
                errors.append(row_error(row, exc, table))
        if progress is not None and (done % every == 0 or done == total):
            progress("check", done, total)
    results: list[tuple[int, Any]] = []
    with transaction.atomic():
        for done, (row, result) in enumerate(store(checked), start=1):
            if isinstance(result, RowError):
                errors.append(result)
            else:
                results.append((row.number, result))
            if progress is not None and (done % every == 0 or done == len(checked)):
                progress("store", done, len(checked))
        if errors:
            transaction.set_rollback(True)
    if errors:
        return ImportReport(table=table, errors=sorted(errors, key=lambda e: e.row))
    return ImportReport(table=table, results=[r for _n, r in sorted(results, key=lambda x: x[0])])


# --- The upload form -----------------------------------------------------------------------------


class ImportFileForm(forms.Form):
    """The file field of an import page; `cleaned_data["file"]` is the Table read from it."""

    file = forms.FileField(label=gettext_lazy("CSV 或 Excel（.xlsx）文件"))

    def __init__(self, *args, columns: list[Column], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns

    def clean_file(self) -> Table:
        upload = self.cleaned_data["file"]
        try:
            # One byte more than allowed is enough to know the file is too large.
            return table_read(upload.read(MAX_BYTES + 1), columns=self.columns)
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from None


# --- Stored imports (core.ImportFile): upload, preview, a background run with progress --------
#
# The steps of an import page that keeps its files (a poll's respondents, population margins):
# 1. `import_file_store` keeps the upload (its bytes under MEDIA_ROOT, sha256, size, who, for
#    what) as an ImportFile "uploaded" (待确认);
# 2. `import_preview` reads it and shows what was understood: the columns recognised, the
#    first rows as parsed, the row count and the errors found so far;
# 3. the person confirms: `import_file_start` marks it running and the app enqueues its task,
#    which calls `import_file_run`: the app's importer runs with a progress callback writing
#    stage / rows_done / rows_total on the row, which the page polls (core/_import_status.html);
# 4. the row ends "done" or "refused" (nothing stored), with every row error kept.
# The files of a kind, newest first, are the audit trail: who, when, which file, what became
# of it.

PREVIEW_ROWS = 20
# Row errors kept on an ImportFile (a file wrong in every row would otherwise keep a copy of
# itself as errors); the count of all of them is kept beside.
ERRORS_KEPT = 1000
STAGE_CHECK, STAGE_STORE = "check", "store"

Run = Callable[[ImportFile, Table, Progress], ImportReport]


@dataclass
class Preview:
    table: Table
    columns: list[tuple[Column, str]]  # each column read, with its header in the file ("": absent)
    rows: list[Row]  # the first PREVIEW_ROWS rows as parsed
    errors: list[RowError]  # found so far: badly formed rows, and the first rows' checks

    @property
    def row_count(self) -> int:
        return len(self.table.rows)

    @property
    def present(self) -> list[Column]:
        """The columns the file has, in the importer's order."""
        return [column for column, header in self.columns if header]

    @property
    def cell_rows(self) -> list[tuple[int, list[str]]]:
        """The shown rows as (row number, cells of `present` in order), for a table."""
        present = self.present
        return [(row.number, [row.cells.get(c.name, "") for c in present]) for row in self.rows]


def error_dict(error: RowError) -> dict:
    return asdict(error)


def import_file_store(
    *,
    actor,
    kind: str,
    unit,
    upload,
    target: dict | None = None,
    max_bytes: int = MAX_BYTES,
) -> ImportFile:
    """Keep an uploaded file for import (status 待确认), or ApplicationError when it is larger
    than the importer allows. The bytes are kept as they came, for audit."""
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    if not data:
        raise ApplicationError("empty_file", _("文件是空的。"), field="file")
    name = (getattr(upload, "name", "") or "upload").rsplit("/", 1)[-1][-200:]
    record = ImportFile(
        kind=kind,
        unit=unit,
        uploaded_by=actor,
        filename=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        target=target or {},
    )
    record.file.save(name, ContentFile(data), save=False)
    record.save()
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=record,
        detail={"kind": kind, "sha256": record.sha256, "size": record.size, **record.target},
    )
    return record


def import_file_table(record: ImportFile, *, columns: list[Column], max_bytes: int = MAX_BYTES):
    """The table of a stored file (ApplicationError as `table_read`)."""
    with record.file.open("rb") as stored:
        data = stored.read(max_bytes + 1)
    return table_read(data, columns=columns, max_bytes=max_bytes)


def import_preview(
    record: ImportFile,
    *,
    columns: list[Column],
    check_row: Callable[[Row], Any] | None = None,
    max_bytes: int = MAX_BYTES,
    read: Callable[[ImportFile], Table] | None = None,
) -> Preview:
    """What the stored file holds, before the person confirms. A file that cannot be read at
    all (missing columns, wrong encoding) is refused here: the ImportFile ends "refused" with
    the reason, and the ApplicationError is raised for the page to show. `read` replaces the
    CSV/Excel reader for a file of another kind (a GeoJSON grid)."""
    try:
        if read is not None:
            table = read(record)
        else:
            table = import_file_table(record, columns=columns, max_bytes=max_bytes)
    except ApplicationError as exc:
        _refuse_file(record, exc)
        raise
    errors = [row.error for row in table.rows if row.error is not None]
    shown = table.rows[:PREVIEW_ROWS]
    if check_row is not None:
        for row in shown:
            if row.error is not None:
                continue
            try:
                check_row(row)
            except ApplicationError as exc:
                errors.append(row_error(row, exc, table))
    return Preview(
        table=table,
        columns=[(column, table.headers.get(column.name, "")) for column in columns],
        rows=shown,
        errors=sorted(errors, key=lambda e: e.row),
    )


def _refuse_file(record: ImportFile, exc: ApplicationError) -> None:
    error = RowError(row=1, column="", code=exc.code, message=mask_text(str(exc.message)))
    ImportFile.objects.filter(pk=record.pk).update(
        status=ImportStatus.REFUSED,
        errors=[error_dict(error)],
        result={"error_count": 1},
        finished_at=timezone.now(),
    )
    record.refresh_from_db()


def import_file_start(*, record: ImportFile, actor) -> None:
    """Confirm a previewed file: 待确认 → 导入中, once (a second click, or two people at
    once, start nothing). The caller then enqueues its app's task with the id."""
    started = ImportFile.objects.filter(pk=record.pk, status=ImportStatus.UPLOADED).update(
        status=ImportStatus.RUNNING, stage=STAGE_CHECK, rows_done=0, rows_total=0
    )
    if not started:
        raise ApplicationError(
            "import_not_pending", _("该文件已开始导入或已有结果，不能再次确认。"), status=409
        )
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=record, detail={"status": "running"})
    record.refresh_from_db()


def import_progress_writer(record: ImportFile) -> Progress:
    """A `rows_import` progress callback that writes the stage and counts on the row. The
    check stage runs outside any transaction, so the page sees it row by row; when checking
    ends, the row says "store" before the writing transaction begins (whose own progress is
    only seen when it commits)."""

    def progress(stage: str, done: int, total: int) -> None:
        if stage == STAGE_CHECK and done == total:
            stage, done = STAGE_STORE, 0
        ImportFile.objects.filter(pk=record.pk).update(
            stage=stage, rows_done=done, rows_total=total
        )

    return progress


def import_file_run(
    record_id: int,
    *,
    columns: list[Column],
    run: Run,
    max_bytes: int = MAX_BYTES,
    read: Callable[[ImportFile], Table] | None = None,
) -> ImportFile:
    """Run a confirmed import (for the app's task, or at once for a small file): read the
    stored file (`read`, as for `import_preview`), call the app's `run(record, table,
    progress)` (which calls `rows_import`), and record the outcome. A file not marked running
    (never confirmed, or already finished) is left alone."""
    record = ImportFile.objects.get(pk=record_id)
    if record.status != ImportStatus.RUNNING:
        return record
    try:
        if read is not None:
            table = read(record)
        else:
            table = import_file_table(record, columns=columns, max_bytes=max_bytes)
    except ApplicationError as exc:
        _refuse_file(record, exc)
        return record
    ImportFile.objects.filter(pk=record.pk).update(rows_total=len(table.rows))
    try:
        report = run(record, table, import_progress_writer(record))
    except ApplicationError as exc:  # the importer refused the file as a whole
        _refuse_file(record, exc)
        return record
    except Exception:
        # Nothing was stored (the rows are written in one transaction); the row must not stay
        # "running" for ever. The task records the traceback.
        failure = ApplicationError("import_failed", _("导入时发生内部错误，未导入任何数据。"))
        _refuse_file(record, failure)
        raise
    result = {"rows": len(report.results), "encoding": report.table.encoding_label}
    result |= report.summary
    if report.errors:
        result["error_count"] = len(report.errors)
    ImportFile.objects.filter(pk=record.pk).update(
        status=ImportStatus.DONE if report.stored else ImportStatus.REFUSED,
        rows_done=len(table.rows) if report.stored else 0,
        errors=[error_dict(e) for e in report.errors[:ERRORS_KEPT]],
        result=result,
        finished_at=timezone.now(),
    )
    record.refresh_from_db()
    return record
