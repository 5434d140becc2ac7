"""Reads of polls (民意测评), always scoped to the reader's subtree.

A poll is visible to staff whose subtree holds the poll's unit (the bureau that ran it) or
who work inside it (a station sees the city's wave); either way the figures shown are those
of the units in the reader's own subtree: a sibling unit's staff see nothing of another's.
"""

from collections import defaultdict

from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from minyi.core.errors import NotFound
from minyi.core.models import ImportFile
from minyi.core.weighting import WeightedCell
from minyi.orgs.models import OrgUnit, PeerGroupMember
from minyi.orgs.selectors import import_file_get_visible, import_files_visible_to, scope_q
from minyi.polls.imports import KIND_MARGINS, KIND_RESPONDENTS
from minyi.polls.models import (
    Dimension,
    Indicator,
    Poll,
    PollEstimate,
    PollRespondent,
    PopulationMargin,
)

IMPORT_KINDS = (KIND_RESPONDENTS, KIND_MARGINS)


def _poll_scope(user) -> Q:
    if user.is_superuser:
        return Q()
    if not user.is_authenticated or user.unit_id is None:
        return Q(pk__in=[])
    path = user.unit.path
    above = [path[:end] for end in range(OrgUnit.steplen, len(path) + 1, OrgUnit.steplen)]
    return Q(unit__path__startswith=path) | Q(unit__path__in=above)


def poll_list_visible_to(user) -> QuerySet[Poll]:
    return (
        Poll.objects.filter(_poll_scope(user))
        .select_related("unit")
        .annotate(
            respondent_total=Count("respondents", filter=scope_q(user, "respondents__unit__"))
        )
        .order_by("-year", "-wave", "unit__path")
    )


def poll_get_visible(user, pk) -> Poll:
    poll = Poll.objects.filter(_poll_scope(user), pk=pk).select_related("unit").first()
    if poll is None:
        raise NotFound()
    return poll


def poll_estimates(user, poll: Poll, *, indicator: str) -> list[PollEstimate]:
    """One indicator's estimates of the units in the reader's subtree, by comparison group
    and then rank (unranked cells last)."""
    rows = (
        PollEstimate.objects.filter(scope_q(user), poll=poll, indicator=indicator)
        .select_related("unit", "peer_group")
        .order_by(
            "peer_group__name",
            "unit__kind",
            F("median_rank").asc(nulls_last=True),
            F("rate").desc(nulls_last=True),
            "unit__path",
        )
    )
    return list(rows)


def poll_imports(user, poll: Poll) -> QuerySet[ImportFile]:
    return (
        ImportFile.objects.filter(scope_q(user), kind=KIND_RESPONDENTS, target__poll=poll.pk)
        .select_related("uploaded_by")
        .order_by("-created_at")
    )


def import_list_visible_to(user, *, kind: str) -> QuerySet[ImportFile]:
    """The audit trail of one kind of poll import."""
    return import_files_visible_to(user, kind=kind, kinds=IMPORT_KINDS)


def import_get_visible(user, pk) -> ImportFile:
    return import_file_get_visible(user, pk, kinds=IMPORT_KINDS)


def poll_unit_status(user, poll: Poll) -> list[dict]:
    """Per unit of the reader's subtree with respondents: how many, whether the unit has
    population margins for the poll's year (else 未加权：缺少人口结构), and what it is compared
    with (its peer group, or the units of its kind within the poll's unit)."""
    counts = (
        PollRespondent.objects.filter(scope_q(user), poll=poll)
        .values("unit_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    n_of = {row["unit_id"]: row["n"] for row in counts}
    units = OrgUnit.objects.filter(pk__in=n_of).order_by("path")
    dimensions = defaultdict(set)
    for unit_id, dimension in (
        PopulationMargin.objects.filter(unit_id__in=n_of, year=poll.year)
        .values_list("unit_id", "dimension")
        .distinct()
    ):
        dimensions[unit_id].add(dimension)
    groups = dict(
        PeerGroupMember.objects.filter(unit_id__in=n_of).values_list("unit_id", "group__name")
    )
    return [
        {
            "unit": unit,
            "n": n_of[unit.pk],
            "dimensions": [
                label for value, label in Dimension.choices if value in dimensions[unit.pk]
            ],
            "weighted": bool(dimensions[unit.pk]),
            "peer_group": groups.get(unit.pk, ""),
        }
        for unit in units
    ]


def margin_summary_visible_to(user, *, year: int | None = None) -> list[dict]:
    """Population margins by unit and year, each dimension's total (人口结构)."""
    rows = PopulationMargin.objects.filter(scope_q(user))
    if year:
        rows = rows.filter(year=year)
    totals = (
        rows.values("unit_id", "unit__name", "unit__code", "unit__path", "year", "dimension")
        .annotate(total=Sum("population"), categories=Count("pk"))
        .order_by("-year", "unit__path", "dimension")
    )
    summary: dict[tuple, dict] = {}
    for row in totals:
        entry = summary.setdefault(
            (row["year"], row["unit_id"]),
            {"year": row["year"], "name": row["unit__name"], "code": row["unit__code"], "by": {}},
        )
        entry["by"][row["dimension"]] = row["total"]
    return list(summary.values())


def indicator_sums(respondents, indicator: str):
    """Per unit, the weighted sums of one indicator's answers, in SQL: n, Σw, Σw², Σw·y
    (unweighted respondents count with weight 1)."""
    weight = Coalesce(F("weight"), Value(1.0), output_field=FloatField())
    answered = Q(**{f"{indicator}__isnull": False})
    return (
        respondents.filter(answered)
        .values("unit_id")
        .annotate(
            n=Count("pk"),
            sum_w=Sum(weight),
            sum_w2=Sum(weight * weight),
            sum_wy=Sum(
                Case(When(Q(**{indicator: True}), then=weight), default=Value(0.0)),
                output_field=FloatField(),
            ),
        )
        .order_by("unit_id")
    )


def poll_pooled_cells(*, polls, indicator: str, units) -> dict[int, WeightedCell]:
    """Per unit, one indicator's weighted sums pooled over several waves (for the annual
    assessment): n, Σw, Σw², Σw·y added over `polls`' respondents of `units`."""
    if indicator not in Indicator.values:
        raise ValueError(f"unknown indicator {indicator!r}")
    respondents = PollRespondent.objects.filter(poll__in=polls, unit__in=units)
    return {
        row["unit_id"]: WeightedCell(
            key=row["unit_id"],
            n=row["n"],
            sum_w=row["sum_w"],
            sum_w2=row["sum_w2"],
            sum_wy=min(row["sum_wy"], row["sum_w"]),
        )
        for row in indicator_sums(respondents, indicator)
    }
