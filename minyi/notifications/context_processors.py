"""`unread_notifications` for the bell in the header: one count query, made only when a
page actually shows the bell, and none for anonymous visitors."""

from django.utils.functional import SimpleLazyObject

from minyi.notifications.selectors import unread_count
from minyi.orgs.roles import Perm, has_perm


def notifications(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not has_perm(user, Perm.NOTIFICATION_VIEW):
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user))}
