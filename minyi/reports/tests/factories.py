"""A month of data in both districts of the test city (make_world), built with the other
apps' factories: ratings, callbacks with reasons, work orders, opinions by channel (answered
or not), warnings with replies, and the insight tags of the texts. Each district's texts carry
a marker of their own, so a test can tell whether anything of district B reached A's report.
Everything is dated explicitly: the tests pass at any hour."""

import io
from datetime import date, timedelta

import openpyxl
from django.utils import timezone

from minyi.callbacks.models import Callback
from minyi.dashboards.tests.factories import at, callback, daily, satisfied, work_order
from minyi.insight.services import texts_tag_pending
from minyi.opinions.services.handling import opinion_answer
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role
from minyi.perception.tests.factories import business_types
from minyi.reports.models import MonthlyReport
from minyi.warnings.models import WarningColour, WarningReply
from minyi.warnings.tests.factories import make_warning
from minyi.workorders.models import WorkOrderStatus

MONTH = date(2026, 10, 1)
PREVIOUS = date(2026, 9, 1)
# Tuesday 3 November 2026, 10:00: after the first working day of November (Monday the 2nd).
NOW = timezone.make_aware(timezone.datetime(2026, 11, 3, 10, 0))

# Words only district B's texts hold: never in district A's report.
B_MARKER = "乙区独有的投诉内容"
A_MARKER = "甲区群众反映的问题"
MOBILE_IN_TEXT = "13812345678"


def _ratings(unit, bt, month: date, per_day: list[tuple[int, int]]):
    for i, (good, bad) in enumerate(per_day):
        daily(unit, bt, month + timedelta(days=i * 3), ratings=satisfied(good, bad))


def _callbacks(unit, bt, month: date, *, on_time: int, late: int, tags, reason: str):
    made = []
    for i in range(on_time + late):
        due = at(month + timedelta(days=2 + i), 15)
        done = due - timedelta(hours=3) if i < on_time else due + timedelta(hours=5)
        made.append(callback(unit, bt, due_at=due, completed_at=done, tags=tags))
    Callback.objects.filter(pk__in=[c.pk for c in made]).update(reason_text=reason)
    return made


def _opinions(world, unit, month: date, *, marker: str, answered: int, unanswered: int):
    leader = world.user(_key(world, unit), Role.UNIT_LEADER)
    for i in range(answered + unanswered):
        channel = "sms" if i % 3 == 2 else "h5"
        when = at(month + timedelta(days=4 + i), 9)
        opinion = make_opinion(
            world,
            unit=unit,
            channel=channel,
            now=when,
            content=f"{marker}：民警态度很差，办事效率低，联系电话{MOBILE_IN_TEXT}。第{i}件。",
        )
        if i < answered:
            opinion_answer(
                actor=leader,
                opinion=opinion,
                text="您好，您反映的问题已核实处理，相关民警已批评教育，感谢监督。",
                now=when + timedelta(hours=20),
            )


def _key(world, unit) -> str:
    return {
        world.station_a1.pk: "a1",
        world.station_a2.pk: "a2",
        world.station_b1.pk: "b1",
    }[unit.pk]


def month_data(world) -> dict:
    """September and October 2026 in stations a1, a2 (district A) and b1 (district B)."""
    bt = business_types()["hukou"]
    for month, scale in ((PREVIOUS, 1), (MONTH, 2)):
        _ratings(world.station_a1, bt, month, [(20 * scale, 2), (18, 1), (25, 3), (12, 1)])
        _ratings(world.station_a2, bt, month, [(15, 5), (14 * scale, 6), (10, 4), (3, 1)])
        _ratings(world.station_b1, bt, month, [(30, 1), (28, 2), (35 * scale, 1), (22, 0)])
        _callbacks(
            world.station_a2,
            bt,
            month,
            on_time=5,
            late=2 * scale,
            tags=["attitude"],
            reason=f"{A_MARKER}，民警态度不好",
        )
        _callbacks(
            world.station_a1,
            bt,
            month,
            on_time=4,
            late=1,
            tags=["efficiency", "attitude"],
            reason=f"{A_MARKER}，办事太慢",
        )
        _callbacks(
            world.station_b1,
            bt,
            month,
            on_time=6,
            late=0,
            tags=["efficiency"],
            reason=f"{B_MARKER}，跑了好几趟",
        )
    for unit in (world.station_a2, world.station_b1):
        dispatched = at(MONTH + timedelta(days=5), 10)
        work_order(
            unit,
            bt,
            dispatched_at=dispatched,
            deadline=MONTH + timedelta(days=10),
            status=WorkOrderStatus.CLOSED,
            feedback_at=dispatched + timedelta(days=2),
            closed_at=dispatched + timedelta(days=4),
            resolved=True,
        )
        work_order(unit, bt, dispatched_at=dispatched, deadline=MONTH + timedelta(days=12))
    _opinions(world, world.station_a2, MONTH, marker=A_MARKER, answered=4, unanswered=2)
    _opinions(world, world.station_b1, MONTH, marker=B_MARKER, answered=3, unanswered=0)
    _opinions(world, world.station_a2, PREVIOUS, marker=A_MARKER, answered=1, unanswered=1)
    warning_a = make_warning(
        officer=world.officers["a2"], started_at=at(MONTH + timedelta(days=9)), computed_at=NOW
    )
    WarningReply.objects.create(
        warning=warning_a,
        author=world.user("a2", Role.UNIT_LEADER),
        text="已组织整改。",
        created_at=at(MONTH + timedelta(days=11)),
    )
    ended = make_warning(
        unit=world.station_a1,
        colour=WarningColour.ORANGE,
        is_current=False,
        started_at=at(MONTH + timedelta(days=3)),
        ended_at=at(MONTH + timedelta(days=20)),
    )
    make_warning(
        unit=world.station_a1,
        colour=WarningColour.GREEN,
        started_at=at(MONTH + timedelta(days=20)),
        computed_at=NOW,
    )
    make_warning(
        officer=world.officers["b1"], started_at=at(MONTH + timedelta(days=12)), computed_at=NOW
    )
    texts_tag_pending(now=NOW)
    return {"business_type": bt, "warning_a": warning_a, "ended": ended}


def stored_report(unit, *, month: date = MONTH) -> MonthlyReport:
    """A report row with stand-in files (for the pages; test_pdf_xlsx makes real ones). The
    workbook is a real, one-cell one: `make audit` reads every workbook a page sends."""
    book = openpyxl.Workbook()
    book.active["A1"] = unit.name
    xlsx = io.BytesIO()
    book.save(xlsx)
    return MonthlyReport.objects.create(
        unit=unit,
        month=month,
        generated_at=NOW,
        figures={"unit": {"id": unit.pk, "name": unit.name}},
        pdf=b"%PDF-1.4 stand-in",
        xlsx=xlsx.getvalue(),
    )
