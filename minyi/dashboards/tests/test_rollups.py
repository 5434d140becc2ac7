from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.core.periods import monday, period_parse
from minyi.dashboards.figures.satisfaction import satisfaction_cube, satisfaction_trend_for
from minyi.dashboards.models import (
    CallbackDaily,
    CallbackWeekly,
    FillState,
    OfficerSatisfactionDaily,
    ReasonDaily,
    ReasonWeekly,
    RepeatContact,
    SatisfactionWeekly,
    UnitSatisfactionDaily,
)
from minyi.dashboards.rollups import (
    CALLBACKS,
    OFFICERS,
    callback_rollups_fill,
    dashboard_rollups_refresh,
    officer_rollup_fill,
    officer_rollup_rebuild,
    repeat_contacts_fill,
    satisfaction_rollups_refresh,
)
from minyi.dashboards.scope import UnitIndex
from minyi.dashboards.tests.factories import (
    at,
    callback,
    daily,
    days_ago,
    event,
    satisfied,
    survey,
)
from minyi.orgs.choices import Role
from minyi.perception.models import Survey, SurveyStatus

pytestmark = pytest.mark.django_db


def _cells(cube):
    return {k: (c.sent, c.replies, c.satisfied) for k, c in cube.cells.items()}


# --- Satisfaction ----------------------------------------------------------------------------


def test_refresh_sums_days_per_unit_and_whole_weeks_per_type(world, btypes):
    hukou, ticket = btypes["hukou"], btypes["traffic_ticket"]
    for n in range(1, 20):
        daily(world.station_a1, hukou, days_ago(n), ratings=satisfied(3, 1))
        daily(world.station_a1, ticket, days_ago(n), ratings=satisfied(1, 1))
    daily(world.station_a1, hukou, timezone.localdate(), ratings=satisfied(7))

    satisfaction_rollups_refresh()

    yesterday = UnitSatisfactionDaily.objects.get(unit=world.station_a1, day=days_ago(1))
    assert (yesterday.replies, yesterday.satisfied) == (6, 4)
    # Today is never rolled up: the figures read it live.
    assert not UnitSatisfactionDaily.objects.filter(day=timezone.localdate()).exists()
    # Only whole weeks (Monday to Sunday, all before today) are in the weekly table.
    this_week = monday(timezone.localdate())
    weeks = set(SatisfactionWeekly.objects.values_list("week", flat=True))
    assert weeks and max(weeks) < this_week
    assert all(w.weekday() == 0 for w in weeks)
    full = SatisfactionWeekly.objects.get(
        unit=world.station_a1, business_type=hukou, week=max(weeks)
    )
    assert (full.replies, full.satisfied) == (28, 21)
    assert FillState.objects.get(name="satisfaction").last_day == days_ago(1)


def test_figures_are_the_same_before_and_after_the_refresh(world, btypes):
    # Given 100 days of rollup rows in two stations
    for n in range(0, 100):
        daily(world.station_a1, btypes["hukou"], days_ago(n), ratings=satisfied(n % 7, n % 3))
        daily(world.station_a2, btypes["jcj_110"], days_ago(n), ratings=satisfied(n % 5, 1))
    user = world.user("city", Role.SUPERVISOR)
    index = UnitIndex(user)
    period = period_parse("90")

    # When the figures are read live, then again from the dashboards' rollups
    live_cube = _cells(satisfaction_cube(user, period=period, index=index))
    live_trend = satisfaction_trend_for(user, world.city, period=period)
    dashboard_rollups_refresh()
    rolled_cube = _cells(satisfaction_cube(user, period=period, index=index))
    rolled_trend = satisfaction_trend_for(user, world.city, period=period)

    # Then they agree exactly
    assert rolled_cube == live_cube
    assert rolled_trend == live_trend


def test_a_late_change_to_a_recent_day_is_picked_up_by_the_next_refresh(world, btypes):
    daily(world.station_a1, btypes["hukou"], days_ago(3), ratings=satisfied(5))
    satisfaction_rollups_refresh()
    # An appeal upheld / a late reply changes a day already rolled up
    daily(world.station_a1, btypes["hukou"], days_ago(3), ratings=satisfied(0, 2))
    satisfaction_rollups_refresh()
    row = UnitSatisfactionDaily.objects.get(day=days_ago(3))
    assert (row.replies, row.satisfied) == (7, 5)


# --- Callbacks and reasons -------------------------------------------------------------------


def test_callback_fill_counts_on_time_by_due_day_and_reasons_by_completion(world, btypes):
    hukou = btypes["hukou"]
    due = at(days_ago(5), 10)
    callback(world.station_a1, hukou, due_at=due, completed_at=due - timedelta(hours=2),
             tags=["attitude", "efficiency"])  # fmt: skip
    callback(world.station_a1, hukou, due_at=due, completed_at=due + timedelta(hours=3),
             tags=["attitude"])  # fmt: skip
    callback(world.station_a1, hukou, due_at=due)  # still open: not rolled up

    assert callback_rollups_fill() == 2

    row = CallbackDaily.objects.get(unit=world.station_a1, day=days_ago(5))
    assert (row.done, row.on_time) == (2, 1)
    week = CallbackWeekly.objects.get(unit=world.station_a1)
    assert (week.week, week.done, week.on_time) == (monday(days_ago(5)), 2, 1)
    reasons = dict(ReasonDaily.objects.values_list("tag", "n"))
    assert reasons == {"": 2, "attitude": 2, "efficiency": 1}
    assert dict(ReasonWeekly.objects.values_list("tag", "n")) == reasons


def test_callback_fill_is_incremental_and_leaves_the_last_minutes(world, btypes):
    hukou = btypes["hukou"]
    due = at(days_ago(2), 10)
    callback(world.station_a1, hukou, due_at=due, completed_at=due, tags=["attitude"])
    assert callback_rollups_fill() == 1
    assert callback_rollups_fill() == 0  # nothing new: nothing counted twice

    now = timezone.now()
    callback(world.station_a1, hukou, due_at=now, completed_at=now, tags=["attitude"])
    assert callback_rollups_fill(now=now) == 0  # younger than the lag: next pass
    assert callback_rollups_fill(now=now + timedelta(minutes=10)) == 1
    total = sum(ReasonDaily.objects.filter(tag="attitude").values_list("n", flat=True))
    assert total == 2
    state = FillState.objects.get(name=CALLBACKS)
    assert state.last_time == now


# --- Officers --------------------------------------------------------------------------------


def test_officer_fill_waits_until_a_survey_can_no_longer_change(world, btypes):
    officer = world.officers["a1"]
    answered = survey(world.station_a1, btypes["hukou"], rating=2, officers=[officer],
                      occurred_at=at(days_ago(3)))  # fmt: skip
    survey(world.station_a1, btypes["hukou"], rating=5, officers=[officer],
           occurred_at=at(days_ago(3)), excluded=True)  # fmt: skip
    pending = survey(world.station_a1, btypes["hukou"], officers=[officer],
                     occurred_at=at(days_ago(3)))  # fmt: skip
    Survey.objects.filter(pk=pending.pk).update(status=SurveyStatus.SENT)
    survey(world.station_a1, btypes["hukou"], rating=1, officers=[officer],
           occurred_at=at(days_ago(2)))  # fmt: skip

    assert officer_rollup_fill() == 2  # up to the survey that may still be answered
    later = timezone.now() + timedelta(days=15)
    assert officer_rollup_fill(now=later) == 2  # never answered: passed over in the end

    row = OfficerSatisfactionDaily.objects.get(day=days_ago(3))
    assert (row.unit, row.officer) == (world.station_a1, officer)
    assert (row.replies, row.satisfied) == (1, 1)  # unanswered and excluded ones left out
    assert FillState.objects.get(name=OFFICERS).last_id == answered.pk + 3
    assert officer_rollup_fill(now=later) == 0


def test_officer_rebuild_gives_what_the_fill_gives_and_drops_later_exclusions(world, btypes):
    officer = world.officers["a1"]
    surveys = [
        survey(
            world.station_a1,
            btypes["hukou"],
            rating=r,
            officers=[officer],
            occurred_at=at(days_ago(d)),
        )
        for r, d in ((1, 3), (4, 3), (2, 5))
    ]
    later = timezone.now() + timedelta(days=15)
    officer_rollup_fill(now=later)
    filled = set(OfficerSatisfactionDaily.objects.values_list("day", "replies", "satisfied"))
    officer_rollup_rebuild(now=later)
    assert set(OfficerSatisfactionDaily.objects.values_list("day", "replies", "satisfied")) == (
        filled
    )
    # An appeal upheld later takes the unsatisfied rating out at the next rebuild
    Survey.objects.filter(pk=surveys[1].pk).update(excluded_at=timezone.now())
    officer_rollup_rebuild(now=later)
    row = OfficerSatisfactionDaily.objects.get(day=days_ago(3))
    assert (row.replies, row.satisfied) == (1, 1)


# --- 跑多次 -----------------------------------------------------------------------------------


def _repeats():
    return {(r.event_id, r.previous_event_id) for r in RepeatContact.objects.all()}


def test_two_contacts_29_days_apart_count_31_days_apart_do_not(world, btypes):
    hukou = btypes["hukou"]
    first = event(world.station_a1, hukou, mobile="13800000001", occurred_at=at(days_ago(80)))
    second = event(world.station_a1, hukou, mobile="13800000001", occurred_at=at(days_ago(51)))
    event(world.station_a1, hukou, mobile="13800000002", occurred_at=at(days_ago(80)))
    event(world.station_a1, hukou, mobile="13800000002", occurred_at=at(days_ago(49)))

    repeat_contacts_fill()

    assert _repeats() == {(second.pk, first.pk)}
    repeat = RepeatContact.objects.get()
    assert repeat.mobile_masked == "138****0001"
    assert repeat.unit == world.station_a1


def test_different_business_types_are_not_a_repeat(world, btypes):
    event(world.station_a1, btypes["hukou"], mobile="13800000003", occurred_at=at(days_ago(10)))
    event(world.station_a1, btypes["jcj_110"], mobile="13800000003", occurred_at=at(days_ago(5)))
    repeat_contacts_fill()
    assert not RepeatContact.objects.exists()


def test_sensitive_business_and_missing_mobiles_are_never_counted(world, btypes):
    dv = btypes["domestic_violence"]
    event(world.station_a1, dv, mobile="13800000004", occurred_at=at(days_ago(10)))
    event(world.station_a1, dv, mobile="13800000004", occurred_at=at(days_ago(5)))
    event(world.station_a1, btypes["hukou"], mobile="", occurred_at=at(days_ago(10)))
    event(world.station_a1, btypes["hukou"], mobile="", occurred_at=at(days_ago(5)))
    repeat_contacts_fill()
    assert not RepeatContact.objects.exists()


def test_an_earlier_contact_arriving_late_makes_the_later_one_a_repeat(world, btypes):
    hukou = btypes["hukou"]
    later = event(world.station_a2, hukou, mobile="13800000005", occurred_at=at(days_ago(3)))
    assert repeat_contacts_fill() == 1
    assert not RepeatContact.objects.exists()

    # An import brings the citizen's earlier trip, ten days before, in another station
    earlier = event(world.station_a1, hukou, mobile="13800000005", occurred_at=at(days_ago(13)))
    repeat_contacts_fill()

    assert _repeats() == {(later.pk, earlier.pk)}
    assert RepeatContact.objects.get().unit == world.station_a2  # the unit of the repeat


def test_repeat_fill_waits_for_events_too_young_to_be_sure_of(world, btypes):
    hukou = btypes["hukou"]
    now = timezone.now()
    e = event(world.station_a1, hukou, mobile="13800000006", occurred_at=now)
    assert repeat_contacts_fill(now=now) == 0
    assert repeat_contacts_fill(now=now + timedelta(minutes=10)) == 1
    assert FillState.objects.get(name="repeat_contacts").last_id == e.pk
