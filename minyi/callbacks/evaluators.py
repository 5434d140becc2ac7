"""Perception centre management (民意感知中心管理), issue 17 item 7: figures per evaluator
(访评员绩效) for the centre's leader, who assesses the evaluators.

For each perception centre in the user's subtree (a callback belongs to its ``centre``) and a
period (a calendar month or an ISO week, this month by default), each person who phoned
citizens back gets (rule `RULE_VERSION`):

- calls a working day (日均拨打): their calls (CallbackAttempt) / the working days of the
  period (minyi.core.workdays, up to today for the current period);
- reach rate (接通率), per callback, not per call: callbacks the citizen answered on some call
  (已接通, or 拒绝回访: the citizen picked up and declined) / callbacks called. Calls are
  clustered (an unreachable citizen gives up to three failed calls on one callback), so a
  per-call rate would break the 5% promise below. A callback counts once, for the person
  and the period of its deciding call: the first call that reached the citizen, else the
  last call so far;
- callbacks completed (完成回访): callbacks they completed with a call of their own (a
  follow-up closed by an appeal decision is nobody's call);
- on-time rate (按时率): of the callbacks due in the period (``due_at``), those done by their
  ``due_at``; one done later, or still open after its ``due_at`` has passed, is late; one
  still open and not yet due is left out. It belongs to whoever completed it with a call of
  their own, else to whoever holds it (``assignee``), else to the person of its last call
  (a callback nobody ever claimed or called is nobody's figure);
- second-callback satisfaction (追评满意率): of the follow-ups (整改追评) they completed with the
  citizen's second rating, the share rated satisfied (SATISFIED_RATINGS, 1-3).

Statistics, because this ranks people:
- every rate is shown with its count and a Wilson 95% interval (minyi.core.stats); with fewer
  than `MIN_CASES` cases it is shown as "样本不足" and takes no part in any comparison;
- people are listed by name, never sorted by a raw rate;
- a person is flagged only when their rate is lower than the pooled rate of the centre's
  other people with a one-sided Fisher exact test (the hypergeometric tail P(X <= s) given the
  centre's totals), after Holm's correction over the people of the centre compared on that
  figure, at `ALPHA`: in a centre where everybody has the same true rate, the chance that
  anybody is flagged on a figure is at most 5% (tests/test_evaluator_stats.py simulates it).

The rule is a pure function on counts (`lower_than_others`), so the simulations need no
database.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from scipy.stats import hypergeom

from minyi.callbacks.models import (
    Callback,
    CallbackAttempt,
    CallbackKind,
    CallbackStatus,
    CallOutcome,
)
from minyi.core.stats import wilson_interval
from minyi.core.workdays import working_days_between
from minyi.orgs.models import OrgUnit, User
from minyi.orgs.selectors import scope_q
from minyi.perception.models import SATISFIED_RATINGS

RULE_VERSION = "evaluator-figures-2026.2"
# The citizen answered the phone: reached, or picked up and declined (拒绝回访).
CONNECTED_OUTCOMES = (CallOutcome.REACHED, CallOutcome.REFUSED)
MIN_CASES = 20  # fewer cases than this: "样本不足", no rate, no comparison
ALPHA = 0.05  # family-wise, per centre and figure (Holm)
MONTHS_SHOWN = 12
WEEKS_SHOWN = 8

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# --- Periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FiguresPeriod:
    """A calendar month ("2026-11") or an ISO week ("2026-W48"), cut at today."""

    key: str
    start: date
    end: date  # inclusive

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_before(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def label(self) -> str:
        if _WEEK.match(self.key):
            return _("%(start)s – %(end)s（第 %(week)d 周）") % {
                "start": f"{self.start:%m-%d}",
                "end": f"{self.end:%m-%d}",
                "week": self.start.isocalendar()[1],
            }
        return _("%(year)d 年 %(month)d 月") % {"year": self.start.year, "month": self.start.month}

    @property
    def working_days(self) -> int:
        return working_days_between(self.start - timedelta(days=1), self.end)


def _month(key: str, today: date) -> FiguresPeriod | None:
    m = _MONTH.match(key)
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 2000:
        return None
    start = date(int(m[1]), int(m[2]), 1)
    if start > today:
        return None
    end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return FiguresPeriod(key, start, min(end, today))


def _week(key: str, today: date) -> FiguresPeriod | None:
    m = _WEEK.match(key)
    if not m or int(m[1]) < 2000:
        return None
    try:
        start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        return None
    if start > today:
        return None
    return FiguresPeriod(key, start, min(start + timedelta(days=6), today))


def figures_period_parse(value: str | None, *, today: date | None = None) -> FiguresPeriod:
    """The period a request asks for; anything unknown or in the future is this month."""
    today = today or timezone.localdate()
    value = (value or "").strip()
    period = _month(value, today) or _week(value, today)
    return period or _month(f"{today:%Y-%m}", today)


def figures_period_choices(*, today: date | None = None) -> dict[str, list[FiguresPeriod]]:
    """The months and weeks the selector offers, newest first."""
    today = today or timezone.localdate()
    months, year, month = [], today.year, today.month
    for _i in range(MONTHS_SHOWN):
        months.append(_month(f"{year:04d}-{month:02d}", today))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    weeks = []
    for i in range(WEEKS_SHOWN):
        iso = (today - timedelta(weeks=i)).isocalendar()
        weeks.append(_week(f"{iso[0]:04d}-W{iso[1]:02d}", today))
    return {"months": months, "weeks": weeks}


# --- The flag rule (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One person against the pooled rate of the others of the centre on one figure.

    ``tested`` is False with fewer than ``min_cases`` cases or nobody else to compare with;
    then the p-values are None and ``flagged`` is False.
    """

    index: int
    tested: bool
    others_successes: int
    others_trials: int
    p_value: float | None = None
    p_adjusted: float | None = None
    flagged: bool = False

    @property
    def others_rate(self) -> float | None:
        return self.others_successes / self.others_trials if self.others_trials else None


def holm_adjust(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979), in the input's order: the i-th
    smallest p is multiplied by (m - i + 1), kept monotone and capped at 1. (statsmodels'
    multipletests gives the same numbers but costs ~1000 times more per call, too slow for
    the simulations.)"""
    p = np.asarray(p_values, dtype=float).reshape(-1)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def lower_than_others(
    successes: Sequence[int],
    trials: Sequence[int],
    *,
    min_cases: int = MIN_CASES,
    alpha: float = ALPHA,
) -> list[Comparison]:
    """Which people's rate is lower than the others' pooled rate, beyond chance.

    Each person with at least ``min_cases`` trials is compared with everybody else of the
    group (people below the minimum still count among "everybody else"): a one-sided Fisher
    exact test, p = P(X <= s) for X hypergeometric with the group's total trials, total
    successes and the person's trials. The p-values are adjusted with Holm's step-down
    method over the people tested; flagged when the adjusted p <= ``alpha``, so the chance of
    any false flag in a group of equals is at most ``alpha``.
    """
    s = np.asarray(successes, dtype=np.int64).reshape(-1)
    n = np.asarray(trials, dtype=np.int64).reshape(-1)
    if s.shape != n.shape or np.any(s < 0) or np.any(s > n):
        raise ValueError("need 0 <= successes <= trials, of the same length")
    total_s, total_n = int(s.sum()), int(n.sum())
    others_s, others_n = total_s - s, total_n - n
    tested = (n >= min_cases) & (others_n > 0)
    p = np.full(len(s), np.nan)
    if tested.any():
        p[tested] = hypergeom.cdf(s[tested], total_n, total_s, n[tested])
    adjusted = np.full(len(s), np.nan)
    if tested.any():
        adjusted[tested] = holm_adjust(p[tested])
    return [
        Comparison(
            index=i,
            tested=bool(tested[i]),
            others_successes=int(others_s[i]),
            others_trials=int(others_n[i]),
            p_value=float(p[i]) if tested[i] else None,
            p_adjusted=float(adjusted[i]) if tested[i] else None,
            flagged=bool(tested[i] and adjusted[i] <= alpha),
        )
        for i in range(len(s))
    ]


# --- A rate with its count, interval and words -----------------------------------------------


@dataclass(frozen=True)
class RateFigure:
    """A rate as shown: count, share, Wilson 95% interval; None below `MIN_CASES`."""

    successes: int
    trials: int
    comparison: Comparison | None = None
    min_cases: int = MIN_CASES

    @property
    def enough(self) -> bool:
        return self.trials >= self.min_cases

    @property
    def rate(self) -> float | None:
        return self.successes / self.trials if self.enough else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.successes, self.trials) if self.enough else None

    @property
    def flagged(self) -> bool:
        return bool(self.comparison and self.comparison.flagged)

    @property
    def text(self) -> str:
        if not self.enough:
            return _("样本不足")
        low, high = self.interval
        return _("%(rate).0f%%（95%% 区间 %(low).0f%%–%(high).0f%%）") % {
            "rate": self.rate * 100,
            "low": low * 100,
            "high": high * 100,
        }

    @property
    def words(self) -> str:
        """What the figure says about the person, and how sure it is, in the leader's words."""
        if not self.enough:
            return _("只有 %(n)d 例，少于 %(min)d 例，样本不足，不作比较。") % {
                "n": self.trials,
                "min": self.min_cases,
            }
        c = self.comparison
        if c is None or not c.tested or c.others_rate is None:
            return _("中心没有其他人可作比较。")
        values = {
            "others": c.others_rate * 100,
            "p": _p_text(c.p_adjusted),
        }
        if c.flagged:
            return (
                _(
                    "低于中心其他人的整体水平（%(others).0f%%），且不太可能是偶然：若其实际水平与"
                    "他人相同，出现这样低的比率的概率约为 %(p)s（已按参加比较的人数校正）。"
                )
                % values
            )
        if self.rate < c.others_rate:
            return (
                _(
                    "略低于中心其他人的整体水平（%(others).0f%%），但差别可能只是偶然"
                    "（p = %(p)s），不能据此下结论。"
                )
                % values
            )
        return _("不低于中心其他人的整体水平（%(others).0f%%）。") % values


def _p_text(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# --- Reading the figures ---------------------------------------------------------------------


@dataclass
class EvaluatorRow:
    person: User
    calls: int
    attempted: int  # callbacks whose deciding call was theirs (the reach rate's cases)
    reached: int
    completed: int
    due: int  # callbacks due in the period and theirs (the on-time rate's cases)
    on_time: int
    follow_ups: int
    satisfied: int
    working_days: int
    reach: RateFigure = None
    on_time_rate: RateFigure = None
    satisfaction: RateFigure = None

    @property
    def calls_per_day(self) -> float | None:
        return self.calls / self.working_days if self.working_days else None

    @property
    def flagged(self) -> bool:
        return any(f.flagged for f in self.rates())

    def rates(self) -> list[RateFigure]:
        return [self.reach, self.on_time_rate, self.satisfaction]

    @property
    def flag_words(self) -> list[str]:
        return [f"{label}：{figure.words}" for label, figure in self.labelled() if figure.flagged]

    def labelled(self) -> list[tuple[str, RateFigure]]:
        return list(zip(RATE_LABELS, self.rates(), strict=True))


RATE_LABELS = (gettext_lazy("接通率"), gettext_lazy("按时率"), gettext_lazy("追评满意率"))


@dataclass
class CentreFigures:
    centre: OrgUnit
    rows: list[EvaluatorRow] = field(default_factory=list)
    min_cases: int = MIN_CASES

    def pooled(self, successes: str, trials: str) -> RateFigure:
        return RateFigure(
            sum(getattr(r, successes) for r in self.rows),
            sum(getattr(r, trials) for r in self.rows),
            min_cases=self.min_cases,
        )

    @property
    def totals(self) -> dict:
        return {
            "calls": sum(r.calls for r in self.rows),
            "completed": sum(r.completed for r in self.rows),
            "reach": self.pooled("reached", "attempted"),
            "on_time": self.pooled("on_time", "due"),
            "satisfaction": self.pooled("satisfied", "follow_ups"),
        }


@dataclass
class EvaluatorFigures:
    period: FiguresPeriod
    working_days: int
    centres: list[CentreFigures]
    min_cases: int = MIN_CASES
    alpha: float = ALPHA
    rule_version: str = RULE_VERSION


def _in_period(period, prefix: str = "") -> Q:
    return Q(**{f"{prefix}__gte": period.start_at, f"{prefix}__lt": period.end_before})


def _calls_of_callback(*order: str, **filters):
    """The callback's calls in this order, for a subquery (take ``[:1]``)."""
    return CallbackAttempt.objects.filter(callback=OuterRef("pk"), **filters).order_by(*order)


def _call_counts(user, period) -> dict[tuple[int, int], dict]:
    """Calls a working day counts every call."""
    rows = (
        CallbackAttempt.objects.filter(scope_q(user, "callback__centre__"))
        .filter(_in_period(period, "created_at"))
        .values("callback__centre_id", "evaluator_id")
        .annotate(calls=Count("id"))
        .order_by()
    )
    return {(r["callback__centre_id"], r["evaluator_id"]): r for r in rows}


def _reach_counts(user, period) -> dict[tuple[int, int], dict]:
    """Reach per callback: its deciding call is the first that reached the citizen, else its
    last call so far; the callback counts in that call's period, for that call's person."""
    reaching = _calls_of_callback("created_at", "id", outcome__in=list(CONNECTED_OUTCOMES))
    last = _calls_of_callback("-created_at", "-id")
    called_in_period = CallbackAttempt.objects.filter(callback=OuterRef("pk")).filter(
        _in_period(period, "created_at")
    )
    rows = (
        Callback.objects.filter(scope_q(user, "centre__"), Exists(called_in_period))
        .annotate(
            reached_at=Subquery(reaching.values("created_at")[:1]),
            decided_at=Coalesce(F("reached_at"), Subquery(last.values("created_at")[:1])),
            decided_by=Coalesce(
                Subquery(reaching.values("evaluator_id")[:1]),
                Subquery(last.values("evaluator_id")[:1]),
                output_field=IntegerField(),
            ),
        )
        .filter(_in_period(period, "decided_at"))
        .values("centre_id", "decided_by")
        .annotate(
            attempted=Count("id"),
            reached=Count("id", filter=Q(reached_at__isnull=False)),
        )
        .order_by()
    )
    return {(r["centre_id"], r["decided_by"]): r for r in rows}


def _completion_counts(user, period) -> dict[tuple[int, int], dict]:
    own_call = CallbackAttempt.objects.filter(
        callback=OuterRef("pk"), evaluator=OuterRef("completed_by")
    )
    follow_up = Q(kind=CallbackKind.FOLLOW_UP, follow_up_rating__isnull=False)
    rows = (
        Callback.objects.filter(
            scope_q(user, "centre__"),
            _in_period(period, "completed_at"),
            Exists(own_call),
            status=CallbackStatus.DONE,
        )
        .values("centre_id", "completed_by_id")
        .annotate(
            completed=Count("id"),
            follow_ups=Count("id", filter=follow_up),
            satisfied=Count(
                "id", filter=follow_up & Q(follow_up_rating__in=list(SATISFIED_RATINGS))
            ),
        )
        .order_by()
    )
    return {(r["centre_id"], r["completed_by_id"]): r for r in rows}


def _due_counts(user, period, now: datetime) -> dict[tuple[int, int], dict]:
    """On time per callback due in the period: done by ``due_at``; late when done later or
    still open with ``due_at`` passed; open and not yet due is left out."""
    own_call = CallbackAttempt.objects.filter(
        callback=OuterRef("pk"), evaluator=OuterRef("completed_by")
    )
    last = _calls_of_callback("-created_at", "-id")
    done = Q(status=CallbackStatus.DONE)
    rows = (
        Callback.objects.filter(scope_q(user, "centre__"), _in_period(period, "due_at"))
        .filter(done | Q(due_at__lt=now))
        .annotate(
            responsible=Case(
                When(Exists(own_call), then=F("completed_by_id")),
                default=Coalesce(F("assignee_id"), Subquery(last.values("evaluator_id")[:1])),
                output_field=IntegerField(),
            )
        )
        .filter(responsible__isnull=False)
        .values("centre_id", "responsible")
        .annotate(
            due=Count("id"),
            on_time=Count("id", filter=done & Q(completed_at__lte=F("due_at"))),
        )
        .order_by()
    )
    return {(r["centre_id"], r["responsible"]): r for r in rows}


def _compare(rows: list[EvaluatorRow], successes: str, trials: str, min_cases: int):
    s = [getattr(r, successes) for r in rows]
    n = [getattr(r, trials) for r in rows]
    comparisons = lower_than_others(s, n, min_cases=min_cases)
    return [
        RateFigure(si, ni, comparison, min_cases)
        for si, ni, comparison in zip(s, n, comparisons, strict=True)
    ]


_COUNTS = (
    "calls",
    "attempted",
    "reached",
    "completed",
    "due",
    "on_time",
    "follow_ups",
    "satisfied",
)


def evaluator_figures_for(
    user, period: FiguresPeriod, *, min_cases: int = MIN_CASES, now: datetime | None = None
) -> EvaluatorFigures:
    """Figures per person who called citizens back for the centres in the user's subtree,
    one table per centre, people by name (never ranked by a raw rate). ``now`` decides which
    open callbacks are already late."""
    now = now or timezone.now()
    counts = [
        _call_counts(user, period),
        _reach_counts(user, period),
        _completion_counts(user, period),
        _due_counts(user, period, now),
    ]
    keys = set().union(*counts)
    people = User.objects.in_bulk({person for _centre, person in keys})
    centres = OrgUnit.objects.in_bulk({centre for centre, _person in keys})
    working_days = period.working_days
    by_centre: dict[int, list[EvaluatorRow]] = defaultdict(list)
    for centre_id, person_id in keys:
        found = {}
        for count in counts:
            found.update(count.get((centre_id, person_id), {}))
        by_centre[centre_id].append(
            EvaluatorRow(
                person=people[person_id],
                **{name: found.get(name, 0) for name in _COUNTS},
                working_days=working_days,
            )
        )
    result = []
    for centre_id, rows in by_centre.items():
        rows.sort(key=lambda r: (str(r.person), r.person.pk))
        figures = zip(
            _compare(rows, "reached", "attempted", min_cases),
            _compare(rows, "on_time", "due", min_cases),
            _compare(rows, "satisfied", "follow_ups", min_cases),
            strict=True,
        )
        for row, (reach, on_time, satisfaction) in zip(rows, figures, strict=True):
            row.reach, row.on_time_rate, row.satisfaction = reach, on_time, satisfaction
        result.append(CentreFigures(centres[centre_id], rows, min_cases))
    result.sort(key=lambda c: c.centre.path)
    return EvaluatorFigures(
        period=period, working_days=working_days, centres=result, min_cases=min_cases
    )


def explanation_lines() -> list[str]:
    """What the figures are and how sure they are, in plain Chinese."""
    return [
        _(
            "日均拨打 = 期间拨打次数 ÷ 期间工作日数（每拨一次算一次）。接通率按回访任务算，不按"
            "拨打次数算：期间拨打过的回访中，群众接了电话（已接通，或接听后拒绝回访）的比例；同一"
            "任务拨打多次只算一例，记在接通的那次拨打的人员名下，始终未接通的记在最后一次拨打的"
            "人员名下。"
        ),
        _(
            "按时率 = 回访时限在本期间内的回访中，在时限前完成的比例；超过时限才完成、或超过时限"
            "仍未完成的都算未按时，尚未到时限的未完成回访不计。记在完成人名下，未完成的记在当前"
            "领取人名下，无人领取的记在最后一次拨打的人员名下；无人领取也无人拨打的不计入任何人。"
        ),
        _("追评满意率 = 群众追评为满意（1-3 级）的整改追评 ÷ 有追评结果的整改追评。"),
        _(
            "每个比率都写明了例数和 95%% 区间：区间越宽，说明例数越少、越说明不了问题。少于 "
            "%(min)d 例的比率显示为“样本不足”，不参加比较。"
        )
        % {"min": MIN_CASES},
        _("人员按姓名排列，不按比率排名：比率的高低有相当一部分来自偶然，排名会把偶然当成差距。"),
        _(
            "只有在某人的比率低于中心其他人的整体水平，且经单侧 Fisher 精确检验并按参加比较的"
            "人数做 Holm 校正后 p ≤ %(alpha)s 时，才标为“低于中心整体水平”。在人人水平相同的"
            "中心里，每项指标误标任何一人的概率不超过 5%%。"
        )
        % {"alpha": ALPHA},
        _(
            "追评满意率主要反映办理单位的整改效果，按时率也受派单和排队影响，不全由访评员决定；"
            "日均拨打未扣除请假，请结合排班看。"
        ),
    ]


# --- The table as rows (export) --------------------------------------------------------------


def _rate_cells(figure: RateFigure) -> list:
    """Rate, interval low and high (as fractions, or "样本不足"), and the words."""
    if not figure.enough:
        return [_("样本不足"), "", "", figure.words]
    low, high = figure.interval
    return [round(figure.rate, 4), round(low, 4), round(high, 4), figure.words]


def figures_table(figures: EvaluatorFigures) -> tuple[list[str], list[list]]:
    """(headers, rows) of the export: one row per centre and person, the same figures and
    words as the page."""
    headers = [_("民意感知中心"), _("人员"), _("拨打次数"), _("工作日"), _("日均拨打")]
    for label, successes, trials in (
        (_("接通率"), _("接通的回访"), _("拨打过的回访")),
        (_("按时率"), _("按时完成"), _("到期回访")),
        (_("追评满意率"), _("追评满意"), _("有结果的追评")),
    ):
        headers += [
            successes,
            trials,
            label,
            _("%(l)s 95%% 下限") % {"l": label},
            _("%(l)s 95%% 上限") % {"l": label},
            _("%(l)s 说明") % {"l": label},
        ]
    rows = []
    for centre in figures.centres:
        for row in centre.rows:
            per_day = row.calls_per_day
            cells = [
                centre.centre.display_name,
                str(row.person),
                row.calls,
                row.working_days,
                round(per_day, 1) if per_day is not None else "",
            ]
            for figure in row.rates():
                cells += [figure.successes, figure.trials, *_rate_cells(figure)]
            rows.append(cells)
    return headers, rows
