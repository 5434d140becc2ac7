"""Test data for the assessment: a peer group of stations, weighted poll answers with chosen
rates, an active rule, and business figures."""

import random
from datetime import date
from decimal import Decimal

from minyi.assessment.models import AssessmentRule, BusinessCode, BusinessFigure, FigureSource
from minyi.assessment.services import IndicatorSpec, rule_activate, rule_save
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import PeerGroup, PeerGroupMember
from minyi.orgs.tests.factories import unit
from minyi.polls.models import AgeBand, Indicator, Poll, PollRespondent, PollSource, Residence, Sex

H1_START, H1_END = date(2026, 1, 1), date(2026, 6, 30)
# A rule with all five poll indicators (0.6 together) and one business figure.
WEIGHTS = {
    Indicator.SAW_POLICE: "0.1",
    Indicator.ATTITUDE: "0.1",
    Indicator.FAMILIARITY: "0.1",
    Indicator.SATISFACTION: "0.2",
    Indicator.SAFETY: "0.1",
    BusinessCode.CLEARANCE: "0.4",
}


def specs(weights: dict | None = None) -> list[IndicatorSpec]:
    return [
        IndicatorSpec(code=str(code), weight=Decimal(w)) for code, w in (weights or WEIGHTS).items()
    ]


def stations(world, count: int, *, prefix: str = "TA9") -> list:
    """`count` more police stations under district A (codes TA901, TA902, …)."""
    return [
        unit(world.district_a, f"甲区测试{i}所", f"{prefix}{i:02d}", UnitKind.POLICE_STATION)
        for i in range(1, count + 1)
    ]


def peer_group(owner, members, *, name="派出所") -> PeerGroup:
    group = PeerGroup.objects.create(owner=owner, name=name)
    PeerGroupMember.objects.bulk_create(PeerGroupMember(group=group, unit=u) for u in members)
    return group


def active_rule(world, group, *, owner=None, weights=None, year=2026, **extra) -> AssessmentRule:
    admin = world.user("city", Role.ADMIN)
    rule = rule_save(
        actor=admin,
        owner=owner or world.city,
        year=year,
        indicators=specs(weights),
        peer_groups=[group],
        **extra,
    )
    return rule_activate(actor=admin, rule=rule)


def poll_wave(world, *, wave=1, year=2026, fielded=(date(2026, 5, 1), date(2026, 5, 31))) -> Poll:
    return Poll.objects.create(
        title=f"{year}年第{wave}轮",
        year=year,
        wave=wave,
        source=PollSource.IMPORTED,
        unit=world.city,
        fielded_from=fielded[0],
        fielded_to=fielded[1],
    )


def answers(poll: Poll, unit, *, n: int, rate: float, weight: float = 1.0, seed=None) -> None:
    """`n` weighted respondents of `unit`. Without a seed, round(rate·n) of them are positive
    on every indicator (equal rates give exactly equal units); with one, each answer is
    positive with probability `rate` (a random sample of a unit whose true rate is `rate`)."""
    positive = round(rate * n)
    rng = random.Random(seed)

    def answer(i: int) -> bool:
        return i < positive if seed is None else rng.random() < rate

    PollRespondent.objects.bulk_create(
        PollRespondent(
            poll=poll,
            unit=unit,
            respondent_ref=f"{unit.code}-{i}",
            age_band=AgeBand.FROM_30,
            sex=Sex.MALE if i % 2 else Sex.FEMALE,
            residence=Residence.REGISTERED,
            answered_on=poll.fielded_from,
            weight=weight,
            **{field: answer(i) for field in Indicator.values},
        )
        for i in range(n)
    )


def figure(unit, code=BusinessCode.CLEARANCE, *, s, n, start=H1_START, end=H1_END):
    return BusinessFigure.objects.create(
        unit=unit,
        code=code,
        period_start=start,
        period_end=end,
        numerator=s,
        denominator=n,
        source=FigureSource.IMPORTED,
    )
