"""The worker's sweep over opinions: a reminder a working day before the deadline, one
escalation of an overdue opinion to the unit above, and the closing of answers the citizen
has not rated in time."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.workdays import add_working_days
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import notify_unit, notify_users
from minyi.opinions.models import Opinion
from minyi.opinions.services.shared import S, opinion_move, staff_url
from minyi.orgs.choices import Role
from minyi.orgs.models import OrgUnit, User


def opinions_sweep(*, now=None) -> dict:
    """Remind the unit a working day before the deadline, escalate an overdue opinion once to
    the unit above, and close answers the citizen has not rated in time."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    tomorrow, _provisional = add_working_days(today, 1)
    counts = {"reminded": 0, "escalated": 0, "closed": 0}
    due_soon = Opinion.objects.filter(
        status__in=(S.RECEIVED, S.ACCEPTED),
        reminded_at__isnull=True,
        deadline__lte=tomorrow,
        deadline__gte=today,
    ).select_related("unit")
    for opinion in due_soon:
        with transaction.atomic():
            if Opinion.objects.filter(pk=opinion.pk, reminded_at__isnull=True).update(
                reminded_at=now
            ):
                notify_unit(
                    unit=opinion.unit,
                    kind=NotificationKind.OPINION_DUE,
                    text=_("%(kind)s %(no)s 将于 %(day)s 到期，请及时答复。")
                    % {
                        "kind": opinion.get_kind_display(),
                        "no": opinion.number,
                        "day": f"{opinion.deadline:%m月%d日}",
                    },
                    url=staff_url(opinion),
                )
                counts["reminded"] += 1
    overdue = Opinion.objects.filter(
        status__in=(S.RECEIVED, S.ACCEPTED), escalated_at__isnull=True, deadline__lt=today
    ).select_related("unit")
    for opinion in overdue:
        parent = OrgUnit.objects.get_parent(opinion.unit) if opinion.unit.depth > 1 else None
        with transaction.atomic():
            if not Opinion.objects.filter(pk=opinion.pk, escalated_at__isnull=True).update(
                escalated_at=now, escalated_to=parent
            ):
                continue
            text = _("%(kind)s %(no)s 已超期未答复（期限 %(day)s）。") % {
                "kind": opinion.get_kind_display(),
                "no": opinion.number,
                "day": f"{opinion.deadline:%m月%d日}",
            }
            notify_unit(
                unit=opinion.unit,
                kind=NotificationKind.OPINION_OVERDUE,
                text=text,
                url=staff_url(opinion),
            )
            if parent is not None:
                users = User.objects.filter(
                    unit=parent, role__in=(Role.SUPERVISOR, Role.UNIT_LEADER), is_active=True
                )
                notify_users(
                    users=users,
                    kind=NotificationKind.OPINION_OVERDUE,
                    text=text,
                    url=staff_url(opinion),
                )
            counts["escalated"] += 1
    stale = Opinion.objects.filter(
        status=S.ANSWERED, answered_at__lt=now - timedelta(days=settings.OPINION_RATING_DAYS)
    )
    for opinion in stale:
        with transaction.atomic():
            try:
                opinion_move(
                    opinion,
                    actor=None,
                    to=S.CLOSED,
                    note=_("群众未评价，自动办结"),
                    now=now,
                    closed_at=now,
                )
            except ApplicationError:
                continue
            counts["closed"] += 1
    return counts
