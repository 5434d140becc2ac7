"""A person's own notifications (消息通知): the list, and marking them read."""

from django.contrib import messages
from django.db.models import F
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.core.ui import page_of
from minyi.notifications.selectors import notification_list_for
from minyi.notifications.services import notification_mark_read
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm


def _local(url: str, request) -> str:
    """`url` if it stays on this site (notifications link to pages here), else ""."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


@staff_view(Perm.NOTIFICATION_VIEW)
def notification_list(request):
    """Unread first, newest first within each."""
    notifications = notification_list_for(request.user).order_by(
        F("read_at").asc(nulls_first=True), "-created_at", "-id"
    )
    page = page_of(request, notifications)
    for notification in page:
        notification.link = _local(notification.url, request)
    unread = any(n.read_at is None for n in page)
    return render(request, "notifications/list.html", {"page": page, "unread": unread})


@staff_view(Perm.NOTIFICATION_VIEW)
@require_POST
def notification_mark_read_view(request, pk):
    """Mark one read; when it is being opened, go on to its page (opening reads it).
    Another person's notification is left alone: the service only touches the actor's."""
    notification_mark_read(actor=request.user, notification_id=pk)
    target = _local(request.POST.get("next", ""), request) if "open" in request.POST else ""
    return redirect(target or "notifications:list")


@staff_view(Perm.NOTIFICATION_VIEW)
@require_POST
def notification_mark_all_read(request):
    count = notification_mark_read(actor=request.user)
    if count:
        messages.success(request, _("已将 %(n)d 条消息标为已读。") % {"n": count})
    return redirect("notifications:list")
