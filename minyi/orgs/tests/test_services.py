"""Bad input to the organisation services: refused with a code, nothing half-saved."""

import pytest

from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.orgs.choices import Position, Role, UnitKind
from minyi.orgs.models import Officer, OrgUnit, User
from minyi.orgs.services import (
    officer_create,
    officer_reveal_pii,
    orgunit_create,
    orgunit_move,
    user_create,
)

pytestmark = pytest.mark.django_db


def test_unit_cannot_move_under_its_own_child(world):
    admin = world.user("city", Role.ADMIN)
    paths_before = dict(OrgUnit.objects.values_list("pk", "path"))
    with pytest.raises(ApplicationError) as exc:
        orgunit_move(actor=admin, unit=world.district_a, new_parent=world.station_a1)
    assert exc.value.code == "unit_move_into_own_subtree"
    assert dict(OrgUnit.objects.values_list("pk", "path")) == paths_before


def test_unit_moves_with_its_subtree_and_scope_follows(world):
    admin = world.user("city", Role.ADMIN)
    orgunit_move(actor=admin, unit=world.station_a2, new_parent=world.district_b)
    district_b = OrgUnit.objects.get(pk=world.district_b.pk)
    moved = OrgUnit.objects.get(pk=world.station_a2.pk)
    assert district_b.contains(moved)
    assert (
        Officer.objects.filter(district_b.subtree_filter("unit__"))
        .filter(pk=world.officers["a2"].pk)
        .exists()
    )


def test_admin_cannot_act_outside_their_subtree(world):
    with pytest.raises(ApplicationError) as exc:
        orgunit_move(
            actor=world.user("a", Role.ADMIN), unit=world.station_b1, new_parent=world.district_a
        )
    assert exc.value.code == "unit_out_of_scope"


def test_duplicate_unit_code_is_refused(world):
    with pytest.raises(ApplicationError) as exc:
        orgunit_create(
            actor=world.user("city", Role.ADMIN),
            parent=world.city,
            name="重复",
            code="TA01",
            kind=UnitKind.POLICE_STATION,
        )
    assert exc.value.code == "duplicate_unit_code"


def test_second_account_with_same_username_any_case_is_refused(world):
    with pytest.raises(ApplicationError) as exc:
        user_create(
            actor=world.user("a", Role.ADMIN),
            username="A1_Evaluator",
            password="Another-Secret-99",
            role=Role.EVALUATOR,
            unit=world.station_a1,
        )
    assert exc.value.code == "duplicate_username"


@pytest.mark.parametrize("password", ["short1A!", "password123", "1234567890123"])
def test_weak_passwords_are_refused(world, password):
    with pytest.raises(ApplicationError) as exc:
        user_create(
            actor=world.user("a", Role.ADMIN),
            username="newbie",
            password=password,
            role=Role.EVALUATOR,
            unit=world.station_a1,
        )
    assert exc.value.code == "weak_password"
    assert not User.objects.filter(username="newbie").exists()


def test_officer_with_malformed_mobile_is_not_saved(world):
    with pytest.raises(ApplicationError) as exc:
        officer_create(
            actor=world.user("a", Role.ADMIN),
            unit=world.station_a1,
            police_number="123456",
            name="张三",
            position=Position.PATROL,
            mobile="12345",
        )
    assert exc.value.code == "invalid_mobile"
    assert not Officer.objects.filter(police_number="123456").exists()


def test_officer_with_bad_id_checksum_is_not_saved(world):
    with pytest.raises(ApplicationError) as exc:
        officer_create(
            actor=world.user("a", Role.ADMIN),
            unit=world.station_a1,
            police_number="123456",
            name="张三",
            position=Position.PATROL,
            id_number="110105194912310021",
        )
    assert exc.value.code == "invalid_id_number"


def test_reveal_is_audited_and_refused_for_roles_that_do_not_need_it(world):
    officer = world.officers["a1"]
    value = officer_reveal_pii(
        actor=world.user("a1", Role.SUPERVISOR), officer=officer, field="mobile"
    )
    assert value == officer.mobile
    with pytest.raises(ApplicationError):
        officer_reveal_pii(actor=world.user("a1", Role.EVALUATOR), officer=officer, field="mobile")
    outcomes = list(
        AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).values_list("outcome", flat=True)
    )
    assert sorted(outcomes) == sorted([AuditOutcome.SUCCESS, AuditOutcome.DENIED])
