"""Manual import of cases from CSV (导入案件): one row per progress step, rows of the same case
merged into one upsert. Each row is checked on its own first, so a bad row (a wrong ID
checksum, an unknown stage) is reported on its line and the others still go in.

Nothing read from the file is echoed back unmasked: the result page shows the ID number
masked and passes every other cell through `mask_text`.
"""

import csv
import io

from django.utils.translation import gettext as _

from minyi.cases.services import (
    case_upsert,
    normalize_case_number,
    party_clean,
    progress_clean,
)
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.pii import mask_id_number, mask_text
from minyi.orgs.selectors import orgunit_root_for

CSV_COLUMNS = [
    "case_number",
    "case_type",
    "unit_code",
    "confidential",
    "private",
    "party_role",
    "party_name",
    "party_id_number",
    "party_mobile",
    "stage",
    "occurred_at",
    "note",
    "step_id",
]
# Fields that describe the case, not the row: every row of a case must agree on them.
CASE_FIELDS = ["case_type", "unit_code", "confidential", "private"]
MAX_BYTES = 5 * 1024 * 1024
IMPORTED, ERROR = "imported", "error"


def read_csv(data: bytes) -> list[dict]:
    """The rows of an uploaded file (UTF-8, with or without BOM), or ApplicationError."""
    if len(data) > MAX_BYTES:
        raise ApplicationError("file_too_large", _("文件不能超过 5 MB。"), field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError("not_utf8", _("文件不是 UTF-8 编码的 CSV。"), field="file") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ApplicationError(
            "missing_columns", _("缺少列：%(cols)s") % {"cols": ", ".join(missing)}, field="file"
        )
    return list(reader)


def _cells(row: dict) -> dict:
    return {column: (row.get(column) or "").strip() for column in CSV_COLUMNS}


def _result(line: int, cell: dict, status: str, message: str = "") -> dict:
    return {
        "line": line,
        "case_number": mask_text(cell["case_number"])[:40],
        "party": mask_id_number(cell["party_id_number"]),
        "stage": mask_text(cell["stage"])[:20],
        "step_id": mask_text(cell["step_id"])[:64],
        "status": status,
        "message": mask_text(message),
    }


def _check_row(cell: dict) -> tuple[dict | None, dict]:
    """(party or None, step) of one row, or ApplicationError with a message for its line."""
    if not normalize_case_number(cell["case_number"]):
        raise ApplicationError("invalid_number", _("案件编号不能为空。"))
    party = None
    if cell["party_id_number"] or cell["party_name"] or cell["party_mobile"]:
        party = party_clean(
            {
                "role": cell["party_role"],
                "name": cell["party_name"],
                "id_number": cell["party_id_number"],
                "mobile": cell["party_mobile"],
            }
        )
    step = progress_clean(
        {
            "stage": cell["stage"],
            "occurred_at": cell["occurred_at"].replace(" ", "T", 1),
            "note": cell["note"],
            "external_id": cell["step_id"],
        }
    )
    return party, step


def cases_import_rows(*, actor, rows: list[dict]) -> list[dict]:
    """Import rows within the actor's subtree; one result per line (line 1 is the header).
    Only a superuser imports for every unit; anyone else without a unit imports nothing."""
    if not actor.is_superuser and actor.unit_id is None:
        raise PermissionDenied()
    scope = None if actor.is_superuser else orgunit_root_for(actor)
    source = f"import:{actor.get_username()}"[:60]
    results: dict[int, dict] = {}
    cases: dict[str, dict] = {}  # number → {"first": cell, "lines": [...], parties, steps}
    for index, row in enumerate(rows):
        line = index + 2
        cell = _cells(row)
        try:
            party, step = _check_row(cell)
        except ApplicationError as exc:
            results[line] = _result(line, cell, ERROR, str(exc.message))
            continue
        number = normalize_case_number(cell["case_number"])
        group = cases.setdefault(number, {"first": (line, cell), "rows": []})
        first_line, first = group["first"]
        if any(cell[f] != first[f] for f in CASE_FIELDS):
            results[line] = _result(
                line,
                cell,
                ERROR,
                _("案件类别、办案单位或密级与第 %(line)d 行不一致。") % {"line": first_line},
            )
            continue
        group["rows"].append((line, cell, party, step))
    for number, group in cases.items():
        _line, first = group["first"]
        data = {
            "number": number,
            "case_type": first["case_type"],
            "unit_code": first["unit_code"],
            "parties": [party for _l, _c, party, _s in group["rows"] if party],
            "progress": [step for _l, _c, _p, step in group["rows"]],
        }
        # A blank flag cell says nothing: an existing case keeps its flag, a new one is public.
        data.update({flag: first[flag] for flag in ("confidential", "private") if first[flag]})
        try:
            case_upsert(
                scope=scope, data=data, source=source, actor=actor, unrestricted=actor.is_superuser
            )
        except ApplicationError as exc:
            outcome, message = ERROR, str(exc.message)
        else:
            outcome, message = IMPORTED, ""
        for line, cell, _party, _step in group["rows"]:
            results[line] = _result(line, cell, outcome, message)
    return [results[line] for line in sorted(results)]
