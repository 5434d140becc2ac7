"""Running an assessment (年度综合考评): a rule over a period's poll waves and business figures,
ranked within each peer group, the gate's "last" marks and the accountability cases they open.

Per peer group (as snapshotted when the rule was activated), per unit:

- each poll indicator pooled over the chosen waves (`polls.selectors.poll_pooled_cells`):
  effective successes ``rate·n_eff`` out of ``n_eff`` (Kish), from the weighted sums;
- each business figure summed over the figures lying inside the period;
- **eligible for ranking** when every poll indicator of the rule has a pooled
  ``n_eff >= settings.POLL_MIN_N_EFF`` (the polls' own minimum sample: under it a cell is
  shown, never ranked); the **gate** additionally needs the smallest of those n_eff to reach
  the rule's `min_n_eff` (300 by default);
- `core.composite.composite` gives the composite with its interval, the ranks with their
  interval, P(last), P(bottom 3) and the nominal and effective shares;
- the funnel z of pooled 满意度 comes from `core.weighting.cell_estimates`;
- marked last by `core.composite.accountability_gate` (P(bottom 3) ≥ gate or z < −z gate,
  with n_eff ≥ min). The raw last place is kept beside, for reference only.

A unit marked last here and in another assessment of the same owner whose period ended in
the 12 months before this one's end gets an accountability case (问责), once per pair.
"""

from collections import Counter
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.accountability.services import case_open
from minyi.assessment.access import can_manage
from minyi.assessment.models import (
    Assessment,
    AssessmentResult,
    AssessmentRule,
    AssessmentStatus,
    BusinessFigure,
    Direction,
    IndicatorSource,
    RuleStatus,
)
from minyi.assessment.services import indicator_label
from minyi.callbacks.models import Callback, CallbackStatus
from minyi.core import stats
from minyi.core.audit import audit_record
from minyi.core.composite import IndicatorInput, accountability_gate, composite
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.weighting import WeightedCell, cell_estimates
from minyi.opinions.models import Opinion
from minyi.orgs.models import OrgUnit, PeerGroup
from minyi.polls.models import Indicator, Poll
from minyi.polls.selectors import poll_pooled_cells

FUNNEL_DRAWS = 4000
TOP_REASONS = 5
EMPTY_CELL = WeightedCell(key=None, n=0, sum_w=0.0, sum_w2=0.0, sum_wy=0.0)


def poll_min_n_eff() -> float:
    return float(settings.POLL_MIN_N_EFF)


def _n_eff(cell: WeightedCell) -> float:
    return cell.sum_w**2 / cell.sum_w2 if cell.sum_w2 > 0 else 0.0


def _rate(cell: WeightedCell) -> float | None:
    return min(1.0, cell.sum_wy / cell.sum_w) if cell.sum_w > 0 else None


def _figure(*, value, n, n_eff, s_eff, weight, direction, source, z) -> dict:
    interval = stats.wilson_interval(s_eff, n_eff) if n_eff > 0 else None
    return {
        "value": value,
        "n": n,
        "n_eff": round(n_eff, 1),
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
        "z": z,
        "weight": weight,
        "direction": direction,
        "source": source,
    }


def _check_request(*, rule, actor, period_start, period_end, polls) -> list[Poll]:
    if not can_manage(actor):
        raise PermissionDenied()
    owner = rule.owner
    if not actor.is_superuser and (actor.unit is None or not actor.unit.contains(owner)):
        raise PermissionDenied(_("只能计算本单位及下级单位的考评。"))
    if rule.status != RuleStatus.ACTIVE or not rule.peer_snapshot:
        raise ApplicationError("rule_not_active", _("请先启用考评规则。"), field="rule")
    if period_end < period_start:
        raise ApplicationError("period_reversed", _("截止日期早于起始日期。"), field="period_end")
    polls = list(polls)
    if not polls:
        raise ApplicationError("no_polls", _("请至少选择一轮民意测评。"), field="polls")
    for poll in polls:
        if not (poll.unit.contains(owner) or owner.contains(poll.unit)):
            raise ApplicationError(
                "poll_out_of_scope",
                _("测评“%(title)s”不覆盖本局的单位。") % {"title": poll.title},
                field="polls",
            )
        if poll.fielded_to < period_start or poll.fielded_from > period_end:
            raise ApplicationError(
                "poll_outside_period",
                _("测评“%(title)s”的调查时间不在考评期间内。") % {"title": poll.title},
                field="polls",
            )
    return polls


@transaction.atomic
def assessment_compute(
    *,
    rule: AssessmentRule,
    label: str,
    period_start: date,
    period_end: date,
    polls,
    actor,
    draws: int = 10_000,
) -> Assessment:
    """Compute (or recompute, while not yet approved) the assessment of `rule` over the
    period, write one result per unit of every peer group, and open the accountability cases
    that two marks within a year call for."""
    polls = _check_request(
        rule=rule, actor=actor, period_start=period_start, period_end=period_end, polls=polls
    )
    label = label.strip()[:40] or f"{rule.year} {period_start:%m.%d}–{period_end:%m.%d}"
    assessment = (
        Assessment.objects.select_for_update()
        .filter(rule=rule, period_start=period_start, period_end=period_end)
        .first()
    )
    if assessment is not None and assessment.status != AssessmentStatus.COMPUTED:
        raise ApplicationError(
            "assessment_locked",
            _("该期间的考评已审定，不能重新计算。"),
            status=409,
        )
    if assessment is None:
        assessment = Assessment(rule=rule, period_start=period_start, period_end=period_end)
    assessment.label = label
    assessment.draws = draws
    assessment.computed_at = timezone.now()
    assessment.computed_by = actor
    assessment.rule_version = f"{rule.rule_version} / {stats.RULE_VERSION}"
    assessment.shares = {}
    assessment.save()
    assessment.polls.set(polls)
    assessment.results.all().delete()

    indicators = list(rule.indicators.order_by("-source", "code"))
    groups = {str(g.pk): g for g in PeerGroup.objects.filter(pk__in=rule.peer_snapshot.keys())}
    shares = {}
    for group_id, unit_ids in rule.peer_snapshot.items():
        if group_id in groups and unit_ids:
            shares[group_id] = _compute_group(
                assessment=assessment,
                group=groups[group_id],
                unit_ids=unit_ids,
                indicators=indicators,
                polls=polls,
            )
    assessment.shares = shares
    assessment.save(update_fields=["shares", "updated_at"])
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=assessment,
        detail={"rule_version": assessment.rule_version, "polls": [p.pk for p in polls]},
    )
    accountability_open(assessment=assessment)
    return assessment


def _business_sums(unit_ids, codes, period_start, period_end) -> dict:
    rows = (
        BusinessFigure.objects.filter(
            unit_id__in=unit_ids,
            code__in=codes,
            period_start__gte=period_start,
            period_end__lte=period_end,
        )
        .values("unit_id", "code")
        .annotate(s=Sum("numerator"), n=Sum("denominator"))
        .order_by()
    )
    return {(r["unit_id"], r["code"]): (r["s"], r["n"]) for r in rows}


def _compute_group(*, assessment, group, unit_ids, indicators, polls) -> dict:
    rule = assessment.rule
    minimum = poll_min_n_eff()
    poll_codes = [i.code for i in indicators if i.source == IndicatorSource.POLL]
    cells = {
        code: poll_pooled_cells(polls=polls, indicator=code, units=unit_ids)
        for code in {*poll_codes, Indicator.SATISFACTION.value}
    }
    business = _business_sums(
        unit_ids,
        [i.code for i in indicators if i.source == IndicatorSource.BUSINESS],
        assessment.period_start,
        assessment.period_end,
    )
    inputs, figures = [], [{} for _u in unit_ids]
    for ind in indicators:
        successes, trials = [], []
        for j, unit_id in enumerate(unit_ids):
            if ind.source == IndicatorSource.POLL:
                cell = cells[ind.code].get(unit_id) or EMPTY_CELL
                n_eff, rate = _n_eff(cell), _rate(cell)
                s_eff = rate * n_eff if rate is not None else 0.0
                n = cell.n
            else:
                s_eff, n_eff = business.get((unit_id, ind.code), (0, 0))
                rate = s_eff / n_eff if n_eff else None
                n = n_eff
            successes.append(s_eff)
            trials.append(n_eff)
            figures[j][ind.code] = {"value": rate, "n": n, "n_eff": n_eff, "s_eff": s_eff}
        inputs.append(
            IndicatorInput(
                code=ind.code,
                weight=float(ind.weight),
                higher_is_better=ind.direction == Direction.HIGHER,
                public=ind.source == IndicatorSource.POLL,
                successes=successes,
                trials=trials,
            )
        )
    public_n_eff = [
        min(figures[j][code]["n_eff"] for code in poll_codes) for j in range(len(unit_ids))
    ]
    eligible = [n_eff >= minimum for n_eff in public_n_eff]
    result = composite(
        inputs,
        eligible=eligible,
        draws=assessment.draws,
        seed=assessment.pk * 7919 + group.pk,
    )
    satisfaction = cell_estimates(
        [cells[Indicator.SATISFACTION].get(u) or EMPTY_CELL for u in unit_ids],
        min_n_eff=minimum,
        draws=FUNNEL_DRAWS,
        seed=assessment.pk,
    )
    ranked_raw = [u.raw_rank for u in result.units if u.raw_rank is not None]
    worst = max(ranked_raw) if ranked_raw else None
    rows = []
    for j, unit_id in enumerate(unit_ids):
        unit = result.units[j]
        z_adjusted = satisfaction[j].z_adjusted
        ranked = unit.raw_rank is not None
        per_indicator = {
            ind.code: _figure(
                value=figures[j][ind.code]["value"],
                n=figures[j][ind.code]["n"],
                n_eff=figures[j][ind.code]["n_eff"],
                s_eff=figures[j][ind.code]["s_eff"],
                weight=float(ind.weight),
                direction=ind.direction,
                source=ind.source,
                z=unit.z.get(ind.code),
            )
            for ind in indicators
        }
        rows.append(
            AssessmentResult(
                assessment=assessment,
                unit_id=unit_id,
                peer_group=group,
                ranked=ranked,
                n_eff=public_n_eff[j],
                composite=unit.composite,
                composite_low=unit.low,
                composite_high=unit.high,
                raw_rank=unit.raw_rank,
                median_rank=unit.median_rank,
                rank_low=unit.rank_low,
                rank_high=unit.rank_high,
                p_last=unit.p_last,
                p_bottom3=unit.p_bottom3,
                z_adjusted=z_adjusted,
                marked_last=ranked
                and accountability_gate(
                    p_bottom3=unit.p_bottom3,
                    z_adjusted=z_adjusted,
                    n_eff=public_n_eff[j],
                    p_gate=rule.p_bottom3_gate,
                    z_gate=rule.z_gate,
                    min_n_eff=rule.min_n_eff,
                    # Below 20 ranked peers "bottom 3" is too large a share of the group
                    # for P(bottom 3) to mean "last": only the funnel arm marks
                    # (docs/statistics.md, "Small peer groups").
                    peers=len(ranked_raw),
                ),
                raw_last=ranked and len(ranked_raw) >= 2 and unit.raw_rank == worst,
                indicators=per_indicator,
            )
        )
    AssessmentResult.objects.bulk_create(rows)
    funnel = next((e for e in satisfaction if e.ranked), None)
    return {
        "name": group.name,
        "units": len(unit_ids),
        "ranked": sum(eligible) if sum(eligible) >= 2 else 0,
        "nominal": result.nominal,
        "effective": result.effective,
        # Pooled 满意度 per unit (n_eff, weighted rate) with the funnel's target and τ².
        "funnel": {
            "target": funnel.target if funnel else None,
            "tau2": funnel.tau2 if funnel else None,
            "points": {
                str(unit_id): [round(e.n_eff, 1), e.rate, e.ranked]
                for unit_id, e in zip(unit_ids, satisfaction, strict=True)
                if e.rate is not None
            },
        },
        "min_n_eff": minimum,
    }


# --- Accountability (问责) --------------------------------------------------------------------


def _reasons_and_opinions(unit: OrgUnit, start: date, end: date) -> dict:
    """The top callback reason tags and the opinions of `unit` between `start` and `end`."""
    span = Q(completed_at__date__gte=start, completed_at__date__lte=end)
    tags: Counter = Counter()
    for row in Callback.objects.filter(span, unit=unit, status=CallbackStatus.DONE).values_list(
        "tags", flat=True
    ):
        tags.update(row or [])
    opinions = dict(
        Opinion.objects.filter(
            unit=unit, submitted_at__date__gte=start, submitted_at__date__lte=end
        )
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "callback_reasons": [{"tag": t, "count": n} for t, n in tags.most_common(TOP_REASONS)],
        "opinions": opinions,
    }


def _result_evidence(result: AssessmentResult) -> dict:
    a = result.assessment
    return {
        "assessment": a.pk,
        "label": a.label,
        "period": [a.period_start.isoformat(), a.period_end.isoformat()],
        "rule_version": a.rule_version,
        "peer_group": result.peer_group.name,
        "composite": [result.composite, result.composite_low, result.composite_high],
        "rank": {
            "raw": result.raw_rank,
            "median": result.median_rank,
            "interval": [result.rank_low, result.rank_high],
        },
        "p_last": result.p_last,
        "p_bottom3": result.p_bottom3,
        "z_adjusted": result.z_adjusted,
        "n_eff": result.n_eff,
        "indicators": {
            code: {**figure, "label": indicator_label(code)}
            for code, figure in result.indicators.items()
        },
    }


def accountability_open(*, assessment: Assessment) -> list:
    """For each unit marked last in `assessment` and in another assessment of the same owner
    for another period ending within 12 months of this one's end (the nearest such), open an
    accountability case for its leader, once per pair (`case_open` is idempotent on the key).
    Either may be computed first: the case opens when the second mark is written."""
    year = relativedelta(months=12)
    opened = []
    marked = assessment.results.filter(marked_last=True).select_related(
        "unit", "peer_group", "assessment"
    )
    for result in marked:
        others = (
            AssessmentResult.objects.filter(
                unit=result.unit,
                marked_last=True,
                assessment__rule__owner=assessment.rule.owner,
                assessment__period_end__gte=assessment.period_end - year,
                assessment__period_end__lte=assessment.period_end + year,
            )
            .exclude(assessment__period_end=assessment.period_end)
            .select_related("assessment", "peer_group")
        )
        other = min(
            others,
            key=lambda r: (abs((r.assessment.period_end - assessment.period_end).days), -r.pk),
            default=None,
        )
        if other is None:
            continue
        first, second = sorted([other, result], key=lambda r: r.assessment.period_end)
        evidence = {
            "results": [_result_evidence(first), _result_evidence(second)],
            **_reasons_and_opinions(
                result.unit, first.assessment.period_start, second.assessment.period_end
            ),
        }
        case = case_open(
            unit=result.unit,
            trigger="assessment",
            source={
                "assessments": [first.assessment_id, second.assessment_id],
                "results": [first.pk, second.pk],
                "labels": [first.assessment.label, second.assessment.label],
            },
            evidence=evidence,
            rule_version=assessment.rule_version,
            key=f"assessment:{result.unit_id}:{first.assessment_id}:{second.assessment_id}",
        )
        if case is not None:
            opened.append(case)
    return opened
