import json
from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.core import stats
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditEvent
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.tests.factories import OfficerFactory
from minyi.perception.models import Survey
from minyi.perception.services.surveys import survey_exclude
from minyi.warnings.models import Warning, WarningColour, WarningReply, WarningSubject
from minyi.warnings.services import (
    MIN_PEERS,
    P0_FLOOR,
    RULE_VERSION,
    warning_reply,
    warnings_compute,
)
from minyi.warnings.tests.factories import (
    business_type,
    make_ratings,
    make_rollup,
    make_stations,
    make_warning,
)

pytestmark = pytest.mark.django_db


def _current(officer=None, unit=None):
    if officer is not None:
        return Warning.objects.filter(officer=officer, is_current=True).first()
    return Warning.objects.filter(subject=WarningSubject.UNIT, unit=unit, is_current=True).first()


def _normal_officers(world, count=5):
    """Officers with a hundred ratings each and two at-fault callbacks long ago: the city's
    ordinary level, against which one officer's run stands out."""
    officers = []
    for i in range(count):
        officer = OfficerFactory(unit=world.station_a1, name=f"普通民警{i}")
        pattern = "s" * 10 + "f" + "s" * 39 + "f" + "s" * 49
        make_ratings(world.station_a1, pattern, officers=[officer], blame=officer)
        officers.append(officer)
    return officers


def _run_of_faults(world, officer, *, faults=15):
    return make_ratings(
        world.station_a2, "s" * 60 + "f" * faults, officers=[officer], blame=officer
    )


def test_a_run_of_at_fault_ratings_turns_an_officer_red_and_a_normal_one_stays_green(world):
    # Given five ordinary officers and one whose last fifteen ratings were all found at fault
    normal = _normal_officers(world)
    bad = world.officers["a2"]
    _run_of_faults(world, bad)
    # When the warnings are computed
    summary = warnings_compute()
    # Then the run crossed the calibrated threshold and the ordinary officers did not
    red = _current(officer=bad)
    assert red.colour == WarningColour.RED
    assert red.statistic >= red.threshold == pytest.approx(summary["h"], abs=1e-3)
    assert red.unit == world.station_a2
    assert red.rule_version == RULE_VERSION and stats.RULE_VERSION in RULE_VERSION
    for officer in normal:
        assert _current(officer=officer) is None  # never left green: no row at all
    assert summary["officer_red"] == 1 and summary["officers"] == 6
    # And the evidence lists the fifteen callbacks: date, business type, tags, nothing else
    evidence = red.evidence
    assert evidence["at_fault"] == 15 and len(evidence["callbacks"]) == 15
    assert set(evidence["callbacks"][0]) == {"id", "date", "business_type", "tags"}
    assert evidence["callbacks"][0]["business_type"] == "户籍办理"
    assert evidence["path"][-1][1] == pytest.approx(red.statistic, abs=1e-3)
    assert "群众原话" not in json.dumps(evidence, ensure_ascii=False)
    # p0 is the city's rate over the officers' contacts: 25 at fault in 575
    assert evidence["p0"] == pytest.approx(25 / 575, abs=1e-4)


def test_the_path_restarts_at_zero_and_falls_back_after_good_service(world):
    _normal_officers(world)
    officer = world.officers["a2"]
    # Five at fault long ago, then two hundred satisfied contacts
    make_ratings(world.station_a2, "f" * 5 + "s" * 200, officers=[officer], blame=officer)
    warnings_compute()
    assert _current(officer=officer) is None


def test_a_callback_naming_nobody_counts_for_every_officer_of_the_contact(world):
    _normal_officers(world)
    a, b = world.officers["a2"], OfficerFactory(unit=world.station_a2)
    make_ratings(world.station_a2, "s" * 60 + "n" * 15, officers=[a, b])
    warnings_compute()
    assert _current(officer=a).colour == WarningColour.RED
    assert _current(officer=b).colour == WarningColour.RED


def test_a_callback_naming_one_officer_does_not_count_against_the_other(world):
    _normal_officers(world)
    a, b = world.officers["a2"], OfficerFactory(unit=world.station_a2)
    make_ratings(world.station_a2, "s" * 60 + "f" * 15, officers=[a, b], blame=a)
    warnings_compute()
    assert _current(officer=a).colour == WarningColour.RED
    assert _current(officer=b) is None


def test_unsatisfied_but_not_at_fault_does_not_count(world):
    _normal_officers(world)
    officer = world.officers["a2"]
    make_ratings(world.station_a2, "s" * 60 + "u" * 15, officers=[officer])
    warnings_compute()
    assert _current(officer=officer) is None


def test_an_appealed_rating_does_not_count_and_history_keeps_the_red(world):
    # Given an officer turned red by a run of at-fault ratings
    _normal_officers(world)
    officer = world.officers["a2"]
    surveys = _run_of_faults(world, officer)
    first = timezone.now() - timedelta(days=1)
    warnings_compute(now=first)
    red = _current(officer=officer)
    assert red.colour == WarningColour.RED
    # When appeals are upheld on all fifteen and the warnings are computed again
    for survey in Survey.objects.filter(pk__in=[s.pk for s in surveys], rating=5):
        survey_exclude(survey=survey)
    later = timezone.now()
    warnings_compute(now=later)
    # Then the officer is green now, and the red spell stays in the history, closed
    green = _current(officer=officer)
    assert green.colour == WarningColour.GREEN and green.statistic == 0
    assert green.evidence["at_fault"] == 0 and green.evidence["ratings"] == 60
    red.refresh_from_db()
    assert (red.is_current, red.ended_at) == (False, later)
    assert list(
        Warning.objects.filter(officer=officer).order_by("started_at").values_list("colour")
    ) == [("red",), ("green",)]


def test_the_same_colour_refreshes_the_row_instead_of_adding_one(world):
    _normal_officers(world)
    officer = world.officers["a2"]
    _run_of_faults(world, officer)
    warnings_compute(now=timezone.now() - timedelta(hours=1))
    first = _current(officer=officer)
    summary = warnings_compute()
    assert Warning.objects.filter(officer=officer).count() == 1
    again = _current(officer=officer)
    assert again.pk == first.pk and again.computed_at > first.computed_at
    assert again.started_at == first.started_at
    assert summary["changed"] == 0 and summary["refreshed"] >= 1


def test_p0_has_a_floor_in_a_city_without_faults(world):
    _normal_officers(world, count=0)
    officer = world.officers["a2"]
    make_ratings(world.station_a2, "s" * 50, officers=[officer])
    summary = warnings_compute()
    assert summary["p0"] == P0_FLOOR
    assert _current(officer=officer) is None


def test_ratings_outside_the_window_are_not_read(world):
    _normal_officers(world)
    officer = world.officers["a2"]
    long_ago = timezone.now() - timedelta(days=400)
    make_ratings(world.station_a2, "f" * 20, officers=[officer], blame=officer, start=long_ago)
    summary = warnings_compute(window_days=180)
    assert _current(officer=officer) is None
    assert summary["officers"] == 5


def test_compute_runs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    officers = _normal_officers(world, count=3)
    _run_of_faults(world, world.officers["a2"])
    with django_assert_max_num_queries(16):
        warnings_compute()
    # Twice the officers, the same queries
    officers += _normal_officers(world, count=6)
    with django_assert_max_num_queries(16):
        warnings_compute()


# --- Units -------------------------------------------------------------------------------------


def _peer_stations(world, count=12):
    """Stations of ordinary satisfaction (94–96%, chance only)."""
    stations = make_stations(world.district_b, count)
    for i, station in enumerate(stations):
        make_rollup(station, satisfied=188 + (i % 5), unsatisfied=12 - (i % 5))
    return stations


def test_a_unit_clearly_below_its_peers_is_flagged_and_a_tiny_one_is_not(world):
    # Given twelve ordinary stations, one clearly worse, and one with six ratings only
    _peer_stations(world)
    make_rollup(world.station_a2, satisfied=160, unsatisfied=40)  # 80%
    make_rollup(world.station_b1, satisfied=4, unsatisfied=2)  # 67%, but six people
    # When the warnings are computed
    summary = warnings_compute()
    # Then the low station is red on the funnel; the tiny one is within its wide limits
    low = _current(unit=world.station_a2)
    assert low.colour == WarningColour.RED
    assert low.statistic < -stats.Z_ALARM and low.threshold == stats.Z_ALARM
    assert low.evidence["rate"] == pytest.approx(0.8)
    assert low.evidence["peers"] == 14 and low.evidence["peer_kind"] == UnitKind.POLICE_STATION
    assert len(low.evidence["funnel"]["peers"]) == 13  # the others, without names
    assert low.evidence["funnel"]["limits"]
    assert _current(unit=world.station_b1) is None
    assert summary["unit_red"] == 1 and summary["units"] == 14


def test_a_unit_moderately_below_is_orange(world):
    _peer_stations(world)
    make_rollup(world.station_a2, satisfied=180, unsatisfied=20)  # 90%: z ≈ -2.4
    warnings_compute()
    assert _current(unit=world.station_a2).colour == WarningColour.ORANGE


def test_a_unit_above_its_peers_never_warns(world):
    _peer_stations(world)
    make_rollup(world.station_a2, satisfied=200, unsatisfied=0)
    warnings_compute()
    assert _current(unit=world.station_a2) is None


def test_units_are_compared_with_their_own_kind_only(world):
    # Traffic brigades all rate lower than stations by nature; none stands out among its own
    _peer_stations(world)
    brigades = make_stations(world.district_a, MIN_PEERS, kind=UnitKind.TRAFFIC_BRIGADE)
    for brigade in brigades:
        make_rollup(brigade, satisfied=160, unsatisfied=40)
    warnings_compute()
    assert not Warning.objects.filter(unit__in=brigades).exists()


def test_a_peer_group_too_small_is_not_compared(world):
    stations = make_stations(world.district_b, MIN_PEERS - 2)
    for station in stations:
        make_rollup(station, satisfied=190, unsatisfied=10)
    make_rollup(world.station_a2, satisfied=100, unsatisfied=100)
    summary = warnings_compute()
    assert summary["units"] == 0
    assert not Warning.objects.exists()


def test_a_flagged_unit_that_can_no_longer_be_placed_turns_green_with_the_reason(world):
    _peer_stations(world)
    make_warning(unit=world.station_a2, colour=WarningColour.ORANGE)
    warnings_compute()
    now = _current(unit=world.station_a2)
    assert now.colour == WarningColour.GREEN and now.evidence["evaluated"] is False


def test_units_read_the_rollup_so_an_appealed_rating_leaves_the_figure(world):
    _peer_stations(world)
    surveys = make_ratings(world.station_a2, "s" * 40 + "u" * 10)
    warnings_compute()
    assert _current(unit=world.station_a2).colour != WarningColour.GREEN
    for survey in surveys[40:]:
        survey_exclude(survey=survey)
    warnings_compute()
    now = _current(unit=world.station_a2)
    assert now.colour == WarningColour.GREEN
    assert (now.evidence["answered"], now.evidence["satisfied"]) == (40, 40)


def test_unit_evidence_compares_business_types_like_with_like(world):
    _peer_stations(world)
    traffic = business_type("traffic_ticket", "交通违法处理")
    make_rollup(world.station_a2, satisfied=150, unsatisfied=50, bt=traffic)
    make_rollup(world.station_a1, satisfied=190, unsatisfied=10, bt=traffic)
    warnings_compute()
    rows = {r["business_type"]: r for r in _current(unit=world.station_a2).evidence["by_type"]}
    row = rows["交通违法处理"]
    assert row["rate"] == pytest.approx(0.75)
    # The peers' rate for the same business, a2's own answers included.
    assert row["peer_rate"] == pytest.approx(340 / 400)


# --- Replies -----------------------------------------------------------------------------------


def test_the_unit_leader_replies_and_it_is_audited(world):
    warning = make_warning(officer=world.officers["a2"])
    leader = world.user("a2", Role.UNIT_LEADER)
    reply = warning_reply(actor=leader, warning=warning, text="  当日窗口系统故障，已说明。 ")
    assert reply.text == "当日窗口系统故障，已说明。"
    assert WarningReply.objects.get().author == leader
    audit = AuditEvent.objects.get(object_type="earlywarning.warningreply")
    assert audit.actor == leader and audit.detail["warning"] == warning.pk


def test_a_district_leader_may_reply_for_a_station_below(world):
    warning = make_warning(officer=world.officers["a2"])
    warning_reply(actor=world.user("a", Role.UNIT_LEADER), warning=warning, text="区局已核实")
    assert warning.replies.count() == 1


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "reply_required"), ("   ", "reply_required"), ("长" * 1001, "reply_too_long")],
)
def test_reply_text_is_validated(world, text, code):
    warning = make_warning(officer=world.officers["a2"])
    with pytest.raises(ApplicationError) as raised:
        warning_reply(actor=world.user("a2", Role.UNIT_LEADER), warning=warning, text=text)
    assert raised.value.code == code
    assert not WarningReply.objects.exists()


def test_a_reply_of_exactly_the_limit_is_accepted(world):
    warning = make_warning(officer=world.officers["a2"])
    warning_reply(actor=world.user("a2", Role.UNIT_LEADER), warning=warning, text="长" * 1000)
    assert WarningReply.objects.count() == 1


def test_a_sibling_unit_cannot_reply(world):
    warning = make_warning(officer=world.officers["a2"])
    with pytest.raises(NotFound):
        warning_reply(actor=world.user("a1", Role.UNIT_LEADER), warning=warning, text="不是我")
    assert not WarningReply.objects.exists()


def test_a_role_without_the_permission_cannot_reply(world):
    warning = make_warning(officer=world.officers["a2"])
    with pytest.raises(PermissionDenied):
        warning_reply(actor=world.user("a2", Role.SUPERVISOR), warning=warning, text="说明")


def test_a_green_spell_needs_no_reply(world):
    warning = make_warning(officer=world.officers["a2"], colour=WarningColour.GREEN)
    with pytest.raises(ApplicationError) as raised:
        warning_reply(actor=world.user("a2", Role.UNIT_LEADER), warning=warning, text="说明")
    assert raised.value.code == "warning_not_flagged"
