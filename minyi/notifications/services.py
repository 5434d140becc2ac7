"""Tell staff that something needs them: a row in their console, and an SMS through the same
outbox as surveys when they have a mobile on file."""

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import quiet_hours_end, sms_enqueue
from minyi.notifications.models import Notification
from minyi.orgs.choices import Role
from minyi.orgs.models import OrgUnit, User


def notify_users(*, users, kind: str, text: str, url: str = "", sms: bool = True, now=None) -> int:
    """Write one notification per user (and queue an SMS to each who has a mobile). Call it
    inside the transaction that made the news, so both commit or vanish together."""
    now = now or timezone.now()
    users = list(users)
    Notification.objects.bulk_create(
        Notification(recipient=u, kind=kind, text=text[:200], url=url, created_at=now)
        for u in users
    )
    if sms:
        # A deadline passes at midnight; the leader's phone hears of it in the morning.
        not_before = quiet_hours_end(now)
        for user in users:
            if user.mobile:
                sms_enqueue(
                    mobile=user.mobile,
                    body=f"{settings.SMS_SIGNATURE}{text}",
                    purpose=SmsPurpose.NOTIFICATION,
                    not_before=not_before,
                )
    return len(users)


def notify_unit(*, unit: OrgUnit, role: str = Role.UNIT_LEADER, **kwargs) -> int:
    """Notify the active staff of `role` at `unit` itself (not its subtree)."""
    users = User.objects.filter(unit=unit, role=role, is_active=True)
    return notify_users(users=users, **kwargs)


def notify_supervisors_above(*, unit: OrgUnit, **kwargs) -> int:
    """Notify supervisors (督察) of every unit above `unit`: an appeal needs a higher tier."""
    ancestors = [unit.path[: OrgUnit.steplen * d] for d in range(1, unit.depth)]
    users = User.objects.filter(Q(unit__path__in=ancestors), role=Role.SUPERVISOR, is_active=True)
    return notify_users(users=users, **kwargs)


def notifications_resolve(*, url: str, kinds, now=None) -> int:
    """The thing behind `url` has been handled: its notifications of `kinds` are no longer
    something to do, for whoever received them. The bell then counts only what is still open.
    Called by the services that handle the object, inside their transaction."""
    if not url:
        return 0
    return Notification.objects.filter(url=url, kind__in=list(kinds), read_at__isnull=True).update(
        read_at=now or timezone.now()
    )


def notification_mark_read(*, actor, notification_id: int | None = None) -> int:
    """Mark one of the actor's notifications (or all of them) read."""
    qs = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
