"""Running an assessment on a small synthetic peer group: ranks, marks and shares are written;
a unit far below its peers is marked last while equal units are not; two marks within a
year open exactly one accountability case."""

from datetime import date

import pytest

from minyi.accountability.models import AccountabilityCase, CaseTrigger
from minyi.assessment.compute import assessment_compute
from minyi.assessment.models import AssessmentStatus
from minyi.assessment.services import assessment_approve, rule_activate, rule_save
from minyi.assessment.tests.factories import (
    active_rule,
    answers,
    figure,
    peer_group,
    poll_wave,
    specs,
    stations,
)
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.orgs.choices import Role

H1 = (date(2026, 1, 1), date(2026, 6, 30))
H2 = (date(2026, 7, 1), date(2026, 12, 31))
DRAWS = 2000


@pytest.fixture
def peers(world):
    units = stations(world, 8)
    return units, peer_group(world.city, units)


def _wave(world, units, *, wave, rates, n=None, period=H1):
    """A poll fielded in the fifth month of `period`; every unit's clearance figure equal."""
    month = period[0].month + 4
    poll = poll_wave(world, wave=wave, fielded=(date(2026, month, 1), date(2026, month, 28)))
    for unit, rate, size in zip(units, rates, n or [400] * len(units), strict=True):
        answers(poll, unit, n=size, rate=rate)
        figure(unit, s=50, n=100, start=period[0], end=period[1])
    return poll


def _run(world, rule, poll, period=H1, label="2026年上半年"):
    return assessment_compute(
        rule=rule,
        label=label,
        period_start=period[0],
        period_end=period[1],
        polls=[poll],
        actor=world.user("city", Role.ADMIN),
        draws=DRAWS,
    )


def test_a_unit_far_below_its_peers_is_marked_last(world, peers):
    units, group = peers
    rule = active_rule(world, group)
    poll = _wave(world, units, wave=1, rates=[0.9] * 7 + [0.6])

    assessment = _run(world, rule, poll)

    results = {r.unit_id: r for r in assessment.results.all()}
    assert len(results) == 8 and all(r.ranked for r in results.values())
    worst = results[units[-1].pk]
    assert worst.marked_last and worst.raw_last
    assert worst.p_bottom3 == pytest.approx(1.0) and worst.rank_high == 8
    assert worst.z_adjusted < -3.09 and worst.n_eff == pytest.approx(400)
    assert worst.composite < worst.composite_high and worst.composite_low < worst.composite_high
    assert not any(r.marked_last for u, r in results.items() if u != units[-1].pk)
    figures = worst.indicators["satisfaction"]
    assert figures["value"] == pytest.approx(0.6) and figures["n"] == 400
    assert figures["low"] < 0.6 < figures["high"] and figures["weight"] == pytest.approx(0.2)
    assert worst.indicators["clearance"]["value"] == pytest.approx(0.5)
    # Shares: the clearance rate is the same everywhere, so public opinion carries it all.
    shares = assessment.shares[str(group.pk)]
    assert shares["nominal"]["public"] == pytest.approx(0.6)
    assert shares["effective"]["public"] == pytest.approx(1.0)
    assert shares["funnel"]["target"] == pytest.approx((0.9 * 7 + 0.6) / 8)
    assert assessment.status == AssessmentStatus.COMPUTED
    assert assessment.rule_version.startswith("assess-2026.1")


def test_exactly_equal_units_are_not_marked(world, peers):
    units, group = peers
    rule = active_rule(world, group)
    poll = _wave(world, units, wave=1, rates=[0.85] * 8)

    assessment = _run(world, rule, poll)

    assert not assessment.results.filter(marked_last=True).exists()


def test_units_equal_in_truth_are_not_marked(world):
    # Twenty peer groups of eight stations, every station with the same true rate on every
    # indicator, each a random sample of 150 (the gate's minimum lowered to 120): only
    # chance differs. A gate that holds its
    # nominal rate marks (almost) nobody; one group marked is allowed for chance.
    groups = [
        peer_group(world.city, stations(world, 8, prefix=f"TG{g:02d}"), name=f"组{g}")
        for g in range(20)
    ]
    admin = world.user("city", Role.ADMIN)
    rule = rule_activate(
        actor=admin,
        rule=rule_save(
            actor=admin,
            owner=world.city,
            year=2026,
            indicators=specs(),
            peer_groups=groups,
            min_n_eff=120,
        ),
    )
    poll = poll_wave(world, fielded=(date(2026, 5, 1), date(2026, 5, 28)))
    for g, group in enumerate(groups):
        for i, member in enumerate(group.members.order_by("path")):
            answers(poll, member, n=150, rate=0.85, seed=1000 * g + i)
            figure(member, s=50, n=100)

    assessment = _run(world, rule, poll)

    marked = assessment.results.filter(marked_last=True)
    assert marked.values("peer_group").distinct().count() <= 1


def test_a_unit_under_the_minimum_sample_is_never_ranked_nor_marked(world, peers):
    units, group = peers
    rule = active_rule(world, group)
    poll = _wave(world, units, wave=1, rates=[0.9] * 7 + [0.3], n=[400] * 7 + [40])

    assessment = _run(world, rule, poll)

    small = assessment.results.get(unit=units[-1])
    assert not small.ranked and not small.marked_last and small.rank_low is None
    assert small.n_eff == pytest.approx(40)
    assert assessment.shares[str(group.pk)]["ranked"] == 7


def test_two_marks_within_a_year_open_exactly_one_case(world, peers):
    units, group = peers
    rule = active_rule(world, group)
    rates = [0.9] * 7 + [0.6]
    first = _run(world, rule, _wave(world, units, wave=1, rates=rates))
    assert not AccountabilityCase.objects.exists()  # one mark: no case

    second_poll = _wave(world, units, wave=2, rates=rates, period=H2)
    second = _run(world, rule, second_poll, period=H2, label="2026年下半年")
    # Computed again before approval: still one case.
    _run(world, rule, second_poll, period=H2, label="2026年下半年")

    case = AccountabilityCase.objects.get()
    assert case.unit == units[-1] and case.trigger == CaseTrigger.ASSESSMENT
    assert case.key == f"assessment:{units[-1].pk}:{first.pk}:{second.pk}"
    assert case.source["assessments"] == [first.pk, second.pk]
    evidence = case.evidence
    assert [r["label"] for r in evidence["results"]] == ["2026年上半年", "2026年下半年"]
    satisfaction = evidence["results"][0]["indicators"]["satisfaction"]
    assert satisfaction["n_eff"] == pytest.approx(400) and satisfaction["low"] is not None
    assert "callback_reasons" in evidence and "opinions" in evidence


def test_an_approved_assessment_is_not_recomputed(world, peers):
    units, group = peers
    rule = active_rule(world, group)
    poll = _wave(world, units, wave=1, rates=[0.85] * 8)
    assessment = _run(world, rule, poll)
    assessment_approve(actor=world.user("city", Role.SUPERVISOR), assessment=assessment)
    with pytest.raises(ApplicationError) as locked:
        _run(world, rule, poll)
    assert locked.value.code == "assessment_locked"


def test_only_an_administrator_of_the_owner_computes(world, peers):
    units, group = peers
    rule = active_rule(world, group)
    poll = _wave(world, units, wave=1, rates=[0.85] * 8)
    for actor in (world.user("city", Role.SUPERVISOR), world.user("a", Role.ADMIN)):
        with pytest.raises(PermissionDenied):
            assessment_compute(
                rule=rule,
                label="x",
                period_start=H1[0],
                period_end=H1[1],
                polls=[poll],
                actor=actor,
                draws=DRAWS,
            )
