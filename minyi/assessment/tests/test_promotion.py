"""The promotion review sheet (干部竞聘考察表): a candidate's tenures, each unit's poll
estimates and approved assessments inside the tenure, with intervals and samples beside
every figure; cells under the minimum sample say so; Excel and PDF downloads, audited;
supervisors of the officer's subtree only."""

import io
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from minyi.assessment.models import (
    Assessment,
    AssessmentResult,
    AssessmentRule,
    AssessmentStatus,
    Tenure,
)
from minyi.assessment.promotion import promotion_pdf, promotion_sheet, sheet_rows
from minyi.core.models import AuditAction, AuditEvent
from minyi.orgs.choices import Role
from minyi.orgs.models import PeerGroup, PeerGroupMember
from minyi.polls.models import Indicator, Poll, PollEstimate, PollSource

pytestmark = pytest.mark.django_db


def _poll(world, *, wave, start, end, weighted=True):
    return Poll.objects.create(
        title=f"2026年第{wave}轮民意测评",
        year=2026,
        wave=wave,
        source=PollSource.IMPORTED,
        unit=world.city,
        fielded_from=start,
        fielded_to=end,
        weighted_at=timezone.now() if weighted else None,
    )


def _estimate(poll, unit, indicator, *, n, n_eff, rate, low, high):
    return PollEstimate.objects.create(
        poll=poll,
        unit=unit,
        indicator=indicator,
        n=n,
        n_eff=n_eff,
        rate=rate,
        low=low,
        high=high,
        rule_version="stats-2026.1",
    )


def _assessment(world, group, *, status, label, start, end, version=1):
    rule = AssessmentRule.objects.create(owner=world.city, year=2026, version=version)
    return Assessment.objects.create(
        rule=rule,
        label=label,
        period_start=start,
        period_end=end,
        status=status,
        rule_version=rule.rule_version,
    )


def _result(assessment, unit, group, **fields):
    return AssessmentResult.objects.create(
        assessment=assessment, unit=unit, peer_group=group, **fields
    )


@pytest.fixture
def candidate(world):
    """The a2 station's officer led a2 from 2026-01-01 to 2026-06-30, then b1 since."""
    officer = world.officers["a2"]
    Tenure.objects.create(
        officer=officer,
        unit=world.station_a2,
        title="所长",
        started_on=date(2026, 1, 1),
        ended_on=date(2026, 6, 30),
    )
    Tenure.objects.create(
        officer=officer, unit=world.station_b1, title="所长", started_on=date(2026, 7, 1)
    )
    inside = _poll(world, wave=1, start=date(2026, 3, 1), end=date(2026, 3, 31))
    _estimate(
        inside,
        world.station_a2,
        Indicator.SATISFACTION,
        n=420,
        n_eff=361.5,
        rate=0.8123,
        low=0.7692,
        high=0.8489,
    )
    _estimate(
        inside, world.station_a2, Indicator.SAFETY, n=60, n_eff=48.2, rate=0.9, low=0.79, high=0.96
    )
    _estimate(
        inside,
        world.station_a1,
        Indicator.SATISFACTION,  # another unit: never shown
        n=400,
        n_eff=350.0,
        rate=0.5555,
        low=0.5,
        high=0.6,
    )
    later = _poll(world, wave=3, start=date(2026, 9, 1), end=date(2026, 9, 30))
    _estimate(
        later,
        world.station_a2,
        Indicator.SATISFACTION,  # after the tenure ended
        n=400,
        n_eff=350.0,
        rate=0.6666,
        low=0.62,
        high=0.71,
    )
    group = PeerGroup.objects.create(name="派出所", owner=world.city)
    for unit in (world.station_a1, world.station_a2, world.station_b1):
        PeerGroupMember.objects.create(group=group, unit=unit)
    approved = _assessment(
        world,
        group,
        status=AssessmentStatus.APPROVED,
        label="2026上半年",
        start=date(2026, 1, 1),
        end=date(2026, 6, 30),
    )
    for unit, rank in ((world.station_a1, 1), (world.station_b1, 2)):
        _result(approved, unit, group, ranked=True, composite=0.1, median_rank=rank)
    _result(
        approved,
        world.station_a2,
        group,
        ranked=True,
        n_eff=361.5,
        composite=-0.4321,
        composite_low=-0.81,
        composite_high=-0.05,
        raw_rank=3,
        median_rank=3.0,
        rank_low=2,
        rank_high=3,
    )
    draft = _assessment(
        world,
        group,
        status=AssessmentStatus.COMPUTED,
        label="未审定考评",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        version=2,
    )
    _result(draft, world.station_a2, group, ranked=True, composite=-9.0)
    return officer


def test_sheet_lists_each_tenure_with_figures_inside_it(world, candidate):
    sheet = promotion_sheet(world.user("city", Role.SUPERVISOR), candidate)
    first, second = sheet.blocks
    assert first.tenure.unit == world.station_a2 and second.tenure.unit == world.station_b1
    assert [(f.indicator, f.adequate) for f in first.polls] == [("满意度", True), ("安全感", False)]
    satisfaction, safety = first.polls
    assert (satisfaction.rate, satisfaction.low, satisfaction.high) == (0.8123, 0.7692, 0.8489)
    assert (satisfaction.n, satisfaction.n_eff) == (420, 361.5)
    assert safety.rate is None and safety.low is None  # under the minimum: no rate shown
    (standing,) = first.standings  # the computed, unapproved assessment is not cited
    assert standing.label == "2026上半年"
    r = standing.result
    assert (r.median_rank, r.rank_low, r.rank_high, standing.peers) == (
        3.0,
        2,
        3,
        3,
    )
    assert (r.composite, r.composite_low, r.composite_high) == (-0.4321, -0.81, -0.05)
    # b1, led since July, has no figures: the September wave is a2's, not b1's.
    assert second.polls == [] and second.standings == []


def test_excel_cells_carry_interval_and_sample_beside_each_figure(client, world, candidate):
    client.force_login(world.user("city", Role.SUPERVISOR))
    response = client.get(reverse("assessment:promotion_export", args=[candidate.pk, "xlsx"]))
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    ws = workbook.active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert candidate.name in rows[0][0]
    assert rows[1][:10] == [
        "任职单位",
        "任职期间",
        "类别",
        "测评轮次 / 考评",
        "指标",
        "数值",
        "95%区间",
        "样本量 n",
        "有效样本量",
        "名次（90%区间）/ 同类单位数",
    ]
    by_indicator = {r[4]: r for r in rows[2:] if r[2] == "民意测评"}
    assert by_indicator["满意度"][5:9] == [0.8123, "76.9%–84.9%", 420, 361.5]
    assert by_indicator["满意度"][0] == world.station_a2.name
    assert by_indicator["安全感"][5] == "样本不足"
    assert not by_indicator["安全感"][6]  # no interval either
    assert "有效样本量不足 100" in by_indicator["安全感"][10]
    (composite,) = [r for r in rows[2:] if r[2] == "综合考评"]
    assert composite[3] == "2026上半年"
    assert composite[5:7] == [-0.432, "-0.81–-0.05"]
    assert composite[9] == "3（2–3）/ 3"
    assert not [r for r in rows if r[5] in (0.5555, 0.6666, -9.0)]
    (b1,) = [r for r in rows[2:] if r[0] == world.station_b1.name]
    assert b1[10] == "任期内无测评和考评数据"
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.detail["table"] == "promotion" and event.detail["format"] == "xlsx"


def test_pdf_renders(client, world, candidate):
    client.force_login(world.user("city", Role.SUPERVISOR))
    response = client.get(reverse("assessment:promotion_export", args=[candidate.pk, "pdf"]))
    body = b"".join(response.streaming_content)
    assert response["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF") and body.rstrip().endswith(b"%%EOF")
    assert b"STSong-Light" in body  # the Chinese text is set in the built-in CID font
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_a_district_supervisor_does_not_see_figures_of_another_district(world, candidate):
    sheet = promotion_sheet(world.user("a", Role.SUPERVISOR), candidate)
    a2, b1 = sheet.blocks
    assert a2.in_scope and a2.polls
    assert not b1.in_scope and b1.polls == [] and b1.standings == []
    assert sheet_rows(sheet)[-1][10] == "不在本级管辖范围"
    assert promotion_pdf(sheet).startswith(b"%PDF")


def test_pages_are_for_supervisors_of_the_officers_subtree(client, world, candidate):
    sheet_url = reverse("assessment:promotion_sheet", args=[candidate.pk])
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    assert client.get(sheet_url).status_code == 403
    client.force_login(world.user("b", Role.SUPERVISOR))  # the officer is in district a
    assert client.get(sheet_url).status_code == 404
    pick = client.get(reverse("assessment:promotion_pick")).content.decode()
    assert candidate.name not in pick
    client.force_login(world.user("a", Role.SUPERVISOR))
    pick = client.get(reverse("assessment:promotion_pick")).content.decode()
    assert candidate.name in pick
    html = client.get(sheet_url).content.decode()
    assert "81.2%" in html and "76.9%–84.9%" in html and "420" in html
    assert "样本不足（有效样本量 &lt; 100）" in html
    assert "3（2–3）/ 3" in html
    assert (
        client.get(reverse("assessment:promotion_export", args=[candidate.pk, "doc"])).status_code
        == 404
    )
