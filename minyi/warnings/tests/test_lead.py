"""Warnings speak the leader's language first (issue 12, item 10): one sentence with the rate,
the peers' average and the rank; z, S and the funnel wait in the 计算方法 fold. Green is a
colour shown with a number, not the absence of red."""

import pytest
from django.urls import reverse

from minyi.orgs.choices import Role
from minyi.warnings.models import Warning, WarningColour, WarningSubject
from minyi.warnings.views import warning_lead


def _unit_warning(**evidence):
    return Warning(
        subject=WarningSubject.UNIT,
        colour=WarningColour.ORANGE,
        window_days=90,
        evidence={
            "evaluated": True,
            "rate": 0.921,
            "target": 0.954,
            "funnel": {"peers": [[50, 0.99], [40, 0.97], [60, 0.95], [30, 0.90]]},
            **evidence,
        },
    )


def test_a_unit_warning_leads_with_rate_average_and_rank():
    lead = warning_lead(_unit_warning())
    assert lead.startswith("满意率 92.1%，同类单位平均 95.4%，排名 4/5。")
    assert "橙色" in lead
    assert "z" not in lead


def test_an_officer_warning_leads_with_counts():
    warning = Warning(
        subject=WarningSubject.OFFICER,
        colour=WarningColour.RED,
        window_days=90,
        evidence={"ratings": 75, "at_fault": 15, "rate": 0.2, "p0": 0.012},
    )
    lead = warning_lead(warning)
    assert "75 条有效评价" in lead and "不满意 15 条（20.0%）" in lead and "全市平均 1.2%" in lead
    assert "红色" in lead and "S =" not in lead


@pytest.mark.django_db
def test_the_list_shows_green_too_and_keeps_statistics_in_the_fold(client, world):
    client.force_login(world.user("city", Role.SUPERVISOR))
    page = client.get(reverse("warnings:warning_list")).content.decode()
    assert 'data-testid="count-green"' in page
    assert "<summary>计算方法</summary>" in page
