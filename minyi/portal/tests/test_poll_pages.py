"""The public results pages (民意评警公开): a unit's latest poll results, aggregates only and
only cells with enough answers; the ranking, only of published assessments."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.assessment.models import (
    Assessment,
    AssessmentResult,
    AssessmentRule,
    AssessmentStatus,
)
from minyi.orgs.models import PeerGroup
from minyi.polls.models import (
    Indicator,
    Poll,
    PollEstimate,
    PollRespondent,
    PollSource,
    PollStatus,
)

pytestmark = pytest.mark.django_db


def _poll(world, *, wave, status=PollStatus.CLOSED, end=None):
    end = end or date(2026, 3, 31)
    return Poll.objects.create(
        title=f"2026年第{wave}轮民意测评",
        year=2026,
        wave=wave,
        source=PollSource.IMPORTED,
        unit=world.city,
        status=status,
        fielded_from=date(2026, 3, 1) if wave == 1 else end.replace(day=1),
        fielded_to=end,
        weighted_at=timezone.now(),
    )


def _estimate(poll, unit, indicator, *, n_eff, rate, low, high):
    PollEstimate.objects.create(
        poll=poll,
        unit=unit,
        indicator=indicator,
        n=int(n_eff * 1.2),
        n_eff=n_eff,
        rate=rate,
        low=low,
        high=high,
        rule_version="stats-2026.1",
    )


def test_unit_page_shows_the_latest_wave_adequate_cells_only(client, world):
    old = _poll(world, wave=1)
    _estimate(
        old, world.station_a2, Indicator.SATISFACTION, n_eff=300, rate=0.5151, low=0.46, high=0.57
    )
    latest = _poll(world, wave=2, end=date(2026, 6, 30))
    _estimate(
        latest,
        world.station_a2,
        Indicator.SATISFACTION,
        n_eff=352.4,
        rate=0.8123,
        low=0.7692,
        high=0.8489,
    )
    _estimate(
        latest, world.station_a2, Indicator.SAFETY, n_eff=40.0, rate=0.9737, low=0.86, high=0.99
    )
    # A wave still being collected is not published.
    collecting = _poll(world, wave=3, status=PollStatus.COLLECTING, end=date(2026, 9, 30))
    _estimate(
        collecting,
        world.station_a2,
        Indicator.SATISFACTION,
        n_eff=200,
        rate=0.4242,
        low=0.35,
        high=0.49,
    )
    PollRespondent.objects.create(
        poll=latest,
        unit=world.station_a2,
        respondent_ref="R-SECRET-1",
        age_band="30-44",
        sex="f",
        residence="registered",
        satisfaction=False,
        comment="派出所民警态度差，电话13812345678",
        answered_on=date(2026, 6, 2),
    )
    response = client.get(reverse("portal:poll_unit", args=[world.station_a2.code]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "2026年第2轮民意测评" in html
    assert "81.2%" in html and "76.9%" in html and "84.9%" in html and "352" in html
    assert "97.4%" not in html  # 40 effective answers: under the minimum
    assert "受访人数不足，暂不公布。" in html
    assert "51.5%" not in html and "42.4%" not in html  # neither an older nor an open wave
    assert "R-SECRET-1" not in html and "态度差" not in html and "1381234" not in html
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_unit_page_without_results_and_unknown_unit(client, world):
    response = client.get(reverse("portal:poll_unit", args=[world.station_b1.code]))
    assert "该单位暂无已完成的民意测评结果。" in response.content.decode()
    assert client.get(reverse("portal:poll_unit", args=["NOPE"])).status_code == 404


def test_the_unit_card_links_its_results(client, world):
    html = client.get(reverse("directory:unit_card", args=[world.station_a2.code])).content
    assert reverse("portal:poll_unit", args=[world.station_a2.code]) in html.decode()


def _assessment(world, group, *, status, label, end, version):
    rule = AssessmentRule.objects.create(owner=world.city, year=2026, version=version)
    return Assessment.objects.create(
        rule=rule,
        label=label,
        period_start=date(2026, 1, 1),
        period_end=end,
        status=status,
        rule_version=rule.rule_version,
        published_at=timezone.now() if status == AssessmentStatus.PUBLISHED else None,
    )


def test_ranking_shows_only_published_assessments_with_intervals(client, world):
    stations = PeerGroup.objects.create(name="派出所组", owner=world.city)
    published = _assessment(
        world,
        stations,
        status=AssessmentStatus.PUBLISHED,
        label="2026年上半年考评",
        end=date(2026, 6, 30),
        version=1,
    )
    AssessmentResult.objects.create(
        assessment=published,
        unit=world.station_a1,
        peer_group=stations,
        ranked=True,
        composite=0.4321,
        composite_low=0.11,
        composite_high=0.74,
        median_rank=1.0,
        rank_low=1,
        rank_high=2,
    )
    AssessmentResult.objects.create(
        assessment=published,
        unit=world.station_a2,
        peer_group=stations,
        ranked=True,
        composite=-0.4321,
        composite_low=-0.77,
        composite_high=-0.09,
        median_rank=2.0,
        rank_low=1,
        rank_high=2,
    )
    AssessmentResult.objects.create(
        assessment=published,
        unit=world.station_b1,
        peer_group=stations,
        ranked=False,
        composite=None,
    )
    approved = _assessment(
        world,
        stations,
        status=AssessmentStatus.APPROVED,
        label="2026年下半年考评",
        end=date(2026, 12, 31),
        version=2,
    )
    AssessmentResult.objects.create(
        assessment=approved,
        unit=world.station_a2,
        peer_group=stations,
        ranked=True,
        composite=-1.2345,
        median_rank=3.0,
        rank_low=3,
        rank_high=3,
    )
    html = client.get(reverse("portal:ranking")).content.decode()
    assert "2026年上半年考评" in html and "派出所组" in html
    assert "2026年下半年考评" not in html and "-1.23" not in html  # approved, not published
    assert html.index(world.station_a1.display_name) < html.index(world.station_a2.display_name)
    assert "可能在 1–2 名" in html
    assert "0.43" in html and "0.11 ~ 0.74" in html and "-0.77 ~ -0.09" in html
    assert "样本不足，未排名" in html  # b1, unranked, is listed without a rank
    assert "数字怎么看" in html
    assert client.get(reverse("portal:ranking_detail", args=[approved.pk])).status_code == 404
    assert client.get(reverse("portal:ranking_detail", args=[published.pk])).status_code == 200


def test_ranking_before_anything_is_published(client, world):
    html = client.get(reverse("portal:ranking")).content.decode()
    assert "暂无公布的考评结果。" in html
    assert reverse("portal:ranking") in client.get(reverse("portal:home")).content.decode()
