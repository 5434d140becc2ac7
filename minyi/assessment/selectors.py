"""Reads of the annual assessment, always scoped to the actor's subtree.

- Rules, peer groups and business figures: those of units in the actor's subtree.
- An assessment is visible when its owner bureau is in the actor's subtree (the bureau and
  those above it), or when it ranks a unit of the actor's subtree (a station's leader sees
  the assessment that ranks the station). A sibling bureau sees nothing.
- Inside an assessment, the rows shown are those of the actor's subtree; the whole peer group
  only to those who see the owner, or to everyone once the ranking is published (citizens
  see it then too). A leader thus sees their unit's row with its place among all peers
  (rank x of N, with the interval), not the other units' figures before publication.
"""

from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db.models import Exists, OuterRef, Q, QuerySet

from minyi.assessment.figures import KIND_FIGURES
from minyi.assessment.models import (
    Assessment,
    AssessmentResult,
    AssessmentRule,
    AssessmentStatus,
    BusinessFigure,
)
from minyi.core.errors import NotFound
from minyi.core.models import ImportFile
from minyi.orgs.models import OrgUnit, PeerGroup
from minyi.orgs.selectors import scope_q


def rule_list_visible_to(user) -> QuerySet[AssessmentRule]:
    return (
        AssessmentRule.objects.filter(scope_q(user, "owner__"))
        .select_related("owner", "created_by", "activated_by")
        .prefetch_related("indicators", "peer_groups")
        .order_by("owner__path", "-year", "-version")
    )


def rule_get_visible(user, pk) -> AssessmentRule:
    rule = rule_list_visible_to(user).filter(pk=pk).first()
    if rule is None:
        raise NotFound()
    return rule


def peer_group_list_visible_to(user) -> QuerySet[PeerGroup]:
    return (
        PeerGroup.objects.filter(scope_q(user, "owner__"))
        .select_related("owner")
        .prefetch_related("memberships__unit")
        .order_by("owner__path", "name")
    )


def peer_group_get_visible(user, pk) -> PeerGroup:
    group = peer_group_list_visible_to(user).filter(pk=pk).first()
    if group is None:
        raise NotFound()
    return group


def figure_list_visible_to(
    user, *, code: str = "", unit_code: str = ""
) -> QuerySet[BusinessFigure]:
    qs = BusinessFigure.objects.filter(scope_q(user, "unit__")).select_related("unit")
    if code:
        qs = qs.filter(code=code)
    if unit_code:
        qs = qs.filter(unit__code=unit_code)
    return qs.order_by("-period_end", "unit__path", "code")


def _owner_visible(user) -> Q:
    return scope_q(user, "rule__owner__")


def assessment_list_visible_to(user) -> QuerySet[Assessment]:
    in_scope = AssessmentResult.objects.filter(scope_q(user, "unit__"), assessment=OuterRef("pk"))
    return (
        Assessment.objects.filter(_owner_visible(user) | Q(Exists(in_scope)))
        .select_related("rule", "rule__owner")
        .order_by("-period_end", "-pk")
    )


def assessment_get_visible(user, pk) -> Assessment:
    assessment = assessment_list_visible_to(user).filter(pk=pk).first()
    if assessment is None:
        raise NotFound()
    return assessment


def sees_whole_ranking(user, assessment: Assessment) -> bool:
    if assessment.status == AssessmentStatus.PUBLISHED or user.is_superuser:
        return True
    return user.unit is not None and user.unit.contains(assessment.rule.owner)


@dataclass
class GroupRanking:
    group_id: int
    name: str
    size: int  # units in the group
    ranked: int  # units ranked (enough answers)
    rows: list[AssessmentResult]  # the rows the viewer may see, best first
    shares: dict
    whole: bool  # the viewer sees every row of the group


def assessment_rankings(user, assessment: Assessment) -> list[GroupRanking]:
    """Per peer group: the rows `user` may see (best median rank first, unranked last), each
    with `raw_last_twice` (for reference only: never the trigger)."""
    whole = sees_whole_ranking(user, assessment)
    results = assessment.results.select_related("unit", "peer_group")
    visible = results if whole else results.filter(scope_q(user, "unit__"))
    sizes: dict[int, list[int]] = {}
    for group_id, ranked in results.values_list("peer_group_id", "ranked"):
        sizes.setdefault(group_id, []).append(ranked)
    rows = list(visible.order_by("peer_group__name", "-ranked", "median_rank", "unit__path"))
    _mark_raw_last_twice(assessment, rows)
    for row in rows:
        # Respondents beside n_eff: the smallest count among the poll indicators.
        row.public_n = min(
            (f["n"] for f in row.indicators.values() if f.get("source") == "poll"), default=None
        )
    groups: dict[int, GroupRanking] = {}
    for row in rows:
        group = groups.get(row.peer_group_id)
        if group is None:
            flags = sizes[row.peer_group_id]
            group = groups[row.peer_group_id] = GroupRanking(
                group_id=row.peer_group_id,
                name=row.peer_group.name,
                size=len(flags),
                ranked=sum(flags) if sum(flags) >= 2 else 0,
                rows=[],
                shares=assessment.shares.get(str(row.peer_group_id), {}),
                whole=whole,
            )
        group.rows.append(row)
    return list(groups.values())


def _mark_raw_last_twice(assessment: Assessment, rows: list[AssessmentResult]) -> None:
    """`row.raw_last_twice`: also raw last in another assessment of the same owner for another
    period ending within 12 months. Shown beside the gate's mark, never used as the trigger."""
    year = relativedelta(months=12)
    raw_last = [row.unit_id for row in rows if row.raw_last]
    twice = set()
    if raw_last:
        twice = set(
            AssessmentResult.objects.filter(
                unit_id__in=raw_last,
                raw_last=True,
                assessment__rule__owner=assessment.rule.owner,
                assessment__period_end__gte=assessment.period_end - year,
                assessment__period_end__lte=assessment.period_end + year,
            )
            .exclude(assessment__period_end=assessment.period_end)
            .values_list("unit_id", flat=True)
        )
    for row in rows:
        row.raw_last_twice = row.raw_last and row.unit_id in twice


def units_under(owner: OrgUnit) -> QuerySet[OrgUnit]:
    """Units that may join a peer group of `owner`: those below it."""
    return OrgUnit.objects.filter(path__startswith=owner.path, depth__gt=owner.depth).order_by(
        "path"
    )


def figure_import_list_visible_to(user) -> QuerySet[ImportFile]:
    """Business-figure files uploaded within the user's subtree, newest first (the audit
    trail: who, when, which file, what became of it)."""
    return (
        ImportFile.objects.filter(scope_q(user, "unit__"), kind=KIND_FIGURES)
        .select_related("uploaded_by", "unit")
        .order_by("-created_at", "-pk")
    )


def figure_import_get_visible(user, pk) -> ImportFile:
    record = figure_import_list_visible_to(user).filter(pk=pk).first()
    if record is None:
        raise NotFound()
    return record
