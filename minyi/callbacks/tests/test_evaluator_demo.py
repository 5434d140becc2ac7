"""The demo's evaluator team (minyi/demo/evaluators.py): the busiest centre's callbacks are
shared among five people, each callback wholly with one, and a second run changes nothing."""

from datetime import timedelta

import pytest

from minyi.callbacks.models import CallbackAttempt, CallOutcome
from minyi.callbacks.tests.test_evaluator_figures import CALLED, _callback
from minyi.demo import evaluators as demo_evaluators
from minyi.orgs.choices import Role
from minyi.workorders.tests.factories import open_centres

pytestmark = pytest.mark.django_db


def test_demo_team_shares_the_busiest_centre(world, btypes):
    open_centres(world)
    evaluator = world.user("a", Role.EVALUATOR)
    for i in range(12):
        callback = _callback(world)
        outcomes = [CallOutcome.NO_ANSWER, CallOutcome.REACHED] if i % 3 else [CallOutcome.REACHED]
        if i % 4 == 0:
            outcomes = [CallOutcome.NO_ANSWER] * 3  # never answered: the hard numbers
        for j, outcome in enumerate(outcomes):
            CallbackAttempt.objects.create(
                callback=callback,
                evaluator=evaluator,
                outcome=outcome,
                created_at=CALLED + timedelta(minutes=10 * i + j),
            )

    first = demo_evaluators.load()
    assert first["centre"] == world.district_a.pk and first["people"] == 5
    by_callback = {}
    for attempt in CallbackAttempt.objects.all():
        by_callback.setdefault(attempt.callback_id, set()).add(attempt.evaluator_id)
    assert all(len(people) == 1 for people in by_callback.values())
    assert len(set().union(*by_callback.values())) > 1
    before = list(CallbackAttempt.objects.values_list("pk", "evaluator_id").order_by("pk"))

    again = demo_evaluators.load()
    assert again["callbacks"] == 0
    assert list(CallbackAttempt.objects.values_list("pk", "evaluator_id").order_by("pk")) == before
