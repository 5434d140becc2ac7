"""Permission-matrix cases of the collection pages (平台短信测评), for
minyi/polls/tests/permission_cases.py to merge into its CASES. The poll covers station a2
only, so a sibling (station a1) finds no such poll."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from minyi.console.tests.matrix import Case
from minyi.polls.models import Poll, PollQuota, PollSource, PollStatus
from minyi.polls.services import POLL_MANAGE, POLL_VIEW

TITLE = "甲二所短信测评A2PERM"


def _poll(world) -> Poll:
    poll = Poll.objects.filter(title=TITLE).first()
    if poll is None:
        today = timezone.localdate()
        poll = Poll.objects.create(
            title=TITLE,
            year=today.year,
            wave=1,
            source=PollSource.COLLECTED,
            status=PollStatus.COLLECTING,
            unit=world.station_a2,
            fielded_from=today - timedelta(days=1),
            fielded_to=today + timedelta(days=30),
        )
        PollQuota.objects.create(poll=poll, unit=world.station_a2, target=10)
    return poll


def _marker(world) -> str:
    return _poll(world).title


COLLECTION_CASES = {
    "polls:collection_detail": Case(
        POLL_VIEW,
        lambda w: reverse("polls:collection_detail", args=[_poll(w).pk]),
        _marker,
        detail=True,
    ),
    # An empty form: refused (400) for the owner, no such poll (404) for a sibling.
    "polls:collection_sample": Case(
        POLL_MANAGE,
        lambda w: reverse("polls:collection_sample", args=[_poll(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
    "polls:collection_close": Case(
        POLL_MANAGE,
        lambda w: reverse("polls:collection_close", args=[_poll(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
}
