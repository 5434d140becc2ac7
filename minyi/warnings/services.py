"""Three-colour early warning (三色预警, DOMAIN.md capability 1 item 7): computing the colours
of every officer and unit, and the officer's or unit's reply.

Officers: a Bernoulli CUSUM over the officer's rated contacts in the window, in the order
they were rated; an outcome is 1 when the evaluator's callback found the police at fault and
named this officer (or named nobody, which blames every officer of the contact). p0 is the
city's at-fault rate over the same ratings; the threshold h is calibrated by simulation so
that, across all monitored officers, a false alarm within the window stays below 5%.

Units: the share of satisfied ratings (1–3) in the window, compared within the peer group
(the unit's fixed `orgs.PeerGroup` when one is defined, as in the dashboards' ranking;
otherwise the units of the same kind) on a funnel plot with overdispersion; only the low
side warns. The funnel places each unit by its business-mix-adjusted rate (indirect
standardisation with the group's rate per business type, DOMAIN.md step 8): with raw rates a
unit that mostly handles enforcement business was flagged orange or red in about a quarter of
null simulations where it was as good as its peers within every business type.

Both read only ratings that stand: a rating an upheld appeal took out (`excluded_at`) counts
nowhere. The numbers behind each colour are kept in `Warning.evidence`, never a citizen's
mobile or words.
"""

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.accountability.access import ACCOUNTABILITY_DECIDE
from minyi.accountability.models import CaseTrigger
from minyi.accountability.selectors import is_higher_tier
from minyi.accountability.services import case_open
from minyi.callbacks.models import Attribution, Callback, CallbackKind, CallbackStatus
from minyi.core import stats
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.orgs.models import Officer, OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import SatisfactionDaily, Survey
from minyi.warnings.models import Warning, WarningColour, WarningReply, WarningSubject

# The warning rule's own version; a stored figure names it with the statistics version.
WARNING_RULE_VERSION = "ew-2026.2"  # .2: funnel on the mix-adjusted rate
RULE_VERSION = f"{WARNING_RULE_VERSION}/{stats.RULE_VERSION}"

WINDOW_DAYS = 180
ODDS_RATIO = 2.0  # the CUSUM is tuned to detect a doubling of the odds of an at-fault rating
FALSE_ALARM_RATE = 0.05  # chance of any false red among all officers within the window
# An at-fault rate of 0 would make every single at-fault rating a large jump; a floor keeps
# p0 sensible in a quiet or new city. The ceiling keeps it a rate the CUSUM accepts.
P0_FLOOR = 0.002
P0_CEILING = 0.5
# A peer group needs this many units with data for a funnel to mean anything, and a unit
# needs this many ratings to be placed on it (fewer than 5 people are never a figure).
MIN_PEERS = 5
MIN_UNIT_ANSWERS = 5

REPLY_MAX_CHARS = 1000
EVIDENCE_MAX_CALLBACKS = 100
PATH_MAX_POINTS = 400
FUNNEL_LIMIT_POINTS = 60

_GREEN, _ORANGE, _RED = WarningColour.GREEN, WarningColour.ORANGE, WarningColour.RED


@dataclass
class SubjectResult:
    subject: str
    officer_id: int | None
    unit_id: int
    colour: str
    statistic: float
    threshold: float
    evidence: Callable[[], dict]  # built only for subjects that get or keep a row

    @property
    def key(self) -> tuple[str, int]:
        return (self.subject, self.officer_id if self.officer_id else self.unit_id)


def _round(value, digits=4):
    return None if value is None else round(float(value), digits)


def _callback_row(cb: dict) -> dict:
    """One at-fault callback as evidence: when, which business, which reasons. No citizen."""
    when = cb["completed_at"] or cb["survey__answered_at"]
    return {
        "id": cb["id"],
        "date": timezone.localtime(when).date().isoformat(),
        "business_type": cb["survey__business_type__name"],
        "tags": list(cb["tags"] or []),
    }


def _callback_rows(callbacks: list[dict]) -> list[dict]:
    newest = sorted(callbacks, key=lambda cb: (cb["survey__answered_at"], cb["id"]), reverse=True)
    return [_callback_row(cb) for cb in newest[:EVIDENCE_MAX_CALLBACKS]]


# --- Officers: Bernoulli CUSUM ---------------------------------------------------------------


def _thin_path(times, outcomes, path) -> list[list]:
    """The CUSUM path for the chart, at most about PATH_MAX_POINTS points: every jump (and
    the point before it) is kept, so the chart never hides an at-fault rating."""
    n = len(path)
    keep = set(range(0, n, max(1, math.ceil(n / PATH_MAX_POINTS))))
    keep.add(n - 1)
    for i, y in enumerate(outcomes):
        if y:
            keep.update((i - 1, i))
    return [
        [timezone.localtime(times[i]).strftime("%Y-%m-%d %H:%M"), round(path[i], 3)]
        for i in sorted(k for k in keep if 0 <= k < n)
    ]


def _officer_results(*, since, until, current_officers: set[int]) -> tuple[list, dict]:
    """Every officer with a rated contact in the window (and every officer with a current
    warning), with their CUSUM colour. Three queries, however many officers."""
    ratings = Survey.objects.filter(
        answered_at__gte=since,
        answered_at__lt=until,
        rating__isnull=False,
        excluded_at__isnull=True,
    )
    answered = ratings.count()
    # One row per (rating, officer of the contact), already in rating order.
    links = ratings.filter(event__officers__isnull=False).order_by("answered_at", "pk")
    sequences: dict[int, list[tuple]] = defaultdict(list)
    for survey_id, answered_at, officer_id in links.values_list(
        "pk", "answered_at", "event__officers"
    ).iterator(chunk_size=5000):
        sequences[officer_id].append((survey_id, answered_at))

    at_fault = list(
        Callback.objects.filter(
            kind=CallbackKind.FIRST,
            status=CallbackStatus.DONE,
            attribution=Attribution.AT_FAULT,
            survey__answered_at__gte=since,
            survey__answered_at__lt=until,
            survey__rating__isnull=False,
            survey__excluded_at__isnull=True,
        ).values(
            "id",
            "survey_id",
            "officer_id",
            "completed_at",
            "tags",
            "survey__unit_id",
            "survey__answered_at",
            "survey__business_type__name",
        )
    )
    blamed = {cb["survey_id"]: cb for cb in at_fault}

    units = dict(
        Officer.objects.filter(pk__in=set(sequences) | current_officers).values_list(
            "pk", "unit_id"
        )
    )
    outcomes: dict[int, list[int]] = {}
    for officer_id in sorted(units):
        outcomes[officer_id] = [
            int(cb is not None and cb["officer_id"] in (None, officer_id))
            for cb in (blamed.get(survey_id) for survey_id, _t in sequences.get(officer_id, []))
        ]
    # The in-control rate is the city's, over the same officer-contacts the chart watches.
    contacts = sum(len(ys) for ys in outcomes.values())
    events = sum(sum(ys) for ys in outcomes.values())
    p0 = min(max(events / contacts if contacts else 0.0, P0_FLOOR), P0_CEILING)
    monitored = sum(1 for ys in outcomes.values() if ys)
    horizon = max((len(ys) for ys in outcomes.values()), default=0)
    h = (
        stats.cusum_threshold(
            p0=p0,
            n=horizon,
            units=monitored,
            false_alarm_rate=FALSE_ALARM_RATE,
            odds_ratio=ODDS_RATIO,
        )
        if monitored
        else 0.0
    )
    figures = {
        "answered": answered,
        "at_fault": len(at_fault),
        "p0": p0,
        "h": h,
        "officers": monitored,
        "horizon": horizon,
    }

    results = []
    for officer_id, ys in outcomes.items():
        sequence = sequences.get(officer_id, [])
        path = stats.cusum_bernoulli(ys, p0=p0, odds_ratio=ODDS_RATIO) if ys else []
        s = path[-1] if path else 0.0
        colour = stats.cusum_colour(s, h) if monitored else _GREEN

        def evidence(sequence=sequence, ys=ys, path=path):
            hits = [blamed[sid] for (sid, _t), y in zip(sequence, ys, strict=True) if y]
            return {
                "ratings": len(ys),
                "at_fault": len(hits),
                "rate": _round(len(hits) / len(ys)) if ys else None,
                "p0": _round(p0, 5),
                "h": _round(h),
                "orange_from": _round(h / 2),
                "odds_ratio": ODDS_RATIO,
                "false_alarm_rate": FALSE_ALARM_RATE,
                "officers_monitored": monitored,
                "horizon": horizon,
                "peak": _round(max(path, default=0.0)),
                "since": timezone.localtime(since).date().isoformat(),
                "until": timezone.localtime(until).date().isoformat(),
                "callbacks": _callback_rows(hits),
                "path": _thin_path([t for _sid, t in sequence], ys, path),
            }

        results.append(
            SubjectResult(
                subject=WarningSubject.OFFICER,
                officer_id=officer_id,
                unit_id=units[officer_id],
                colour=colour,
                statistic=s,
                threshold=h,
                evidence=evidence,
            )
        )
    figures["at_fault_by_unit"] = defaultdict(list)
    for cb in at_fault:
        figures["at_fault_by_unit"][cb["survey__unit_id"]].append(cb)
    return results, figures


# --- Units: funnel plot within the peer group -------------------------------------------------


def _funnel_limits(target: float, tau2: float, trials: list[int]) -> list[list]:
    """The 95% and 99.8% limits from below the smallest sample in the group to beyond the
    largest, spaced evenly on a log scale, for the chart."""
    low = max(MIN_UNIT_ANSWERS, min(trials) // 2)
    high = max(math.ceil(max(trials) * 1.1), low + 1)
    steps = FUNNEL_LIMIT_POINTS
    sizes = sorted({round(low * (high / low) ** (i / (steps - 1))) for i in range(steps)})
    rows = []
    for n in sizes:
        lo95, hi95 = stats.funnel_limits(n, target, tau2, stats.Z_ALERT)
        lo998, hi998 = stats.funnel_limits(n, target, tau2, stats.Z_ALARM)
        rows.append([n, *(round(v, 4) for v in (lo95, hi95, lo998, hi998))])
    return rows


def _unit_colour(z_adjusted: float | None) -> str:
    if z_adjusted is None or z_adjusted >= 0:
        return _GREEN  # only satisfaction significantly *below* peers warns
    if -z_adjusted > stats.Z_ALARM:
        return _RED
    if -z_adjusted > stats.Z_ALERT:
        return _ORANGE
    return _GREEN


def mix_adjusted(by_type: dict[int, dict[int, tuple[int, int]]]) -> dict[int, dict]:
    """Indirect standardisation within one peer group (DOMAIN.md step 8, like with like):
    `by_type` maps each member to {business type: (satisfied, answered)}. Per member: the
    expected satisfied from the group's own rate per business type, the adjusted rate
    observed / expected × the group's overall rate (at most 1) and the adjusted satisfied
    count round(adjusted rate × answered) the funnel is drawn with. Summed over the group
    expected equals observed, so the funnel's target stays the pooled rate. Pure."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for per_type in by_type.values():
        for bt, (good, total) in per_type.items():
            totals[bt][0] += good
            totals[bt][1] += total
    rates = {bt: good / total for bt, (good, total) in totals.items() if total}
    answered = sum(total for _good, total in totals.values())
    overall = sum(good for good, _total in totals.values()) / answered if answered else 0.0
    out = {}
    for unit_id, per_type in by_type.items():
        n = sum(total for _good, total in per_type.values())
        observed = sum(good for good, _total in per_type.values())
        expected = sum(total * rates.get(bt, 0.0) for bt, (_good, total) in per_type.items())
        adjusted = (
            min(1.0, observed / expected * overall) if expected else (observed / n if n else 0.0)
        )
        out[unit_id] = {
            "answered": n,
            "satisfied": observed,
            "expected": expected,
            "adjusted_rate": adjusted,
            "adjusted_satisfied": min(n, max(0, round(adjusted * n))),
        }
    return out


def unit_funnel(
    by_type: dict[int, dict[int, tuple[int, int]]],
) -> tuple[list[int], dict, stats.FunnelResult]:
    """One peer group's funnel on the mix-adjusted rate: (members in order, adjustment per
    member, funnel result whose points follow the members). Pure: counts in, z-scores out."""
    members = sorted(by_type)
    adjusted = mix_adjusted(by_type)
    result = stats.funnel(
        [adjusted[u]["adjusted_satisfied"] for u in members],
        [adjusted[u]["answered"] for u in members],
    )
    return members, adjusted, result


@dataclass
class _PeerGroup:
    """One peer group's funnel, and what a member's evidence says about its place on it."""

    kind: str  # the unit kind, or the fixed peer group's name
    members: list[int]
    answered: dict[int, int]
    satisfied: dict[int, int]
    by_type: dict[int, dict]
    result: stats.FunnelResult
    adjusted: dict
    _limits: list | None = None
    _type_rates: dict | None = None

    def limits(self) -> list[list]:
        if self._limits is None:
            self._limits = _funnel_limits(
                self.result.target, self.result.tau2, [self.answered[u] for u in self.members]
            )
        return self._limits

    def type_rates(self) -> dict[int, float]:
        """The group's satisfaction rate per business type: like compared with like."""
        if self._type_rates is None:
            totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
            for u in self.members:
                for bt, (_name, good, total) in self.by_type[u].items():
                    totals[bt][0] += good
                    totals[bt][1] += total
            self._type_rates = {bt: good / total for bt, (good, total) in totals.items()}
        return self._type_rates

    def evidence(self, point: stats.FunnelPoint, unit_id: int) -> dict:
        types = sorted(self.by_type[unit_id].items(), key=lambda kv: -kv[1][2])
        peer_rates = self.type_rates()
        adjusted = self.adjusted[unit_id]
        return {
            "evaluated": True,
            "answered": point.trials,
            "satisfied": adjusted["satisfied"],
            "rate": _round(adjusted["satisfied"] / point.trials),
            # What the funnel places: the rate adjusted for the business mix.
            "expected": _round(adjusted["expected"], 2),
            "adjusted_rate": _round(point.rate),
            "target": _round(self.result.target),
            "z": _round(point.z, 3),
            "z_adjusted": _round(point.z_adjusted, 3),
            "tau2": _round(self.result.tau2, 6),
            "phi": _round(self.result.phi, 3),
            "peer_kind": self.kind,
            "peers": len(self.members),
            "by_type": [
                {
                    "business_type": name,
                    "answered": total,
                    "satisfied": good,
                    "rate": _round(good / total),
                    "peer_rate": _round(peer_rates[bt]),
                }
                for bt, (name, good, total) in types
            ],
            # Peers are points without names: a station sees where it stands, not the
            # figures of units outside its subtree by name.
            "funnel": {
                "peers": [
                    [self.answered[u], _round(self.adjusted[u]["adjusted_rate"])]
                    for u in self.members
                    if u != unit_id
                ],
                "limits": self.limits(),
            },
        }


def _unit_results(*, since, until, current_units: set[int], at_fault_by_unit) -> tuple[list, int]:
    """Every unit with enough ratings in a large enough peer group, placed on its group's
    funnel; units with a current warning that can no longer be placed turn green with the
    reason. Reads the SatisfactionDaily rollup (appealed ratings already taken out)."""
    first_day = timezone.localtime(since).date()
    last_day = timezone.localtime(until).date()
    rows = (
        SatisfactionDaily.objects.filter(day__gte=first_day, day__lte=last_day)
        .values("unit_id", "business_type_id", "business_type__name")
        .annotate(**{f"r{i}": Sum(f"rating_{i}") for i in range(1, 6)})
        .order_by()
    )
    answered: dict[int, int] = defaultdict(int)
    satisfied: dict[int, int] = defaultdict(int)
    by_type: dict[int, dict] = defaultdict(dict)
    for row in rows:
        good = row["r1"] + row["r2"] + row["r3"]
        total = good + row["r4"] + row["r5"]
        if not total:
            continue
        answered[row["unit_id"]] += total
        satisfied[row["unit_id"]] += good
        by_type[row["unit_id"]][row["business_type_id"]] = (row["business_type__name"], good, total)

    units = {
        u["pk"]: u
        for u in OrgUnit.objects.filter(pk__in=set(answered) | current_units).values(
            "pk", "kind", "is_active", "peer_membership__group_id", "peer_membership__group__name"
        )
    }
    # Peers: the unit's fixed peer group (orgs.PeerGroup) when the bureau defined one, the
    # same peers as the dashboards' ranking; otherwise the units of the same kind.
    groups: dict[tuple, list[int]] = defaultdict(list)
    for unit_id, n in answered.items():
        unit = units.get(unit_id)
        if unit and unit["is_active"] and n >= MIN_UNIT_ANSWERS:
            if unit["peer_membership__group_id"] is not None:
                key = (
                    "group",
                    unit["peer_membership__group_id"],
                    unit["peer_membership__group__name"],
                )
            else:
                key = ("kind", 0, unit["kind"])
            groups[key].append(unit_id)

    base = {
        "since": first_day.isoformat(),
        "until": last_day.isoformat(),
        "z_alert": stats.Z_ALERT,
        "z_alarm": stats.Z_ALARM,
        "min_peers": MIN_PEERS,
        "min_answers": MIN_UNIT_ANSWERS,
    }
    results = []
    placed: set[int] = set()
    for (_source, _id, kind), members in sorted(groups.items()):
        if len(members) < MIN_PEERS:
            continue
        members, adjusted, result = unit_funnel(
            {
                u: {bt: (good, total) for bt, (_n, good, total) in by_type[u].items()}
                for u in members
            }
        )
        group = _PeerGroup(
            kind=kind,
            members=members,
            answered=answered,
            satisfied=satisfied,
            by_type=by_type,
            result=result,
            adjusted=adjusted,
        )
        for point, unit_id in zip(group.result.points, members, strict=True):
            placed.add(unit_id)

            def evidence(group=group, point=point, unit_id=unit_id):
                return {
                    **base,
                    **group.evidence(point, unit_id),
                    "callbacks": _callback_rows(at_fault_by_unit.get(unit_id, [])),
                }

            results.append(
                SubjectResult(
                    subject=WarningSubject.UNIT,
                    officer_id=None,
                    unit_id=unit_id,
                    colour=_unit_colour(point.z_adjusted),
                    statistic=point.z_adjusted,
                    threshold=stats.Z_ALARM,
                    evidence=evidence,
                )
            )

    for unit_id in sorted(current_units - placed):
        if unit_id not in units:
            continue

        def unplaced(unit_id=unit_id):
            return {
                **base,
                "evaluated": False,
                "answered": answered.get(unit_id, 0),
                "satisfied": satisfied.get(unit_id, 0),
            }

        results.append(
            SubjectResult(
                subject=WarningSubject.UNIT,
                officer_id=None,
                unit_id=unit_id,
                colour=_GREEN,
                statistic=0.0,
                threshold=stats.Z_ALARM,
                evidence=unplaced,
            )
        )
    return results, len(placed)


# --- Storing the colours ----------------------------------------------------------------------


def _current_keys() -> tuple[set[int], set[int]]:
    officers, units = set(), set()
    for subject, officer_id, unit_id in Warning.objects.filter(is_current=True).values_list(
        "subject", "officer_id", "unit_id"
    ):
        if subject == WarningSubject.OFFICER:
            officers.add(officer_id)
        else:
            units.add(unit_id)
    return officers, units


@transaction.atomic
def _store(results: list[SubjectResult], *, now, window_days: int) -> dict:
    """A new row only when a subject's colour changes (the old one is closed); otherwise the
    current row is refreshed in place. A subject that has only ever been green gets no row."""
    current = {
        (w.subject, w.officer_id or w.unit_id): w
        for w in Warning.objects.select_for_update().filter(is_current=True)
    }
    fields = dict(rule_version=RULE_VERSION, window_days=window_days, computed_at=now)
    to_close, to_refresh, to_create = [], [], []
    for r in results:
        row = current.get(r.key)
        if row is None and r.colour == _GREEN:
            continue
        if row is not None and row.colour == r.colour:
            row.unit_id, row.statistic, row.threshold = r.unit_id, r.statistic, r.threshold
            row.evidence = r.evidence()
            for name, value in fields.items():
                setattr(row, name, value)
            to_refresh.append(row)
            continue
        if row is not None:
            row.is_current, row.ended_at = False, now
            to_close.append(row)
        to_create.append(
            Warning(
                subject=r.subject,
                officer_id=r.officer_id,
                unit_id=r.unit_id,
                colour=r.colour,
                statistic=r.statistic,
                threshold=r.threshold,
                evidence=r.evidence(),
                started_at=now,
                **fields,
            )
        )
    # Close first: the new current rows would otherwise meet the old ones in the unique index.
    Warning.objects.bulk_update(to_close, ["is_current", "ended_at"], batch_size=500)
    Warning.objects.bulk_update(
        to_refresh,
        ["unit_id", "statistic", "threshold", "evidence", *fields],
        batch_size=200,
    )
    Warning.objects.bulk_create(to_create, batch_size=500)
    return {"changed": len(to_create), "refreshed": len(to_refresh)}


def warnings_compute(*, now=None, window_days: int = WINDOW_DAYS) -> dict:
    """Compute every officer's and unit's colour over the last `window_days` days and store
    the changes. A handful of queries whatever the number of officers; run nightly."""
    if window_days < 1:
        raise ApplicationError("invalid_window", _("统计窗口至少为 1 天。"))
    now = now or timezone.now()
    since = now - timedelta(days=window_days)
    current_officers, current_units = _current_keys()
    officers, figures = _officer_results(since=since, until=now, current_officers=current_officers)
    units, units_placed = _unit_results(
        since=since,
        until=now,
        current_units=current_units,
        at_fault_by_unit=figures.pop("at_fault_by_unit"),
    )
    stored = _store(officers + units, now=now, window_days=window_days)
    summary = {
        "rule_version": RULE_VERSION,
        "window_days": window_days,
        "ratings": figures["answered"],
        "at_fault": figures["at_fault"],
        "p0": round(figures["p0"], 5),
        "h": round(figures["h"], 4),
        "officers": figures["officers"],
        "units": units_placed,
        **{
            f"{subject}_{colour}": sum(
                1 for r in officers + units if r.subject == subject and r.colour == colour
            )
            for subject in WarningSubject.values
            for colour in (_RED, _ORANGE)
        },
        **stored,
    }
    audit_record(
        action=AuditAction.CHANGE,
        username="system:compute_warnings",
        detail={"warnings_compute": summary},
    )
    return summary


# --- The reply (申辩) -------------------------------------------------------------------------


@transaction.atomic
def warning_reply(*, actor, warning: Warning, text: str, now=None) -> WarningReply:
    """The officer's or unit's reply to a warning in the actor's subtree. Audited."""
    if not has_perm(actor, Perm.WARNING_REPLY):
        raise PermissionDenied()
    current = Warning.objects.filter(scope_q(actor, "unit__"), pk=warning.pk).first()
    if current is None:
        raise NotFound()
    if current.colour == _GREEN:
        raise ApplicationError("warning_not_flagged", _("绿色状态无需申辩。"), status=409)
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise ApplicationError("reply_required", _("请填写申辩内容。"), field="text")
    if len(text) > REPLY_MAX_CHARS:
        raise ApplicationError(
            "reply_too_long",
            _("申辩内容不能超过 %(n)s 字。") % {"n": REPLY_MAX_CHARS},
            field="text",
        )
    reply = WarningReply.objects.create(
        warning=current, author=actor, text=text, created_at=now or timezone.now()
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=reply,
        detail={"warning": current.pk, "colour": current.colour, "subject": current.subject},
    )
    return reply


# --- Accountability (问责) from a red warning ------------------------------------------------


def _case_figure(*, label, successes: int, trials: int, note) -> dict:
    """A rate with its Wilson interval and sample, as an accountability case shows it."""
    interval = stats.wilson_interval(successes, trials)
    return {
        "label": label,
        "kind": "rate",
        "value": successes / trials,
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
        "n": trials,
        "note": note,
    }


def _case_figures(warning: Warning) -> list[dict]:
    """The warning's figures as an accountability case shows them: rate, interval, sample."""
    e = warning.evidence or {}
    if warning.subject == WarningSubject.OFFICER:
        if not e.get("ratings"):
            return []
        label = _("民警责任不满意率（全市 %(p0)s）") % {"p0": f"{(e.get('p0') or 0) * 100:.2f}%"}
        note = _("累积和 S = %(s).2f，红色阈值 h = %(h).2f") % {
            "s": warning.statistic,
            "h": warning.threshold,
        }
        return [
            _case_figure(
                label=label, successes=int(e.get("at_fault", 0)), trials=e["ratings"], note=note
            )
        ]
    if not e.get("evaluated") or not e.get("answered"):
        return []
    label = _("满意率（同类平均 %(t)s）") % {"t": f"{(e.get('target') or 0) * 100:.1f}%"}
    note = _("校正后 z = %(z).2f（红色 < −%(h).2f）") % {
        "z": warning.statistic,
        "h": warning.threshold,
    }
    return [
        _case_figure(
            label=label, successes=int(e.get("satisfied", 0)), trials=e["answered"], note=note
        )
    ]


def _case_reasons(warning: Warning) -> list[dict]:
    counts: dict[str, int] = defaultdict(int)
    for callback in (warning.evidence or {}).get("callbacks", []):
        for tag in callback.get("tags", []):
            counts[tag] += 1
    return [{"label": tag, "count": n} for tag, n in sorted(counts.items(), key=lambda t: -t[1])]


def warning_case_refusal(user, warning: Warning) -> ApplicationError | None:
    """Why `user` may not open an accountability case from `warning` now, or None: a
    supervisor of a higher tier, on a red warning (the page's button and the service agree)."""
    if not has_perm(user, ACCOUNTABILITY_DECIDE):
        return PermissionDenied()
    if warning.colour != _RED:
        return ApplicationError("warning_not_red", _("只有红色预警可以启动问责。"), status=409)
    if not is_higher_tier(user, warning.unit):
        return ApplicationError(
            "higher_tier_required", _("问责须由上级单位的督察或局领导启动。"), status=403
        )
    return None


@transaction.atomic
def warning_case_open(*, actor, warning: Warning, now=None):
    """A supervisor above the unit opens an accountability case (问责) from a red warning of
    the unit or of its officer: the same kind of case as the assessment's, so Shaoxing's
    整改建议书, 执法过错 liability and post changes are recorded as its decision."""
    current = Warning.objects.filter(scope_q(actor, "unit__"), pk=warning.pk).first()
    if not has_perm(actor, ACCOUNTABILITY_DECIDE):
        raise PermissionDenied()
    if current is None:
        raise NotFound()
    refusal = warning_case_refusal(actor, current)
    if refusal is not None:
        raise refusal
    who = current.officer.name if current.officer_id else current.unit.display_name
    case = case_open(
        unit=current.unit,
        trigger=CaseTrigger.WARNING,
        source={
            "warning": current.pk,
            "subject": current.subject,
            "officer": current.officer_id,
            "label": _("%(who)s %(colour)s") % {"who": who, "colour": current.get_colour_display()},
            "url": reverse("warnings:warning_detail", args=[current.pk]),
        },
        evidence={
            "summary": _("%(who)s 处于%(colour)s（%(since)s 起）。")
            % {
                "who": who,
                "colour": current.get_colour_display(),
                "since": f"{timezone.localtime(current.started_at):%Y-%m-%d}",
            },
            "figures": _case_figures(current),
            "reasons": _case_reasons(current),
            "warning": current.evidence,
        },
        rule_version=current.rule_version,
        key=f"warning:{current.pk}",
        actor=actor,
        now=now,
    )
    if case is None:
        raise ApplicationError("case_exists", _("该预警已启动问责。"), status=409)
    return case
