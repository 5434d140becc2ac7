"""Business figures: the import (every bad row named, nothing stored from a bad file, the
stored file's preview and run) and the figures Minyi computes, counted as the dashboards do."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from minyi.assessment.figures import (
    COLUMNS,
    business_figures_compute,
    business_figures_import,
    figures_import_confirm,
    figures_import_preview,
    figures_import_run,
    figures_import_upload,
)
from minyi.assessment.models import BusinessCode, BusinessFigure, FigureSource
from minyi.core.imports import table_read
from minyi.core.models import ImportStatus
from minyi.opinions.models import Opinion
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role
from minyi.perception.services.daily import rollup_exclude
from minyi.workorders.models import WorkOrder, WorkOrderStatus
from minyi.workorders.tests.factories import at_fault_order, open_centres, unsatisfied_survey

HEADER = "单位代码,指标,起始日期,截止日期,分子,分母\n"


def _table(text: str):
    return table_read((HEADER + text).encode(), columns=COLUMNS)


def test_a_bad_file_names_every_bad_row_and_stores_nothing(world):
    # Given a district administrator's file with one good row and one of each mistake
    admin = world.user("a", Role.ADMIN)
    table = _table(
        "TA01,破案率,2026-01-01,2026-06-30,40,100\n"  # 2: good
        "XX99,破案率,2026-01-01,2026-06-30,40,100\n"  # 3: unknown unit
        "TB01,破案率,2026-01-01,2026-06-30,40,100\n"  # 4: another district's station
        "TA01,抓捕率,2026-01-01,2026-06-30,40,100\n"  # 5: unknown indicator
        "TA02,recovery,2026-01-01,2026-06-30,140,100\n"  # 6: numerator > denominator
        "TA02,破案率,2026-01-01,2026-06-30,-3,100\n"  # 7: negative
        "TA02,追赃率,2026-06-30,2026-01-01,3,100\n"  # 8: dates reversed
        "TA01,clearance,2026-01-01,2026-06-30,41,100\n"  # 9: same as row 2
        "TA02,回访满意率,2026-01-01,2026-06-30,3,10\n"  # 10: computed by Minyi
        "TA02,破案率,2026/13/01,2026-06-30,3,10\n"  # 11: not a date
    )
    # When it is imported
    report = business_figures_import(actor=admin, table=table)
    # Then every mistake is named by row and column, and nothing is stored
    assert not report.stored
    found = {(e.row, e.column, e.code) for e in report.errors}
    assert found == {
        (3, "unit_code", "unknown_unit"),
        (4, "unit_code", "unit_out_of_scope"),
        (5, "indicator", "unknown_indicator"),
        (6, "numerator", "numerator_above_denominator"),
        (7, "numerator", "negative_count"),
        (8, "period_end", "period_reversed"),
        (9, "", "duplicate_figure"),
        (10, "indicator", "indicator_computed"),
        (11, "period_start", "invalid_date"),
    }
    messages = {e.row: e.message for e in report.errors}
    assert messages[3] == "单位代码“XX99”不存在。"
    assert messages[4] == "单位“乙一派出所”不在您的管辖范围内。"
    assert messages[6] == "分子（140）大于分母（100）。"
    assert messages[9] == "与第 2 行重复（同一单位、指标和期间）。"
    assert not BusinessFigure.objects.exists()


def test_a_good_file_is_stored_and_a_second_import_replaces_the_figure(world):
    admin = world.user("a", Role.ADMIN)
    report = business_figures_import(
        actor=admin, table=_table("TA01,破案率,2026-01-01,2026-06-30,40,100\n")
    )
    assert report.stored and report.results[0]["created"]
    report = business_figures_import(
        actor=admin, table=_table("TA01,clearance,2026-01-01,2026-06-30,45,100\n")
    )
    assert report.stored and not report.results[0]["created"]
    stored = BusinessFigure.objects.get()
    assert (stored.code, stored.numerator, stored.denominator, stored.source) == (
        BusinessCode.CLEARANCE,
        45,
        100,
        FigureSource.IMPORTED,
    )


def test_the_stored_import_previews_then_runs_all_or_nothing(world):
    admin = world.user("a", Role.ADMIN)
    body = HEADER + "TA01,破案率,2026-01-01,2026-06-30,40,100\nTA02,追赃率,x,2026-06-30,1,2\n"
    record = figures_import_upload(
        actor=admin, upload=SimpleUploadedFile("业务指标.csv", body.encode())
    )
    preview = figures_import_preview(record=record)
    assert preview.row_count == 2
    assert [(e.row, e.code) for e in preview.errors] == [(3, "invalid_date")]
    figures_import_confirm(actor=admin, record=record)
    record = figures_import_run(record.pk)
    assert record.status == ImportStatus.REFUSED
    assert record.errors[0]["row"] == 3 and record.errors[0]["header"] == "起始日期"
    assert not BusinessFigure.objects.exists()

    good_body = HEADER + "TA01,破案率,2026-01-01,2026-06-30,4,9\n"
    good = figures_import_upload(
        actor=admin, upload=SimpleUploadedFile("ok.csv", good_body.encode())
    )
    figures_import_confirm(actor=admin, record=good)
    good = figures_import_run(good.pk)
    assert good.status == ImportStatus.DONE and good.result["rows"] == 1
    assert BusinessFigure.objects.get().source_import == good


def test_computed_figures_count_as_the_dashboards_do(world, btypes, daytime):
    # Given at station a2: a satisfied rating, an at-fault one (its callback done on time, its
    # work order fed back and closed after a satisfied 追评), an unsatisfied rating taken out
    # by an upheld appeal (its callback still open), and two opinions, one answered
    open_centres(world)
    unsatisfied_survey(world, rating=2)
    order = at_fault_order(world)
    WorkOrder.objects.filter(pk=order.pk).update(
        feedback_at=timezone.now(), status=WorkOrderStatus.CLOSED, resolved=True
    )
    appealed = unsatisfied_survey(world, rating=5)
    appealed.excluded_at = timezone.now()
    appealed.save()
    rollup_exclude(appealed.event, 5)
    answered, _open = make_opinion(world), make_opinion(world)
    Opinion.objects.filter(pk=answered.pk).update(answered_at=timezone.now())
    # and at station b1, in another district, one satisfied rating
    unsatisfied_survey(world, unit_key="b1", rating=1)
    today = timezone.localdate()

    # When district A's figures are computed for the period
    stored = business_figures_compute(
        owner=world.district_a,
        period_start=today - timedelta(days=3),
        period_end=today + timedelta(days=1),
    )

    # Then station a2 has each figure with the dashboards' numerator and denominator
    figures = {
        f.code: (f.numerator, f.denominator)
        for f in BusinessFigure.objects.filter(unit=world.station_a2)
    }
    assert figures == {
        BusinessCode.SURVEY_SATISFACTION: (1, 2),  # the appealed rating left out
        BusinessCode.CALLBACK_ON_TIME: (1, 2),  # the open one counts as not on time
        BusinessCode.RECTIFICATION_ON_TIME: (1, 1),
        BusinessCode.TRUE_RESOLUTION: (1, 1),
        BusinessCode.OPINION_REPLY: (1, 2),
    }
    assert stored == 5
    assert not BusinessFigure.objects.filter(unit=world.station_b1).exists()
    assert set(BusinessFigure.objects.values_list("source", flat=True)) == {FigureSource.COMPUTED}


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.UNIT_LEADER])
def test_only_administrators_import(world, role):
    from minyi.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        business_figures_import(
            actor=world.user("a", role), table=_table("TA01,破案率,2026-01-01,2026-06-30,4,9\n")
        )
