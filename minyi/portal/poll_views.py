"""Public results (民意评警公开, issue 14 item 7), under /c/: a citizen page per unit with its
latest poll results, and the bureau's published assessment ranking. Phone first, no login,
no JavaScript, nothing loaded from elsewhere.

Only aggregates are shown, never a respondent's row or comment: per indicator the weighted
rate with its 95% interval and the effective sample size, and only where the effective
sample reaches the minimum (POLL_MIN_N_EFF); a smaller cell says so instead. The ranking
shows only assessments a supervisor has published, each rank with its 90% interval and each
composite with its interval, per peer group, with a plain-language note on what they mean.
"""

from dataclasses import dataclass

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _

from minyi.assessment.models import Assessment, AssessmentResult, AssessmentStatus
from minyi.orgs.models import OrgUnit
from minyi.polls.models import Indicator, PollEstimate, PollStatus


@dataclass
class PublicCell:
    indicator: str
    adequate: bool
    rate: float | None = None
    low: float | None = None
    high: float | None = None
    n_eff: float | None = None


def _not_found(request, message):
    return render(request, "portal/poll_not_found.html", {"message": message}, status=404)


def _published_estimates(unit: OrgUnit):
    """The unit's estimates from its latest closed, weighted poll wave (None: none yet)."""
    latest = (
        PollEstimate.objects.filter(
            unit=unit, poll__status=PollStatus.CLOSED, poll__weighted_at__isnull=False
        )
        .select_related("poll")
        .order_by("-poll__fielded_to", "-poll_id")
        .first()
    )
    if latest is None:
        return None, []
    rows = {e.indicator: e for e in PollEstimate.objects.filter(poll=latest.poll, unit=unit)}
    cells = []
    for indicator in Indicator:
        e = rows.get(indicator.value)
        if e is None:
            continue
        if e.rate is None or e.n_eff < settings.POLL_MIN_N_EFF:
            cells.append(PublicCell(indicator=str(indicator.label), adequate=False))
        else:
            cells.append(
                PublicCell(
                    indicator=str(indicator.label),
                    adequate=True,
                    rate=e.rate,
                    low=e.low,
                    high=e.high,
                    n_eff=e.n_eff,
                )
            )
    return latest.poll, cells


def poll_unit(request, code):
    """一个单位的民意测评结果: the latest wave, aggregates only."""
    unit = OrgUnit.objects.filter(code=code, is_active=True).first()
    if unit is None:
        return _not_found(request, _("没有找到该单位。"))
    poll, cells = _published_estimates(unit)
    return render(
        request,
        "portal/poll_unit.html",
        {"unit": unit, "poll": poll, "cells": cells, "min_n_eff": settings.POLL_MIN_N_EFF},
    )


def _published():
    return Assessment.objects.filter(status=AssessmentStatus.PUBLISHED).order_by(
        "-period_end", "-id"
    )


@dataclass
class PublicGroup:
    name: str
    ranked: list[AssessmentResult]
    unranked: list[AssessmentResult]


def _groups(assessment: Assessment) -> list[PublicGroup]:
    results = AssessmentResult.objects.filter(assessment=assessment).select_related(
        "unit", "peer_group"
    )
    groups: dict[int, PublicGroup] = {}
    for r in results.order_by("peer_group__name", "peer_group_id", "median_rank", "unit__name"):
        group = groups.setdefault(r.peer_group_id, PublicGroup(r.peer_group.name, [], []))
        (group.ranked if r.ranked and r.median_rank is not None else group.unranked).append(r)
    return list(groups.values())


def ranking(request, pk=None):
    """公布的综合考评排名: the latest published assessment (or the one asked for), per peer
    group; earlier published ones are linked."""
    published = list(_published()[:20])
    if pk is None:
        assessment = published[0] if published else None
    else:
        assessment = _published().filter(pk=pk).first()
        if assessment is None:
            return _not_found(request, _("没有找到该考评结果，或尚未公布。"))
    return render(
        request,
        "portal/ranking.html",
        {
            "assessment": assessment,
            "groups": _groups(assessment) if assessment else [],
            "published": published,
        },
    )
