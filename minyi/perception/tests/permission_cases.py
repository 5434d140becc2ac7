"""Permission-matrix cases for the callback workbench (collected by
minyi/console/tests/test_permission_matrix.py)."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.choices import Role
from minyi.orgs.roles import Perm


def _callback(world):
    from minyi.callbacks.models import Callback

    callback = Callback.objects.filter(unit=world.station_a2).first()
    if callback is None:  # the wrong-role cases ask for the address without the marker
        _marker(world)
        callback = Callback.objects.get(unit=world.station_a2)
    return callback


def _held_by_owner(world):
    """The a2 evaluator holds the task, so release and record have something to act on."""
    from minyi.callbacks.services import callback_claim

    callback = _callback(world)
    callback_claim(actor=world.user("a2", Role.EVALUATOR), callback=callback)
    return callback


def _marker(world):
    from minyi.console.tests.test_permission_matrix import _callback_marker

    return _callback_marker(world)


def _inbox_message(world):
    from minyi.console.tests.test_permission_matrix import _inbox_message

    return _inbox_message(world)


def _inbox_marker(world):
    from minyi.console.tests.test_permission_matrix import _inbox_marker

    return _inbox_marker(world)


CASES = {
    "callbacks:callback_detail": Case(
        Perm.CALLBACK_VIEW,
        lambda w: reverse("callbacks:callback_detail", args=[_callback(w).pk]),
        _marker,
        detail=True,
    ),
    "callbacks:callback_take_next": Case(
        Perm.CALLBACK_WORK,
        lambda w: reverse("callbacks:callback_take_next"),
        _marker,
        method="post",
        sibling_status=302,  # back to an empty queue
        owner_status=302,  # on to the task
    ),
    "callbacks:callback_claim": Case(
        Perm.CALLBACK_WORK,
        lambda w: reverse("callbacks:callback_claim", args=[_callback(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "callbacks:callback_release": Case(
        Perm.CALLBACK_WORK,
        lambda w: reverse("callbacks:callback_release", args=[_held_by_owner(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "callbacks:callback_reveal": Case(
        Perm.CALLBACK_REVEAL_MOBILE,
        lambda w: reverse("callbacks:callback_reveal", args=[_callback(w).pk]),
        lambda w: (_marker(w), "13800005555")[1],
        method="post",
        detail=True,
    ),
    "callbacks:callback_record": Case(
        Perm.CALLBACK_WORK,
        lambda w: reverse("callbacks:callback_record", args=[_held_by_owner(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=400,  # an empty form: the page again, with what is missing
    ),
    "inbox:inbox_detail": Case(
        Perm.INBOX_VIEW,
        lambda w: reverse("inbox:inbox_detail", args=[_inbox_message(w).pk]),
        _inbox_marker,
        detail=True,
    ),
    "inbox:inbox_handle": Case(
        Perm.INBOX_HANDLE,
        lambda w: reverse("inbox:inbox_handle", args=[_inbox_message(w).pk]),
        _inbox_marker,
        method="post",
        detail=True,
        owner_status=400,  # no action chosen: the page again, saying so
    ),
}
