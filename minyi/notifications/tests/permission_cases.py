"""Permission-matrix cases for notifications (collected by
minyi/console/tests/test_permission_matrix.py). Notifications are personal: every account of
station a2 gets one; nobody at sibling station a1 may see or mark it."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.choices import Role
from minyi.orgs.roles import Perm

TEXT = "甲二派出所测试通知"


def _marker(world) -> str:
    from minyi.notifications.models import Notification, NotificationKind
    from minyi.notifications.services import notify_users
    from minyi.orgs.models import User

    if not Notification.objects.filter(text=TEXT).exists():
        notify_users(
            users=User.objects.filter(unit=world.station_a2),
            kind=NotificationKind.ORDER_ARRIVED,
            text=TEXT,
            url="/workorders/",
            sms=False,
        )
    return TEXT


def _leaders_notification(world):
    from minyi.notifications.models import Notification

    _marker(world)
    return Notification.objects.get(recipient=world.user("a2", Role.UNIT_LEADER), text=TEXT)


CASES = {
    "notifications:list": Case(
        Perm.NOTIFICATION_VIEW, lambda w: reverse("notifications:list"), _marker
    ),
    # Marking another person's notification read is a no-op that returns to one's own list,
    # so both the owner and the sibling are redirected; test_views.py checks nothing changed.
    "notifications:mark_read": Case(
        Perm.NOTIFICATION_VIEW,
        lambda w: reverse("notifications:mark_read", args=[_leaders_notification(w).pk]),
        _marker,
        method="post",
        owner_status=302,
        sibling_status=302,
    ),
    "notifications:mark_all_read": Case(
        Perm.NOTIFICATION_VIEW,
        lambda w: reverse("notifications:mark_all_read"),
        _marker,
        method="post",
        owner_status=302,
        sibling_status=302,
    ),
}
