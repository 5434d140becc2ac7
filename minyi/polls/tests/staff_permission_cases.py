"""Permission-matrix cases of the poll staff pages (polls, imports, margins), for
minyi/polls/tests/permission_cases.py to merge into its CASES. The poll covers station a2 only,
so a sibling (station a1) finds no such poll, import or margin."""

from datetime import date

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.core.models import ImportFile, ImportStatus
from minyi.orgs.choices import Role
from minyi.polls.imports import KIND_RESPONDENTS
from minyi.polls.models import Poll, PollSource, PopulationMargin
from minyi.polls.services import POLL_MANAGE, POLL_VIEW

TITLE = "甲二所民意测评A2POLL"
FILENAME = "A2IMPORT样本.csv"


def _poll(world) -> Poll:
    poll = Poll.objects.filter(title=TITLE).first()
    if poll is None:
        poll = Poll.objects.create(
            title=TITLE,
            year=2026,
            wave=1,
            source=PollSource.IMPORTED,
            unit=world.station_a2,
            fielded_from=date(2026, 5, 1),
            fielded_to=date(2026, 5, 31),
        )
    return poll


def _import(world) -> ImportFile:
    record = ImportFile.objects.filter(filename=FILENAME).first()
    if record is None:
        record = ImportFile.objects.create(
            kind=KIND_RESPONDENTS,
            unit=world.station_a2,
            uploaded_by=world.user("a2", Role.ADMIN),
            filename=FILENAME,
            file="imports/none.csv",
            sha256="0" * 64,
            size=1,
            target={"poll": _poll(world).pk},
            status=ImportStatus.DONE,
            result={"rows": 1},
        )
    return record


def _margin(world) -> str:
    PopulationMargin.objects.get_or_create(
        unit=world.station_a2,
        year=2026,
        dimension="sex",
        category="m",
        defaults={"population": 5100},
    )
    return world.station_a2.code


def _poll_title(world) -> str:
    return _poll(world).title


def _import_name(world) -> str:
    return _import(world).filename


STAFF_CASES = {
    "polls:poll_list": Case(POLL_VIEW, lambda w: reverse("polls:poll_list"), _poll_title),
    "polls:poll_new": Case(POLL_MANAGE, lambda w: reverse("polls:poll_new"), None),
    "polls:poll_detail": Case(
        POLL_VIEW,
        lambda w: reverse("polls:poll_detail", args=[_poll(w).pk]),
        _poll_title,
        detail=True,
    ),
    # An empty form: refused (400) for the owner, no such poll (404) for a sibling.
    "polls:poll_upload": Case(
        POLL_MANAGE,
        lambda w: reverse("polls:poll_upload", args=[_poll(w).pk]),
        _poll_title,
        method="post",
        detail=True,
        owner_status=400,
    ),
    "polls:poll_recompute": Case(
        POLL_MANAGE,
        lambda w: reverse("polls:poll_recompute", args=[_poll(w).pk]),
        _poll_title,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "polls:margin_list": Case(POLL_VIEW, lambda w: reverse("polls:margin_list"), _margin),
    # An empty form: refused for everyone allowed to import.
    "polls:margin_upload": Case(
        POLL_MANAGE,
        lambda w: reverse("polls:margin_upload"),
        None,
        method="post",
        owner_status=400,
        sibling_status=400,
    ),
    "polls:import_list": Case(POLL_VIEW, lambda w: reverse("polls:import_list"), _import_name),
    "polls:import_detail": Case(
        POLL_VIEW,
        lambda w: reverse("polls:import_detail", args=[_import(w).pk]),
        _import_name,
        detail=True,
    ),
    # Already imported: nothing to confirm (409) for the owner, no such file for a sibling.
    "polls:import_confirm": Case(
        POLL_MANAGE,
        lambda w: reverse("polls:import_confirm", args=[_import(w).pk]),
        None,
        method="post",
        detail=True,
        owner_status=409,
    ),
    "polls:import_progress": Case(
        POLL_VIEW,
        lambda w: reverse("polls:import_progress", args=[_import(w).pk]),
        lambda w: f"已导入 {_import(w).result['rows']} 行。",
        detail=True,
    ),
}
