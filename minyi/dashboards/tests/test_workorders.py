"""Work orders: on time, closure, true resolution, overdue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.core.periods import period_parse
from minyi.dashboards.figures.workorders import workorder_performance_for
from minyi.dashboards.tests.factories import (
    at,
    city_supervisor,
    days_ago,
    work_order,
)
from minyi.workorders.models import WorkOrderStatus

pytestmark = pytest.mark.django_db


def test_work_orders_on_time_overdue_closure_and_true_resolution(world, btypes, rolled):
    hukou = btypes["hukou"]
    today = timezone.localdate()
    sent = at(days_ago(10), 9)
    deadline = days_ago(3)
    a1 = world.station_a1
    # Fed back in time, closed after a satisfied 追评
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.CLOSED,
               feedback_at=at(days_ago(4)), closed_at=at(days_ago(2)), resolved=True)  # fmt: skip
    # Fed back on the deadline day itself, closed without a satisfied 追评
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.CLOSED,
               feedback_at=at(deadline, 20), closed_at=at(days_ago(1)))  # fmt: skip
    # Fed back late, waiting for the 追评
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.FEEDBACK,
               feedback_at=at(days_ago(2)))  # fmt: skip
    # No feedback and past the deadline: late and overdue now
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.ACCEPTED)
    # Still within its deadline
    work_order(a1, hukou, dispatched_at=sent, deadline=today + timedelta(days=2))
    # Cancelled after an upheld appeal: left out of the rates
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.CANCELLED)
    rolled()

    figure = workorder_performance_for(
        city_supervisor(world), world.city, period=period_parse("30")
    )

    t = figure["total"]
    assert t["dispatched"] == 5 and t["cancelled"] == 1
    assert (t["on_time"]["s"], t["on_time"]["n"]) == (2, 4)
    assert (t["closure"]["s"], t["closure"]["n"]) == (2, 5)
    assert (t["resolution"]["s"], t["resolution"]["n"]) == (1, 2)
    assert t["overdue_now"] == 1 and t["open"] == 3
