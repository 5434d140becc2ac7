"""Appeals of ratings not found at fault (issue 14 item 8): the callback found an unreasonable
demand (诉求不合理: a malicious or unreasonable rating), so no work order exists, yet the
rating counts against the unit. The unit appeals it with the same deadline and the same
higher-tier decision as an at-fault appeal; upheld, the rating leaves the figures alike."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.callbacks.models import Attribution, CallbackEvent, CallOutcome
from minyi.callbacks.services import callback_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.notifications.models import Notification, NotificationKind
from minyi.orgs.choices import Role
from minyi.perception.models import ReasonTag, SatisfactionDaily, Survey
from minyi.workorders.models import Appeal, AppealStatus, WorkOrder
from minyi.workorders.selectors import (
    rating_actions_for,
    rating_appeal_for,
    rating_get_visible_to,
)
from minyi.workorders.services import appeal_decide, rating_appeal_file
from minyi.workorders.tests.factories import at_fault_order, held_callback, open_centres

pytestmark = pytest.mark.django_db
REASON = "该群众因违停被处罚后连续多次恶意差评，回访中明确表示与民警执法无关，申请复核。"


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


def unreasonable_rating(world, *, attribution=Attribution.UNREASONABLE, now=None, **kwargs):
    """A first callback that reached the citizen and found an unreasonable demand."""
    callback = held_callback(world, now=now, **kwargs)
    callback_record(
        actor=callback.assignee,
        callback=callback,
        outcome=CallOutcome.REACHED,
        reason_text="群众要求撤销罚款，否则给差评，诉求与民警服务无关。",
        tags=[ReasonTag.OUTCOME],
        attribution=attribution,
        now=now,
    )
    callback.refresh_from_db()
    return callback


@pytest.fixture
def rating(world):
    return unreasonable_rating(world)


@pytest.fixture
def leader(world):
    return world.user("a2", Role.UNIT_LEADER)


@pytest.fixture
def supervisor(world):
    return world.user("a", Role.SUPERVISOR)


def _rollup(survey):
    return SatisfactionDaily.objects.get(unit=survey.unit, business_type=survey.business_type)


# --- Filing ------------------------------------------------------------------------------------


def test_no_work_order_yet_the_rating_counts_until_an_appeal_is_upheld(
    world, rating, leader, supervisor
):
    # Given an unreasonable-demand rating: no order, and it counts in the unit's figures
    assert not WorkOrder.objects.filter(callback=rating).exists()
    before = _rollup(rating.survey)
    assert (before.replies, before.rating_4, before.excluded) == (1, 1, 0)
    assert rating_actions_for(leader, rating) == {"appeal"}

    # When the unit appeals
    appeal = rating_appeal_file(actor=leader, callback=rating, reason=REASON)

    # Then the appeal waits for the higher tier, who is told, and the callback keeps a trail
    assert (appeal.status, appeal.unit, appeal.order, appeal.callback) == (
        AppealStatus.PENDING,
        world.station_a2,
        None,
        rating,
    )
    told = Notification.objects.filter(kind=NotificationKind.APPEAL_FILED)
    assert supervisor.pk in set(told.values_list("recipient", flat=True))
    assert all(n.url == reverse("workorders:rating_detail", args=[rating.pk]) for n in told)
    assert CallbackEvent.objects.filter(callback=rating, actor=leader).exists()
    assert rating_actions_for(leader, rating, appeal=appeal) == frozenset()
    assert rating_actions_for(supervisor, rating, appeal=appeal) == {"decide"}

    # When the district supervisor upholds it
    decided = appeal_decide(actor=supervisor, appeal=appeal, uphold=True, note="恶意差评属实")

    # Then the rating leaves the figures exactly as an at-fault appeal's does
    assert decided.status == AppealStatus.UPHELD and decided.decided_by == supervisor
    assert Survey.objects.get(pk=rating.survey_id).excluded_at is not None
    after = _rollup(rating.survey)
    assert (after.replies, after.rating_4, after.excluded) == (0, 0, 1)
    told = Notification.objects.get(kind=NotificationKind.APPEAL_DECIDED)
    assert told.recipient == leader and "申诉成立" in told.text


def test_a_rejected_appeal_leaves_the_rating_counted(rating, leader, supervisor):
    appeal = rating_appeal_file(actor=leader, callback=rating, reason=REASON)
    decided = appeal_decide(actor=supervisor, appeal=appeal, uphold=False, note="证据不足")
    assert decided.status == AppealStatus.REJECTED
    assert Survey.objects.get(pk=rating.survey_id).excluded_at is None
    assert _rollup(rating.survey).rating_4 == 1


# --- Refusals ---------------------------------------------------------------------------------


def test_wrong_role_sibling_unit_and_same_tier_are_refused(world, rating, leader):
    # An evaluator or a supervisor does not appeal for the unit
    for role in (Role.EVALUATOR, Role.SUPERVISOR):
        with pytest.raises(PermissionDenied):
            rating_appeal_file(actor=world.user("a2", role), callback=rating, reason=REASON)
    # A sibling station does not even see the rating
    with pytest.raises(NotFound):
        rating_appeal_file(actor=world.user("a1", Role.UNIT_LEADER), callback=rating, reason=REASON)
    appeal = rating_appeal_file(actor=leader, callback=rating, reason=REASON)
    # The unit does not decide its own appeal; another district sees nothing
    with pytest.raises(PermissionDenied):
        appeal_decide(actor=leader, appeal=appeal, uphold=True, note="自己同意")
    with pytest.raises(NotFound):
        appeal_decide(
            actor=world.user("b", Role.SUPERVISOR), appeal=appeal, uphold=True, note="越权"
        )
    # A supervisor of the station itself is not a higher tier
    with pytest.raises(ApplicationError) as exc:
        appeal_decide(
            actor=world.user("a2", Role.SUPERVISOR), appeal=appeal, uphold=True, note="同级"
        )
    assert exc.value.code == "higher_tier_required"


def test_past_the_deadline_the_unit_may_not_appeal(world, leader):
    # Given a finding made long ago (the window counts working days from the finding)
    long_ago = timezone.now() - timedelta(days=30)
    rating = unreasonable_rating(world, now=long_ago)
    assert rating_actions_for(leader, rating) == frozenset()
    with pytest.raises(ApplicationError) as exc:
        rating_appeal_file(actor=leader, callback=rating, reason=REASON)
    assert exc.value.code == "appeal_too_late"
    assert not Appeal.objects.exists()


def test_once_per_rating_and_once_decided(rating, leader, supervisor):
    appeal = rating_appeal_file(actor=leader, callback=rating, reason=REASON)
    with pytest.raises(ApplicationError) as exc:
        rating_appeal_file(actor=leader, callback=rating, reason=REASON)
    assert exc.value.code == "appeal_exists"
    appeal_decide(actor=supervisor, appeal=appeal, uphold=False, note="证据不足")
    with pytest.raises(ApplicationError) as exc:
        appeal_decide(actor=supervisor, appeal=appeal, uphold=True, note="改判")
    assert exc.value.code == "appeal_decided"
    assert rating_actions_for(supervisor, rating, appeal=rating_appeal_for(rating)) == frozenset()


def test_only_unreasonable_demands_are_appealed_this_way(world, leader):
    # An explained misunderstanding is not a malicious rating; an at-fault one has its order
    explained = unreasonable_rating(world, attribution=Attribution.EXPLAINED)
    order = at_fault_order(world)
    for callback in (explained, order.callback):
        with pytest.raises(NotFound):  # not in the unit's list of unreasonable ratings...
            rating_get_visible_to(leader, callback.pk)
        with pytest.raises(ApplicationError) as exc:  # ...and the service refuses it
            rating_appeal_file(actor=leader, callback=callback, reason=REASON)
        assert exc.value.code == "not_appealable"


def test_a_short_reason_is_refused_in_chinese(rating, leader):
    with pytest.raises(ApplicationError) as exc:
        rating_appeal_file(actor=leader, callback=rating, reason="恶意差评")
    assert exc.value.code == "reason_too_short" and exc.value.field == "reason"


# --- Pages -------------------------------------------------------------------------------------


def test_the_page_offers_what_the_service_allows(client, world, rating, leader, supervisor):
    url = reverse("workorders:rating_detail", args=[rating.pk])
    client.force_login(leader)
    html = client.get(reverse("workorders:rating_list")).content.decode()
    assert url in html
    html = client.get(url).content.decode()
    assert 'data-testid="appeal-form"' in html and 'data-testid="decide-form"' not in html
    # The unit files through the page
    response = client.post(
        reverse("workorders:rating_appeal_file", args=[rating.pk]), {"reason": REASON}
    )
    assert response.status_code == 302 and response["Location"] == url
    html = client.get(url).content.decode()
    assert 'data-testid="appeal-form"' not in html and 'data-testid="appeal"' in html
    # A second try is refused with the service's message
    response = client.post(
        reverse("workorders:rating_appeal_file", args=[rating.pk]), {"reason": REASON}
    )
    assert response.status_code == 409 and "该评价已申诉过" in response.content.decode()

    # The district supervisor finds it among the appeals and decides on its page
    client.force_login(supervisor)
    assert url in client.get(reverse("workorders:appeal_list")).content.decode()
    assert 'data-testid="decide-form"' in client.get(url).content.decode()
    response = client.post(
        reverse("workorders:rating_appeal_decide", args=[rating.pk]),
        {"decision": "uphold", "note": "恶意差评属实"},
    )
    assert response.status_code == 302
    assert 'data-testid="excluded"' in client.get(url).content.decode()
    assert Survey.objects.get(pk=rating.survey_id).excluded_at is not None


def test_pages_permission_cases(client, world, rating):
    url = reverse("workorders:rating_detail", args=[rating.pk])
    file_url = reverse("workorders:rating_appeal_file", args=[rating.pk])
    # Anonymous: to the login page
    assert client.get(url).status_code == 302
    # A sibling station sees nothing: not in its list, no page, no filing
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    assert url not in client.get(reverse("workorders:rating_list")).content.decode()
    assert client.get(url).status_code == 404
    assert client.post(file_url, {"reason": REASON}).status_code == 404
    # Wrong role: an evaluator of the station may look but not file
    client.force_login(world.user("a2", Role.EVALUATOR))
    assert client.get(url).status_code == 200
    assert client.post(file_url, {"reason": REASON}).status_code == 403
    assert not Appeal.objects.exists()
