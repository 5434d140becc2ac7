"""The report's sections as tables of dashboard cells (minyi.dashboards.cells), built once
from the figures dict and written twice: into the PDF (pdf.py) and the workbook (xlsx.py).
Both therefore show the same numbers, "<5" and "—" included."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from minyi.dashboards.cells import DASH, Cell, count, interval, number, pct, text


@dataclass
class Section:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # sentences before the table
    note: str = ""


def report_title(figures: dict) -> str:
    return _("%(unit)s民意分析报告（%(month)s）") % {
        "unit": figures["unit"]["name"],
        "month": figures["month"],
    }


def _verdict(key: str) -> str:
    return {
        "up": _("上升（超出误差范围）"),
        "down": _("下降（超出误差范围）"),
        "noise": _("在误差范围内，不视为变化"),
        "none": _("样本不足，无法比较"),
    }[key]


def _points(value) -> Cell:
    """A difference of two rates in percentage points."""
    if value is None:
        return Cell(DASH, None, num=True)
    return Cell(f"{value * 100:+.1f}", round(value * 100, 2), num=True, fmt="0.0")


def _unit_name(row: dict) -> str:
    if row.get("unit") is None:
        return _("合计")
    return row["unit"]["name"] + (_("（本级）") if row.get("own") else "")


def _with_total(fig: dict) -> list[dict]:
    return [*fig["rows"], {**fig["total"], "unit": None}]


def _rate_headers(label: str) -> list[str]:
    return [label, _("95%区间")]


@dataclass
class IntervalCell(Cell):
    """An interval as the page writes it ("80.9–91.0%"), with its bounds as numbers for the
    workbook (two columns there)."""

    low: float | None = None
    high: float | None = None


def _interval(r: dict) -> Cell:
    c = interval(r)
    if r.get("suppressed") or r.get("low") is None:
        return IntervalCell(c.text, None, num=True)
    return IntervalCell(c.text, None, num=True, low=round(r["low"], 4), high=round(r["high"], 4))


def _pct_cell(r: dict) -> list[Cell]:
    return [pct(r.get("rate"), suppressed=bool(r.get("suppressed"))), _interval(r)]


def summary(figures: dict) -> Section:
    cur = figures["current"]
    section = Section(
        "summary",
        _("概览"),
        [_("指标"), _("本月"), _("95%区间"), _("样本"), _("上月"), _("变化（百分点）"), _("判断")],
    )
    rates = {
        "satisfaction": cur["satisfaction"]["total"],
        "callbacks": cur["callbacks"]["total"],
        "workorders": cur["workorders"]["total"]["on_time"],
        "opinions": cur["opinions"]["total"]["reply"],
    }
    for row in figures["changes"]["headline"]:
        r = rates[row["key"]]
        section.rows.append(
            [
                text(row["label"]),
                *_pct_cell(r),
                count(r["n"]),
                pct(row["previous"]),
                _points(row["diff"]),
                text(_verdict(row["verdict"])),
            ]
        )
    section.lines = [
        _("统计时段：%(start)s 至 %(end)s；对比时段：%(prev)s。")
        % {
            "start": cur["period"]["start"],
            "end": cur["period"]["end"],
            "prev": figures["previous_month"],
        }
    ]
    own = cur["ranking"]["own"]
    if own and own["ranked"]:
        section.lines.append(
            _("在 %(n)d 个同类单位中排第 %(k)d 名（90%%可能区间 %(lo)d–%(hi)d）。")
            % {
                "n": own["group"]["ranked"],
                "k": own["median_rank"],
                "lo": own["rank_low"],
                "hi": own["rank_high"],
            }
        )
    warnings = cur["warnings"]
    section.lines.append(
        _(
            "本月新发预警 %(n)d 个（红色 %(red)d、橙色 %(orange)d），"
            "其中已申辩 %(replied)d 个、启动问责 %(cases)d 个。"
        )
        % {"n": warnings["total"], **warnings["counts"]}
    )
    section.note = _(
        "“判断”只在本月与上月的95%区间不重叠时称为上升或下降；区间重叠的差异在误差范围内，"
        "不视为变化。"
    )
    return section


def trend(figures: dict) -> Section:
    fig = figures["current"]["satisfaction"]
    section = Section(
        "trend",
        _("满意率走势"),
        [_("日期"), _("发送"), _("参评"), _("满意"), _("满意率"), _("95%区间")],
    )
    for p in fig["points"]:
        if p["sent"] == 0 and not p["n"] and not p["suppressed"]:
            continue  # a day without surveys: nothing to show
        label = p["start"] if p["start"] == p["end"] else f"{p['start']} – {p['end']}"
        suppressed = bool(p["suppressed"])
        section.rows.append(
            [
                text(label),
                count(p["sent"], suppressed=p["sent"] is None),
                count(p["n"], suppressed=suppressed),
                count(p["s"], suppressed=suppressed),
                *_pct_cell(p),
            ]
        )
    total = fig["total"]
    section.rows.append(
        [text(_("全月")), text(""), count(total["n"]), count(total["s"]), *_pct_cell(total)]
    )
    section.note = _(
        "未发送测评的日期不列出；参评少于 5 人的日期不显示数字（“<5”）。区间为 Wilson 95%置信区间。"
    )
    return section


def ranking(figures: dict) -> Section:
    fig = figures["current"]["ranking"]
    section = Section(
        "ranking",
        _("同类单位排名"),
        [
            _("单位"),
            _("参评"),
            _("满意率"),
            _("95%区间"),
            _("结构调整满意率"),
            _("排名（中位）"),
            _("90%排名区间"),
            _("末位概率"),
        ],
    )
    own = fig["own"]
    if own is not None:
        if own["ranked"]:
            section.lines.append(
                _(
                    "本单位满意率 %(rate)s，同类单位平均 %(avg)s，第 %(k)d 名 / 共 %(n)d 个"
                    "同类单位（可能区间 %(lo)d–%(hi)d）。"
                )
                % {
                    "rate": pct(own["rate"]).text,
                    "avg": pct(own["group"]["target"]).text,
                    "k": own["median_rank"],
                    "n": own["group"]["ranked"],
                    "lo": own["rank_low"],
                    "hi": own["rank_high"],
                }
            )
        else:
            section.lines.append(_("本单位本月样本不足或同类单位不足，不排名。"))
    section.lines.append(_("下属%(kind)s排名：") % {"kind": fig["kind_label"]})
    for r in fig["rows"]:
        if r["ranked"]:
            rank = [
                Cell(f"{r['median_rank']} / {r['group']['ranked']}", r["median_rank"], num=True),
                Cell(f"{r['rank_low']}–{r['rank_high']}", f"{r['rank_low']}–{r['rank_high']}"),
                pct(r["p_last"], digits=0),
            ]
        else:
            reason = _("样本不足，不排名") if r["small_sample"] else _("同类单位不足，不排名")
            rank = [text(reason), text(""), text("")]
        section.rows.append(
            [text(r["unit"]["name"]), count(r["n"]), *_pct_cell(r), pct(r["adjusted"]), *rank]
        )
    section.note = _(
        "每个单位只与其同类单位组比较；参评少于 %(min)d 的单位不排名。排名按业务结构调整后的"
        "满意率，排名区间为经验贝叶斯后验。规则版本 %(rule)s。"
    ) % {"min": fig["min_sample"], "rule": fig["rule_version"]}
    return section


def callbacks(figures: dict) -> Section:
    fig = figures["current"]["callbacks"]
    section = Section(
        "callbacks",
        _("回访及时率"),
        [
            *(_("单位"), _("到期回访"), _("按时完成")),
            *_rate_headers(_("按时率")),
            *(_("超时完成"), _("未完成"), _("当前超时")),
        ],
    )
    for r in _with_total(fig):
        section.rows.append(
            [
                text(_unit_name(r)),
                count(r["n"]),
                count(r["s"]),
                *_pct_cell(r),
                count(r["late"]),
                count(r["open"]),
                count(r["overdue_now"]),
            ]
        )
    section.note = _("本月到期的不满意回访（24 小时内回访）；当前超时按报告生成时计。")
    return section


def workorders(figures: dict) -> Section:
    fig = figures["current"]["workorders"]
    section = Section(
        "workorders",
        _("整改工单"),
        [
            _("单位"),
            _("派发"),
            _("按时反馈率"),
            _("95%区间"),
            _("办结率"),
            _("真实解决率"),
            _("在办"),
            _("当前超期"),
        ],
    )
    for r in _with_total(fig):
        section.rows.append(
            [
                text(_unit_name(r)),
                count(r["dispatched"]),
                *_pct_cell(r["on_time"]),
                pct(r["closure"]["rate"]),
                pct(r["resolution"]["rate"]),
                count(r["open"]),
                count(r["overdue_now"]),
            ]
        )
    section.note = _(
        "按时反馈：整改期限（工作日）内提交反馈；办结率：已办结 / 派发（不含撤销）；"
        "真实解决率：追评满意后办结 / 已办结。"
    )
    return section


def opinion_channels(figures: dict) -> Section:
    fig = figures["current"]["opinions"]
    section = Section(
        "opinion_channels",
        _("诉求答复率（按渠道）"),
        [_("受理渠道"), _("受理"), _("已答复"), _("答复率"), _("95%区间")],
    )
    for r in fig["channels"]:
        section.rows.append(
            [text(r["label"]), count(r["received"]), count(r["answered"]), *_pct_cell(r["reply"])]
        )
    total = fig["total"]
    section.rows.append(
        [
            text(_("合计")),
            count(total["received"]),
            count(total["answered"]),
            *_pct_cell(total["reply"]),
        ]
    )
    section.note = _("按提交时间统计本月受理的建议、投诉、咨询和线索举报；答复率：已答复 / 受理。")
    return section


def opinion_units(figures: dict) -> Section:
    fig = figures["current"]["opinions"]
    section = Section(
        "opinion_units",
        _("诉求答复（按单位）"),
        [
            _("单位"),
            _("受理"),
            _("答复率"),
            _("95%区间"),
            _("按期答复率"),
            _("答复满意率"),
            _("当前超期"),
        ],
    )
    for r in _with_total(fig):
        section.rows.append(
            [
                text(_unit_name(r)),
                count(r["received"]),
                *_pct_cell(r["reply"]),
                pct(r["on_time"]["rate"]),
                pct(r["satisfaction"]["rate"]),
                count(r["overdue_now"]),
            ]
        )
    return section


def reasons(figures: dict) -> Section:
    fig = figures["current"]["reasons"]
    section = Section(
        "reasons", _("不满意原因（回访）"), [_("原因"), _("次数"), _("占比"), _("95%区间")]
    )
    for r in fig["rows"]:
        suppressed = bool(r["suppressed"])
        section.rows.append([text(r["label"]), count(r["s"], suppressed=suppressed), *_pct_cell(r)])
    section.note = _(
        "已完成的不满意回访中记录的原因标签（一次回访可有多个标签），共 %(n)d 次回访。"
    ) % {"n": fig["base"]}
    return section


def text_reasons(figures: dict) -> Section:
    fig = figures["current"]["text_reasons"]
    section = Section(
        "text_reasons",
        _("群众文本中的原因"),
        [_("原因"), _("文本数"), _("占比"), _("其中为主要原因"), _("例句（已脱敏）")],
    )
    if fig is None:
        section.lines.append(_("文本原因分析暂未启用。"))
        return section
    section.lines.append(
        _("本月共 %(n)d 条群众文本（回访原因、评价留言、诉求、投诉等）标注了原因。")
        % {"n": fig["total"]}
    )
    if fig["by_source"]:
        section.lines.append("；".join(f"{s['label']} {s['n']}" for s in fig["by_source"]))
    for r in fig["rows"]:
        quotes = fig["quotes"].get(r["tag"], [])
        section.rows.append(
            [
                text(r["label"]),
                count(r["n"]),
                pct(r.get("share")),
                count(r.get("primary")),
                text("；".join(f"“{q}”" for q in quotes)),
            ]
        )
    return section


def emerging(figures: dict) -> Section:
    fig = figures["current"]["emerging"]
    section = Section(
        "emerging",
        _("热点（新出现的问题）"),
        [
            _("单位"),
            _("原因或关键词"),
            _("本期"),
            _("预期"),
            _("倍数"),
            _("p 值"),
            _("说明"),
            _("例句（已脱敏）"),
        ],
    )
    if fig is None:
        section.lines.append(_("热点分析暂未启用。"))
        return section
    if not fig["rows"]:
        section.lines.append(_("本月没有超出基线的热点。"))
    for r in fig["rows"]:
        section.rows.append(
            [
                text(r.get("unit_name")),
                text("、".join([r.get("label") or r.get("key"), *(r.get("also") or [])[:5]])),
                count(r.get("current")),
                number(r.get("expected"), 1),
                number(r.get("ratio"), 1),
                Cell(f"{r['p_value']:.2g}", r["p_value"], num=True)
                if r.get("p_value") is not None
                else Cell(DASH, None, num=True),
                text(r.get("words")),
                text("；".join(f"“{q}”" for q in r.get("quotes") or [])),
            ]
        )
    window = fig.get("window") or ["", ""]
    baseline = fig.get("baseline") or ["", ""]
    section.note = _("检测窗口 %(w0)s 至 %(w1)s，基线 %(b0)s 至 %(b1)s；规则版本 %(rule)s。") % {
        "w0": window[0],
        "w1": window[1],
        "b0": baseline[0],
        "b1": baseline[1],
        "rule": fig["rule_version"],
    }
    return section


def warnings(figures: dict) -> Section:
    fig = figures["current"]["warnings"]
    section = Section(
        "warnings",
        _("三色预警及处置"),
        [
            _("预警对象"),
            _("类别"),
            _("单位"),
            _("预警等级"),
            _("开始日期"),
            _("申辩"),
            _("问责"),
            _("结果"),
        ],
    )
    c = fig["counts"]
    section.lines.append(
        _(
            "本月新发预警 %(n)d 个：红色 %(red)d、橙色 %(orange)d；民警 %(officer)d、单位 "
            "%(unit)d。已申辩 %(replied)d 个，启动问责 %(cases)d 个，已结束 %(ended)d 个。"
        )
        % {"n": fig["total"], **c}
    )
    for r in fig["rows"]:
        case = r["case"] + (f"（{r['decision']}）" if r["decision"] else "")
        section.rows.append(
            [
                text(r["who"]),
                text(r["subject_label"]),
                text(r["unit"]["name"]),
                text(r["colour_label"]),
                text(r["started"]),
                count(r["replies"]),
                text(case or _("未启动")),
                text(r["outcome"]),
            ]
        )
    return section


def changes(figures: dict) -> Section:
    section = Section(
        "changes",
        _("与上月相比"),
        [_("指标"), _("本月"), _("上月"), _("变化（百分点）"), _("判断")],
    )
    ch = figures["changes"]
    for row in ch["headline"]:
        section.rows.append(
            [
                text(row["label"]),
                pct(row["current"]),
                pct(row["previous"]),
                _points(row["diff"]),
                text(_verdict(row["verdict"])),
            ]
        )
    for row in ch["reasons"]:
        section.rows.append(
            [
                text(_("原因占比：%(label)s") % {"label": row["label"]}),
                pct(row["current"]),
                pct(row["previous"]),
                _points(row["diff"]),
                text(_verdict(row["verdict"])),
            ]
        )
    section.note = _(
        "只有本月与上月的95%区间不重叠，才称为上升或下降（偏保守的判断）；区间重叠时差异"
        "可能只是随机波动。"
    )
    return section


BUILDERS = (
    summary,
    trend,
    ranking,
    callbacks,
    workorders,
    opinion_channels,
    opinion_units,
    reasons,
    text_reasons,
    emerging,
    warnings,
    changes,
)


def report_sections(figures: dict) -> list[Section]:
    return [build(figures) for build in BUILDERS]
