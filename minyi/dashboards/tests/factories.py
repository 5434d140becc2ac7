"""Hand-made rows for the dashboards' tests: rollup rows, surveys, callbacks, work orders and
service events, each built directly so a test states exactly what the figure should count."""

import itertools
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from minyi.callbacks.models import Callback as CallbackModel
from minyi.callbacks.models import CallbackKind, CallbackStatus
from minyi.core.pii import lookup_hash
from minyi.orgs.choices import Role
from minyi.perception.models import SatisfactionDaily, ServiceEvent, Survey, SurveyStatus
from minyi.workorders.models import WorkOrder, WorkOrderStatus

_seq = itertools.count(1)


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """An aware local moment on `day`."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def city_supervisor(world):
    """The city bureau's supervisor: sees every unit."""
    return world.user("city", Role.SUPERVISOR)


def daily(unit, business_type, day: date, *, sent=None, ratings=(0, 0, 0, 0, 0), excluded=0):
    """A perception.SatisfactionDaily row (the rollup the dashboards read), added to if the
    key exists. `ratings` are the counts of ratings 1..5."""
    row, _created = SatisfactionDaily.objects.get_or_create(
        day=day, unit=unit, business_type=business_type
    )
    replies = sum(ratings)
    row.events += sent if sent is not None else replies
    row.surveys_sent += sent if sent is not None else replies
    row.replies += replies
    for i, n in enumerate(ratings, start=1):
        setattr(row, f"rating_{i}", getattr(row, f"rating_{i}") + n)
    row.excluded += excluded
    row.save()
    return row


def satisfied(n: int, unsatisfied: int = 0) -> tuple:
    """Ratings tuple: n satisfied (rated 2) and `unsatisfied` (rated 4)."""
    return (0, n, 0, unsatisfied, 0)


def event(unit, business_type, *, mobile="13800001111", occurred_at=None, officers=()):
    occurred_at = occurred_at or timezone.now() - timedelta(hours=1)
    e = ServiceEvent.objects.create(
        source="dash-test",
        external_id=f"D{next(_seq)}",
        business_type=business_type,
        unit=unit,
        citizen_mobile=mobile,
        citizen_mobile_hash=lookup_hash("mobile", mobile) if mobile else "",
        occurred_at=occurred_at,
        received_at=occurred_at,
    )
    if officers:
        e.officers.set(officers)
    return e


def survey(
    unit,
    business_type,
    *,
    rating=None,
    occurred_at=None,
    mobile="13800001111",
    officers=(),
    comment="",
    excluded=False,
) -> Survey:
    e = event(unit, business_type, mobile=mobile, occurred_at=occurred_at, officers=officers)
    answered = rating is not None
    return Survey.objects.create(
        event=e,
        mobile_hash=e.citizen_mobile_hash,
        unit=unit,
        business_type=business_type,
        contact_at=e.occurred_at,
        token=f"t{next(_seq)}",
        status=SurveyStatus.ANSWERED if answered else SurveyStatus.EXPIRED,
        send_at=e.occurred_at,
        sent_at=e.occurred_at,
        rating=rating,
        comment=comment,
        answered_at=e.occurred_at + timedelta(minutes=40) if answered else None,
        answered_via="sms" if answered else "",
        excluded_at=timezone.now() if excluded else None,
    )


def callback(
    unit,
    business_type,
    *,
    due_at,
    completed_at=None,
    kind=CallbackKind.FIRST,
    tags=(),
    attribution="",
    centre=None,
    mobile="13800001111",
    status=None,
):
    s = survey(unit, business_type, rating=4, occurred_at=due_at - timedelta(days=1), mobile=mobile)
    if status is None:
        status = CallbackStatus.DONE if completed_at else CallbackStatus.OPEN
    return CallbackModel.objects.create(
        survey=s,
        kind=kind,
        centre=centre or unit,
        unit=unit,
        status=status,
        created_at=due_at - timedelta(hours=24),
        due_at=due_at,
        completed_at=completed_at,
        tags=list(tags),
        attribution=attribution,
    )


def work_order(
    unit,
    business_type,
    *,
    dispatched_at,
    deadline: date,
    status=WorkOrderStatus.DISPATCHED,
    feedback_at=None,
    closed_at=None,
    resolved=False,
):
    cb = callback(
        unit,
        business_type,
        due_at=dispatched_at,
        completed_at=dispatched_at - timedelta(hours=1),
        attribution="at_fault",
        tags=["attitude"],
    )
    return WorkOrder.objects.create(
        number=f"ZG{next(_seq):010d}",
        callback=cb,
        survey=cb.survey,
        unit=unit,
        centre=unit,
        business_type=business_type,
        status=status,
        problem="态度不好",
        dispatched_at=dispatched_at,
        deadline=deadline,
        feedback_at=feedback_at,
        closed_at=closed_at,
        resolved=resolved,
    )
