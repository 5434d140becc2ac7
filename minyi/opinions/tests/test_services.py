"""Opinion and tip-reward services: every transition, its refusals, scope, working-day
deadlines, notifications, the audited contact reveal and the worker's sweep."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.integrations.sms.models import OutboundSms
from minyi.notifications.models import Notification, NotificationKind
from minyi.opinions.models import (
    OpinionEvent,
    OpinionKind,
    OpinionStatus,
    RewardStatus,
    TipVerdict,
)
from minyi.opinions.services import (
    opinion_accept,
    opinion_answer,
    opinion_contact_reveal,
    opinion_rate,
    opinion_tip_verdict,
    opinion_transfer,
    opinions_sweep,
    reward_decide,
    reward_pay,
    reward_propose,
)
from minyi.opinions.tests.factories import make_opinion
from minyi.opinions.tests.permission_cases import (
    TIPSTER,
    TIPSTER_MOBILE,
    rewarded_tip_a2,
    tip_a2,
    verified_tip_a2,
)
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db

S = OpinionStatus
ANSWER = "您反映的路灯问题已联系街道修复，并增加夜间巡逻。"


def at(day: date, hour: int = 10):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


# A Monday; a complaint has 5 working days, so its deadline is the next Monday.
MONDAY = date(2025, 3, 3)


def _leader(world, key="a2"):
    return world.user(key, Role.UNIT_LEADER)


def _codes(fn, **kwargs) -> str:
    with pytest.raises(ApplicationError) as exc:
        fn(**kwargs)
    return exc.value.code


# --- Accept, transfer, answer ----------------------------------------------------------------


def test_accept_moves_to_accepted_and_records_who(world):
    opinion = make_opinion(world)
    leader = _leader(world)

    accepted = opinion_accept(actor=leader, opinion=opinion)

    assert accepted.status == S.ACCEPTED and accepted.accepted_at is not None
    last = accepted.history.last()
    assert (last.actor, last.from_status, last.to_status) == (leader, S.RECEIVED, S.ACCEPTED)
    # A second accept is refused: the opinion is no longer waiting to be signed for.
    assert _codes(opinion_accept, actor=leader, opinion=accepted) == "invalid_transition"


def test_sibling_unit_cannot_touch_an_opinion(world):
    opinion = make_opinion(world)
    with pytest.raises(NotFound):
        opinion_accept(actor=_leader(world, "a1"), opinion=opinion)
    with pytest.raises(NotFound):
        opinion_answer(actor=_leader(world, "a1"), opinion=opinion, text=ANSWER)
    assert opinion.history.count() == 1  # only the citizen's submission


def test_a_role_without_the_permission_is_refused(world):
    opinion = make_opinion(world)
    with pytest.raises(PermissionDenied):
        opinion_accept(actor=world.user("a2", Role.EVALUATOR), opinion=opinion)
    with pytest.raises(PermissionDenied):
        opinion_transfer(
            actor=_leader(world), opinion=opinion, unit=world.station_a1, note="转甲一所"
        )


def test_transfer_within_subtree_keeps_the_deadline_and_tells_the_new_unit(world):
    # Given a complaint that reached the district bureau
    opinion = make_opinion(world, unit=world.district_a)
    supervisor = world.user("a", Role.SUPERVISOR)

    # When the district's supervisor transfers it to station a2
    moved = opinion_transfer(
        actor=supervisor, opinion=opinion, unit=world.station_a2, note="属甲二所辖区"
    )

    # Then it waits at a2 for signing, with the same deadline, and a2's leader is told
    assert (moved.status, moved.unit_id, moved.deadline) == (
        S.RECEIVED,
        world.station_a2.pk,
        opinion.deadline,
    )
    event = moved.history.last()
    assert event.unit_id == world.station_a2.pk and event.note == "属甲二所辖区"
    assert Notification.objects.filter(
        recipient=_leader(world, "a2"), kind=NotificationKind.OPINION_ARRIVED
    ).exists()


def test_transfer_outside_the_subtree_or_to_the_same_unit_is_refused(world):
    opinion = make_opinion(world, unit=world.district_a)
    supervisor = world.user("a", Role.SUPERVISOR)
    assert (
        _codes(
            opinion_transfer,
            actor=supervisor,
            opinion=opinion,
            unit=world.station_b1,
            note="转乙一所",
        )
        == "invalid_unit"
    )
    assert (
        _codes(
            opinion_transfer,
            actor=supervisor,
            opinion=opinion,
            unit=world.district_a,
            note="留在本级",
        )
        == "same_unit"
    )
    assert opinion.history.count() == 1


def test_deadline_counts_working_days():
    from minyi.core.workdays import add_working_days

    # Monday + 5 working days is the next Monday; from the eve of the National Day holiday
    # (1–8 October 2025, Saturday 11 October a make-up workday) it is 14 October.
    assert add_working_days(MONDAY, 5)[0] == date(2025, 3, 10)
    assert add_working_days(date(2025, 9, 30), 5)[0] == date(2025, 10, 14)


def test_answer_on_the_deadline_is_on_time(world):
    opinion = make_opinion(world, now=at(MONDAY))
    assert opinion.deadline == date(2025, 3, 10)

    answered = opinion_answer(
        actor=_leader(world), opinion=opinion, text=ANSWER, now=at(date(2025, 3, 10), 17)
    )

    assert answered.status == S.ANSWERED and answered.answered_on_time is True
    # Answering a waiting opinion signs for it first: both steps are in the history.
    assert [e.to_status for e in answered.history.all()] == [S.RECEIVED, S.ACCEPTED, S.ANSWERED]
    sms = OutboundSms.objects.latest("id")
    assert answered.number in sms.body and "已答复" in sms.body


def test_answer_after_the_deadline_is_late(world):
    opinion = make_opinion(world, now=at(MONDAY))
    answered = opinion_answer(
        actor=_leader(world), opinion=opinion, text=ANSWER, now=at(date(2025, 3, 11), 9)
    )
    assert answered.answered_on_time is False


def test_answer_refusals(world):
    opinion = make_opinion(world)
    leader = _leader(world)
    with pytest.raises(ApplicationError) as exc:
        opinion_answer(actor=leader, opinion=opinion, text="已处理")
    assert exc.value.field == "answer"
    answered = opinion_answer(actor=leader, opinion=opinion, text=ANSWER)
    assert _codes(opinion_answer, actor=leader, opinion=answered, text=ANSWER) == (
        "invalid_transition"
    )


# --- Rating ----------------------------------------------------------------------------------


def test_unsatisfied_rating_closes_and_notifies_the_supervisors_above(world):
    # Given an answered complaint at station a2
    mobile = "13700001234"
    opinion = make_opinion(world, mobile=mobile)
    opinion_answer(actor=_leader(world), opinion=opinion, text=ANSWER)

    # When the citizen rates it unsatisfied
    closed = opinion_rate(opinion=opinion, mobile=mobile, rating=5, comment="没有解决")

    # Then it is closed, and the supervisors of district a and the city are told, nobody else
    assert closed.status == S.CLOSED and closed.rating == 5 and closed.rated_at
    told = set(
        Notification.objects.filter(kind=NotificationKind.OPINION_UNSATISFIED).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"a_supervisor", "city_supervisor"}
    # Rating twice is refused.
    assert _codes(opinion_rate, opinion=opinion, mobile=mobile, rating=1) == "already_rated"


def test_satisfied_rating_notifies_nobody_and_a_stranger_cannot_rate(world):
    mobile = "13700001235"
    opinion = make_opinion(world, mobile=mobile)
    opinion_answer(actor=_leader(world), opinion=opinion, text=ANSWER)
    with pytest.raises(NotFound):
        opinion_rate(opinion=opinion, mobile="13700009876", rating=1)
    opinion_rate(opinion=opinion, mobile=mobile, rating=2)
    assert not Notification.objects.filter(kind=NotificationKind.OPINION_UNSATISFIED).exists()


def test_an_unanswered_opinion_cannot_be_rated(world):
    mobile = "13700001236"
    opinion = make_opinion(world, mobile=mobile)
    assert _codes(opinion_rate, opinion=opinion, mobile=mobile, rating=1) == "invalid_transition"


# --- Tips and rewards ------------------------------------------------------------------------


def test_tip_verdict_is_recorded_once_and_only_for_tips(world):
    leader = _leader(world)
    complaint = make_opinion(world)
    assert (
        _codes(
            opinion_tip_verdict,
            actor=leader,
            opinion=complaint,
            verdict=TipVerdict.VERIFIED,
            note="经查属实。",
        )
        == "not_a_tip"
    )
    tip = tip_a2(world)
    verified = opinion_tip_verdict(
        actor=leader, opinion=tip, verdict=TipVerdict.VERIFIED, note="经查属实，已立案。"
    )
    assert verified.tip_verdict == TipVerdict.VERIFIED and verified.tip_verified_at
    assert "核实属实" in verified.history.last().note
    assert (
        _codes(
            opinion_tip_verdict,
            actor=leader,
            opinion=verified,
            verdict=TipVerdict.UNFOUNDED,
            note="改为不实。",
        )
        == "already_verified"
    )


def test_reward_only_for_a_verified_tip(world):
    leader = _leader(world)
    for opinion in (make_opinion(world), tip_a2(world)):
        assert (
            _codes(reward_propose, actor=leader, opinion=opinion, amount="200", reason="线索属实。")
            == "tip_not_verified"
        )
    unfounded = make_opinion(world, kind=OpinionKind.TIP)
    opinion_tip_verdict(
        actor=leader, opinion=unfounded, verdict=TipVerdict.UNFOUNDED, note="查无此事。"
    )
    assert (
        _codes(reward_propose, actor=leader, opinion=unfounded, amount="200", reason="线索属实。")
        == "tip_not_verified"
    )


def test_reward_proposal_checks_the_amount_and_tells_the_tier_above(world):
    tip = verified_tip_a2(world)
    leader = _leader(world)
    with pytest.raises(ApplicationError) as exc:
        reward_propose(actor=leader, opinion=tip, amount="-5", reason="线索属实，协助破案。")
    assert exc.value.field == "amount"
    reward = reward_propose(actor=leader, opinion=tip, amount="800", reason="线索属实，协助破案。")
    assert reward.status == RewardStatus.PROPOSED and str(reward.amount) == "800.00"
    assert Notification.objects.filter(
        recipient__username="a_supervisor", kind=NotificationKind.REWARD_PROPOSED
    ).exists()
    assert (
        _codes(reward_propose, actor=leader, opinion=tip, amount="1", reason="再申请一次。")
        == "reward_exists"
    )


def test_reward_is_decided_only_by_a_higher_tier(world):
    reward = rewarded_tip_a2(world).reward
    # The same unit's supervisor may not approve its own unit's reward.
    assert (
        _codes(reward_decide, actor=world.user("a2", Role.SUPERVISOR), reward=reward, approve=True)
        == "higher_tier_required"
    )
    # Another district's supervisor does not see it; a unit leader may not decide at all.
    with pytest.raises(NotFound):
        reward_decide(actor=world.user("b", Role.SUPERVISOR), reward=reward, approve=True)
    with pytest.raises(PermissionDenied):
        reward_decide(actor=world.user("a", Role.UNIT_LEADER), reward=reward, approve=True)
    # A refusal needs its reason.
    assert (
        _codes(reward_decide, actor=world.user("a", Role.SUPERVISOR), reward=reward, approve=False)
        == "note_required"
    )

    approved = reward_decide(actor=world.user("a", Role.SUPERVISOR), reward=reward, approve=True)

    assert approved.status == RewardStatus.APPROVED
    assert approved.decided_by == world.user("a", Role.SUPERVISOR)
    sms = OutboundSms.objects.latest("id")
    assert "奖励" in sms.body and reward.opinion.number in sms.body


def test_payment_only_after_approval(world):
    reward = rewarded_tip_a2(world).reward
    leader = _leader(world)
    assert (
        _codes(reward_pay, actor=leader, reward=reward, reference="CW-2025-001")
        == "invalid_transition"
    )
    reward_decide(actor=world.user("a", Role.SUPERVISOR), reward=reward, approve=True)
    assert _codes(reward_pay, actor=leader, reward=reward, reference=" ") == "reference_required"

    paid = reward_pay(actor=leader, reward=reward, reference="CW-2025-001")

    assert paid.status == RewardStatus.PAID and paid.payment_reference == "CW-2025-001"
    assert [e.to_status for e in paid.history.all()] == [
        RewardStatus.PROPOSED,
        RewardStatus.APPROVED,
        RewardStatus.PAID,
    ]


def test_a_refused_reward_cannot_be_paid(world):
    reward = rewarded_tip_a2(world).reward
    reward_decide(
        actor=world.user("a", Role.SUPERVISOR), reward=reward, approve=False, note="金额过高"
    )
    assert (
        _codes(reward_pay, actor=_leader(world), reward=reward, reference="CW-1")
        == "invalid_transition"
    )


# --- Contact reveal --------------------------------------------------------------------------


def _reveals(opinion, outcome):
    return AuditEvent.objects.filter(
        action=AuditAction.PII_REVEAL, object_id=str(opinion.pk), outcome=outcome
    ).count()


def test_named_author_contact_is_revealed_and_audited(world):
    opinion = make_opinion(world, contact_name="王投诉", mobile="13700004321")
    revealed = opinion_contact_reveal(actor=_leader(world), opinion=opinion)
    assert revealed == {"name": "王投诉", "mobile": "13700004321"}
    assert _reveals(opinion, AuditOutcome.SUCCESS) == 1


def test_anonymous_author_is_never_revealed_and_the_asking_is_audited(world):
    opinion = make_opinion(world, anonymous=True)
    with pytest.raises(ApplicationError) as exc:
        opinion_contact_reveal(actor=world.user("a2", Role.SUPERVISOR), opinion=opinion)
    assert exc.value.code == "anonymous"
    assert _reveals(opinion, AuditOutcome.DENIED) == 1


@pytest.mark.parametrize("role", [Role.UNIT_LEADER, Role.EVALUATOR])
def test_tipster_identity_is_refused_to_unit_leaders_and_evaluators(world, role):
    tip = tip_a2(world)
    with pytest.raises(PermissionDenied):
        opinion_contact_reveal(actor=world.user("a2", role), opinion=tip)
    assert _reveals(tip, AuditOutcome.DENIED) == 1
    assert _reveals(tip, AuditOutcome.SUCCESS) == 0


def test_tipster_identity_is_shown_to_a_supervisor_and_audited(world):
    tip = tip_a2(world)
    revealed = opinion_contact_reveal(actor=world.user("a", Role.SUPERVISOR), opinion=tip)
    assert revealed == {"name": TIPSTER, "mobile": TIPSTER_MOBILE}
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEAL, object_id=str(tip.pk))
    assert event.outcome == AuditOutcome.SUCCESS and event.actor.username == "a_supervisor"


def test_a_sibling_supervisor_cannot_reveal(world):
    tip = tip_a2(world)
    with pytest.raises(NotFound):
        opinion_contact_reveal(actor=world.user("a1", Role.SUPERVISOR), opinion=tip)


# --- The sweep -------------------------------------------------------------------------------


def test_sweep_reminds_before_the_deadline_once(world):
    opinion = make_opinion(world, now=at(MONDAY))  # deadline Monday 10 March
    # Friday 7 March: the deadline is the next working day.
    assert opinions_sweep(now=at(date(2025, 3, 7)))["reminded"] == 1
    assert opinions_sweep(now=at(date(2025, 3, 7), 15))["reminded"] == 0
    assert Notification.objects.filter(
        recipient=_leader(world), kind=NotificationKind.OPINION_DUE, text__contains=opinion.number
    ).exists()


def test_a_transferred_opinion_is_reminded_again_at_its_new_unit(world):
    opinion = make_opinion(world, unit=world.district_a, now=at(MONDAY))
    assert opinions_sweep(now=at(date(2025, 3, 7)))["reminded"] == 1
    opinion_transfer(
        actor=world.user("a", Role.SUPERVISOR),
        opinion=opinion,
        unit=world.station_a2,
        note="属甲二所辖区",
        now=at(date(2025, 3, 7), 11),
    )
    assert opinions_sweep(now=at(date(2025, 3, 7), 12))["reminded"] == 1
    assert Notification.objects.filter(
        recipient=_leader(world), kind=NotificationKind.OPINION_DUE
    ).exists()


def test_sweep_escalates_an_overdue_opinion_once_to_the_unit_above(world):
    opinion = make_opinion(world, now=at(MONDAY))
    counts = opinions_sweep(now=at(date(2025, 3, 11)))
    assert counts["escalated"] == 1
    opinion.refresh_from_db()
    assert opinion.escalated_to == world.district_a and opinion.escalated_at
    told = set(
        Notification.objects.filter(kind=NotificationKind.OPINION_OVERDUE).values_list(
            "recipient__username", flat=True
        )
    )
    assert {"a2_unit_leader", "a_unit_leader", "a_supervisor"} <= told
    assert "a1_unit_leader" not in told
    # The next day's sweep does not escalate it again.
    assert opinions_sweep(now=at(date(2025, 3, 12)))["escalated"] == 0


def test_sweep_closes_answers_left_unrated(world, settings):
    settings.OPINION_RATING_DAYS = 7
    opinion = make_opinion(world, now=at(MONDAY))
    opinion_answer(actor=_leader(world), opinion=opinion, text=ANSWER, now=at(date(2025, 3, 4)))

    assert opinions_sweep(now=at(date(2025, 3, 10)))["closed"] == 0  # six days: still open
    assert opinions_sweep(now=at(date(2025, 3, 12)))["closed"] == 1

    opinion.refresh_from_db()
    assert opinion.status == S.CLOSED and opinion.rating is None
    last = OpinionEvent.objects.filter(opinion=opinion).last()
    assert last.actor is None and last.note == "群众未评价，自动办结"


def test_sweep_leaves_answered_and_closed_opinions_alone(world):
    opinion = make_opinion(world, now=at(MONDAY))
    opinion_answer(actor=_leader(world), opinion=opinion, text=ANSWER, now=at(date(2025, 3, 4)))
    counts = opinions_sweep(now=at(MONDAY + timedelta(days=9)))
    assert counts["reminded"] == counts["escalated"] == 0
