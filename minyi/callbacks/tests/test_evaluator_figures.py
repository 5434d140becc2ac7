"""Figures per evaluator (访评员绩效) on hand-made calls and callbacks: the counts and rates,
the period, the scope (a sibling district's centre is not shown), the page and its export."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from minyi.callbacks.evaluators import (
    evaluator_figures_for,
    figures_period_choices,
    figures_period_parse,
)
from minyi.callbacks.models import (
    Callback,
    CallbackAttempt,
    CallbackKind,
    CallbackStatus,
    CallOutcome,
)
from minyi.core.models import AuditAction, AuditEvent
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory
from minyi.workorders.tests.factories import first_callback, open_centres, unsatisfied_survey

pytestmark = pytest.mark.django_db
TODAY = date(2026, 12, 3)
NOVEMBER = figures_period_parse("2026-11", today=TODAY)


def _at(day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(2026, 11, day, hour))


CREATED, CALLED = _at(2), _at(3)
DECEMBER = timezone.make_aware(datetime(2026, 12, 20, 10))
AFTER = timezone.make_aware(datetime(2026, 12, 3, 12))  # November is over


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


@pytest.fixture
def first(world):
    return world.user("a", Role.EVALUATOR)


@pytest.fixture
def second(world):
    return UserFactory(
        username="a_evaluator_2", full_name="李访评", role=Role.EVALUATOR, unit=world.district_a
    )


def _callback(world, *, unit_key="a2", kind=CallbackKind.FIRST, created=CREATED):
    survey = unsatisfied_survey(world, unit_key=unit_key, now=created)
    callback = first_callback(survey)
    if kind == CallbackKind.FOLLOW_UP:
        callback = Callback.objects.create(
            survey=survey,
            kind=kind,
            centre=callback.centre,
            unit=callback.unit,
            due_at=_at(25),
            created_at=created,
        )
    return callback


def _calls(callback, person, outcomes, at=CALLED):
    CallbackAttempt.objects.bulk_create(
        CallbackAttempt(
            callback=callback,
            evaluator=person,
            outcome=outcome,
            created_at=at + timedelta(minutes=i),
        )
        for i, outcome in enumerate(outcomes)
    )


def _task(base, *, due=DECEMBER, **fields):
    """One more callback on ``base``'s survey (a 整改追评 without an order, so as many as a
    test needs), due in December unless told: out of November's on-time rate."""
    return Callback.objects.create(
        survey=base.survey,
        kind=CallbackKind.FOLLOW_UP,
        centre=base.centre,
        unit=base.unit,
        due_at=due,
        created_at=CREATED,
        **fields,
    )


def _worked(base, person, outcomes, count=1, at=CALLED):
    """``count`` callbacks, each called by ``person`` with these outcomes."""
    for _i in range(count):
        _calls(_task(base), person, outcomes, at=at)


def _complete(callback, person, *, at, rating=None):
    _calls(callback, person, [CallOutcome.REACHED], at=at)
    Callback.objects.filter(pk=callback.pk).update(
        status=CallbackStatus.DONE, completed_at=at, completed_by=person, follow_up_rating=rating
    )


def _row(figures, person):
    (centre,) = figures.centres
    return next(r for r in centre.rows if r.person == person)


def _figures(world, *, min_cases=2, now=AFTER):
    return evaluator_figures_for(
        world.user("a", Role.SUPERVISOR), NOVEMBER, min_cases=min_cases, now=now
    )


def test_figures_on_hand_made_data(world, first, second):
    base = _callback(world)
    # Given two evaluators of 甲区's centre: the first reached three citizens on a second
    # call and never one citizen in three calls, plus a call in October;
    _worked(base, first, [CallOutcome.NO_ANSWER, CallOutcome.REACHED], count=3)
    _worked(base, first, [CallOutcome.NO_ANSWER] * 3)
    _worked(base, first, [CallOutcome.REACHED], at=_at(1) - timedelta(days=3))
    # the second had two citizens pick up and decline (拒绝回访) and one who did not answer;
    _worked(base, second, [CallOutcome.REFUSED], count=2)
    _worked(base, second, [CallOutcome.NO_ANSWER])
    # the first completed two callbacks (one late) and two 追评 (satisfied 2, unsatisfied 5)
    # and holds one left open past its deadline;
    on_time = _callback(world)
    _complete(on_time, first, at=on_time.due_at - timedelta(hours=1))
    late = _callback(world)
    _complete(late, first, at=late.due_at + timedelta(hours=1))
    for rating in (2, 5):
        _complete(_task(base, due=_at(25)), first, at=_at(20), rating=rating)
    _task(base, due=_at(28), assignee=first, status=CallbackStatus.IN_PROGRESS)
    # the second completed one on time and last called one still open past its deadline;
    mine = _callback(world)
    _complete(mine, second, at=mine.due_at - timedelta(hours=2))
    _calls(_task(base, due=_at(10)), second, [CallOutcome.NO_ANSWER])
    # a supervisor closed a follow-up without a call of their own.
    closed = _task(base, due=_at(25))
    Callback.objects.filter(pk=closed.pk).update(
        status=CallbackStatus.DONE, completed_at=_at(21), completed_by=world.user("a", "supervisor")
    )

    # When the centre's leader reads November's figures (at most 2 cases needed, to see rates),
    figures = _figures(world)

    # Then each evaluator's counts and rates are theirs alone, over November's 21 working days:
    # every call counts in calls a day, each callback once in the reach rate.
    assert figures.working_days == 21
    (centre,) = figures.centres
    assert centre.centre == world.district_a
    assert [r.person for r in centre.rows] == sorted([first, second], key=str)
    a = _row(figures, first)
    assert a.calls == 2 * 3 + 3 + 4  # the completions' own calls too, not October's
    assert a.calls_per_day == pytest.approx(13 / 21)
    assert (a.attempted, a.reached) == (4 + 4, 3 + 4)
    assert a.reach.rate == pytest.approx(7 / 8)
    assert a.completed == 4
    # on time: two of the completions and both 追评; late: one done late, one held open
    assert (a.due, a.on_time) == (5, 3)
    assert (a.follow_ups, a.satisfied) == (2, 1)
    assert a.satisfaction.rate == pytest.approx(0.5)
    low, high = a.reach.interval
    assert low < 7 / 8 < high
    b = _row(figures, second)
    assert (b.calls, b.attempted, b.reached) == (5, 5, 3)  # 拒绝回访 counts as reached
    assert (b.completed, b.due, b.on_time, b.follow_ups) == (1, 2, 1, 0)
    assert b.reach.comparison.others_trials == 8
    assert b.satisfaction.text == "样本不足"
    # The supervisor who closed a follow-up without calling is nobody's figure.
    assert world.user("a", "supervisor") not in [r.person for r in centre.rows]
    assert centre.totals["on_time"].trials == 7


def test_reach_is_per_callback_and_credited_to_the_deciding_call(world, first, second):
    base = _callback(world)
    # Given a callback the second called without answer and the first then reached,
    handed_on = _task(base)
    _calls(handed_on, second, [CallOutcome.NO_ANSWER])
    _calls(handed_on, first, [CallOutcome.REACHED], at=CALLED + timedelta(hours=3))
    # one the first called without answer and the second called last, without answer,
    never = _task(base)
    _calls(never, first, [CallOutcome.NO_ANSWER])
    _calls(never, second, [CallOutcome.WRONG_NUMBER], at=CALLED + timedelta(hours=3))
    # one the second failed on in October and the first reached in November,
    late_reach = _task(base)
    _calls(late_reach, second, [CallOutcome.NO_ANSWER], at=_at(1) - timedelta(days=2))
    _calls(late_reach, first, [CallOutcome.REFUSED])
    # and one reached in October and called again (a courtesy call) in November,
    settled = _task(base)
    _calls(settled, first, [CallOutcome.REACHED], at=_at(1) - timedelta(days=2))
    _calls(settled, second, [CallOutcome.NO_ANSWER])

    figures = _figures(world, min_cases=1)

    a, b = _row(figures, first), _row(figures, second)
    # Then the reaching call decides (whoever failed before it), else the last call; a
    # callback reached in October is October's, whatever calls followed.
    assert (a.calls, a.attempted, a.reached) == (3, 2, 2)
    assert (b.calls, b.attempted, b.reached) == (3, 1, 0)
    october = figures_period_parse("2026-10", today=TODAY)
    autumn = evaluator_figures_for(world.user("a", Role.SUPERVISOR), october, min_cases=1)
    a, b = _row(autumn, first), _row(autumn, second)
    assert (a.calls, a.attempted, a.reached) == (1, 1, 1)
    assert (b.calls, b.attempted, b.reached) == (1, 0, 0)  # decided in November


def test_on_time_counts_callbacks_left_open_past_due(world, first, second):
    base = _callback(world)
    now = _at(20, 12)
    # Given, seen on 20 November at noon: one done on time, one done late, one held open
    # past its deadline, one left open past its deadline after the second's last call,
    done = _task(base, due=_at(10))
    _complete(done, first, at=_at(9))
    slow = _task(base, due=_at(10))
    _complete(slow, first, at=_at(11))
    _task(base, due=_at(15), assignee=first, status=CallbackStatus.IN_PROGRESS)
    _calls(_task(base, due=_at(16)), second, [CallOutcome.NO_ANSWER], at=_at(15))
    # one done early though due later in the month, one open and not yet due, one due in
    # December, and one nobody ever claimed or called (the base, due 3 November).
    early = _task(base, due=_at(25))
    _complete(early, second, at=_at(19))
    _task(base, due=_at(20, 18), assignee=first)
    _task(base, due=DECEMBER, assignee=first)

    figures = _figures(world, min_cases=1, now=now)

    a, b = _row(figures, first), _row(figures, second)
    assert (a.due, a.on_time) == (3, 1)
    assert (b.due, b.on_time) == (2, 1)
    assert a.completed == 2 and b.completed == 1
    assert a.on_time_rate.rate == pytest.approx(1 / 3)
    # Once it is past, the one due at 18:00 still open is late too.
    later = _figures(world, min_cases=1, now=_at(21))
    assert (_row(later, first).due, _row(later, first).on_time) == (4, 1)


def test_too_few_cases_show_as_insufficient(world, first, second):
    base = _callback(world)
    _worked(base, first, [CallOutcome.REACHED], count=5)
    _worked(base, second, [CallOutcome.NO_ANSWER], count=40)
    figures = _figures(world, min_cases=20)
    few = _row(figures, first)
    assert few.reach.rate is None and few.reach.text == "样本不足"
    assert "样本不足" in few.reach.words
    # The other has enough callbacks, and the others' pooled rate counts everybody, so the
    # comparison is made, and not flagged on 5 callbacks' worth of evidence.
    many = _row(figures, second)
    assert many.reach.enough and many.reach.rate == 0
    assert many.reach.comparison.tested


def test_a_weaker_evaluator_is_flagged_in_words(world, first, second, client):
    base = _callback(world)
    _worked(base, first, [CallOutcome.REACHED], count=80)
    _worked(base, first, [CallOutcome.NO_ANSWER] * 3, count=20)
    _worked(base, second, [CallOutcome.NO_ANSWER, CallOutcome.REACHED], count=40)
    _worked(base, second, [CallOutcome.NO_ANSWER] * 3, count=60)
    figures = _figures(world, min_cases=20)
    weak, strong = _row(figures, second), _row(figures, first)
    assert weak.reach.flagged and not strong.reach.flagged
    assert weak.flag_words[0].startswith("接通率：低于中心其他人的整体水平（80%），且不太可能")

    client.force_login(world.user("a", Role.SUPERVISOR))
    page = client.get(reverse("callbacks:evaluator_figures"), {"period": "2026-11"})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="evaluator-flag"') == 1
    assert "李访评" in html and "不按比率排名" in html and "按回访任务算" in html


def test_a_sibling_districts_centre_is_not_shown(world, first):
    # Given calls in 甲区's centre and in 乙区's,
    _calls(_callback(world), first, [CallOutcome.REACHED] * 3)
    _calls(_callback(world, unit_key="b1"), world.user("b", Role.EVALUATOR), [CallOutcome.REACHED])
    # Then 甲区's leader sees only 甲区's centre and people, the city's leader both.
    figures = evaluator_figures_for(world.user("a", Role.SUPERVISOR), NOVEMBER)
    assert [c.centre for c in figures.centres] == [world.district_a]
    assert [r.person for r in figures.centres[0].rows] == [first]
    city = evaluator_figures_for(world.user("city", Role.SUPERVISOR), NOVEMBER)
    assert {c.centre for c in city.centres} == {world.district_a, world.district_b}
    # A station's staff (below the centre) see no centre at all.
    assert not evaluator_figures_for(world.user("a2", Role.SUPERVISOR), NOVEMBER).centres


def test_periods():
    week = figures_period_parse("2026-W48", today=TODAY)
    assert (week.start, week.end) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week.working_days == 5
    this_month = figures_period_parse("", today=TODAY)
    assert (this_month.key, this_month.start, this_month.end) == (
        "2026-12",
        date(2026, 12, 1),
        TODAY,
    )
    for stale in ("2027-01", "2026-13", "2026-W60", "nonsense", "2026-W50"):
        assert figures_period_parse(stale, today=TODAY).key == "2026-12"
    this_week = figures_period_parse("2026-W49", today=TODAY)
    assert this_week.end == TODAY
    choices = figures_period_choices(today=TODAY)
    assert choices["months"][0].key == "2026-12" and len(choices["months"]) == 12
    assert choices["weeks"][0].key == "2026-W49" and choices["weeks"][1].key == "2026-W48"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_is_audited_and_scoped(world, first, client, fmt):
    _calls(_callback(world), first, [CallOutcome.REACHED] * 3)
    _calls(_callback(world, unit_key="b1"), world.user("b", Role.EVALUATOR), [CallOutcome.REACHED])
    client.force_login(world.user("a", Role.SUPERVISOR))
    response = client.get(
        reverse("callbacks:evaluator_figures_export"), {"period": "2026-11", "format": fmt}
    )
    assert response.status_code == 200
    body = response.content
    assert "attachment" in response["Content-Disposition"]
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    else:
        rows = [list(r) for r in load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True)]
    assert rows[0][:3] == ["民意感知中心", "人员", "拨打次数"]
    people = [r[1] for r in rows[1:] if len(r) > 1 and r[0]]
    assert str(first) in people and str(world.user("b", Role.EVALUATOR)) not in people
    assert "样本不足" in rows[1]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.detail == {
        "table": "evaluator_figures",
        "format": fmt,
        "period": "2026-11",
        "rows": 1,
    }


def test_page_queries_do_not_grow_with_people(world, client, django_assert_max_num_queries):
    callback = _callback(world)
    for i in range(6):
        person = UserFactory(username=f"a_ev_{i}", role=Role.EVALUATOR, unit=world.district_a)
        _calls(callback, person, [CallOutcome.REACHED] * 3)
    client.force_login(world.user("a", Role.SUPERVISOR))
    # session, user, four aggregates, people, centres, calendar overrides and years, nav
    with django_assert_max_num_queries(16):
        response = client.get(reverse("callbacks:evaluator_figures"), {"period": "2026-11"})
    assert response.content.decode().count("data-person=") == 6
