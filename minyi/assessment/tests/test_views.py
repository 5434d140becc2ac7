"""The assessment pages: who sees which rows of a ranking, approval and publication by role,
the ranking page's charts and shares, and the rule form's refusals."""

from datetime import date

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from minyi.assessment.compute import assessment_compute
from minyi.assessment.models import AssessmentRule, AssessmentStatus
from minyi.assessment.tests.factories import (
    active_rule,
    answers,
    figure,
    peer_group,
    poll_wave,
    stations,
)
from minyi.orgs.choices import Role


def _login(client, user):
    client.force_login(user)
    if user.needs_second_factor:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    return client


@pytest.fixture
def assessment(world):
    """District A's assessment of its eight stations (甲一所 and 甲二所 among them); 甲二所
    far below the others."""
    units = [world.station_a1, world.station_a2, *stations(world, 6)]
    group = peer_group(world.district_a, units)
    rule = active_rule(world, group, owner=world.district_a)
    poll = poll_wave(world)
    for unit in units:
        answers(poll, unit, n=400, rate=0.6 if unit == world.station_a2 else 0.9)
        figure(unit, s=50, n=100)
    return assessment_compute(
        rule=rule,
        label="2026年上半年",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        polls=[poll],
        actor=world.user("a", Role.ADMIN),
        draws=2000,
    )


def _detail(client, assessment):
    return client.get(reverse("assessment:assessment_detail", args=[assessment.pk]))


def _ranked_units(response) -> set[str]:
    return {row.unit.code for group in response.context["rankings"] for row in group.rows}


def test_the_district_supervisor_sees_the_whole_peer_group(client, world, assessment):
    _login(client, world.user("a", Role.SUPERVISOR))
    response = _detail(client, assessment)
    assert response.status_code == 200
    assert len(_ranked_units(response)) == 8
    page = response.content.decode()
    assert "民意名义权重 60%，实际影响" in page
    assert 'id="chart-caterpillar"' in page and 'id="chart-funnel"' in page
    caterpillar = response.context["charts"]["caterpillar"]
    assert len(caterpillar["units"]) == 8
    assert caterpillar["units"][-1]["name"] == world.station_a2.display_name
    assert caterpillar["units"][-1]["marked"] is True
    funnel = response.context["charts"]["funnel"]
    assert len(funnel["points"]) == 8 and funnel["limits"][0][3] < funnel["limits"][0][1]


def test_a_leader_sees_their_own_row_only_until_publication(client, world, assessment):
    _login(client, world.user("a2", Role.UNIT_LEADER))
    response = _detail(client, assessment)
    assert response.status_code == 200
    assert _ranked_units(response) == {"TA02"}
    page = response.content.decode()
    assert world.station_a1.name not in page and "甲区测试1所" not in page
    assert "认定末位" in page
    # Published, the ranking is public: the leader sees the whole group.
    type(assessment).objects.filter(pk=assessment.pk).update(status=AssessmentStatus.PUBLISHED)
    assert len(_ranked_units(_detail(client, assessment))) == 8


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.UNIT_LEADER, Role.ADMIN])
def test_a_sibling_bureau_sees_nothing(client, world, assessment, role):
    _login(client, world.user("b", role))
    assert _detail(client, assessment).status_code == 404
    listing = client.get(reverse("assessment:assessment_list"))
    assert "2026年上半年" not in listing.content.decode()
    rules = client.get(reverse("assessment:rule_list"))
    assert world.district_a.display_name not in rules.content.decode()


def test_approval_and_publication_by_role(client, world, assessment):
    approve = reverse("assessment:assessment_approve", args=[assessment.pk])
    publish = reverse("assessment:assessment_publish", args=[assessment.pk])
    _login(client, world.user("a2", Role.UNIT_LEADER))
    assert client.post(approve).status_code == 403
    _login(client, world.user("b", Role.SUPERVISOR))
    assert client.post(approve).status_code == 404
    # A supervisor of the station below the owner sees the assessment but may not approve it.
    _login(client, world.user("a2", Role.SUPERVISOR))
    client.post(approve)
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.COMPUTED
    _login(client, world.user("a", Role.SUPERVISOR))
    assert client.post(approve).status_code == 302
    assert client.post(publish).status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.PUBLISHED
    assert assessment.approved_by == world.user("a", Role.SUPERVISOR)
    assert assessment.published_at is not None


def test_the_rule_form_refuses_a_public_weight_of_half(client, world):
    group = peer_group(world.district_a, [world.station_a1, world.station_a2])
    _login(client, world.user("a", Role.ADMIN))
    data = {
        "year": 2026,
        "peer_groups": [group.pk],
        "min_n_eff": 300,
        "p_bottom3_gate": 0.8,
        "z_gate": 3.09,
        "weight_satisfaction": "0.5",
        "weight_clearance": "0.5",
    }
    response = client.post(reverse("assessment:rule_create"), data)
    assert response.status_code == 400
    assert "民意测评指标权重合计 0.500，低于规定的下限 0.51" in response.content.decode()
    assert not AssessmentRule.objects.exists()
    data |= {"weight_satisfaction": "0.51", "weight_clearance": "0.49"}
    assert client.post(reverse("assessment:rule_create"), data).status_code == 302
    rule = AssessmentRule.objects.get()
    assert rule.owner == world.district_a and str(rule.public_weight) == "0.510"
