"""A person's notifications: only their own, unread first, read by opening; the bell's count."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from minyi.notifications.context_processors import notifications
from minyi.notifications.models import Notification, NotificationKind
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def _note(user, text, *, url="/workorders/", read=False, minutes_ago=0):
    return Notification.objects.create(
        recipient=user,
        kind=NotificationKind.ORDER_ARRIVED,
        text=text,
        url=url,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None,
    )


def test_the_list_shows_only_ones_own_unread_first(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    _note(leader, "旧的已读消息", read=True, minutes_ago=1)
    _note(leader, "较早的未读消息", minutes_ago=30)
    _note(world.user("a1", Role.UNIT_LEADER), "甲一所的消息")
    client.force_login(leader)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "甲一所的消息" not in page
    # Unread first even when older; the read one last
    assert page.index("较早的未读消息") < page.index("旧的已读消息")
    assert 'data-testid="mark-all-read"' in page


def test_opening_a_notification_reads_it_and_goes_to_its_page(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    note = _note(leader, "新整改工单", url="/workorders/7/")
    client.force_login(leader)
    response = client.post(
        reverse("notifications:mark_read", args=[note.pk]), {"next": note.url, "open": "1"}
    )
    assert response.status_code == 302 and response.url == "/workorders/7/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_marking_read_without_opening_stays_on_the_list(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    note = _note(leader, "新整改工单", url="/workorders/7/")
    client.force_login(leader)
    response = client.post(reverse("notifications:mark_read", args=[note.pk]), {"next": note.url})
    assert response.url == reverse("notifications:list")
    assert Notification.objects.get(pk=note.pk).read_at is not None


def test_nobody_marks_another_persons_notification(client, world):
    note = _note(world.user("a2", Role.UNIT_LEADER), "甲二所的消息")
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    client.post(reverse("notifications:mark_read", args=[note.pk]))
    client.post(reverse("notifications:mark_all_read"))
    assert Notification.objects.get(pk=note.pk).read_at is None


def test_an_offsite_url_is_neither_linked_nor_followed(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    note = _note(leader, "奇怪的消息", url="https://evil.example/x")
    client.force_login(leader)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "evil.example" not in page
    response = client.post(
        reverse("notifications:mark_read", args=[note.pk]),
        {"next": "https://evil.example/x", "open": "1"},
    )
    assert response.url == reverse("notifications:list")


def test_mark_all_read(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    for i in range(3):
        _note(leader, f"消息{i}")
    client.force_login(leader)
    response = client.post(reverse("notifications:mark_all_read"), follow=True)
    assert "已将 3 条消息标为已读" in response.content.decode()
    assert not Notification.objects.filter(recipient=leader, read_at__isnull=True).exists()


def test_the_bell_counts_unread_with_one_query_and_none_for_anonymous(
    world, django_assert_num_queries
):
    leader = world.user("a2", Role.UNIT_LEADER)
    _note(leader, "未读一")
    _note(leader, "未读二")
    _note(leader, "已读", read=True)
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert notifications(request) == {}
    request.user = leader
    with django_assert_num_queries(1):
        context = notifications(request)
        assert int(str(context["unread_notifications"])) == 2
        assert context["unread_notifications"]  # the template's {% if %} asks again: cached
