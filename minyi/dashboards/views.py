"""Dashboards (数据看板): figures, drill-down to the rows behind them, Excel export.

Thin views: parse the filters, call the figures (page.py) or the drill-down (drill.py), build
the tables, render. Units outside the user's subtree do not exist here (404)."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minyi.core import stats
from minyi.core.db_router import reads_from_replica
from minyi.core.errors import NotFound
from minyi.core.periods import ROLLING, Period, month_choices, period_parse
from minyi.dashboards import conf
from minyi.dashboards.cells import Table
from minyi.dashboards.drill import (
    KEYSET_FIGURES,
    BadCursor,
    Cursor,
    drill_export_rows,
    drill_headers,
    drill_page,
    drill_row,
    drill_title,
    url_exists,
)
from minyi.dashboards.exports import table_export
from minyi.dashboards.figures.opinions import opinion_performance_for, opinions_table
from minyi.dashboards.filters import DRILL_FIGURES, DRILL_STATUSES, DrillFilters
from minyi.dashboards.page import FIGURES, dashboard_for, index_tables
from minyi.dashboards.scope import UnitIndex
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.perception.models import ReasonTag

# Table name → the figure that feeds it (for exports of one table).
TABLE_FIGURE = {name: name for name in FIGURES} | {"repeat_types": "repeats"}
STATUS_LABELS = {
    "satisfied": gettext_lazy("满意"),
    "unsatisfied": gettext_lazy("不满意"),
    "on_time": gettext_lazy("按时"),
    "late": gettext_lazy("超时"),
    "open": gettext_lazy("未完成"),
    "overdue": gettext_lazy("当前超时"),
    "closed": gettext_lazy("已办结"),
    "resolved": gettext_lazy("真实解决"),
}


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _filters(request, index: UnitIndex, figure: str) -> DrillFilters:
    get = request.GET
    unit = index.get(get["unit"]) if get.get("unit") else index.root
    tag = get.get("tag", "")
    status = get.get("status", "")
    return DrillFilters(
        figure=figure,
        unit=unit,
        period=period_parse(get.get("period")),
        business_type=_int(get.get("type")),
        tag=tag if tag in ReasonTag.values else "",
        status=status if status in DRILL_STATUSES.get(figure, ()) else "",
        officer=_int(get.get("officer")),
    )


def _export_url(params: dict, table: str) -> str:
    return f"{reverse('dashboards:export')}?{urlencode({**params, 'table': table})}"


def _period_choices(current: Period) -> list[tuple[str, str]]:
    choices = [(str(n), _("近 %(n)s 天") % {"n": n}) for n in ROLLING]
    choices += [(key, key) for key in month_choices()]
    if current.key not in dict(choices):
        choices.append((current.key, current.label))
    return choices


def _charts(figures: dict, base: DrillFilters) -> dict:
    """What the ECharts code draws, as plain lists (json_script); suppressed cells are None
    already, so they are gaps, never numbers."""
    charts = {}
    if trend := figures.get("trend"):
        points = trend["points"]

        def pct(v):
            return round(v * 100, 1) if v is not None else None

        charts["trend"] = {
            "labels": {"rate": _("满意率"), "band": _("95%区间"), "replies": _("参评")},
            "x": [f"{p['start']:%m-%d}" for p in points],
            "rate": [pct(p["rate"]) for p in points],
            "low": [pct(p["low"]) for p in points],
            "band": [
                round((p["high"] - p["low"]) * 100, 1) if p["low"] is not None else None
                for p in points
            ],
            "replies": [p["n"] for p in points],
        }
    ranking = figures.get("ranking")
    # The funnel of the group most rows belong to, on the rate the ranking uses (adjusted).
    main = ranking["main_group"] if ranking else None
    ranked = (
        [r for r in ranking["rows"] if r["ranked"] and r["group"]["key"] == main["key"]]
        if main
        else []
    )
    if len(ranked) >= stats.MIN_UNITS_FOR_SPREAD:
        ns = [r["n"] for r in ranked]
        limits = []
        if ns:
            low_n, high_n = max(1, min(ns) // 2), max(ns) * 1.2
            steps = 40
            for i in range(steps + 1):
                n = int(low_n + (high_n - low_n) * i / steps) or 1
                a = stats.funnel_limits(n, ranking["target"], ranking["tau2"], stats.Z_ALERT)
                b = stats.funnel_limits(n, ranking["target"], ranking["tau2"], stats.Z_ALARM)
                limits.append([n, *(round(x * 100, 2) for x in (*a, *b))])
        charts["funnel"] = {
            "labels": {
                "units": _("单位"),
                "target": _("平均"),
                "alert": _("95%控制限"),
                "alarm": _("99.8%控制限"),
                "x": _("参评数"),
                "y": _("结构调整满意率 %") if ranking["adjusted"] else _("满意率 %"),
            },
            "points": [[r["n"], round(r["adjusted"] * 100, 2), r["unit"].name] for r in ranked],
            "target": round(ranking["target"] * 100, 2),
            "limits": limits,
        }
    reasons = figures.get("reasons")
    if reasons and any(v for s in reasons["series"] for v in s["values"]):
        charts["reasons"] = {
            "weeks": [f"{w:%m-%d}" for w in reasons["weeks"]],
            "series": [{"name": s["label"], "values": s["values"]} for s in reasons["series"]],
            "bars": [
                {"name": r["label"], "value": r["s"]}
                for r in reasons["rows"]
                if not r["suppressed"]
            ],
        }
    return charts


def _pct(value) -> str:
    return f"{value * 100:.1f}%"


LEAD_LINES = 10


def ranking_lead(ranking: dict | None) -> list[dict]:
    """Each ranked unit in a sentence a leader reads first:
    "满意率 92.1%，同类单位平均 95.4%，排名 7/9（可能区间 4–9）". Shrinkage, P(last) and the
    funnel stay in the table under 计算方法."""
    if not ranking:
        return []
    lines = []
    for r in ranking["rows"]:
        if not r["ranked"]:
            continue
        adjusted = ""
        if ranking["adjusted"] and r["adjusted"] is not None:
            adjusted = _("（按业务结构调整后 %(adj)s）") % {"adj": _pct(r["adjusted"])}
        text = _(
            "满意率 %(rate)s%(adjusted)s，同类单位平均 %(avg)s，"
            "第 %(rank)d 名 / 共 %(n)d 个同类单位（可能区间 %(lo)d–%(hi)d）"
        ) % {
            "rate": _pct(r["rate"]),
            "adjusted": adjusted,
            "avg": _pct(r["group"]["target"]),
            "rank": r["median_rank"],
            "n": r["group"]["ranked"],
            "lo": r["rank_low"],
            "hi": r["rank_high"],
        }
        if r["probably_last"]:
            text += _("，很可能排在末位")
        elif r["flag"] and (r["z"] or 0) < 0:
            text += _("，明显低于同类单位")
        lines.append({"unit": r["unit"], "text": text + "。", "warn": r["probably_last"]})
    if len(lines) > LEAD_LINES:
        # The top three and the bottom five; the whole ranking is in the table below.
        gap = {"unit": None, "text": _("……其余 %(n)d 个单位见下方明细") % {"n": len(lines) - 8}}
        lines = [*lines[:3], gap, *lines[-5:]]
    return lines


@staff_view(Perm.DASHBOARD_VIEW)
@reads_from_replica
def index(request):
    index = UnitIndex(request.user)
    base = _filters(request, index, "satisfaction")
    kind = request.GET.get("kind", "")
    figures = dashboard_for(
        request.user,
        base.unit,
        period=base.period,
        business_type=base.business_type,
        kind=kind,
        index=index,
    )
    tables = index_tables(figures, base)
    can_export = has_perm(request.user, Perm.DATA_EXPORT)
    params = {k: v for k, v in base.as_params().items() if k != "figure"}
    if kind:
        params["kind"] = kind
    if can_export:
        for table in tables.values():
            table.export_url = _export_url(params, table.name)
    types = [t for t in index.business_types().values() if not t.is_sensitive]
    root_depth = index.root.depth
    opinions = None
    if has_perm(request.user, Perm.OPINION_VIEW):
        opinions = opinion_performance_for(request.user, base.unit, period=base.period, index=index)
    return render(
        request,
        "dashboards/index.html",
        {
            "unit": base.unit,
            "period": base.period,
            "business_type": base.business_type,
            "figures": figures,
            "tables": tables,
            "charts": _charts(figures, base),
            "ranking_lead": ranking_lead(figures.get("ranking")),
            "units": [(u, "　" * (u.depth - root_depth)) for u in index.units],
            "types": types,
            "periods": _period_choices(base.period),
            "params": params,
            "drill": {
                f: f"{reverse('dashboards:drill')}?{urlencode({**params, 'figure': f})}"
                for f in DRILL_FIGURES
            },
            "min_sample": conf.min_rank_sample(),
            "opinions": opinions,
            "opinions_table": opinions_table(opinions) if opinions is not None else None,
        },
    )


def _links(user) -> dict[str, bool]:
    return {
        name: has_perm(user, perm) and url_exists(name)
        for name, perm in (
            ("callbacks:callback_detail", Perm.CALLBACK_VIEW),
            ("workorders:order_detail", Perm.WORKORDER_VIEW),
        )
    }


def _describe(filters: DrillFilters, index: UnitIndex) -> list[str]:
    parts = [filters.unit.name, filters.period.label]
    if filters.business_type is not None:
        bt = index.business_types().get(filters.business_type)
        parts.append(bt.name if bt else "")
    if filters.status:
        parts.append(str(STATUS_LABELS[filters.status]))
    if filters.tag:
        parts.append(ReasonTag(filters.tag).label)
    if filters.officer is not None:
        parts.append(_("按民警筛选"))
    return [p for p in parts if p]


@staff_view(Perm.DASHBOARD_VIEW)
@reads_from_replica
def drill(request):
    index = UnitIndex(request.user)
    figure = request.GET.get("figure", "")
    if figure not in DRILL_FIGURES:
        raise NotFound()
    filters = _filters(request, index, figure)
    page = min(max(_int(request.GET.get("page")) or 1, 1), 10_000)
    after = before = None
    notice = ""
    if filters.figure in KEYSET_FIGURES:
        # Answers page by a cursor in the link; a page number alone (an old link) or a
        # cursor this page did not make starts again from the first page, with a word why.
        try:
            if request.GET.get("after"):
                after = Cursor.parse(request.GET["after"])
            elif request.GET.get("before"):
                before = Cursor.parse(request.GET["before"])
            cursor = after or before
            if cursor and not filters.period.start_at <= cursor.at < filters.period.end_before:
                raise BadCursor(cursor)  # not a row of this list
        except BadCursor:
            after = before = None
            notice = _("翻页参数无效，已从第一页显示。")
        if after is None and before is None:
            if page > 1 and not notice:
                notice = _("明细已改为按服务时间逐页翻阅，已从第一页显示。")
            page = 1
    result = drill_page(
        request.user,
        filters,
        page=page,
        page_size=conf.PAGE_SIZE,
        index=index,
        after=after,
        before=before,
    )
    links = _links(request.user)
    table = Table(
        "drill",
        drill_title(filters),
        drill_headers(figure),
        [drill_row(figure, obj, links=links) for obj in result.rows],
    )
    params = filters.as_params()
    if has_perm(request.user, Perm.DATA_EXPORT):
        table.export_url = _export_url(params, "drill")
    base = reverse("dashboards:drill")
    back = {k: v for k, v in params.items() if k not in ("figure", "status", "tag", "officer")}
    if filters.figure in KEYSET_FIGURES:
        if not result.before:
            page = 1  # back at the first page (the number in a link is only a label)
        page = max(page, 2) if result.before else page
        previous = {"before": result.before, "page": page - 1} if result.before else None
        following = {"after": result.after, "page": page + 1} if result.after else None
    else:
        previous = {"page": page - 1} if page > 1 else None
        following = {"page": page + 1} if result.has_next else None
    return render(
        request,
        "dashboards/drill.html",
        {
            "filters": filters,
            "description": _describe(filters, index),
            "table": table,
            "page": page,
            "notice": notice or filters.period.notice,
            "previous_url": f"{base}?{urlencode({**params, **previous})}"
            if previous is not None
            else "",
            "next_url": f"{base}?{urlencode({**params, **following})}" if following else "",
            "back_url": f"{reverse('dashboards:index')}?{urlencode(back)}",
        },
    )


@staff_view(Perm.DATA_EXPORT)
@reads_from_replica
def export(request):
    index = UnitIndex(request.user)
    name = request.GET.get("table", "")
    if name == "drill":
        figure = request.GET.get("figure", "")
        if figure not in DRILL_FIGURES:
            raise NotFound()
        filters = _filters(request, index, figure)
        rows = drill_export_rows(request.user, filters, limit=conf.export_max_rows(), index=index)
        return table_export(
            actor=request.user,
            request=request,
            name=f"drill-{figure}",
            title=drill_title(filters),
            headers=drill_headers(figure),
            rows=(drill_row(figure, obj, links={}) for obj in rows),
            detail={"figure": figure, "filters": _audit_filters(filters)},
            unit=filters.unit,
        )
    figure = TABLE_FIGURE.get(name)
    if figure is None:
        raise NotFound()
    base = _filters(request, index, "satisfaction")
    kind = request.GET.get("kind", "")
    figures = dashboard_for(
        request.user,
        base.unit,
        period=base.period,
        business_type=base.business_type,
        kind=kind,
        index=index,
        only={figure},
    )
    table = index_tables(figures, base).get(name)
    if table is None:  # e.g. officers of a unit that has sub-units
        raise NotFound()
    return table_export(
        actor=request.user,
        request=request,
        name=name,
        title=table.title,
        headers=table.headers,
        rows=table.rows,
        note=table.note,
        detail={"figure": figure, "filters": {**_audit_filters(base), "kind": kind}},
        unit=base.unit,
    )


def _audit_filters(filters: DrillFilters) -> dict:
    params = filters.as_params()
    params.pop("figure", None)
    params["period_start"] = filters.period.start.isoformat()
    params["period_end"] = filters.period.end.isoformat()
    return params
