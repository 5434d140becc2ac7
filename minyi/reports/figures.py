"""The figures of a monthly report (民意分析报告), collected into one plain dict.

Every number is the dashboard's own: the same selectors (minyi.dashboards) called with the
month's Period, in the same scope. A report is read as a staff account of the bureau would
read it (`ReportScope`), whoever asks for it, so a district's report is the same document
whether the schedule, its own leader or the city generated it, and holds nothing from outside
the district. What the dashboard has no figure for is computed here in the same style and
marked so: the opinion reply rate by channel (the opinions page's 渠道答复率) and the
warnings issued in the month with their outcomes (`warnings_issued`).
"""

import calendar
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minyi.accountability.models import AccountabilityCase
from minyi.core import stats
from minyi.core.masking import mask_text
from minyi.core.periods import Period, period_parse
from minyi.dashboards.figures.callbacks import callback_timeliness_for
from minyi.dashboards.figures.opinions import opinion_performance_for
from minyi.dashboards.figures.ranking import unit_ranking_for
from minyi.dashboards.figures.workorders import workorder_performance_for
from minyi.dashboards.page import dashboard_for
from minyi.dashboards.rates import rate
from minyi.dashboards.scope import UnitIndex
from minyi.insight.selectors import emerging_topics_for, text_reasons_for
from minyi.opinions.selectors import channel_rates_visible_to
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.warnings.models import Warning, WarningColour, WarningSubject
from minyi.warnings.selectors import FLAGGED

# The headline figures compared with the previous month.
HEADLINES = ("satisfaction", "callbacks", "workorders", "opinions")
TOP_REASONS = 5
MAX_QUOTES = 2


@dataclass(frozen=True)
class ReportScope:
    """Reads as a staff account of `unit` would: `unit`'s subtree, nothing above or beside
    it. Passed where the dashboard's selectors take a user; has no account of its own."""

    unit: OrgUnit
    pk = None
    is_superuser = False
    is_authenticated = True
    is_active = True
    role = Role.SUPERVISOR

    @property
    def unit_id(self):
        return self.unit.pk

    def get_username(self) -> str:
        return ""


def bureaus() -> list[OrgUnit]:
    """The units a report is made for: the city bureau (the root) and the district and county
    bureaus (分局、县局) directly under it; the city's own departments (交警支队, 刑侦支队) are
    read in the city's report."""
    root = OrgUnit.objects.get_root_nodes().first()
    if root is None:
        return []
    children = OrgUnit.objects.get_children(root).filter(
        is_active=True, kind=UnitKind.DISTRICT_BUREAU
    )
    return [root, *children]


def month_start(value: date) -> date:
    return value.replace(day=1)


def previous_month(month: date) -> date:
    return month_start(month_start(month) - timedelta(days=1))


def month_period(month: date, *, today: date | None = None) -> Period:
    """The dashboard's Period for a calendar month (key "YYYY-MM", as its month choices)."""
    today = today or timezone.localdate()
    key = f"{month:%Y-%m}"
    period = period_parse(key, today=today)
    if period.key != key:  # a month not begun yet: the parser fell back to 30 days
        end = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
        return Period(key, month, end)
    return period


def _plain(value):
    """JSON-ready: units as {"id", "name"}, dates as ISO strings, lazy text as text, numpy
    scalars as Python numbers."""
    if isinstance(value, Promise):
        return str(value)
    if type(value).__module__ == "numpy":
        return value.item() if hasattr(value, "item") else value.tolist()
    if isinstance(value, OrgUnit):
        return {"id": value.pk, "name": value.name}
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --- Figures the dashboard has no selector for ----------------------------------------------


def opinion_replies_by_channel(scope: ReportScope, *, period: Period) -> list[dict]:
    """The reply rate per channel (受理渠道) of the opinions page 渠道答复率
    (`channel_rates_visible_to`) for the period, as the bureau reads it, each with
    its Wilson interval. Channels with none received are left out."""
    rates = channel_rates_visible_to(scope, start=period.start_at, end=period.end_before)
    return [
        {
            "channel": r.channel,
            "label": r.label,
            "received": r.received,
            "answered": r.answered,
            "reply": rate(r.answered, r.received),
        }
        for r in rates
        if r.channel and r.received
    ]


def _outcome(warning: Warning, following: Warning | None) -> str:
    if warning.is_current:
        return _("仍在预警中")
    if following is None:
        return _("已解除")
    if following.colour == WarningColour.GREEN:
        return _("已转为绿色")
    return _("已转为%(colour)s") % {"colour": following.get_colour_display()}


def warnings_issued(user, unit: OrgUnit, *, period: Period) -> dict:
    """Red and orange warnings that began in the period on officers and units in `unit`'s
    subtree, and what became of each: the replies (申辩) made, the accountability case opened
    from it (问责) and its state, and the colour that followed (still current, turned green,
    turned another colour)."""
    issued = list(
        Warning.objects.filter(
            scope_q(user, "unit__"),
            unit.subtree_filter("unit__"),
            colour__in=FLAGGED,
            started_at__gte=period.start_at,
            started_at__lt=period.end_before,
        )
        .select_related("officer", "unit")
        .annotate(reply_count=Count("replies"))
        .order_by("started_at", "pk")
    )
    cases = {
        c.key: c
        for c in AccountabilityCase.objects.filter(key__in=[f"warning:{w.pk}" for w in issued])
    }
    # The spell that followed each ended one: the next row of the same subject.
    following: dict[int, Warning] = {}
    ended = [w for w in issued if not w.is_current]
    if ended:
        later = Warning.objects.filter(
            Q(officer_id__in={w.officer_id for w in ended if w.officer_id})
            | Q(subject=WarningSubject.UNIT, unit_id__in={w.unit_id for w in ended}),
            started_at__gte=period.start_at,
        ).order_by("started_at", "pk")
        for w in ended:
            for nxt in later:
                same = (
                    nxt.officer_id == w.officer_id
                    if w.officer_id
                    else nxt.subject == WarningSubject.UNIT and nxt.unit_id == w.unit_id
                )
                if same and (nxt.started_at, nxt.pk) > (w.started_at, w.pk):
                    following[w.pk] = nxt
                    break
    counts: Counter = Counter()
    rows = []
    for w in issued:
        case = cases.get(f"warning:{w.pk}")
        counts[w.colour] += 1
        counts[w.subject] += 1
        counts["replied"] += bool(w.reply_count)
        counts["cases"] += case is not None
        counts["ended"] += not w.is_current
        rows.append(
            {
                "id": w.pk,
                "subject": w.subject,
                "subject_label": str(w.get_subject_display()),
                "who": w.officer.name if w.officer_id else w.unit.name,
                "unit": {"id": w.unit_id, "name": w.unit.name},
                "colour": w.colour,
                "colour_label": str(w.get_colour_display()),
                "started": timezone.localtime(w.started_at).date(),
                "rule_version": w.rule_version,
                "replies": w.reply_count,
                "case": str(case.get_status_display()) if case else "",
                "decision": str(case.get_decision_display()) if case and case.decision else "",
                "outcome": _outcome(w, following.get(w.pk)),
            }
        )
    keys = ("red", "orange", "officer", "unit", "replied", "cases", "ended")
    return {"total": len(rows), "counts": {k: counts[k] for k in keys}, "rows": rows}


# --- Insight (text reasons, emerging topics) --------------------------------------------------


def _masked(quotes) -> list[str]:
    """Quotes come masked from insight; masked again here (idempotent), so a mobile or an ID
    number can never reach a report even if a source forgot. The same words twice are shown
    once."""
    out: list[str] = []
    for quote in quotes or []:
        masked = mask_text(str(quote))
        if masked not in out:
            out.append(masked)
    return out[:MAX_QUOTES]


def text_reasons(user, unit: OrgUnit, *, period: Period) -> dict:
    """insight's reasons across every citizen text of the month, quotes masked again."""
    fig = text_reasons_for(user, unit, start=period.start, end=period.end)
    quotes = fig.get("quotes") or {}
    return {
        "total": fig.get("total", 0),
        "rows": [dict(r) for r in fig.get("rows", [])],
        "by_source": [dict(r) for r in fig.get("by_source", [])],
        "quotes": {tag: _masked(q) for tag, q in quotes.items()},
    }


def emerging_topics(user, unit: OrgUnit, *, period: Period, index: UnitIndex) -> dict:
    """insight's emerging topics as of the month's last day, only those of units in `unit`'s
    subtree (a defence: the selector reads the subtree already)."""
    fig = emerging_topics_for(user, unit, as_of=period.end)
    mine = set(index.subtree_ids(unit))
    rows = []
    for r in fig.get("rows", []):
        if r.get("unit_id") not in mine:
            continue
        rows.append({**r, "quotes": _masked(r.get("quotes"))})
    return {
        "rule_version": fig.get("rule_version", ""),
        "window": fig.get("window"),
        "baseline": fig.get("baseline"),
        "rows": rows,
    }


# --- The report -------------------------------------------------------------------------------


def _own_rank(unit: OrgUnit, *, period: Period) -> dict | None:
    """The bureau's own place among its peers (the other bureaus), as the city's dashboard
    ranks it; only the bureau's own row is kept (no other bureau's name or figure)."""
    parent = OrgUnit.objects.get_parent(unit)
    if parent is None:
        return None
    ranking = unit_ranking_for(ReportScope(parent), parent, period=period, kind=unit.kind)
    for row in ranking["rows"]:
        if row["unit"].pk == unit.pk:
            return _rank_row(row)
    return None


def _rank_row(row: dict) -> dict:
    keys = (
        "n",
        "s",
        "rate",
        "low",
        "high",
        "adjusted",
        "ranked",
        "small_sample",
        "median_rank",
        "rank_low",
        "rank_high",
        "p_last",
        "probably_last",
        "flag",
        "z",
    )
    return {
        "unit": {"id": row["unit"].pk, "name": row["unit"].name},
        "group": {k: row["group"][k] for k in ("name", "fallback", "peers", "ranked", "target")},
        **{k: row[k] for k in keys},
    }


def _month_figures(user, unit: OrgUnit, *, period: Period, now: datetime, index) -> dict:
    today = timezone.localdate(now)
    page = dashboard_for(
        user, unit, period=period, index=index, only={"trend", "ranking", "reasons"}
    )
    trend, ranking, reasons = page["trend"], page["ranking"], page["reasons"]
    callbacks = callback_timeliness_for(user, unit, period=period, index=index, now=now)
    workorders = workorder_performance_for(user, unit, period=period, index=index, today=today)
    opinions = opinion_performance_for(user, unit, period=period, index=index, today=today)
    return _plain(
        {
            "period": {"key": period.key, "start": period.start, "end": period.end},
            "satisfaction": {"total": trend["total"], "points": trend["points"]},
            "ranking": {
                "kind": ranking["kind"],
                "kind_label": str(ranking["kind_label"]),
                "min_sample": ranking["min_sample"],
                "target": ranking["target"],
                "adjusted": ranking["adjusted"],
                "rule_version": ranking["rule_version"],
                "rows": [_rank_row(r) for r in ranking["rows"]],
                "own": _own_rank(unit, period=period),
            },
            "callbacks": callbacks,
            "workorders": workorders,
            "reasons": {"base": reasons["base"], "rows": reasons["rows"]},
            "opinions": {
                **opinions,
                "channels": opinion_replies_by_channel(ReportScope(unit), period=period),
            },
            "text_reasons": text_reasons(user, unit, period=period),
            "warnings": warnings_issued(user, unit, period=period),
        }
    )


def _headline(figures: dict) -> dict[str, dict]:
    """The rates compared month on month: (label, rate dict)."""
    return {
        "satisfaction": figures["satisfaction"]["total"],
        "callbacks": figures["callbacks"]["total"],
        "workorders": figures["workorders"]["total"]["on_time"],
        "opinions": figures["opinions"]["total"]["reply"],
    }


HEADLINE_LABELS = {
    "satisfaction": gettext_lazy("满意率"),
    "callbacks": gettext_lazy("回访及时率"),
    "workorders": gettext_lazy("整改按时反馈率"),
    "opinions": gettext_lazy("诉求答复率"),
}


def compare(current: dict, previous: dict) -> dict:
    """One rate this month beside last month's: the difference in percentage points, and
    whether it is a change at all. Only when the two 95% intervals do not overlap is it
    called a rise or a fall (a conservative test); otherwise it is within noise."""
    out = {
        "current": current.get("rate"),
        "previous": previous.get("rate"),
        "current_n": current.get("n"),
        "previous_n": previous.get("n"),
        "diff": None,
        "verdict": "none",
    }
    if current.get("rate") is None or previous.get("rate") is None:
        return out
    out["diff"] = current["rate"] - previous["rate"]
    if current.get("low") is None or previous.get("low") is None:
        return out
    if current["low"] > previous["high"]:
        out["verdict"] = "up"
    elif current["high"] < previous["low"]:
        out["verdict"] = "down"
    else:
        out["verdict"] = "noise"
    return out


def changes(current: dict, previous: dict) -> dict:
    """What changed since last month: the headline rates and the top reasons' shares."""
    now, before = _headline(current), _headline(previous)
    rows = [
        {"key": key, "label": str(HEADLINE_LABELS[key]), **compare(now[key], before[key])}
        for key in HEADLINES
    ]
    earlier = {r["tag"]: r for r in previous["reasons"]["rows"]}
    reasons = []
    for r in current["reasons"]["rows"][:TOP_REASONS]:
        old = earlier.get(r["tag"]) or rate(0, previous["reasons"]["base"])
        reasons.append({"tag": r["tag"], "label": r["label"], **compare(r, old)})
    return {"headline": rows, "reasons": reasons}


def monthly_figures(user_or_scope, unit: OrgUnit, month: date, *, now=None) -> dict:
    """Every figure of `unit`'s report for `month` (any day of it), and the previous month's
    for comparison, as a plain dict (JSON-ready). `user_or_scope` is a staff user or a
    ReportScope; the report proper is always made with ReportScope(unit)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    month = month_start(month)
    index = UnitIndex(user_or_scope)
    unit = index.get(unit.pk)
    period = month_period(month, today=today)
    before = month_period(previous_month(month), today=today)
    current = _month_figures(user_or_scope, unit, period=period, now=now, index=index)
    current["emerging"] = _plain(emerging_topics(user_or_scope, unit, period=period, index=index))
    previous = _month_figures(user_or_scope, unit, period=before, now=now, index=index)
    return {
        "unit": {"id": unit.pk, "name": unit.name, "kind": unit.kind},
        "month": f"{month:%Y-%m}",
        "previous_month": f"{before.start:%Y-%m}",
        "generated_at": timezone.localtime(now).isoformat(),
        "stats_rule_version": stats.RULE_VERSION,
        "current": current,
        "previous": previous,
        "changes": changes(current, previous),
    }
