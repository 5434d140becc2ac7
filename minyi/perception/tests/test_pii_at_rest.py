"""An evaluator's notes on a call (CallbackAttempt) and a callback's history notes
(CallbackEvent) are stored encrypted like the citizen's own text (issue 12, item 3)."""

import pytest

from minyi.callbacks.models import CallbackAttempt, CallbackEvent, CallOutcome
from minyi.callbacks.services import callback_record
from minyi.core.tests.at_rest import NOTE, assert_encrypted
from minyi.workorders.tests.factories import held_callback, open_centres

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


def test_call_notes_and_history_notes_are_encrypted_at_rest(world):
    # Given an evaluator who noted the number that answered
    callback = held_callback(world)
    callback_record(
        actor=callback.assignee, callback=callback, outcome=CallOutcome.NO_ANSWER, note=NOTE
    )
    # Then the attempt's note is not in clear in the database
    assert_encrypted(CallbackAttempt.objects.get(callback=callback), "note")
    # Nor is a history note, which may be free text (an appeal decision closing a 追评)
    event = CallbackEvent.objects.create(callback=callback, to_status="done", note=NOTE)
    assert_encrypted(event, "note")
