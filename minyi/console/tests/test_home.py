"""The console home puts each role's work first (我的待办): counts that come from the scoped
selectors, each linking to the list filtered to exactly those rows; nothing of a sibling's
subtree is counted; the number of queries stays pinned whatever the data."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.orgs.choices import Role
from minyi.workorders.models import WorkOrder, WorkOrderStatus
from minyi.workorders.services import appeal_file, workorder_accept
from minyi.workorders.tests.factories import at_fault_order, held_callback, open_centres

pytestmark = pytest.mark.django_db


@pytest.fixture
def centres(world, btypes, daytime):
    open_centres(world)
    return world


def _home(client, user):
    client.force_login(user)
    response = client.get(reverse("console:home"))
    assert response.status_code == 200
    return response


def _items(response) -> dict:
    return {item.key: item for group in response.context["todo"] for item in group.items}


def test_leader_sees_orders_by_what_they_need_and_nothing_of_a_sibling(client, centres):
    world = centres
    leader = world.user("a2", Role.UNIT_LEADER)
    # Given at a2: one new order, one accepted, one accepted and due today, one overdue
    fresh = at_fault_order(world)
    accepted = workorder_accept(actor=leader, order=at_fault_order(world))
    due_today = workorder_accept(actor=leader, order=at_fault_order(world))
    WorkOrder.objects.filter(pk=due_today.pk).update(deadline=timezone.localdate())
    late = at_fault_order(world)
    WorkOrder.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - timedelta(days=3))
    # and one at the sibling station b1
    at_fault_order(world, unit_key="b1")

    response = _home(client, leader)

    items = _items(response)
    assert items["dispatched"].count == 2  # fresh and late
    assert items["accepted"].count == 2
    assert items["due_soon"].count == 1
    assert items["overdue"].count == 1
    assert items["returned"].count == 0
    html = response.content.decode()
    assert 'data-testid="todo-dispatched"' in html
    assert fresh.number in html  # the most urgent rows are on the page
    assert late.number in html
    # Each count links to the list showing exactly those orders
    for key, expected in {
        "dispatched": {fresh.pk, late.pk},
        "accepted": {accepted.pk, due_today.pk},
        "due_soon": {due_today.pk},
        "overdue": {late.pk},
    }.items():
        listed = client.get(items[key].url)
        assert {o.pk for o in listed.context["page"]} == expected, key


def test_leader_sees_unanswered_opinions(client, world):
    from minyi.opinions.tests.factories import make_opinion

    leader = world.user("a2", Role.UNIT_LEADER)
    mine = make_opinion(world)
    make_opinion(world, unit=world.station_b1)

    items = _items(_home(client, leader))

    assert items["opinions_open"].count == 1
    listed = client.get(items["opinions_open"].url)
    assert [o.pk for o in listed.context["page"]] == [mine.pk]


def test_evaluator_sees_the_queue_and_what_is_due(client, centres):
    world = centres
    evaluator = world.user("a", Role.EVALUATOR)
    # Given two unsatisfied citizens at a2 (one already held by this evaluator), one at b1
    held_callback(world, evaluator=evaluator)
    from minyi.workorders.tests.factories import unsatisfied_survey

    unsatisfied_survey(world)
    unsatisfied_survey(world, unit_key="b1")

    items = _items(_home(client, evaluator))

    assert items["callbacks_first"].count == 1
    assert items["callbacks_mine"].count == 1
    assert items["callbacks_due_today"].count + items["callbacks_overdue"].count <= 2
    listed = client.get(items["callbacks_first"].url)
    assert len(listed.context["page"]) == 1


def test_supervisor_sees_audits_and_appeals_to_decide(client, centres):
    world = centres
    supervisor = world.user("a", Role.SUPERVISOR)
    leader = world.user("a2", Role.UNIT_LEADER)
    order = at_fault_order(world)
    appeal_file(actor=leader, order=order, reason="该群众反映的问题与本所民警无关，系误解。")
    at_fault_order(world, unit_key="b1")

    response = _home(client, supervisor)

    items = _items(response)
    assert items["appeals"].count == 1
    assert items["audit"].count == 0
    assert items["appeals"].url == reverse("workorders:appeal_list")
    assert "warnings_red" in items and "warnings_orange" in items
    assert "dispatched" not in items  # a supervisor does not rectify


@pytest.mark.parametrize(
    ("unit_key", "role", "limit"),
    [
        ("a2", Role.UNIT_LEADER, 21),
        ("a", Role.EVALUATOR, 22),
        ("a", Role.SUPERVISOR, 26),
    ],
)
def test_home_queries_are_pinned(
    client, centres, django_assert_max_num_queries, unit_key, role, limit
):
    world = centres
    for _ in range(3):
        at_fault_order(world)
    user = world.user(unit_key, role)
    client.force_login(user)
    client.get(reverse("console:home"))  # warm the session and caches

    with django_assert_max_num_queries(limit):
        response = client.get(reverse("console:home"))

    assert response.status_code == 200
    # More rows do not mean more queries
    for _ in range(3):
        at_fault_order(world)
    with django_assert_max_num_queries(limit):
        client.get(reverse("console:home"))


def test_order_list_opens_on_what_is_still_open(client, centres):
    world = centres
    leader = world.user("a2", Role.UNIT_LEADER)
    open_order = at_fault_order(world)
    closed = at_fault_order(world)
    WorkOrder.objects.filter(pk=closed.pk).update(status=WorkOrderStatus.CLOSED)
    client.force_login(leader)

    default = client.get(reverse("workorders:order_list"))
    everything = client.get(reverse("workorders:order_list"), {"status": "all"})

    assert [o.pk for o in default.context["page"]] == [open_order.pk]
    assert [o.pk for o in everything.context["page"]] == [open_order.pk, closed.pk]
