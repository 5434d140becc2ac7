"""Permission-matrix cases of the figures per evaluator (访评员绩效), collected by
minyi/console/tests/test_permission_matrix.py. The workbench's cases are in
minyi/perception/tests/permission_cases.py. Station a2 is the centre; its evaluator made a
call; a sibling station's supervisor must not see that evaluator."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.choices import Role
from minyi.orgs.roles import Perm


def _marker(world):
    """A call by a2's evaluator on a callback of a2's centre; the marker is the evaluator."""
    from minyi.callbacks.models import Callback, CallOutcome
    from minyi.callbacks.services import callback_claim, callback_record
    from minyi.console.tests.test_permission_matrix import _callback_marker

    _callback_marker(world)
    evaluator = world.user("a2", Role.EVALUATOR)
    callback = Callback.objects.get(unit=world.station_a2)
    callback_claim(actor=evaluator, callback=callback)
    callback_record(actor=evaluator, callback=callback, outcome=CallOutcome.NO_ANSWER)
    return str(evaluator)


CASES = {
    "callbacks:evaluator_figures": Case(
        Perm.CENTRE_MANAGE, lambda w: reverse("callbacks:evaluator_figures"), _marker
    ),
    # CSV, so the matrix can read the marker in the file.
    "callbacks:evaluator_figures_export": Case(
        Perm.CENTRE_MANAGE,
        lambda w: reverse("callbacks:evaluator_figures_export") + "?format=csv",
        _marker,
    ),
}
