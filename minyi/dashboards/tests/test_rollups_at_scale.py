"""Issue 18: the rollups and the paging that keep the dashboards fast at 10 million answers
give exactly what reading the rows live gives."""

from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.core.periods import period_parse
from minyi.dashboards.drill import Cursor, drill_page
from minyi.dashboards.figures.officers import officer_satisfaction_for
from minyi.dashboards.figures.repeat_contacts import repeat_contacts_for
from minyi.dashboards.figures.workorders import workorder_performance_for
from minyi.dashboards.filters import DrillFilters
from minyi.dashboards.models import FillState, RepeatPeriodCount, WorkOrderDaily
from minyi.dashboards.rollups import (
    REPEAT_COUNTS,
    dashboard_rollups_refresh,
    officer_rollup_fill,
    repeat_contacts_fill,
    repeat_counts_refresh,
    workorder_rollup_fill,
)
from minyi.dashboards.scope import UnitIndex
from minyi.dashboards.tests.factories import (
    at,
    city_supervisor,
    days_ago,
    event,
    survey,
    work_order,
)
from minyi.orgs.tests.factories import OfficerFactory
from minyi.workorders.models import WorkOrderEvent, WorkOrderStatus

pytestmark = pytest.mark.django_db
LATER = timedelta(days=15)  # every survey final, every row past the fill lag


def _orders(world, btypes):
    hukou, jcj = btypes["hukou"], btypes["jcj_110"]
    sent, deadline = at(days_ago(10), 9), days_ago(3)
    closed = {"status": WorkOrderStatus.CLOSED, "dispatched_at": sent, "deadline": deadline}
    work_order(world.station_a1, hukou, **closed, feedback_at=at(days_ago(4)), resolved=True)
    work_order(world.station_a1, jcj, dispatched_at=sent, deadline=deadline,
               status=WorkOrderStatus.CLOSED, feedback_at=at(days_ago(1)))  # fmt: skip
    work_order(world.station_b1, hukou, dispatched_at=sent, deadline=deadline,
               status=WorkOrderStatus.CANCELLED)  # fmt: skip
    return work_order(world.station_a1, hukou, dispatched_at=sent, deadline=deadline,
                      status=WorkOrderStatus.AUDIT, feedback_at=at(days_ago(2)))  # fmt: skip


def _work_figures(world, btypes):
    user = city_supervisor(world)
    return [
        workorder_performance_for(user, world.city, period=period_parse("30"), business_type=bt)
        for bt in (None, btypes["hukou"].pk)
    ]


def test_work_orders_from_the_rollup_and_live_agree_as_orders_close(world, btypes):
    open_order = _orders(world, btypes)
    live = _work_figures(world, btypes)
    workorder_rollup_fill(now=timezone.now() + LATER)
    assert WorkOrderDaily.objects.count() == 3  # the final orders, per unit, day and type
    assert _work_figures(world, btypes) == live

    # Closed after the rollup was built: read live until the next pass adds it, never twice.
    open_order.status, open_order.resolved = WorkOrderStatus.CLOSED, True
    open_order.save()
    WorkOrderEvent.objects.create(order=open_order, from_status="audit", to_status="closed")
    closed = _work_figures(world, btypes)
    assert closed[0]["total"]["closure"]["s"] == live[0]["total"]["closure"]["s"] + 1
    workorder_rollup_fill(now=timezone.now() + LATER)
    assert _work_figures(world, btypes) == closed


def test_officer_figure_with_a_business_type_reads_the_rollup(
    world, btypes, django_assert_num_queries
):
    hukou, jcj = btypes["hukou"], btypes["jcj_110"]
    busy, other = world.officers["a1"], OfficerFactory(unit=world.station_a1, name="二号民警")
    for rating in (1, 2, 2, 3, 4, 5):
        survey(world.station_a1, hukou, rating=rating, officers=[busy, other])
    for rating in (1, 1, 2, 2, 5):
        survey(world.station_a1, jcj, rating=rating, officers=[busy])
    user, period = city_supervisor(world), period_parse("30")

    def figures():
        return [
            sorted(
                (r["officer"].pk, r["s"], r["n"])
                for r in officer_satisfaction_for(
                    user, world.station_a1, period=period, business_type=bt
                )["rows"]
            )
            for bt in (None, hukou.pk, jcj.pk)
        ]

    live = figures()
    assert live == [
        [(busy.pk, 8, 11), (other.pk, 4, 6)],
        [(busy.pk, 4, 6), (other.pk, 4, 6)],
        [(busy.pk, 4, 5)],
    ]
    officer_rollup_fill(now=timezone.now() + LATER)
    assert figures() == live


def _repeats(world, btypes):
    hukou, jcj = btypes["hukou"], btypes["jcj_110"]
    for i in range(6):
        mobile = f"1390000000{i}"
        event(world.station_a1, hukou, mobile=mobile, occurred_at=at(days_ago(20)))
        event(world.station_a2 if i % 2 else world.station_a1, hukou, mobile=mobile,
              occurred_at=at(days_ago(5)))  # fmt: skip
    for i in range(2):
        mobile = f"1370000000{i}"
        event(world.station_b1, jcj, mobile=mobile, occurred_at=at(days_ago(80)))
        event(world.station_b1, jcj, mobile=mobile, occurred_at=at(days_ago(70)))
        event(world.station_b1, jcj, mobile=mobile, occurred_at=at(days_ago(15)))
        event(world.station_b1, jcj, mobile=mobile, occurred_at=at(days_ago(10)))
    repeat_contacts_fill(now=timezone.now() + timedelta(minutes=10))


def _repeat_figures(world, btypes):
    user, out = city_supervisor(world), []
    month = f"{timezone.localdate():%Y-%m}"
    for unit in (world.city, world.district_a, world.station_a1):
        for period in ("30", "90", "365", month):
            for bt in (None, btypes["hukou"].pk):
                fig = repeat_contacts_for(user, unit, period=period_parse(period), business_type=bt)
                fig.pop("updated_at")
                out.append(fig)
    return out


def test_repeat_counts_per_period_are_the_live_counts(world, btypes):
    _repeats(world, btypes)
    live = _repeat_figures(world, btypes)
    assert repeat_counts_refresh() is True
    assert RepeatPeriodCount.objects.exists()
    assert _repeat_figures(world, btypes) == live
    assert repeat_counts_refresh() is False  # nothing new: not counted again
    # A new repeat makes the counts stale: read live until they are counted again.
    event(world.station_a1, btypes["hukou"], mobile="13900000000", occurred_at=at(days_ago(1)))
    repeat_contacts_fill(now=timezone.now() + timedelta(minutes=10))
    assert FillState.objects.get(name=REPEAT_COUNTS).last_day == timezone.localdate()
    fresh = _repeat_figures(world, btypes)
    assert fresh != live
    assert repeat_counts_refresh() is True
    assert _repeat_figures(world, btypes) == fresh


def test_the_refresh_job_keeps_every_new_rollup(world, btypes):
    _orders(world, btypes)
    _repeats(world, btypes)
    result = dashboard_rollups_refresh()
    assert result["repeat_counts"] is True and WorkOrderDaily.objects.exists()
    result = dashboard_rollups_refresh(full=True)
    assert result["repeat_counts"] is True and WorkOrderDaily.objects.count() == 3


def test_keyset_pages_go_through_a_subtree_in_order_without_gaps(world, btypes):
    stations = [world.station_a1, world.station_a2, world.station_b1]
    base = timezone.now() - timedelta(days=2)
    for i in range(23):
        # Same times in different units, so the id breaks the ties.
        survey(stations[i % 3], btypes["hukou"], rating=2,
               occurred_at=base - timedelta(hours=i // 2))  # fmt: skip
    user = city_supervisor(world)
    index = UnitIndex(user)
    filters = DrillFilters(figure="satisfaction", unit=world.city, period=period_parse("30"))
    pages, result = [], drill_page(user, filters, page=1, page_size=5, index=index)
    pages.append(result)
    while result.after:
        result = drill_page(user, filters, page=1, page_size=5, index=index,
                            after=Cursor.parse(result.after))  # fmt: skip
        pages.append(result)
    seen = [s for p in pages for s in p.rows]
    assert len(seen) == 23 and len({s.pk for s in seen}) == 23
    assert [(s.contact_at, s.pk) for s in seen] == sorted(
        ((s.contact_at, s.pk) for s in seen), reverse=True
    )
    # And back from the last page to the first by the `before` cursors.
    back = pages[-1]
    while back.before:
        previous = drill_page(user, filters, page=1, page_size=5, index=index,
                              before=Cursor.parse(back.before))  # fmt: skip
        assert previous.rows[-1].contact_at >= back.rows[0].contact_at
        back = previous
    assert [s.pk for s in back.rows] == [s.pk for s in pages[0].rows]
