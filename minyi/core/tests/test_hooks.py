"""Hooks hand work up a layer without an import: one handler, never a silent no-op."""

import pytest

from minyi.callbacks.hooks import callback_recorded, reason_tags_suggest
from minyi.core.hooks import Hook, HookNotConnected
from minyi.perception.hooks import survey_unsatisfied


def test_a_hook_without_its_handler_refuses_to_be_called():
    hook = Hook("nobody_listens")
    with pytest.raises(HookNotConnected):
        hook(x=1)


def test_a_hook_calls_its_one_handler_and_returns_its_answer():
    hook = Hook("answers")
    handler = hook.connect(lambda *, x: x * 2)
    hook.connect(handler)  # the same again is harmless (ready() may run twice)
    assert hook(x=21) == 42
    with pytest.raises(RuntimeError):
        hook.connect(lambda *, x: x)


@pytest.mark.django_db
def test_every_hook_of_the_house_has_its_handler_once_the_apps_are_ready():
    for hook in (survey_unsatisfied, callback_recorded, reason_tags_suggest):
        assert hook._handler is not None, hook
    assert "attitude" in reason_tags_suggest("民警态度很差，说话很冲")
