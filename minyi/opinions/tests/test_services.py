"""Opinion and tip-reward services: every transition, its refusals, scope, working-day
deadlines, notifications, the audited contact reveal and the worker's sweep."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.notifications.models import Notification, NotificationKind
from minyi.opinions.models import (
    OpinionEvent,
    OpinionKind,
    OpinionStatus,
    RewardStatus,
    TipVerdict,
)
from minyi.opinions.selectors import reward_decidable_by, reward_for, reward_list_for
from minyi.opinions.services.handling import (
    opinion_accept,
    opinion_answer,
    opinion_contact_reveal,
    opinion_rate,
    opinion_tip_verdict,
    opinion_transfer,
    opinion_wall_hide,
)
from minyi.opinions.services.intake import opinion_route, opinion_submit
from minyi.opinions.services.rewards import reward_decide, reward_pay, reward_propose
from minyi.opinions.services.sweep import opinions_sweep
from minyi.opinions.tests.factories import make_opinion
from minyi.opinions.tests.permission_cases import (
    TIPSTER,
    TIPSTER_MOBILE,
    approved_tip_a2,
    complaint_a2,
    rewarded_tip_a2,
    tip_a2,
    verified_tip_a2,
    wall_suggestion_a2,
)
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import OfficerFactory, UserFactory

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
    assert reward.opinion.number in sms.body and world.station_a2.name in sms.body


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
    assert revealed == {"name": "王投诉", "mobile": "13700004321", "address": ""}
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
    assert revealed == {"name": TIPSTER, "mobile": TIPSTER_MOBILE, "address": ""}
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


def test_a_district_proposal_is_approved_by_the_city_not_by_the_district(world):
    # Given district a's leader verifies station a2's tip and proposes the reward itself
    district_leader = world.user("a", Role.UNIT_LEADER)
    tip = opinion_tip_verdict(
        actor=district_leader, opinion=tip_a2(world), verdict=TipVerdict.VERIFIED, note="经查属实。"
    )
    reward = reward_propose(
        actor=district_leader, opinion=tip, amount="500", reason="线索属实，协助查获赃车。"
    )
    district_sup = world.user("a", Role.SUPERVISOR)
    city_sup = world.user("city", Role.SUPERVISOR)

    # Then the approvers told are those above the district, not the district's own
    told = set(
        Notification.objects.filter(kind=NotificationKind.REWARD_PROPOSED).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {city_sup.username}
    # And the district's supervisor (the proposing tier) may not approve it, nor sees it to do
    reward = reward_for(tip)
    assert not reward_decidable_by(district_sup, reward)
    assert reward not in reward_list_for(district_sup)
    assert (
        _codes(reward_decide, actor=district_sup, reward=reward, approve=True)
        == "higher_tier_required"
    )
    # But the city's supervisor may
    assert reward_decidable_by(city_sup, reward)
    assert reward in reward_list_for(city_sup)
    approved = reward_decide(actor=city_sup, reward=reward, approve=True)
    assert approved.status == RewardStatus.APPROVED and approved.decided_by == city_sup


def test_the_proposer_never_approves_their_own_reward(world):
    # Given a superuser of the city (who holds every permission) proposes a2's reward
    boss = UserFactory(username="boss", role=Role.SUPERVISOR, unit=world.city, is_superuser=True)
    reward = reward_propose(
        actor=boss, opinion=verified_tip_a2(world), amount="300", reason="线索属实，协助破案。"
    )
    # Then they may not approve it themselves
    assert not reward_decidable_by(boss, reward)
    assert reward not in reward_list_for(boss)
    assert _codes(reward_decide, actor=boss, reward=reward, approve=True) == "higher_tier_required"


def test_a_station_proposal_is_not_approved_by_the_same_station(world):
    reward = rewarded_tip_a2(world).reward
    a2_sup = world.user("a2", Role.SUPERVISOR)
    assert not reward_decidable_by(a2_sup, reward)
    assert reward not in reward_list_for(a2_sup)
    # The city is above a2 too: any strictly higher tier may approve
    assert reward_decidable_by(world.user("city", Role.SUPERVISOR), reward)


# --- Routing by area ---------------------------------------------------------------------------


def _serve(world, key, communities, **fields):
    officer = world.officers[key]
    officer.communities = communities
    for name, value in fields.items():
        setattr(officer, name, value)
    officer.save()


@pytest.fixture
def communities(world):
    """a1 serves 城东社区 and 城西社区; a2 serves 城东社区菜场 and 幸福小区; b1 serves 城西社区
    (shared with a1) and 东村; a hidden officer of b1 serves 南湖社区."""
    _serve(world, "a1", "城东社区、城西社区")
    _serve(world, "a2", "城东社区菜场；幸福小区")
    _serve(world, "b1", "城西社区, 东村")
    OfficerFactory(unit=world.station_b1, communities="南湖社区", is_public=False)
    return world


@pytest.mark.parametrize(
    ("area", "key"),
    [
        ("城东社区菜场门口", "a2"),  # the longest name wins over 城东社区
        ("城东社区12幢", "a1"),
        ("幸福小区东门", "a2"),
        ("绍兴市越城区幸福小区3幢", "a2"),  # the name inside a longer address
        ("城西社区3号楼", "city"),  # two stations serve it: the centre decides
        ("社区", "city"),  # too short to mean a place
        ("东村路口", "city"),  # 东村 is under three characters
        ("南湖社区", "city"),  # only a non-public officer serves it
        ("人民路100号", "city"),  # nobody serves it
        ("", "city"),
    ],
)
def test_area_routes_to_the_station_serving_the_community_named(communities, area, key):
    units = {"a1": communities.station_a1, "a2": communities.station_a2, "city": communities.city}
    assert opinion_route(area=area) == units[key]


def test_an_inactive_officer_or_unit_does_not_route(communities):
    _serve(communities, "a1", "城东社区、城西社区", is_active=False)
    assert opinion_route(area="城东社区12幢") == communities.city
    communities.station_a2.is_active = False
    communities.station_a2.save()
    assert opinion_route(area="幸福小区东门") == communities.city


def test_routing_is_one_query_of_officers(communities, django_assert_num_queries):
    for _ in range(20):
        OfficerFactory(unit=communities.station_a1, communities="甲一社区、城北社区")
    # One query of the officers' communities, one for the unit found
    with django_assert_num_queries(2):
        assert opinion_route(area="城北社区5幢") == communities.station_a1


def test_a_submitted_opinion_without_a_unit_is_routed_by_its_area(communities):
    opinion = opinion_submit(
        kind=OpinionKind.COMPLAINT,
        content="城东社区菜场门口每天早上乱停车。",
        mobile="13700005555",
        contact_name="张三",
        area="城东社区菜场门口",
    )
    assert opinion.unit == communities.station_a2 and opinion.requested_unit is None


# --- The public wall ---------------------------------------------------------------------------


def _wall_suggestion(world):
    opinion = wall_suggestion_a2(world)
    return opinion_answer(actor=_leader(world), opinion=opinion, text=ANSWER)


def test_the_centre_takes_a_suggestion_off_the_wall_and_puts_it_back(world):
    # Given an answered suggestion its author agreed to show
    opinion = _wall_suggestion(world)
    centre = world.user("city", Role.EVALUATOR)

    # When the centre takes it down
    hidden = opinion_wall_hide(actor=centre, opinion=opinion, reason="内容涉及他人隐私")

    # Then it is hidden, with the status unchanged, a history row and an audit row
    assert hidden.wall_hidden is True and hidden.status == S.ANSWERED
    event = OpinionEvent.objects.filter(opinion=opinion).latest("id")
    assert (event.actor, event.from_status, event.to_status) == (centre, S.ANSWERED, S.ANSWERED)
    assert event.note == "民意墙：撤下 内容涉及他人隐私"
    audit = AuditEvent.objects.filter(action=AuditAction.CHANGE, actor=centre).latest("id")
    assert audit.detail == {"wall_hidden": True}
    # Hiding it twice is refused
    assert (
        _codes(opinion_wall_hide, actor=centre, opinion=hidden, reason="再撤一次")
        == "wall_unchanged"
    )

    # When it is put back
    shown = opinion_wall_hide(actor=centre, opinion=hidden, hidden=False)

    # Then it shows again, and the history says so
    assert shown.wall_hidden is False and shown.wall_consent is True
    assert OpinionEvent.objects.filter(opinion=opinion).latest("id").note == "民意墙：恢复"


def test_taking_off_the_wall_is_refused_without_reason_scope_role_or_consent(world):
    opinion = _wall_suggestion(world)
    supervisor = world.user("a2", Role.SUPERVISOR)
    with pytest.raises(ApplicationError) as exc:
        opinion_wall_hide(actor=supervisor, opinion=opinion, reason=" ")
    assert exc.value.field == "reason"
    with pytest.raises(PermissionDenied):
        opinion_wall_hide(actor=_leader(world), opinion=opinion, reason="不宜公开")
    with pytest.raises(NotFound):
        opinion_wall_hide(
            actor=world.user("a1", Role.SUPERVISOR), opinion=opinion, reason="不宜公开"
        )
    for other in (make_opinion(world, kind=OpinionKind.SUGGESTION), complaint_a2(world)):
        assert (
            _codes(opinion_wall_hide, actor=supervisor, opinion=other, reason="不宜公开")
            == "not_on_wall"
        )
    assert not OpinionEvent.objects.filter(note__startswith="民意墙").exists()


# --- SMS to a tipster ---------------------------------------------------------------------------


def test_a_tipsters_sms_never_says_tip_or_reward(world):
    # Given a tip, answered, verified, rewarded and the reward approved
    tip = tip_a2(world)
    opinion_answer(actor=_leader(world), opinion=tip, text="您反映的情况我们已在核查，感谢支持。")
    approved_tip_a2(world)

    # Then the tipster got three messages, none saying what they are about
    bodies = list(
        OutboundSms.objects.filter(
            purpose=SmsPurpose.NOTIFICATION, to_mobile_hash=lookup_hash("mobile", TIPSTER_MOBILE)
        )
        .order_by("id")
        .values_list("body", flat=True)
    )
    assert len(bodies) == 3
    for body in bodies:
        assert tip.number in body
        for word in ("线索", "举报", "奖励", "500"):
            assert word not in body, body
    assert "已受理" in bodies[0] and "有新消息" in bodies[1]
    assert "身份证件" in bodies[2] and world.station_a2.name in bodies[2]


def test_other_kinds_still_name_their_kind_in_the_sms(world):
    complaint = complaint_a2(world)
    body = OutboundSms.objects.filter(purpose=SmsPurpose.NOTIFICATION).latest("id").body
    assert "投诉" in body and complaint.number in body
