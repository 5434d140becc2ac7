from minyi.notifications.models import Notification


def notification_list_for(user):
    """A person's own notifications: nobody reads another's."""
    return Notification.objects.filter(recipient=user)


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
