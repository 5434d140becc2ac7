"""Every table of the dashboard and drill-down pages, built once and rendered twice: as HTML
and as an Excel export (exports.py). Building both from the same cells means the export
shows exactly what the page shows, "<5" included."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.pii import mask_mobile, mask_text
from minyi.dashboards.periods import range_key
from minyi.dashboards.selectors import DrillFilters
from minyi.perception.models import Attribution, CallbackStatus, Rating, ReasonTag
from minyi.workorders.models import WorkOrderStatus

SUPPRESSED = "<5"
DASH = "—"


@dataclass
class Cell:
    text: str
    value: object = None  # what goes in the spreadsheet; the text when None
    href: str = ""
    num: bool = False
    fmt: str = ""  # spreadsheet number format
    cls: str = ""


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    export_url: str = ""


# --- Cells -----------------------------------------------------------------------------------


def text(value, href: str = "", cls: str = "") -> Cell:
    value = "" if value is None else str(value)
    return Cell(value or DASH, value, href=href, cls=cls)


def count(n, *, href: str = "", suppressed: bool = False) -> Cell:
    if n is None:
        return Cell(
            SUPPRESSED if suppressed else DASH, SUPPRESSED if suppressed else None, num=True
        )
    return Cell(f"{n:,}", n, href=href if n else "", num=True)


def pct(value, *, suppressed: bool = False, digits: int = 1, href: str = "") -> Cell:
    if value is None:
        return Cell(
            SUPPRESSED if suppressed else DASH, SUPPRESSED if suppressed else None, num=True
        )
    return Cell(f"{value * 100:.{digits}f}%", round(value, 4), href=href, num=True, fmt="0.0%")


def interval(r: dict) -> Cell:
    if r.get("suppressed"):
        return Cell(SUPPRESSED, SUPPRESSED, num=True)
    if r.get("low") is None:
        return Cell(DASH, None, num=True)
    label = f"{r['low'] * 100:.1f}–{r['high'] * 100:.1f}%"
    return Cell(label, label, num=True)


def number(value, digits: int = 2) -> Cell:
    if value is None:
        return Cell(DASH, None, num=True)
    return Cell(f"{value:.{digits}f}", round(value, 4), num=True)


def moment(value) -> Cell:
    if value is None:
        return Cell(DASH, None)
    if isinstance(value, datetime):
        local = timezone.localtime(value)
        return Cell(f"{local:%Y-%m-%d %H:%M}", local.replace(tzinfo=None))
    return Cell(f"{value:%Y-%m-%d}", value)


# --- Links -----------------------------------------------------------------------------------


def drill_url(filters: DrillFilters, **changes) -> str:
    params = {**filters.as_params(), **changes}
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('dashboards:drill')}?{urlencode(params)}"


def url_exists(name: str) -> bool:
    """Whether a URL name is served yet (other apps add theirs), so links can be offered
    only where they lead somewhere."""
    try:
        reverse(name, args=[1])
    except NoReverseMatch:
        return False
    return True


# --- The dashboard's tables ------------------------------------------------------------------


def index_tables(figures: dict, base: DrillFilters) -> dict[str, Table]:
    """Tables for the figures computed; `base` carries unit, period and business type for the
    drill-down links."""
    builders = {
        "trend": _trend_table,
        "ranking": _ranking_table,
        "types": _types_table,
        "callbacks": _callbacks_table,
        "workorders": _workorders_table,
        "reasons": _reasons_table,
        "repeats": _repeat_units_table,
        "repeat_types": _repeat_types_table,
        "officers": _officers_table,
    }
    source = {"repeat_types": "repeats"}
    tables = {}
    for name, build in builders.items():
        figure = figures.get(source.get(name, name))
        if figure is not None:
            tables[name] = build(figure, base)
    return tables


def _unit_link(unit, base: DrillFilters, figure: str) -> str:
    return drill_url(base, figure=figure, unit=unit.pk)


def _trend_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "trend", _("满意度趋势"), [_("时段"), _("发送"), _("参评"), _("满意率"), _("95%区间")]
    )
    for p in reversed(fig["points"]):
        label = (
            f"{p['start']:%m-%d}"
            if p["start"] == p["end"]
            else f"{p['start']:%m-%d}–{p['end']:%m-%d}"
        )
        href = drill_url(base, figure="satisfaction", period=range_key(p["start"], p["end"]))
        table.rows.append(
            [
                text(label),
                count(p["sent"], suppressed=p["sent"] is None),
                count(p["n"], suppressed=p["suppressed"], href=href),
                pct(p["rate"], suppressed=p["suppressed"]),
                interval(p),
            ]
        )
    table.note = _("少于 5 人的时段不显示（<5）。区间为 Wilson 95% 置信区间。")
    return table


def _ranking_table(fig: dict, base: DrillFilters) -> Table:
    headers = [
        _("单位"),
        _("参评"),
        _("满意率"),
        _("95%区间"),
        _("收缩估计"),
        _("排名（中位）"),
        _("90%排名区间"),
        _("末位概率"),
        _("同类比较"),
    ]
    with_mix = any(r["mix"] is not None for r in fig["rows"])
    if with_mix:
        headers += [_("实际/预期（业务结构）"), _("结构调整满意率")]
    table = Table("ranking", _("同类单位排名"), headers)
    flags = {"alarm": _("显著（99.8%）"), "alert": _("偏离（95%）")}
    for r in fig["rows"]:
        unit = r["unit"]
        if r["ranked"]:
            rank = Cell(f"{r['median_rank']} / {fig['ranked']}", r["median_rank"], num=True)
            spread = Cell(
                f"{r['rank_low']}–{r['rank_high']}", f"{r['rank_low']}–{r['rank_high']}", num=True
            )
            last = pct(r["p_last"], digits=0)
            if r["probably_last"]:
                last.cls = "error"
            flag = ""
            if r["flag"]:
                direction = _("偏低") if (r["z"] or 0) < 0 else _("偏高")
                flag = f"{direction}·{flags[r['flag']]}"
            cells = [
                rank,
                spread,
                last,
                text(flag, cls="error" if r["flag"] and (r["z"] or 0) < 0 else ""),
            ]
        else:
            reason = _("样本不足，不排名") if r["small_sample"] else _("同类单位不足，不排名")
            cells = [
                Cell(reason, reason, cls="muted"),
                text(""),
                text(""),
                text(""),
            ]
        row = [
            text(unit.name, href=_unit_link(unit, base, "satisfaction")),
            count(r["n"], href=_unit_link(unit, base, "satisfaction")),
            pct(r["rate"]),
            interval(r),
            pct(r["shrunk"]),
            *cells,
        ]
        if with_mix:
            mix = r["mix"] or {}
            row += [number(mix.get("ratio")), pct(mix.get("adjusted"))]
        table.rows.append(row)
    table.note = _(
        "在%(scope)s范围内与 %(peers)d 个%(kind)s比较；参评少于 %(min)d 的单位不排名。"
        "收缩估计与排名区间为经验贝叶斯（beta-二项）后验；同类比较为漏斗图（已校正过度离散）。"
        "规则版本 %(rule)s。"
    ) % {
        "scope": fig["scope"].name,
        "peers": fig["peers"],
        "kind": fig["kind_label"],
        "min": fig["min_sample"],
        "rule": fig["rule_version"],
    }
    return table


def _types_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "types",
        _("分业务满意度"),
        [_("业务类型"), _("发送"), _("参评"), _("满意率"), _("95%区间"), _("参照满意率")],
    )
    for r in fig["rows"]:
        bt = r["business_type"]
        name = bt.name if bt else DASH
        if bt is not None and bt.is_enforcement:
            name = _("%(name)s（执法类）") % {"name": name}
        href = drill_url(base, figure="satisfaction", type=bt.pk if bt else None)
        ref = r["reference"]
        table.rows.append(
            [
                text(name),
                count(r["sent"], suppressed=r["sent"] is None),
                count(r["n"], suppressed=r["suppressed"], href=href),
                pct(r["rate"], suppressed=r["suppressed"]),
                interval(r),
                pct(ref["rate"], suppressed=ref["suppressed"]),
            ]
        )
    mix = fig["mix"]
    ratio = f"{mix['ratio']:.3f}" if mix["ratio"] is not None else DASH
    adjusted = f"{mix['adjusted'] * 100:.1f}%" if mix["adjusted"] is not None else DASH
    table.note = _(
        "参照满意率为%(scope)s同一业务的满意率。按业务结构调整（间接标准化）："
        "实际满意 %(o)d / 预期满意 %(e).1f = %(ratio)s，调整后满意率 %(adj)s。"
        "少于 5 人的格子不显示（<5）。"
    ) % {
        "scope": fig["scope"].name,
        "o": mix["observed"],
        "e": mix["expected"],
        "ratio": ratio,
        "adj": adjusted,
    }
    return table


def _callbacks_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "callbacks",
        _("回访及时率"),
        [
            _("单位"),
            _("到期回访"),
            _("按时完成"),
            _("按时率"),
            _("95%区间"),
            _("超时完成"),
            _("未完成"),
            _("当前超时"),
        ],
    )
    for r in [*fig["rows"], {**fig["total"], "unit": None}]:
        unit = r["unit"]
        link = base if unit is None else replace(base, unit=unit)

        def h(status, link=link):
            return drill_url(link, figure="callbacks", status=status)

        name = _("合计") if unit is None else (unit.name + (_("（本级）") if r.get("own") else ""))
        table.rows.append(
            [
                text(name, cls="strong" if unit is None else ""),
                count(r["n"], href=h("")),
                count(r["s"], href=h("on_time")),
                pct(r["rate"]),
                interval(r),
                count(r["late"], href=h("late")),
                count(r["open"], href=h("open")),
                count(r["overdue_now"], href=h("overdue")),
            ]
        )
    return table


def _workorders_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "workorders",
        _("整改工单"),
        [
            _("单位"),
            _("派发"),
            _("按时反馈率"),
            _("办结率"),
            _("真实解决率"),
            _("在办"),
            _("当前超期"),
        ],
    )
    for r in [*fig["rows"], {**fig["total"], "unit": None}]:
        unit = r["unit"]
        link = base if unit is None else replace(base, unit=unit)

        def h(status, link=link):
            return drill_url(link, figure="workorders", status=status)

        name = _("合计") if unit is None else (unit.name + (_("（本级）") if r.get("own") else ""))
        table.rows.append(
            [
                text(name),
                count(r["dispatched"], href=h("")),
                _rate_with_n(r["on_time"], h("on_time")),
                _rate_with_n(r["closure"], h("closed")),
                _rate_with_n(r["resolution"], h("resolved")),
                count(r["open"], href=h("open")),
                count(r["overdue_now"], href=h("overdue")),
            ]
        )
    table.note = _(
        "按时反馈：整改期限（工作日）内提交反馈；办结率：已办结 / 派发（不含撤销）；"
        "真实解决率：追评满意后办结 / 已办结。"
    )
    return table


def _rate_with_n(r: dict, href: str) -> Cell:
    if r["rate"] is None:
        return Cell(DASH, None, num=True)
    label = f"{r['rate'] * 100:.1f}%（{r['s']}/{r['n']}）"
    return Cell(label, round(r["rate"], 4), href=href, num=True, fmt="0.0%")


def _reasons_table(fig: dict, base: DrillFilters) -> Table:
    table = Table("reasons", _("不满意原因"), [_("原因"), _("次数"), _("占比")])
    for r in fig["rows"]:
        href = drill_url(base, figure="reasons", tag=r["tag"])
        table.rows.append(
            [
                text(r["label"]),
                count(r["s"], suppressed=r["suppressed"], href=href),
                pct(r["rate"], suppressed=r["suppressed"]),
            ]
        )
    table.note = _(
        "已完成的不满意回访中记录的原因标签（一次回访可有多个标签），共 %(n)d 次回访。"
    ) % {"n": fig["base"]}
    return table


def _repeat_units_table(fig: dict, base: DrillFilters) -> Table:
    table = Table("repeats", _("跑多次（按单位）"), [_("单位"), _("跑多次人数"), _("再次办理次数")])
    for r in fig["units"]:
        unit = r["unit"]
        name = unit.name + (_("（本级）") if r["own"] else "")
        href = drill_url(base, figure="repeats", unit=unit.pk)
        table.rows.append([text(name), count(r["pairs"], href=href), count(r["repeats"])])
    table.note = _("同一手机号、同一业务在 %(days)d 天内再次办理，计一人；计入再次办理的单位。") % {
        "days": fig["window_days"]
    }
    return table


def _repeat_types_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "repeat_types", _("跑多次（按业务）"), [_("业务类型"), _("跑多次人数"), _("再次办理次数")]
    )
    for r in fig["types"]:
        bt = r["business_type"]
        href = drill_url(base, figure="repeats", type=bt.pk if bt else None)
        table.rows.append(
            [
                text(bt.name if bt else DASH),
                count(r["pairs"], suppressed=r["suppressed"], href=href),
                count(r["repeats"], suppressed=r["suppressed"]),
            ]
        )
    return table


def _officers_table(fig: dict, base: DrillFilters) -> Table:
    table = Table("officers", _("民警满意度"), [_("民警"), _("参评"), _("满意率"), _("95%区间")])
    for r in fig["rows"]:
        officer = r["officer"]
        href = drill_url(base, figure="satisfaction", officer=officer.pk)
        table.rows.append(
            [text(str(officer)), count(r["n"], href=href), pct(r["rate"]), interval(r)]
        )
    other = fig["other"]
    if other is not None:
        table.rows.append(
            [
                text(_("其他民警（各不足 5 人，%(n)d 名）") % {"n": fig["merged"]}),
                count(other["n"], suppressed=other["suppressed"]),
                pct(other["rate"], suppressed=other["suppressed"]),
                interval(other),
            ]
        )
    table.note = _("本单位经办的服务事件；参评不足 5 人的民警不列姓名。")
    return table


# --- Drill-down tables -----------------------------------------------------------------------

RATINGS = dict(Rating.choices)
ATTRIBUTIONS = dict(Attribution.choices)
TAGS = dict(ReasonTag.choices)
CALLBACK_STATUSES = dict(CallbackStatus.choices)
ORDER_STATUSES = dict(WorkOrderStatus.choices)


def drill_headers(figure: str) -> list[str]:
    return {
        "satisfaction": [
            _("服务时间"),
            _("单位"),
            _("业务类型"),
            _("评价"),
            _("评价方式"),
            _("群众手机"),
            _("留言"),
        ],
        "callbacks": [
            _("编号"),
            _("单位"),
            _("业务类型"),
            _("类型"),
            _("回访时限"),
            _("完成时间"),
            _("状态"),
            _("是否按时"),
            _("群众手机"),
        ],
        "reasons": [
            _("编号"),
            _("单位"),
            _("业务类型"),
            _("完成时间"),
            _("原因标签"),
            _("责任认定"),
            _("群众手机"),
        ],
        "workorders": [
            _("工单号"),
            _("单位"),
            _("业务类型"),
            _("派发时间"),
            _("整改期限"),
            _("反馈时间"),
            _("状态"),
            _("群众认可解决"),
        ],
        "repeats": [
            _("群众手机"),
            _("业务类型"),
            _("单位"),
            _("再次办理次数"),
            _("首次办理"),
            _("最近办理"),
        ],
    }[figure]


def drill_row(figure: str, obj, *, links: dict[str, bool]) -> list[Cell]:
    """One row behind a figure. Mobiles are always masked (decrypted only to be masked) and
    free text has numbers masked; no officer is named."""
    if figure == "satisfaction":
        comment = mask_text(obj.comment or "")
        return [
            moment(obj.event.occurred_at),
            text(obj.unit.name),
            text(obj.business_type.name),
            text(RATINGS.get(obj.rating, obj.rating), cls="error" if obj.rating >= 4 else ""),
            text({"sms": _("短信"), "h5": _("网页")}.get(obj.answered_via, obj.answered_via)),
            text(mask_mobile(obj.event.citizen_mobile)),
            text(comment[:200]),
        ]
    if figure in ("callbacks", "reasons"):
        href = _link("perception:callback_detail", obj.pk, links)
        ident = text(f"#{obj.pk}", href=href)
        mobile = text(mask_mobile(obj.survey.event.citizen_mobile))
        business = text(obj.survey.business_type.name)
        if figure == "reasons":
            return [
                ident,
                text(obj.unit.name),
                business,
                moment(obj.completed_at),
                text("、".join(str(TAGS.get(t, t)) for t in obj.tags or [])),
                text(ATTRIBUTIONS.get(obj.attribution, obj.attribution)),
                mobile,
            ]
        if obj.status == CallbackStatus.DONE:
            late = obj.completed_at > obj.due_at
            on_time = _("超时") if late else _("按时")
        else:
            late = obj.due_at < timezone.now()
            on_time = _("已超时") if late else _("未到期")
        return [
            ident,
            text(obj.unit.name),
            business,
            text(obj.get_kind_display()),
            moment(obj.due_at),
            moment(obj.completed_at),
            text(CALLBACK_STATUSES.get(obj.status, obj.status)),
            text(on_time, cls="error" if late else ""),
            mobile,
        ]
    if figure == "workorders":
        return [
            text(obj.number, href=_link("workorders:order_detail", obj.pk, links)),
            text(obj.unit.name),
            text(obj.business_type.name),
            moment(obj.dispatched_at),
            moment(obj.deadline),
            moment(obj.feedback_at),
            text(
                ORDER_STATUSES.get(obj.status, obj.status),
                cls="error" if obj.is_overdue else "",
            ),
            text(_("是") if obj.resolved else ("" if obj.status != "closed" else _("否"))),
        ]
    if figure == "repeats":
        return [
            text(obj["mobile_masked"]),
            text(obj["business_type__name"]),
            text(obj["unit__name"]),
            count(obj["repeats"]),
            moment(obj["first_at"]),
            moment(obj["last_at"]),
        ]
    raise ValueError(figure)


def _link(name: str, pk, links: dict[str, bool]) -> str:
    return reverse(name, args=[pk]) if links.get(name) else ""


def drill_title(filters: DrillFilters) -> str:
    titles = {
        "satisfaction": _("满意度评价明细"),
        "callbacks": _("回访任务明细"),
        "reasons": _("不满意原因明细"),
        "workorders": _("整改工单明细"),
        "repeats": _("跑多次明细"),
    }
    return titles[filters.figure]
