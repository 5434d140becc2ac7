"""Manual import of cases (导入案件) from a CSV or Excel file: one row per progress step, rows of
the same case merged into one upsert. The file rules (encodings, headers, row errors, all or
nothing) are minyi.core.imports'; this module says what a case row means.

Nothing read from the file is echoed back unmasked: the result shows the ID number masked and
passes every other cell through `mask_text`.
"""

from django.utils.translation import gettext as _

from minyi.cases.models import HIDING_FLAGS
from minyi.cases.services import (
    case_upsert,
    normalize_case_number,
    party_clean,
    progress_clean,
)
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.imports import (
    Column,
    ImportReport,
    Progress,
    Row,
    RowError,
    Table,
    cell_datetime,
    row_error,
    rows_import,
)
from minyi.core.pii import mask_id_number, mask_text
from minyi.orgs.selectors import orgunit_root_for

COLUMNS = [
    Column("case_number", "案件编号"),
    Column("case_type", "案件类别"),
    Column("unit_code", "办案单位代码", ("办案单位",)),
    Column("confidential", "涉密"),
    Column("private", "涉及隐私"),
    Column("party_role", "当事人身份"),
    Column("party_name", "当事人姓名"),
    Column("party_id_number", "当事人身份证号", ("身份证号", "身份证号码")),
    Column("party_mobile", "当事人手机", ("手机", "手机号码")),
    Column("stage", "进度"),
    Column("occurred_at", "进度时间"),
    Column("note", "说明"),
    Column("step_id", "进度编号"),
]
CSV_COLUMNS = [column.name for column in COLUMNS]
# Fields that describe the case, not the row: every row of a case must agree on them.
CASE_FIELDS = ["case_type", "unit_code", *HIDING_FLAGS]
# The services' names for what they refuse (`parties[0].mobile`) → the column it came from.
SERVICE_FIELDS = {
    "number": "case_number",
    "role": "party_role",
    "name": "party_name",
    "id_number": "party_id_number",
    "mobile": "party_mobile",
    "external_id": "step_id",
    "progress": "stage",
}
IMPORTED = "imported"


def _column(service_field: str | None) -> str:
    name = (service_field or "").rsplit(".", 1)[-1]
    return SERVICE_FIELDS.get(name, name)


def _result(row: Row) -> dict:
    cell = row.cells
    return {
        "line": row.number,
        "case_number": mask_text(cell["case_number"])[:40],
        "party": mask_id_number(cell["party_id_number"]),
        "stage": mask_text(cell["stage"])[:20],
        "step_id": mask_text(cell["step_id"])[:64],
        "status": IMPORTED,
    }


def _check_row(row: Row) -> tuple[dict | None, dict]:
    """(party or None, step) of one row, or ApplicationError naming its column."""
    cell = row.cells
    try:
        if not normalize_case_number(cell["case_number"]):
            raise ApplicationError("invalid_number", _("案件编号不能为空。"), field="case_number")
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
                "occurred_at": cell_datetime(cell["occurred_at"], column="occurred_at"),
                "note": cell["note"],
                "external_id": cell["step_id"],
            }
        )
    except ApplicationError as exc:
        exc.field = _column(exc.field)
        raise
    return party, step


def _disagreement(row: Row, first: Row, table: Table) -> RowError | None:
    """Why `row` cannot join the case of its number's first row (`first`), if it cannot."""
    differs = [name for name in CASE_FIELDS if row.cells[name] != first.cells[name]]
    if not differs:
        return None
    return RowError(
        row=row.number,
        column=differs[0],
        code="case_fields_differ",
        message=_("案件类别、办案单位或密级与第 %(line)d 行不一致。") % {"line": first.number},
        header=table.headers[differs[0]],
    )


def cases_import(*, actor, table: Table, progress: Progress | None = None) -> ImportReport:
    """Import the rows of `table` within the actor's subtree, all or nothing. Only a superuser
    imports for every unit; anyone else without a unit imports nothing."""
    if not actor.is_superuser and actor.unit_id is None:
        raise PermissionDenied()
    scope = None if actor.is_superuser else orgunit_root_for(actor)
    source = f"import:{actor.get_username()}"[:60]

    def store(checked):
        cases: dict[str, list] = {}  # number → [(row, party, step)], in file order
        for row, (party, step) in checked:
            number = normalize_case_number(row.cells["case_number"])
            cases.setdefault(number, []).append((row, party, step))
        for number, members in cases.items():
            first, agreeing = members[0][0], []
            for row, party, step in members:
                if error := _disagreement(row, first, table):
                    yield row, error
                else:
                    agreeing.append((row, party, step))
            data = {
                "number": number,
                "case_type": first.cells["case_type"],
                "unit_code": first.cells["unit_code"],
                "parties": [party for _r, party, _s in agreeing if party],
                "progress": [step for _r, _p, step in agreeing],
                # A blank flag cell says nothing: an existing case keeps its flag, a new one
                # is public (case_upsert reads a blank as silence).
                **{flag: first.cells[flag] for flag in HIDING_FLAGS},
            }
            try:
                case_upsert(
                    scope=scope,
                    data=data,
                    source=source,
                    actor=actor,
                    unrestricted=actor.is_superuser,
                )
            except ApplicationError as exc:
                exc.field = _column(exc.field)
                for row, _party, _step in agreeing:
                    yield row, row_error(row, exc, table)
            else:
                for row, _party, _step in agreeing:
                    yield row, _result(row)

    return rows_import(table=table, check_row=_check_row, store=store, progress=progress)
