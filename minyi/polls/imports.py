"""Imports of polls (民意测评导入, DOMAIN.md capability 2): a polling firm's respondent-level
file for one wave, and the units' population margins (人口结构) raking weighs it to.

The file rules (encodings, headers, row errors, all or nothing, the stored file, preview and
progress) are minyi.core.imports'; this module says what a row means and what makes it bad:
codes it does not know, a respondent twice (in the file, or already stored for the poll), a
unit that does not exist or lies outside the importer's subtree or the poll's, a date outside
the poll's fielding dates, firm weights outside [0.3, 3] or not summing to a unit's row count.
"""

from collections import defaultdict
from datetime import date, datetime

from django.db import connection
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.imports import (
    Column,
    ImportReport,
    Progress,
    Row,
    RowError,
    Table,
    cell_number,
    rows_import,
)
from minyi.core.models import ImportFile
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import orgunit_root_for
from minyi.polls.models import (
    DIMENSION_CHOICES,
    AgeBand,
    Dimension,
    Indicator,
    Poll,
    PollRespondent,
    PopulationMargin,
    Residence,
    Sex,
)

KIND_RESPONDENTS = "poll_respondents"
KIND_MARGINS = "poll_margins"
# A poll file of 100,000 respondents with Chinese answers is about 8 MB as UTF-8 CSV.
MAX_BYTES = 32 * 2**20
STORE_BATCH = 2000
# Firm-supplied weights: each within the trimming bounds, and per unit summing to the unit's
# respondent count within 1% (weights normalised to mean 1, as the estimates assume).
WEIGHT_MIN, WEIGHT_MAX = 0.3, 3.0
WEIGHT_SUM_TOLERANCE = 0.01

RESPONDENT_COLUMNS = [
    Column("unit_code", "单位代码", ("单位编码", "派出所代码", "单位编号")),
    Column("respondent_ref", "样本编号", ("样本号", "问卷编号", "受访者编号", "编号")),
    Column("age_band", "年龄段", ("年龄", "年龄组")),
    Column("sex", "性别"),
    Column("residence", "户籍", ("户籍/流动", "户籍类型", "人口类型")),
    Column("saw_police", "见警率", ("见警", "是否见警", "见到民警")),
    Column("attitude", "服务态度", ("态度",)),
    Column("familiarity", "熟悉率", ("知晓率", "熟悉度", "认识社区民警")),
    Column("satisfaction", "满意度", ("总体满意度",)),
    Column("safety", "安全感", ("安全感满意度",)),
    Column("comment", "意见建议", ("意见", "建议", "意见和建议"), required=False),
    Column("answered_on", "答卷日期", ("调查日期", "受访日期", "日期")),
    Column("weight", "权重", ("样本权重", "加权系数"), required=False),
]
MARGIN_COLUMNS = [
    Column("unit_code", "单位代码", ("单位编码", "单位编号")),
    Column("year", "年度", ("年份",)),
    Column("dimension", "维度", ("分组维度",)),
    Column("category", "类别", ("分组", "类目")),
    Column("population", "人数", ("人口数", "人口")),
]


def _key(text: str) -> str:
    return "".join(text.split()).lower()


# What people write for each code (compared without spaces, case-insensitively).
AGE_BANDS = {
    **{_key(v): v for v in AgeBand.values},
    **{_key(str(label)): value for value, label in AgeBand.choices},
    "18-29岁": AgeBand.UNDER_30,
    "18～29": AgeBand.UNDER_30,
    "18~29": AgeBand.UNDER_30,
    "30～44": AgeBand.FROM_30,
    "30~44": AgeBand.FROM_30,
    "45～59": AgeBand.FROM_45,
    "45~59": AgeBand.FROM_45,
    "60岁以上": AgeBand.FROM_60,
    "60以上": AgeBand.FROM_60,
    "60及以上": AgeBand.FROM_60,
    "60岁+": AgeBand.FROM_60,
}
SEXES = {"m": Sex.MALE, "男": Sex.MALE, "男性": Sex.MALE, "male": Sex.MALE}
SEXES |= {"f": Sex.FEMALE, "女": Sex.FEMALE, "女性": Sex.FEMALE, "female": Sex.FEMALE}
RESIDENCES = {
    "registered": Residence.REGISTERED,
    "户籍": Residence.REGISTERED,
    "户籍人口": Residence.REGISTERED,
    "本地": Residence.REGISTERED,
    "本地户籍": Residence.REGISTERED,
    "floating": Residence.FLOATING,
    "流动": Residence.FLOATING,
    "流动人口": Residence.FLOATING,
    "外来": Residence.FLOATING,
    "外来人口": Residence.FLOATING,
}
CODES = {
    Dimension.AGE_BAND: AGE_BANDS,
    Dimension.SEX: SEXES,
    Dimension.RESIDENCE: RESIDENCES,
}
DIMENSIONS = {
    **{_key(v): v for v in Dimension.values},
    **{_key(str(label)): value for value, label in Dimension.choices},
    "年龄": Dimension.AGE_BAND,
    "户籍/流动": Dimension.RESIDENCE,
    "人口类型": Dimension.RESIDENCE,
}
POSITIVE = {"是", "1", "满意", "非常满意", "比较满意", "见过", "见到", "有", "知道", "熟悉"}
POSITIVE |= {"认识", "安全", "非常安全", "比较安全", "好", "yes", "y", "true"}
NEGATIVE = {"否", "0", "不满意", "非常不满意", "比较不满意", "没见过", "未见过", "没见到"}
NEGATIVE |= {"没有", "无", "不知道", "不熟悉", "不认识", "不安全", "非常不安全", "不太安全"}
NEGATIVE |= {"比较不安全", "不好", "no", "n", "false"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def _code(text: str, dimension: str, column: str) -> str:
    value = CODES[dimension].get(_key(text))
    if value is None:
        labels = "、".join(str(label) for _v, label in DIMENSION_CHOICES[dimension].choices)
        if not text:
            message = _("不能为空，应填：%(labels)s。") % {"labels": labels}
        else:
            message = _("“%(text)s”不是有效的%(dimension)s，应填：%(labels)s。") % {
                "text": text[:20],
                "dimension": Dimension(dimension).label,
                "labels": labels,
            }
        raise ApplicationError(f"invalid_{dimension}", message, field=column)
    return value


def answer_parse(text: str, *, column: str) -> bool | None:
    """An indicator's answer: True (是, 满意, 见过, 1 …), False (否, 不满意, 0 …), None when
    blank (not asked or not answered)."""
    key = _key(text)
    if not key:
        return None
    if key in POSITIVE:
        return True
    if key in NEGATIVE:
        return False
    raise ApplicationError(
        "invalid_answer",
        _("“%(text)s”不是有效的回答，应填 是/否、1/0、满意/不满意、见过/没见过等，未答留空。")
        % {"text": text[:20]},
        field=column,
    )


def date_parse(text: str, *, column: str) -> date:
    day = text.split(" ")[0].split("T")[0]
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(day, pattern).date()
        except ValueError:
            continue
    raise ApplicationError(
        "invalid_date",
        _("“%(text)s”不是有效的日期，应如 2026-05-03。") % {"text": text[:20]},
        field=column,
    )


class UnitCodes:
    """Units by code, and whether each lies in the importer's subtree and the poll's unit."""

    def __init__(self, *, actor, within: OrgUnit | None = None):
        if not actor.is_superuser and actor.unit_id is None:
            raise PermissionDenied()
        self.scope = orgunit_root_for(actor) if not actor.is_superuser else None
        self.within = within
        self.units = {u.code.lower(): u for u in OrgUnit.objects.only("pk", "code", "path", "name")}

    def get(self, code: str, *, column: str = "unit_code") -> OrgUnit:
        if not code:
            raise ApplicationError("unit_required", _("单位代码不能为空。"), field=column)
        unit = self.units.get(code.lower())
        if unit is None:
            raise ApplicationError(
                "unknown_unit", _("单位代码“%(code)s”不存在。") % {"code": code[:20]}, field=column
            )
        if self.scope is not None and not self.scope.contains(unit):
            raise ApplicationError(
                "unit_out_of_scope",
                _("单位“%(unit)s（%(code)s）”不在您的管辖范围内。")
                % {"unit": unit.name, "code": unit.code},
                field=column,
            )
        if self.within is not None and not self.within.contains(unit):
            raise ApplicationError(
                "unit_outside_poll",
                _("单位“%(unit)s（%(code)s）”不在本次测评的范围（%(poll_unit)s）内。")
                % {"unit": unit.name, "code": unit.code, "poll_unit": self.within.name},
                field=column,
            )
        return unit


# --- Respondents (测评样本) ---------------------------------------------------------------------


def respondent_checker(*, actor, poll: Poll):
    """The `check_row` of a respondent file for `poll` (also used by the preview)."""
    units = UnitCodes(actor=actor, within=poll.unit)
    stored = set(PollRespondent.objects.filter(poll=poll).values_list("respondent_ref", flat=True))

    def check_row(row: Row) -> dict:
        cell = row.cells
        unit = units.get(cell["unit_code"])
        ref = cell["respondent_ref"]
        if not ref:
            raise ApplicationError("ref_required", _("样本编号不能为空。"), field="respondent_ref")
        if len(ref) > 40:
            raise ApplicationError(
                "ref_too_long", _("样本编号不能超过 40 个字符。"), field="respondent_ref"
            )
        if ref in stored:
            raise ApplicationError(
                "respondent_already_stored",
                _("样本编号“%(ref)s”已在本次测评中导入过。") % {"ref": ref},
                field="respondent_ref",
            )
        answered_on = date_parse(cell["answered_on"], column="answered_on")
        if not poll.fielded_from <= answered_on <= poll.fielded_to:
            raise ApplicationError(
                "date_outside_fielding",
                _("答卷日期 %(day)s 不在本次测评的调查期（%(start)s 至 %(end)s）内。")
                % {"day": answered_on, "start": poll.fielded_from, "end": poll.fielded_to},
                field="answered_on",
            )
        checked = {
            "unit": unit,
            "respondent_ref": ref,
            "age_band": _code(cell["age_band"], Dimension.AGE_BAND, "age_band"),
            "sex": _code(cell["sex"], Dimension.SEX, "sex"),
            "residence": _code(cell["residence"], Dimension.RESIDENCE, "residence"),
            "comment": cell.get("comment", "")[:2000],
            "answered_on": answered_on,
            "weight": None,
        }
        for indicator in Indicator.values:
            checked[indicator] = answer_parse(cell[indicator], column=indicator)
        if "weight" in cell:
            if not cell["weight"]:
                raise ApplicationError(
                    "weight_required", _("文件有权重列时，每行都要填写权重。"), field="weight"
                )
            weight = cell_number(cell["weight"], column="weight")
            if not WEIGHT_MIN <= weight <= WEIGHT_MAX:
                raise ApplicationError(
                    "weight_out_of_range",
                    _("权重 %(w)s 超出允许范围 [0.3, 3]。") % {"w": cell["weight"][:20]},
                    field="weight",
                )
            checked["weight"] = weight
        return checked

    return check_row


def _weight_sum_errors(checked, table: Table) -> list[RowError]:
    """Per unit, the firm's weights must add up to the unit's respondent count (±1%). A unit
    with a row refused already is not summed (its sum would be wrong for that reason)."""
    rows_of: dict[str, list] = defaultdict(list)
    for row, data in checked:
        if data["weight"] is not None:
            rows_of[data["unit"].code.lower()].append((row, data))
    in_file: dict[str, int] = defaultdict(int)
    for row in table.rows:
        in_file[row.cells["unit_code"].lower()] += 1
    errors = []
    for code, members in rows_of.items():
        total = sum(data["weight"] for _row, data in members)
        count = len(members)
        if count < in_file[code]:
            continue
        if abs(total - count) > WEIGHT_SUM_TOLERANCE * count:
            first, data = members[0]
            errors.append(
                RowError(
                    row=first.number,
                    column="weight",
                    code="weight_sum",
                    message=_(
                        "单位“%(unit)s（%(code)s）”的权重合计为 %(total).2f，与该单位样本数 "
                        "%(count)d 相差超过 1%%（该单位首行为第 %(row)d 行）。"
                    )
                    % {
                        "unit": data["unit"].name,
                        "code": data["unit"].code,
                        "total": total,
                        "count": count,
                        "row": first.number,
                    },
                    header=table.headers.get("weight", ""),
                )
            )
    return errors


INSERT_FIELDS = [
    "poll",
    "unit",
    "respondent_ref",
    "age_band",
    "sex",
    "residence",
    *Indicator.values,
    "comment",
    "answered_on",
    "weight",
    "source_import",
]
# The values the database driver does not take as they are: ciphertext, the date's form.
PREPARED_FIELDS = {"comment", "answered_on"}


def _respondents_insert(batch: list[dict], *, poll: Poll, source: ImportFile | None) -> None:
    """INSERT the checked rows with one executemany. Django's bulk_create builds a model
    instance and compiles every value of every row, about 10 s of CPU for a 100,000-row poll
    file (twice this whole function's time); here only the values that need it go through
    their field (`get_db_prep_save`: the comment's encryption, the date's adaptation), so
    what is stored is what the ORM would store."""
    fields = [PollRespondent._meta.get_field(name) for name in INSERT_FIELDS]
    prepared = [field.name in PREPARED_FIELDS for field in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the model)
        quote(PollRespondent._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    fixed = {"poll": poll.pk, "source_import": source.pk if source is not None else None}
    params = []
    for data in batch:
        values = fixed | data | {"unit": data["unit"].pk}
        params.append(
            [
                field.get_db_prep_save(values[field.name], connection)
                if prep
                else values[field.name]
                for field, prep in zip(fields, prepared, strict=True)
            ]
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def respondents_import(
    *,
    actor,
    poll: Poll,
    table: Table,
    progress: Progress | None = None,
    source: ImportFile | None = None,
) -> ImportReport:
    """Store the respondents of `table` for `poll`, all or nothing."""
    first_of: dict[str, int] = {}

    def store(checked):
        errors = {e.row: e for e in _weight_sum_errors(checked, table)}
        batch: list[dict] = []
        for row, data in checked:
            ref = data["respondent_ref"]
            if ref in first_of:
                yield (
                    row,
                    RowError(
                        row=row.number,
                        column="respondent_ref",
                        code="duplicate_respondent",
                        message=_("样本编号“%(ref)s”与第 %(first)d 行重复。")
                        % {"ref": ref, "first": first_of[ref]},
                        header=table.headers["respondent_ref"],
                    ),
                )
                continue
            first_of[ref] = row.number
            if row.number in errors:
                yield row, errors.pop(row.number)
                continue
            batch.append(data)
            if len(batch) >= STORE_BATCH:
                _respondents_insert(batch, poll=poll, source=source)
                batch = []
            yield row, row.number
        if batch:
            _respondents_insert(batch, poll=poll, source=source)

    return rows_import(
        table=table,
        check_row=respondent_checker(actor=actor, poll=poll),
        store=store,
        progress=progress,
    )


# --- Population margins (人口结构) ---------------------------------------------------------------


def margin_checker(*, actor):
    units = UnitCodes(actor=actor)

    def check_row(row: Row) -> dict:
        cell = row.cells
        unit = units.get(cell["unit_code"])
        year = cell["year"].removesuffix("年")
        if not (year.isdigit() and 2000 <= int(year) <= 2100):
            raise ApplicationError(
                "invalid_year",
                _("“%(text)s”不是有效的年度，应如 2026。") % {"text": cell["year"][:20]},
                field="year",
            )
        dimension = DIMENSIONS.get(_key(cell["dimension"]))
        if dimension is None:
            raise ApplicationError(
                "invalid_dimension",
                _("“%(text)s”不是有效的维度，应填：年龄段、性别、户籍。")
                % {"text": cell["dimension"][:20]},
                field="dimension",
            )
        category = _code(cell["category"], dimension, "category")
        text = cell["population"].replace(",", "")
        if not text.isdigit():
            raise ApplicationError(
                "invalid_population",
                _("人数“%(text)s”应为非负整数。") % {"text": cell["population"][:20]},
                field="population",
            )
        return {
            "unit": unit,
            "year": int(year),
            "dimension": dimension,
            "category": category,
            "population": int(text),
        }

    return check_row


def _incomplete_margins(checked, table: Table) -> dict[int, RowError]:
    """Raking needs every category of a dimension: a unit's year and dimension given in part
    is refused at its first row. (Checked only when every row was read well: a refused row
    would make its group look incomplete.)"""
    if len(checked) < len(table.rows):
        return {}
    groups: dict[tuple, list] = defaultdict(list)
    for row, data in checked:
        groups[(data["unit"].pk, data["year"], data["dimension"])].append((row, data))
    errors = {}
    for (_unit, year, dimension), members in groups.items():
        given = {data["category"] for _row, data in members}
        missing = [
            str(label)
            for value, label in DIMENSION_CHOICES[dimension].choices
            if value not in given
        ]
        if missing:
            first, data = members[0]
            errors[first.number] = RowError(
                row=first.number,
                column="category",
                code="margin_incomplete",
                message=_("单位“%(unit)s”%(year)d 年的“%(dimension)s”缺少类别：%(missing)s。")
                % {
                    "unit": data["unit"].name,
                    "year": year,
                    "dimension": Dimension(dimension).label,
                    "missing": "、".join(missing),
                },
                header=table.headers["category"],
            )
    return errors


def margins_import(*, actor, table: Table, progress: Progress | None = None) -> ImportReport:
    """Store (or replace) the population margins of `table`, all or nothing."""
    first_of: dict[tuple, int] = {}

    def store(checked):
        errors = _incomplete_margins(checked, table)
        rows = []
        for row, data in checked:
            key = (data["unit"].pk, data["year"], data["dimension"], data["category"])
            if key in first_of:
                yield (
                    row,
                    RowError(
                        row=row.number,
                        column="category",
                        code="duplicate_margin",
                        message=_("与第 %(first)d 行的单位、年度、维度和类别重复。")
                        % {"first": first_of[key]},
                        header=table.headers["category"],
                    ),
                )
                continue
            first_of[key] = row.number
            if row.number in errors:
                yield row, errors.pop(row.number)
                continue
            rows.append(PopulationMargin(**data))
            yield row, row.number
        PopulationMargin.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["unit", "year", "dimension", "category"],
            update_fields=["population"],
        )

    return rows_import(
        table=table, check_row=margin_checker(actor=actor), store=store, progress=progress
    )
