"""Reads of three-colour warnings, always scoped to the actor's subtree through the
warning's unit (an officer's warning carries the officer's unit)."""

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from minyi.core.errors import NotFound
from minyi.orgs.selectors import officer_list_visible_to, orgunit_list_visible_to, scope_q
from minyi.warnings.models import (
    COLOUR_SEVERITY,
    Warning,
    WarningColour,
    WarningReply,
    WarningSubject,
)

FLAGGED = (WarningColour.RED, WarningColour.ORANGE)

_SEVERITY = Case(
    *(When(colour=colour, then=Value(rank)) for colour, rank in COLOUR_SEVERITY.items()),
    output_field=IntegerField(),
)


def warning_list_visible_to(user, *, colour: str = "", subject: str = "") -> QuerySet[Warning]:
    """Current red and orange warnings in the user's subtree, red first."""
    qs = Warning.objects.filter(scope_q(user, "unit__"), is_current=True, colour__in=FLAGGED)
    if colour in FLAGGED:
        qs = qs.filter(colour=colour)
    if subject in WarningSubject.values:
        qs = qs.filter(subject=subject)
    return (
        qs.select_related("officer", "unit")
        .annotate(severity=_SEVERITY, reply_count=Count("replies"))
        .order_by("severity", "subject", "unit__path", "officer__police_number", "pk")
    )


def warning_counts_visible_to(user) -> dict:
    """Current warnings by colour and subject, e.g. {"red": 3, "red_officer": 2, ...}."""
    rows = (
        Warning.objects.filter(scope_q(user, "unit__"), is_current=True, colour__in=FLAGGED)
        .values_list("colour", "subject")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {c: 0 for c in FLAGGED} | {
        f"{c}_{s}": 0 for c in FLAGGED for s in WarningSubject.values
    }
    counts |= {s: 0 for s in WarningSubject.values}
    for colour, subject, n in rows:
        counts[colour] += n
        counts[subject] += n
        counts[f"{colour}_{subject}"] += n
    counts["total"] = sum(counts[c] for c in FLAGGED)
    return counts


def warning_counts_with_green(user) -> dict:
    """The counts above and the green ones: three colours are three numbers, and everyone
    monitored and not flagged is green."""
    counts = warning_counts_visible_to(user)
    officers = officer_list_visible_to(user).filter(is_active=True).count()
    units = orgunit_list_visible_to(user).filter(is_active=True).count()
    counts["green_officer"] = max(0, officers - counts["officer"])
    counts["green_unit"] = max(0, units - counts["unit"])
    counts["green"] = counts["green_officer"] + counts["green_unit"]
    return counts


def warning_get_visible(user, pk) -> Warning:
    warning = (
        Warning.objects.filter(scope_q(user, "unit__"), pk=pk)
        .select_related("officer", "unit")
        .first()
    )
    if warning is None:
        raise NotFound()
    return warning


def warning_history_visible_to(user, warning: Warning) -> QuerySet[Warning]:
    """Every colour spell of the warning's subject the user may see, newest first."""
    if warning.subject == WarningSubject.OFFICER:
        same = Q(subject=WarningSubject.OFFICER, officer_id=warning.officer_id)
    else:
        same = Q(subject=WarningSubject.UNIT, unit_id=warning.unit_id)
    return (
        Warning.objects.filter(scope_q(user, "unit__"), same)
        .annotate(reply_count=Count("replies"))
        .order_by("-started_at", "-pk")
    )


def warning_replies(warning: Warning) -> QuerySet[WarningReply]:
    """The replies to a warning already read through a scoped selector."""
    return warning.replies.select_related("author", "author__unit").order_by("created_at", "pk")


def warning_current_for(user, *, officer=None, unit=None) -> Warning | None:
    """The current warning of one officer or unit, if the user may see it and it is red or
    orange: for a badge on another page (officer card, unit page)."""
    if (officer is None) == (unit is None):
        raise ValueError("give exactly one of officer and unit")
    if officer is not None:
        same = Q(subject=WarningSubject.OFFICER, officer=officer)
    else:
        same = Q(subject=WarningSubject.UNIT, unit=unit)
    return Warning.objects.filter(
        scope_q(user, "unit__"), same, is_current=True, colour__in=FLAGGED
    ).first()
