"""Poll imports: a polling firm's respondent file and population margins, through the stored
import (file kept, preview, confirm, background run, progress), refused with a precise
message naming row and column whenever anything is bad, and then storing nothing."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from minyi.core.errors import ApplicationError
from minyi.core.imports import import_progress_writer, table_read
from minyi.core.models import ImportFile, ImportStatus
from minyi.orgs.choices import Role
from minyi.polls.imports import (
    MARGIN_COLUMNS,
    RESPONDENT_COLUMNS,
    margins_import,
    respondents_import,
)
from minyi.polls.models import PollEstimate, PollRespondent, PopulationMargin
from minyi.polls.services import (
    margins_upload,
    poll_import_confirm,
    poll_import_preview,
    poll_import_run,
    respondents_upload,
)
from minyi.polls.tests.factories import HEADER, csv_bytes, make_poll, respondent_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _row(code="TA01", ref="R1", age="30-44", sex="男", res="户籍", answers=None, day="2026-05-03"):
    answers = answers or ["是", "满意", "1", "不满意", "见过"]
    return [code, ref, age, sex, res, *answers, "", day]


def _import(world, rows, *, actor=None, poll=None, header=HEADER):
    poll = poll or make_poll(world)
    actor = actor or world.user("city", Role.ADMIN)
    table = table_read(csv_bytes(rows, header), columns=RESPONDENT_COLUMNS, max_bytes=2**25)
    return poll, respondents_import(actor=actor, poll=poll, table=table)


def _errors(report):
    return [(e.row, e.header, e.message) for e in report.errors]


# --- Respondents: what a row means ---------------------------------------------------------


def test_a_good_file_stores_every_respondent_with_its_answers(world):
    rows = [
        _row(ref="R1", answers=["是", "满意", "1", "不满意", "见过"]),
        _row(
            code="ta02",
            ref="R2",
            age="60岁及以上",
            sex="女",
            res="流动人口",
            answers=["否", "", "0", "满意", "没见过"],
        ),
    ]
    rows[1][10] = "希望多巡逻，电话13812345678"
    poll, report = _import(world, rows)
    assert report.stored and len(report.results) == 2
    first, second = PollRespondent.objects.filter(poll=poll).order_by("respondent_ref")
    assert (first.unit, first.age_band, first.sex, first.residence) == (
        world.station_a1,
        "30-44",
        "m",
        "registered",
    )
    assert [
        first.saw_police,
        first.attitude,
        first.familiarity,
        first.satisfaction,
        first.safety,
    ] == [True, True, True, False, True]
    assert (second.unit, second.age_band, second.sex, second.residence) == (
        world.station_a2,
        "60+",
        "f",
        "floating",
    )
    assert [
        second.saw_police,
        second.attitude,
        second.familiarity,
        second.satisfaction,
        second.safety,
    ] == [False, None, False, True, False]
    # The comment is stored encrypted: the column's raw value is not the text.
    assert second.comment == "希望多巡逻，电话13812345678"
    with connection.cursor() as cursor:
        cursor.execute("SELECT comment FROM polls_pollrespondent WHERE id = %s", [second.pk])
        (raw,) = cursor.fetchone()
    assert raw and "13812345678" not in raw and "巡逻" not in raw


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [_row(age="17岁")],
            [
                (
                    2,
                    "年龄段",
                    "“17岁”不是有效的年龄段，应填：18-29岁、30-44岁、45-59岁、60岁及以上。",
                )
            ],
        ),
        ([_row(sex="")], [(2, "性别", "不能为空，应填：男、女。")]),
        (
            [_row(res="本市")],
            [(2, "户籍", "“本市”不是有效的户籍，应填：户籍人口、流动人口。")],
        ),
        (
            [_row(answers=["是", "一般", "是", "是", "是"])],
            [
                (
                    2,
                    "服务态度",
                    "“一般”不是有效的回答，应填 是/否、1/0、满意/不满意、见过/没见过等，未答留空。",
                )
            ],
        ),
        ([_row(code="ZZ99")], [(2, "单位代码", "单位代码“ZZ99”不存在。")]),
        (
            [_row(day="2026-06-01")],
            [
                (
                    2,
                    "答卷日期",
                    "答卷日期 2026-06-01 不在本次测评的调查期（2026-05-01 至 2026-05-31）内。",
                )
            ],
        ),
        ([_row(day="5月3日")], [(2, "答卷日期", "“5月3日”不是有效的日期，应如 2026-05-03。")]),
        ([_row(ref="")], [(2, "样本编号", "样本编号不能为空。")]),
        (
            [_row(ref="R1"), _row(ref="R2"), _row(ref="R1")],
            [(4, "样本编号", "样本编号“R1”与第 2 行重复。")],
        ),
    ],
    ids=[
        "age",
        "sex-blank",
        "residence",
        "answer",
        "unknown-unit",
        "date-outside",
        "date-bad",
        "ref-blank",
        "duplicate",
    ],
)
def test_a_bad_row_is_named_and_nothing_is_stored(world, rows, expected):
    poll, report = _import(world, rows)
    assert not report.stored
    assert _errors(report) == expected
    assert not PollRespondent.objects.filter(poll=poll).exists()


def test_one_bad_row_among_good_ones_stores_none_of_them(world):
    rows = [_row(ref=f"R{i}") for i in range(10)] + [_row(ref="X", code="ZZ99")]
    _poll, report = _import(world, rows)
    assert _errors(report) == [(12, "单位代码", "单位代码“ZZ99”不存在。")]
    assert PollRespondent.objects.count() == 0


def test_a_respondent_already_stored_for_the_poll_is_refused(world):
    poll, first = _import(world, [_row(ref="R1")])
    assert first.stored
    _poll, again = _import(world, [_row(ref="R2"), _row(ref="R1")], poll=poll)
    assert _errors(again) == [(3, "样本编号", "样本编号“R1”已在本次测评中导入过。")]
    assert list(PollRespondent.objects.values_list("respondent_ref", flat=True)) == ["R1"]


def test_a_unit_outside_the_importers_subtree_is_refused(world):
    # The district's administrator imports into the city's poll a row of the other district.
    poll = make_poll(world)
    _poll, report = _import(
        world, [_row(code="TB01")], poll=poll, actor=world.user("a", Role.ADMIN)
    )
    assert _errors(report) == [(2, "单位代码", "单位“乙一派出所（TB01）”不在您的管辖范围内。")]
    assert not PollRespondent.objects.exists()


def test_a_unit_outside_the_polls_unit_is_refused(world):
    poll = make_poll(world, unit=world.district_a)
    _poll, report = _import(world, [_row(code="TB01")], poll=poll)
    assert _errors(report) == [
        (2, "单位代码", "单位“乙一派出所（TB01）”不在本次测评的范围（甲区分局）内。")
    ]


def test_missing_required_columns_are_named(world):
    header = [h for h in HEADER if h not in ("安全感", "答卷日期")]
    with pytest.raises(ApplicationError) as refused:
        table_read(csv_bytes([], header), columns=RESPONDENT_COLUMNS)
    assert refused.value.message == "缺少列：safety（安全感）, answered_on（答卷日期）"


def test_aliases_of_the_headers_are_accepted(world):
    header = [
        "单位编码",
        "问卷编号",
        "年龄",
        "性别",
        "户籍类型",
        "见警",
        "态度",
        "知晓率",
        "总体满意度",
        "安全感满意度",
        "调查日期",
    ]
    row = _row()
    del row[10]  # no comment column: it is optional
    poll, report = _import(world, [row], header=header)
    assert report.stored and PollRespondent.objects.get(poll=poll).respondent_ref == "R1"


# --- Firm-supplied weights (权重) -------------------------------------------------------------


def _weighted(rows, weights):
    return [[*row, w] for row, w in zip(rows, weights, strict=True)], [*HEADER, "权重"]


def test_firm_weights_summing_to_each_units_count_are_kept(world):
    rows, header = _weighted([_row(ref=f"R{i}") for i in range(4)], ["0.5", "1.5", "0.8", "1.2"])
    _poll, report = _import(world, rows, header=header)
    assert report.stored
    assert sorted(PollRespondent.objects.values_list("weight", flat=True)) == [0.5, 0.8, 1.2, 1.5]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        (
            ["1", "1", "1", "1.2"],
            [
                (
                    2,
                    "权重",
                    "单位“甲一派出所（TA01）”的权重合计为 4.20，与该单位样本数 4 相差超过 1%"
                    "（该单位首行为第 2 行）。",
                )
            ],
        ),
        (["0.2", "1.8", "1", "1"], [(2, "权重", "权重 0.2 超出允许范围 [0.3, 3]。")]),
        (["1", "", "1", "1"], [(3, "权重", "文件有权重列时，每行都要填写权重。")]),
        (["1", "一", "1", "1"], [(3, "权重", "“一”不是数字。")]),
    ],
    ids=["sum", "range", "blank", "text"],
)
def test_bad_firm_weights_are_refused(world, weights, expected):
    rows, header = _weighted([_row(ref=f"R{i}") for i in range(4)], weights)
    _poll, report = _import(world, rows, header=header)
    assert _errors(report) == expected
    assert not PollRespondent.objects.exists()


# --- Population margins (人口结构) ---------------------------------------------------------------

MARGIN_HEADER = ["单位代码", "年度", "维度", "类别", "人数"]


def _margins(world, rows, actor=None):
    table = table_read(csv_bytes(rows, MARGIN_HEADER), columns=MARGIN_COLUMNS)
    return margins_import(actor=actor or world.user("city", Role.ADMIN), table=table)


def test_margins_are_stored_and_replaced_on_a_second_import(world):
    rows = [["TA01", "2026", "性别", "男", "5100"], ["TA01", "2026", "性别", "女", "4900"]]
    assert _margins(world, rows).stored
    rows[0][4] = "5200"
    assert _margins(
        world,
        [
            *rows,
            ["TA01", "2026年", "户籍", "户籍", "7000"],
            ["TA01", "2026", "户籍", "流动", "3,000"],
        ],
    ).stored
    stored = dict(PopulationMargin.objects.values_list("category", "population"))
    assert stored == {"m": 5200, "f": 4900, "registered": 7000, "floating": 3000}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [["TA01", "2026", "性别", "男", "5100"]],
            [(2, "类别", "单位“甲一派出所”2026 年的“性别”缺少类别：女。")],
        ),
        (
            [["TA01", "2026", "学历", "本科", "1"]],
            [(2, "维度", "“学历”不是有效的维度，应填：年龄段、性别、户籍。")],
        ),
        (
            [["TA01", "2026", "性别", "男", "-5"], ["TA01", "2026", "性别", "女", "1"]],
            [(2, "人数", "人数“-5”应为非负整数。")],
        ),
        (
            [
                ["TA01", "2026", "性别", "男", "5"],
                ["TA01", "2026", "性别", "女", "1"],
                ["TA01", "2026", "性别", "男", "6"],
            ],
            [(4, "类别", "与第 2 行的单位、年度、维度和类别重复。")],
        ),
        (
            [["TA01", "26", "性别", "男", "5"], ["TA01", "2026", "性别", "女", "1"]],
            [(2, "年度", "“26”不是有效的年度，应如 2026。")],
        ),
    ],
    ids=["incomplete", "dimension", "negative", "duplicate", "year"],
)
def test_bad_margins_are_refused(world, rows, expected):
    report = _margins(world, rows)
    assert _errors(report) == expected
    assert not PopulationMargin.objects.exists()


def test_margins_of_a_unit_outside_the_importers_subtree_are_refused(world):
    rows = [["TB01", "2026", "性别", "男", "5"], ["TB01", "2026", "性别", "女", "1"]]
    report = _margins(world, rows, actor=world.user("a", Role.ADMIN))
    assert _errors(report)[0] == (2, "单位代码", "单位“乙一派出所（TB01）”不在您的管辖范围内。")


# --- The stored import: file kept, preview, confirm, progress, outcome -------------------------


def _upload(data: bytes, name="样本.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_the_file_is_kept_previewed_then_imported_and_weighed(world):
    admin = world.user("city", Role.ADMIN)
    poll = make_poll(world)
    data = csv_bytes(respondent_rows({"TA01": 30, "TA02": 25}))
    record = respondents_upload(actor=admin, poll=poll, upload=_upload(data))
    # Kept for audit: the bytes as they came, their digest, who, for which poll
    assert record.status == ImportStatus.UPLOADED and record.target == {"poll": poll.pk}
    assert record.sha256 == hashlib.sha256(data).hexdigest() and record.size == len(data)
    with record.file.open("rb") as kept:
        assert kept.read() == data
    # Preview: the columns recognised, the first rows as parsed, the count, no errors yet
    preview = poll_import_preview(record=record)
    assert preview.row_count == 55 and len(preview.rows) == 20 and not preview.errors
    assert [c.name for c in preview.present] == [
        c.name for c in RESPONDENT_COLUMNS if c.name != "weight"
    ]
    assert not PollRespondent.objects.exists()
    # Confirmed, then run (the task's body)
    poll_import_confirm(actor=admin, record=record)
    done = poll_import_run(record.pk)
    assert done.status == ImportStatus.DONE and done.result["rows"] == 55
    assert PollRespondent.objects.filter(poll=poll, source_import=record).count() == 55
    assert PollEstimate.objects.filter(poll=poll).count() == 2 * 5
    # A second confirm starts nothing
    with pytest.raises(ApplicationError) as again:
        poll_import_confirm(actor=admin, record=done)
    assert again.value.code == "import_not_pending"


def test_a_refused_run_keeps_every_error_and_stores_nothing(world):
    admin = world.user("city", Role.ADMIN)
    poll = make_poll(world)
    rows = respondent_rows({"TA01": 30})
    rows[24][0] = "ZZ99"
    rows[27][11] = "2026-07-01"
    record = respondents_upload(actor=admin, poll=poll, upload=_upload(csv_bytes(rows)))
    assert not poll_import_preview(record=record).errors  # the bad rows lie past the preview
    poll_import_confirm(actor=admin, record=record)
    done = poll_import_run(record.pk)
    assert done.status == ImportStatus.REFUSED and done.result["error_count"] == 2
    assert [(e["row"], e["header"], e["code"]) for e in done.errors] == [
        (26, "单位代码", "unknown_unit"),
        (29, "答卷日期", "date_outside_fielding"),
    ]
    assert not PollRespondent.objects.exists() and not PollEstimate.objects.exists()


def test_a_file_missing_columns_is_refused_at_preview(world):
    admin = world.user("city", Role.ADMIN)
    header = [h for h in HEADER if h != "满意度"]
    record = respondents_upload(
        actor=admin, poll=make_poll(world), upload=_upload(csv_bytes([], header))
    )
    with pytest.raises(ApplicationError):
        poll_import_preview(record=record)
    record.refresh_from_db()
    assert record.status == ImportStatus.REFUSED
    assert record.errors[0]["message"] == "缺少列：satisfaction（满意度）"


def test_progress_is_written_on_the_import_row(world):
    admin = world.user("city", Role.ADMIN)
    record = respondents_upload(
        actor=admin, poll=make_poll(world), upload=_upload(csv_bytes([_row()]))
    )
    progress = import_progress_writer(record)
    progress("check", 500, 1200)
    assert ImportFile.objects.values_list("stage", "rows_done", "rows_total").get() == (
        "check",
        500,
        1200,
    )
    # Checking done: the row says "store" before the writing transaction starts
    progress("check", 1200, 1200)
    assert ImportFile.objects.values_list("stage", "rows_done", "rows_total").get() == (
        "store",
        0,
        1200,
    )


def test_a_margins_file_runs_through_the_same_steps(world):
    admin = world.user("city", Role.ADMIN)
    rows = [["TA01", "2026", "性别", "男", "5"], ["TA01", "2026", "性别", "女", "1"]]
    record = margins_upload(actor=admin, upload=_upload(csv_bytes(rows, MARGIN_HEADER)))
    assert record.unit == world.city and poll_import_preview(record=record).row_count == 2
    poll_import_confirm(actor=admin, record=record)
    assert poll_import_run(record.pk).status == ImportStatus.DONE
    assert PopulationMargin.objects.count() == 2


def test_only_administrators_upload(world):
    poll = make_poll(world)
    with pytest.raises(ApplicationError) as refused:
        respondents_upload(
            actor=world.user("city", Role.SUPERVISOR), poll=poll, upload=_upload(b"x")
        )
    assert refused.value.code == "permission_denied"
    assert not ImportFile.objects.exists()
