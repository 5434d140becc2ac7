"""The monthly colours in the database (colours_compute) and the report's pages and
downloads, scoped to the reader's subtree."""

import io
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from minyi.community.colours import (
    RULE_VERSION,
    colour_report_for,
    colours_bureau_for,
    colours_compute,
    month_add,
)
from minyi.community.models import AreaColour, AreaLevel, Incident
from minyi.community.tasks import community_colours_task
from minyi.community.tests.factories import make_area, make_grid, make_population
from minyi.core.models import AuditAction, AuditEvent
from minyi.orgs.choices import Role

NOV = date(2026, 11, 1)
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def _incidents(area, n, *, month=date(2026, 6, 1), prefix=None):
    prefix = prefix or area.code
    Incident.objects.bulk_create(
        Incident(
            area=area,
            community=area.community or area,
            category="theft",
            occurred_at=datetime(month.year, month.month, 10, 12, tzinfo=UTC),
            source="t",
            external_id=f"{prefix}-{month:%Y%m}-{i}",
        )
        for i in range(n)
    )


def _populate(area, total=10_000, months=12, end=NOV):
    for i in range(months):
        make_population(area, month_add(end, -i), registered=total - 2000, floating=2000)


@pytest.fixture
def city(world):
    """Twelve communities: a1's and a2's and b1's from make_grid plus nine more, varied, with
    a2's community far above the rest."""
    grid = make_grid(world)
    stations = [world.station_a1, world.station_a2, world.station_b1]
    extra = [make_area(stations[i % 3], name=f"社区{i}") for i in range(9)]
    for area, n in zip(
        [grid["a1"], grid["b1"], *extra], [28, 35, 30, 22, 40, 25, 33, 27, 31, 36, 29], strict=True
    ):
        _populate(area)
        _incidents(area, n)
    _populate(grid["a2"])
    _incidents(grid["a2"], 150)
    return grid


@pytest.mark.django_db
def test_compute_writes_one_row_per_community(world, city):
    written = colours_compute(world.city, NOV, now=NOW)
    assert written == 12
    a2 = AreaColour.objects.get(area=city["a2"], month=NOV)
    assert a2.signal == "red" and a2.colour == "red"  # first month: its signal
    assert a2.observed == 150 and a2.population == 10_000
    assert a2.rate == pytest.approx(150.0)  # per 10,000 a year
    assert a2.ratio >= 1.5 and a2.p_value < 0.01
    assert a2.rule_version == RULE_VERSION
    # The expected counts add up to the observed: the city rate is ΣO / ΣP
    rows = AreaColour.objects.filter(month=NOV)
    assert sum(r.expected for r in rows) == pytest.approx(sum(r.observed for r in rows))
    # Again: the same rows, updated, not doubled
    assert colours_compute(world.city, NOV, now=NOW) == 12
    assert AreaColour.objects.filter(month=NOV).count() == 12


@pytest.mark.django_db
def test_window_is_the_twelve_months_ending_with_the_month(world, city):
    # An incident in December 2025 counts for November 2026's window... no: the window is
    # December 2025 to November 2026, so November 2025 is out and December 2025 is in.
    _incidents(city["a1"], 5, month=date(2025, 11, 1), prefix="old")
    _incidents(city["a1"], 3, month=date(2025, 12, 1), prefix="edge")
    _incidents(city["a1"], 4, month=date(2026, 12, 1), prefix="late")
    colours_compute(world.city, NOV, now=NOW)
    assert AreaColour.objects.get(area=city["a1"], month=NOV).observed == 28 + 3


@pytest.mark.django_db
def test_incidents_in_buildings_count_for_their_community(world, city):
    _incidents(city["building"], 4, prefix="b")
    colours_compute(world.city, NOV, now=NOW)
    assert AreaColour.objects.get(area=city["a1"], month=NOV).observed == 32


@pytest.mark.django_db
def test_no_population_is_grey_and_group_populations_add_up(world, city):
    lonely = make_area(world.station_a1, name="无人口社区")
    _incidents(lonely, 10)
    built = make_area(world.station_a2, name="按小组统计社区")
    for _group in range(2):
        group = make_area(world.station_a2, level=AreaLevel.GROUP, parent=built)
        _populate(group, total=3_000)
    colours_compute(world.city, NOV, now=NOW)
    row = AreaColour.objects.get(area=lonely, month=NOV)
    assert row.signal == "grey" and row.colour == "grey" and row.population == 0
    assert AreaColour.objects.get(area=built, month=NOV).population == 6_000


@pytest.mark.django_db
def test_population_is_the_mean_over_months_with_data(world, city):
    area = make_area(world.station_a1, name="半年数据社区")
    make_population(area, NOV, registered=6_000, floating=0)
    make_population(area, month_add(NOV, -5), registered=4_000, floating=0)
    colours_compute(world.city, NOV, now=NOW)
    assert AreaColour.objects.get(area=area, month=NOV).population == 5_000


@pytest.mark.django_db
def test_colour_changes_after_two_months_in_a_row(world, city):
    # Given a2 shown green in October with a green signal
    colours_compute(world.city, NOV, now=NOW)
    AreaColour.objects.filter(area=city["a2"], month=NOV).update(
        month=month_add(NOV, -1), signal="green", colour="green"
    )
    # When November says red for the first time, it stays green
    colours_compute(world.city, NOV, now=NOW)
    assert AreaColour.objects.get(area=city["a2"], month=NOV).colour == "green"
    # and when December says red again, it turns red
    _incidents(city["a2"], 1, month=date(2026, 12, 1), prefix="dec")
    colours_compute(world.city, date(2026, 12, 15), now=NOW)
    assert AreaColour.objects.get(area=city["a2"], month=date(2026, 12, 1)).colour == "red"


@pytest.mark.django_db
def test_bureau_is_the_city_and_the_task_computes_last_month(world, city):
    assert colours_bureau_for(world.station_a2) == world.city
    result = community_colours_task.call()
    assert result["rows"] == 12
    assert AreaColour.objects.filter(month=date.fromisoformat(result["month"] + "-01")).count()


@pytest.mark.django_db
def test_report_is_scoped_and_sorted(world, city):
    colours_compute(world.city, NOV, now=NOW)
    district = colour_report_for(world.user("a", Role.SUPERVISOR), NOV)
    names = [line.area.name for line in district.lines]
    assert names[0] == "甲二社区"  # red first
    assert "乙一社区" not in names
    assert {line.area.station_id for line in district.lines} <= {
        world.station_a1.pk,
        world.station_a2.pk,
    }
    assert district.focus and district.focus[0].area.name == "甲二社区"
    assert 0 < district.focus_share <= 1
    assert len(district.lines[0].trend) == 12
    b1 = colour_report_for(world.user("b1", Role.SUPERVISOR), NOV)
    assert [line.area.name for line in b1.lines][:1] != ["甲二社区"]
    assert all(line.area.station_id == world.station_b1.pk for line in b1.lines)


@pytest.mark.django_db
def test_report_page_and_downloads(client, world, city):
    colours_compute(world.city, NOV, now=NOW)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    page = client.get(reverse("community:colour_report"), {"month": "2026-11"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "甲二社区" in body and RULE_VERSION in body
    assert "平滑后发案率不低于全市 1.5 倍" in body
    assert "colour-recompute" not in body  # no GRID_MANAGE
    xlsx = client.get(reverse("community:colour_report_xlsx"), {"month": "2026-11"})
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    cells = [str(c) for row in book.worksheets[0].iter_rows(values_only=True) for c in row if c]
    assert "甲二社区" in cells
    assert any(RULE_VERSION in c for c in cells)
    pdf = client.get(reverse("community:colour_report_pdf"), {"month": "2026-11"})
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 2


@pytest.mark.django_db
def test_downloads_of_another_district_hold_nothing_of_it(client, world, city):
    colours_compute(world.city, NOV, now=NOW)
    client.force_login(world.user("b1", Role.SUPERVISOR))
    xlsx = client.get(reverse("community:colour_report_xlsx"), {"month": "2026-11"})
    book = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    text = " ".join(
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
    )
    assert "乙一社区" in text
    assert "甲二社区" not in text and "甲一社区" not in text and "C-A2" not in text
    page = client.get(reverse("community:colour_report"), {"month": "2026-11"}).content.decode()
    assert "甲二社区" not in page


@pytest.mark.django_db
def test_recompute(client, world, city):
    client.force_login(world.user("a2", Role.SUPERVISOR))
    response = client.post(reverse("community:colour_recompute"), {"month": "2026-11"})
    assert response.status_code == 302
    assert AreaColour.objects.filter(month=NOV).count() == 12
    assert client.get(reverse("community:colour_recompute")).status_code == 405
    bad = client.post(reverse("community:colour_recompute"), {"month": "11/2026"})
    assert bad.status_code == 400


@pytest.mark.django_db
def test_empty_report(client, world):
    client.force_login(world.user("a2", Role.SUPERVISOR))
    page = client.get(reverse("community:colour_report"))
    assert page.status_code == 200
    assert "没有辖区社区的颜色数据" in page.content.decode()
    assert client.get(reverse("community:colour_report_pdf")).status_code == 200


@pytest.mark.django_db
def test_report_queries_do_not_grow_with_communities(
    client, world, city, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    colours_compute(world.city, NOV, now=NOW)
    client.force_login(world.user("a", Role.SUPERVISOR))
    url = reverse("community:colour_report") + "?month=2026-11"
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(6):
        area = make_area(world.station_a2, name=f"新增社区{i}")
        _populate(area)
    colours_compute(world.city, NOV, now=NOW)
    with CaptureQueriesContext(connection) as more:
        body = client.get(url).content.decode()
    assert "新增社区5" in body
    assert len(more.captured_queries) == len(few.captured_queries)
