"""Demo: a team of evaluators (访评员) at the demo city's busiest perception centre, so that
the figures per evaluator (访评员绩效, issue 17 item 7) have people to compare.

`demo_history` works every callback with the one evaluator account closest to its centre, so
each centre has a single person and the page could only say "nobody to compare with". This
adds four evaluator accounts to the busiest centre and shares that centre's callbacks among
the five: everything about one callback (its calls, its completion and its history rows) goes
to one person, chosen from the callback's id, so running it again changes nothing. The newest
of them is handed the hard numbers more often (a callback whose citizen never answered goes to
her with three times the odds), so her reach rate (counted per callback) is lower than the
others' for a reason a leader can check, not by editing any call's outcome.
"""

import random

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, Exists, OuterRef

from minyi.callbacks.evaluators import CONNECTED_OUTCOMES
from minyi.callbacks.models import Callback, CallbackAttempt, CallbackEvent
from minyi.demo.city import DEMO_PASSWORD, closest_account
from minyi.orgs.choices import Role
from minyi.orgs.models import OrgUnit, User

TEAM = (
    ("demo_evaluator_1", "王丽娟"),
    ("demo_evaluator_2", "陈志强"),
    ("demo_evaluator_3", "周敏"),
    ("demo_evaluator_4", "何晓婷"),  # the newest: given the hard numbers more often
)
HARD_ODDS = 3.0


def _busiest_centre_id() -> int | None:
    row = (
        CallbackAttempt.objects.values("callback__centre_id")
        .annotate(n=Count("id"))
        .order_by("-n", "callback__centre_id")
        .first()
    )
    return row["callback__centre_id"] if row else None


def _team(centre_id: int) -> list[User]:
    encoded = make_password(DEMO_PASSWORD)
    people = []
    for username, full_name in TEAM:
        user, _created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": Role.EVALUATOR,
                "unit_id": centre_id,
                "full_name": full_name,
                "password": encoded,
            },
        )
        people.append(user)
    return people


def _person_for(callback_id: int, hard: bool, people: list[User]) -> User:
    rng = random.Random(f"evaluators:{callback_id}")  # noqa: S311 (demo data, not secrets)
    weights = [1.0] * len(people)
    if hard:
        weights[-1] = HARD_ODDS
    return rng.choices(people, weights=weights)[0]


@transaction.atomic
def load(now=None) -> dict:
    """Add the team and share the busiest centre's callbacks; idempotent. `now` is accepted
    for the demo commands' common signature: nothing here depends on the time."""
    del now
    centre_id = _busiest_centre_id()
    if centre_id is None:
        return {"centre": None, "callbacks": 0}
    team = _team(centre_id)
    centre = OrgUnit.objects.get(pk=centre_id)
    others = User.objects.filter(role=Role.EVALUATOR, is_active=True).exclude(
        username__in=[username for username, _name in TEAM]
    )
    original = closest_account(list(others.select_related("unit")), centre)
    people = [original, *team] if original else team
    answered = CallbackAttempt.objects.filter(
        callback=OuterRef("pk"), outcome__in=list(CONNECTED_OUTCOMES)
    )
    worked = (
        Callback.objects.filter(centre_id=centre_id, calls__isnull=False)
        .annotate(answered=Exists(answered))
        .values_list("pk", "answered")
        .distinct()
    )
    moved = 0
    for callback_id, was_answered in worked:
        person = _person_for(callback_id, not was_answered, people)
        attempts = CallbackAttempt.objects.filter(callback_id=callback_id).exclude(evaluator=person)
        if not attempts.filter(evaluator__in=people).exists():
            continue
        attempts.filter(evaluator__in=people).update(evaluator=person)
        Callback.objects.filter(pk=callback_id, completed_by__in=people).update(completed_by=person)
        Callback.objects.filter(pk=callback_id, assignee__in=people).update(assignee=person)
        CallbackEvent.objects.filter(callback_id=callback_id, actor__in=people).update(actor=person)
        moved += 1
    return {"centre": centre_id, "callbacks": moved, "people": len(people)}
