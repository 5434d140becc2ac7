"""Assessment rules: the 51% public-weight floor at the form, the service and the database;
weights adding up to 1; versions; activation's snapshot; peer groups."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from minyi.assessment.forms import RuleForm
from minyi.assessment.models import Assessment, AssessmentRule, RuleStatus
from minyi.assessment.services import peer_group_save, rule_activate, rule_save
from minyi.assessment.tests.factories import active_rule, peer_group, specs, stations
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.orgs.choices import Role

# Public opinion at 0.50: one point under the floor; the weights still add up to 1.
BELOW_FLOOR = {
    "satisfaction": "0.2",
    "safety": "0.1",
    "attitude": "0.1",
    "saw_police": "0.05",
    "familiarity": "0.05",
    "clearance": "0.5",
}


@pytest.fixture
def group(world):
    return peer_group(world.city, [world.station_a1, world.station_a2, world.station_b1])


def _form_data(group, weights):
    data = {
        "year": 2026,
        "peer_groups": [group.pk],
        "min_n_eff": 300,
        "p_bottom3_gate": 0.8,
        "z_gate": 3.09,
        "note": "",
    }
    for code, weight in weights.items():
        data[f"weight_{code}"] = weight
        data[f"direction_{code}"] = "higher"
    return data


def test_form_refuses_public_weight_below_51_percent(world, group):
    form = RuleForm(_form_data(group, BELOW_FLOOR), owner=world.city)
    assert not form.is_valid()
    message = " ".join(form.non_field_errors())
    assert "0.500" in message and "51%" in message
    assert form.errors.as_data()["__all__"][0].code == "public_weight_below_floor"


def test_form_refuses_weights_not_adding_up_to_one(world, group):
    weights = {**BELOW_FLOOR, "clearance": "0.3"}  # public 0.5 + 0.3 = 0.8
    form = RuleForm(_form_data(group, weights), owner=world.city)
    assert not form.is_valid()
    assert "之和须为 1（当前为 0.800）" in " ".join(form.non_field_errors())


def test_form_accepts_a_rule_at_the_floor(world, group):
    weights = {**BELOW_FLOOR, "safety": "0.11", "clearance": "0.49"}  # public 0.51
    form = RuleForm(_form_data(group, weights), owner=world.city)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["public_weight"] == Decimal("0.51")


def test_service_refuses_public_weight_below_floor(world, group):
    with pytest.raises(ApplicationError) as refused:
        rule_save(
            actor=world.user("city", Role.ADMIN),
            owner=world.city,
            year=2026,
            indicators=specs(BELOW_FLOOR),
            peer_groups=[group],
        )
    assert refused.value.code == "public_weight_below_floor"
    assert not AssessmentRule.objects.exists()


def test_database_refuses_public_weight_below_floor(world, group):
    rule = active_rule(world, group)
    # A raw write that bypasses the service and the form.
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentRule.objects.filter(pk=rule.pk).update(public_weight=Decimal("0.5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentRule(
            owner=world.city, year=2027, version=1, public_weight=Decimal("0.509")
        ).save()


def test_only_administrators_of_the_owner_save_rules(world, group):
    for actor in (world.user("city", Role.SUPERVISOR), world.user("a", Role.ADMIN)):
        with pytest.raises(PermissionDenied):
            rule_save(
                actor=actor,
                owner=world.city,
                year=2026,
                indicators=specs(),
                peer_groups=[group],
            )


def test_a_rule_used_by_an_assessment_is_never_edited(world, group):
    admin = world.user("city", Role.ADMIN)
    rule = active_rule(world, group)
    # Unused, it is edited in place.
    same = rule_save(
        actor=admin, owner=world.city, year=2026, indicators=specs(), peer_groups=[group], rule=rule
    )
    assert same.pk == rule.pk and same.version == 1
    Assessment.objects.create(
        rule=rule, label="上半年", period_start="2026-01-01", period_end="2026-06-30"
    )
    changed = {**dict(BELOW_FLOOR), "saw_police": "0.06", "clearance": "0.49"}
    new = rule_save(
        actor=admin,
        owner=world.city,
        year=2026,
        indicators=specs(changed),
        peer_groups=[group],
        rule=rule,
    )
    assert new.pk != rule.pk and new.version == 2 and new.status == RuleStatus.DRAFT
    rule.refresh_from_db()
    assert rule.indicators.get(code="saw_police").weight == Decimal("0.1")
    assert new.indicators.get(code="saw_police").weight == Decimal("0.06")


def test_activation_snapshots_membership_and_retires_the_previous_rule(world, group):
    admin = world.user("city", Role.ADMIN)
    first = active_rule(world, group)
    # In tree order: 甲一所, 甲二所 (甲区), then 乙一所 (乙区).
    assert first.peer_snapshot == {
        str(group.pk): [world.station_a1.pk, world.station_a2.pk, world.station_b1.pk]
    }
    second = rule_save(
        actor=admin, owner=world.city, year=2026, indicators=specs(), peer_groups=[group]
    )
    # The group changes after the first rule was activated: the first keeps its snapshot.
    group.memberships.filter(unit=world.station_b1).delete()
    rule_activate(actor=admin, rule=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == RuleStatus.RETIRED and len(first.peer_snapshot[str(group.pk)]) == 3
    assert second.status == RuleStatus.ACTIVE and len(second.peer_snapshot[str(group.pk)]) == 2


def test_peer_group_members_are_below_the_owner_and_in_one_group_only(world):
    admin = world.user("city", Role.ADMIN)
    group = peer_group_save(
        actor=admin, owner=world.city, name="派出所", members=[world.station_a1, world.station_a2]
    )
    with pytest.raises(ApplicationError) as taken:
        peer_group_save(
            actor=admin, owner=world.city, name="其他", members=[world.station_a2, world.station_b1]
        )
    assert taken.value.code == "member_in_other_group"
    assert "甲二派出所（派出所）" in str(taken.value.message)
    district_admin = world.user("a", Role.ADMIN)
    with pytest.raises(ApplicationError) as outside:
        peer_group_save(
            actor=district_admin,
            owner=world.district_a,
            name="跨区",
            members=[world.station_a1, world.station_b1],
        )
    assert outside.value.code == "member_outside_owner"
    # Editing the group itself may keep its own members.
    extra = stations(world, 1)
    peer_group_save(
        actor=admin,
        owner=world.city,
        name="派出所",
        members=[world.station_a2, *extra],
        group=group,
    )
    assert set(group.memberships.values_list("unit_id", flat=True)) == {
        world.station_a2.pk,
        extra[0].pk,
    }
