"""Notifications read themselves once their object is handled: the bell counts what is still
to do, not what somebody already did."""

import pytest

from minyi.notifications.models import Notification, NotificationKind
from minyi.notifications.selectors import unread_count
from minyi.orgs.choices import Role
from minyi.workorders.services import (
    appeal_decide,
    appeal_file,
    workorder_accept,
    workorder_feedback,
)
from minyi.workorders.tests.factories import at_fault_order, open_centres, upload

pytestmark = pytest.mark.django_db

K = NotificationKind


@pytest.fixture
def centres(world, btypes, daytime):
    open_centres(world)
    return world


def _unread(user, kind):
    return Notification.objects.filter(recipient=user, kind=kind, read_at__isnull=True).count()


def test_new_order_notice_is_read_once_the_order_is_accepted(centres):
    world = centres
    leader = world.user("a2", Role.UNIT_LEADER)
    order = at_fault_order(world)
    other = at_fault_order(world)
    assert _unread(leader, K.ORDER_ARRIVED) == 2

    workorder_accept(actor=leader, order=order)

    # Only the accepted order's notice is done; the other order's still waits
    assert _unread(leader, K.ORDER_ARRIVED) == 1
    assert unread_count(leader) == 1
    remaining = Notification.objects.get(recipient=leader, read_at__isnull=True)
    assert str(other.pk) in remaining.url


def test_feedback_answers_every_reminder_about_the_order(centres):
    world = centres
    leader = world.user("a2", Role.UNIT_LEADER)
    order = workorder_accept(actor=leader, order=at_fault_order(world))
    Notification.objects.create(
        recipient=leader, kind=K.ORDER_DUE_SOON, text="将到期", url=f"/workorders/{order.pk}/"
    )

    workorder_feedback(
        actor=leader, order=order, text="已约谈当事民警并当面道歉。", files=[upload()]
    )

    assert unread_count(leader) == 0


def test_appeal_notice_is_read_by_every_supervisor_once_decided(centres):
    world = centres
    leader = world.user("a2", Role.UNIT_LEADER)
    district = world.user("a", Role.SUPERVISOR)
    city = world.user("city", Role.SUPERVISOR)
    order = at_fault_order(world)
    appeal = appeal_file(actor=leader, order=order, reason="群众反映的情况与本所民警无关，系误解。")
    assert _unread(district, K.APPEAL_FILED) == 1
    assert _unread(city, K.APPEAL_FILED) == 1

    appeal_decide(actor=district, appeal=appeal, uphold=False, note="经核查，责任认定无误。")

    assert _unread(district, K.APPEAL_FILED) == 0
    assert _unread(city, K.APPEAL_FILED) == 0  # decided is decided, whoever did it


def test_opinion_notice_is_read_once_accepted(world):
    from minyi.opinions.services.handling import opinion_accept
    from minyi.opinions.tests.factories import make_opinion

    leader = world.user("a2", Role.UNIT_LEADER)
    opinion = make_opinion(world)
    assert _unread(leader, K.OPINION_ARRIVED) == 1

    opinion_accept(actor=leader, opinion=opinion)

    assert _unread(leader, K.OPINION_ARRIVED) == 0
