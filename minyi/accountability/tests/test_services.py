"""Accountability cases through their services: opening (idempotent), the leader's reply and
the decision, and every refusal by role, tier and state."""

import pytest

from minyi.accountability.models import AccountabilityCase, CaseEvent, CaseStatus, Decision
from minyi.accountability.services import case_decide, case_open, case_reply
from minyi.accountability.tests.factories import open_case
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.notifications.models import Notification
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
S = CaseStatus


def test_open_names_the_leader_records_history_and_tells_leader_and_supervisors(world):
    case = open_case(world.station_a2)
    leader = world.user("a2", Role.UNIT_LEADER)
    assert case.leader == leader
    assert case.status == S.OPEN
    assert [(e.from_status, e.to_status) for e in case.history.all()] == [("", S.OPEN)]
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    # The leader, and the supervisors of the district and the city above; nobody else.
    assert told == {"a2_unit_leader", "a_supervisor", "city_supervisor"}


def test_open_is_idempotent_on_the_key(world):
    first = open_case(world.station_a2, key="assessment:2026:x")
    again = open_case(world.station_a2, key="assessment:2026:x")
    assert first is not None
    assert again is None
    assert AccountabilityCase.objects.count() == 1
    assert CaseEvent.objects.count() == 1


def test_open_refuses_an_unknown_trigger(world):
    with pytest.raises(ApplicationError) as exc:
        case_open(
            unit=world.station_a2,
            trigger="rumour",
            source={},
            evidence={},
            rule_version="",
            key="k1",
        )
    assert exc.value.code == "invalid_trigger"
    assert not AccountabilityCase.objects.exists()


def test_a_unit_without_a_leader_account_still_gets_its_case(world):
    world.user("a2", Role.UNIT_LEADER).delete()
    case = open_case(world.station_a2)
    assert case.leader is None


def test_leader_replies_then_a_supervisor_above_decides(world):
    case = open_case(world.station_a2)
    leader = world.user("a2", Role.UNIT_LEADER)
    case = case_reply(actor=leader, case=case, text="  已整改：增加夜间巡逻。  ")
    assert case.status == S.REPLIED
    assert case.reply == "已整改：增加夜间巡逻。"
    assert case.replied_by == leader
    district = world.user("a", Role.SUPERVISOR)
    case = case_decide(actor=district, case=case, decision=Decision.INTERVIEW, reason="约谈所长")
    assert case.status == S.DECIDED
    assert case.decision == Decision.INTERVIEW
    assert case.decided_by == district
    assert case.decision_reason == "约谈所长"
    assert [e.to_status for e in case.history.order_by("created_at", "id")] == [
        S.OPEN,
        S.REPLIED,
        S.DECIDED,
    ]
    # The leader hears of the decision.
    assert Notification.objects.filter(recipient=leader, text__contains="约谈").exists()


def test_a_decision_may_come_without_a_reply(world):
    case = open_case(world.station_a2)
    case = case_decide(
        actor=world.user("city", Role.SUPERVISOR),
        case=case,
        decision=Decision.NONE,
        reason="经核实，样本期内辖区重大警情影响，不予问责",
    )
    assert case.status == S.DECIDED


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "text_required"), ("   ", "text_required"), ("字" * 2001, "text_too_long")],
)
def test_reply_text_is_required_and_bounded(world, text, code):
    case = open_case(world.station_a2)
    with pytest.raises(ApplicationError) as exc:
        case_reply(actor=world.user("a2", Role.UNIT_LEADER), case=case, text=text)
    assert exc.value.code == code
    assert exc.value.field == "text"
    case.refresh_from_db()
    assert case.status == S.OPEN


def test_reply_of_2000_characters_is_accepted(world):
    case = open_case(world.station_a2)
    case = case_reply(actor=world.user("a2", Role.UNIT_LEADER), case=case, text="字" * 2000)
    assert len(case.reply) == 2000


def test_only_the_units_own_leader_replies(world):
    case = open_case(world.station_a2)
    # The district's leader sees nothing of a station's case: it does not exist for them.
    with pytest.raises(NotFound):
        case_reply(actor=world.user("a", Role.UNIT_LEADER), case=case, text="说明")
    # A sibling station's leader neither.
    with pytest.raises(NotFound):
        case_reply(actor=world.user("a1", Role.UNIT_LEADER), case=case, text="说明")
    # A supervisor sees the case but does not write the leader's reply.
    with pytest.raises(PermissionDenied):
        case_reply(actor=world.user("a", Role.SUPERVISOR), case=case, text="说明")
    # An evaluator sees nothing at all.
    with pytest.raises(PermissionDenied):
        case_reply(actor=world.user("a2", Role.EVALUATOR), case=case, text="说明")


def test_reply_only_once_and_not_after_the_decision(world):
    case = open_case(world.station_a2)
    leader = world.user("a2", Role.UNIT_LEADER)
    case_reply(actor=leader, case=case, text="第一次说明")
    with pytest.raises(ApplicationError) as exc:
        case_reply(actor=leader, case=case, text="第二次说明")
    assert exc.value.code == "already_replied"
    case_decide(
        actor=world.user("a", Role.SUPERVISOR),
        case=case,
        decision=Decision.CIRCULATE,
        reason="通报",
    )
    with pytest.raises(ApplicationError) as exc:
        case_reply(actor=leader, case=case, text="补充说明")
    assert exc.value.code == "invalid_transition"


def test_decision_needs_a_supervisor_of_a_higher_tier(world):
    case = open_case(world.station_a2)
    # The station's own supervisor is not above the station.
    with pytest.raises(ApplicationError) as exc:
        case_decide(
            actor=world.user("a2", Role.SUPERVISOR), case=case, decision=Decision.NONE, reason="x"
        )
    assert exc.value.code == "higher_tier_required"
    # The other district's supervisor does not see it.
    with pytest.raises(NotFound):
        case_decide(
            actor=world.user("b", Role.SUPERVISOR), case=case, decision=Decision.NONE, reason="x"
        )
    # A leader or an administrator does not decide.
    for role in (Role.UNIT_LEADER, Role.ADMIN):
        with pytest.raises(PermissionDenied):
            case_decide(actor=world.user("a", role), case=case, decision=Decision.NONE, reason="x")
    case.refresh_from_db()
    assert case.status == S.OPEN


def test_the_leader_never_decides_their_own_case(world):
    # The leader held to account has since become a supervisor of the district above.
    leader = world.user("a2", Role.UNIT_LEADER)
    case = open_case(world.station_a2)
    leader.role = Role.SUPERVISOR
    leader.unit = world.district_a
    leader.save()
    with pytest.raises(ApplicationError) as exc:
        case_decide(actor=leader, case=case, decision=Decision.NONE, reason="本人认为不应问责")
    assert exc.value.code == "own_case"


@pytest.mark.parametrize(
    ("decision", "reason", "code"),
    [
        ("", "理由", "decision_invalid"),
        ("fire", "理由", "decision_invalid"),
        (Decision.REASSIGN, "", "reason_required"),
        (Decision.REASSIGN, "字" * 2001, "reason_too_long"),
    ],
)
def test_decision_is_validated(world, decision, reason, code):
    case = open_case(world.station_a2)
    with pytest.raises(ApplicationError) as exc:
        case_decide(
            actor=world.user("a", Role.SUPERVISOR), case=case, decision=decision, reason=reason
        )
    assert exc.value.code == code
    case.refresh_from_db()
    assert case.status == S.OPEN and case.decision == ""


def test_a_case_is_decided_once(world):
    case = open_case(world.station_a2)
    case_decide(
        actor=world.user("a", Role.SUPERVISOR), case=case, decision=Decision.RECTIFY, reason="整改"
    )
    with pytest.raises(ApplicationError) as exc:
        case_decide(
            actor=world.user("city", Role.SUPERVISOR),
            case=case,
            decision=Decision.REASSIGN,
            reason="改为调整岗位",
        )
    assert exc.value.code == "invalid_transition"
    case.refresh_from_db()
    assert case.decision == Decision.RECTIFY


def test_a_second_leader_account_at_the_unit_may_reply(world):
    # Two leader accounts (所长 and 教导员): either answers for the unit.
    other = UserFactory(username="a2_instructor", role=Role.UNIT_LEADER, unit=world.station_a2)
    case = open_case(world.station_a2)
    case = case_reply(actor=other, case=case, text="教导员代为说明")
    assert case.replied_by == other
