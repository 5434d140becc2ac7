"""Demo: the annual assessment (年度综合考评, DOMAIN.md capability 2) of the demo city, made by
the real services on top of the polls of `minyi.demo.polls`.

- Business figures for the two last completed half-years: imported ones (破案率, 追赃率,
  受立案规范率, each with numerator and denominator) and Minyi's own, computed by
  `business_figures_compute` from the history where it reaches and otherwise drawn (source
  "computed", as the service would have stored them).
- An active rule for each year the assessments or today fall in (public opinion 0.55: the
  five poll indicators; business 0.45: clearance, recovery, on-time rectification and
  callbacks), the three peer groups attached; a draft rule for next year.
- The two assessments, computed by `assessment_compute`: 塔山派出所 is marked last in both,
  which opens an accountability case (问责); its leader (tashan_leader) has replied, the
  city's supervisor is to decide. The previous assessment is approved, the latest approved
  and published (the citizens' ranking page). An older case of 府山派出所 was decided (约谈).
- Tenure rows (任职经历) of every polled unit's chief, some with an earlier post, for the
  promotion review sheet.

`build_assessment_demo` does all of it in one transaction, once (`assessment_demo_exists`).
"""

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from minyi.accountability.models import AccountabilityCase, CaseStatus, CaseTrigger, Decision
from minyi.accountability.services import case_decide, case_open, case_reply
from minyi.assessment.compute import assessment_compute
from minyi.assessment.figures import business_figures_compute
from minyi.assessment.models import (
    Assessment,
    BusinessCode,
    BusinessFigure,
    FigureSource,
    Tenure,
)
from minyi.assessment.services import (
    IndicatorSpec,
    assessment_approve,
    assessment_publish,
    rule_activate,
    rule_save,
)
from minyi.core.stats import wilson_interval
from minyi.demo.city_plan import DEFAULT_SEED, ROOT_CODE
from minyi.demo.contacts import DemoHistoryError
from minyi.demo.polls import (
    PEER_GROUPS,
    WEAK_ONCE,
    WEAK_TWICE,
    DemoPolls,
    Period,
    half_of,
    polled_units,
    polls_demo_create,
)
from minyi.orgs.choices import Position, UnitKind
from minyi.orgs.models import Officer, OrgUnit, PeerGroup, User
from minyi.polls.models import Indicator
from minyi.polls.services import poll_weigh

ADMIN, SUPERVISOR = "city_admin", "city_supervisor"
OLD_CASE_UNIT = "330602001"  # 府山派出所 (fushan_leader): an older case, decided 约谈

PUBLIC_WEIGHT = Decimal("0.55")
RULE_INDICATORS = (
    *(IndicatorSpec(code=i.value, weight=Decimal("0.11")) for i in Indicator),
    IndicatorSpec(code=BusinessCode.CLEARANCE, weight=Decimal("0.15")),
    IndicatorSpec(code=BusinessCode.RECOVERY, weight=Decimal("0.10")),
    IndicatorSpec(code=BusinessCode.RECTIFICATION_ON_TIME, weight=Decimal("0.10")),
    IndicatorSpec(code=BusinessCode.CALLBACK_ON_TIME, weight=Decimal("0.10")),
)
# Next year's draft, under discussion: public opinion up to 0.60.
DRAFT_INDICATORS = (
    *(IndicatorSpec(code=i.value, weight=Decimal("0.12")) for i in Indicator),
    IndicatorSpec(code=BusinessCode.CLEARANCE, weight=Decimal("0.15")),
    IndicatorSpec(code=BusinessCode.RECOVERY, weight=Decimal("0.10")),
    IndicatorSpec(code=BusinessCode.RECTIFICATION_ON_TIME, weight=Decimal("0.15")),
)

WEAK_REPLY = (
    "关于我所两次考评排名末位的书面说明：\n"
    "一、原因。今年辖区新建两个大型安置小区，流动人口增加约三成，夜间警力不足，巡逻覆盖不够，"
    "群众见警率和安全感下降；窗口高峰时段排队时间长，部分民警服务意识不强；"
    "社区民警调整后入户走访不到位，群众对社区民警知晓率低。\n"
    "二、整改措施。1. 调整勤务，晚8点至凌晨2点增加一组巡逻力量，夜市周边设固定警务点；"
    "2. 窗口实行弹性排班和午间不打烊，开展服务规范培训；"
    "3. 社区民警每月走访不少于20户，在小区公示照片和联系电话；"
    "4. 对回访不满意件逐件分析，所领导包案整改。\n"
    "三、本人作为所长负主要领导责任，请局党委批评指正。"
)
OLD_REPLY = (
    "我所两次考评末位，主要原因是辖区老旧小区盗窃案件多发、破案率偏低，社区民警力量不足。"
    "已制定整改方案，增加技防设施，开展专项打击。"
)
OLD_REASON = (
    "该所连续两次考评末位，群众满意度和见警率明显低于同类派出所，经核实情况属实，"
    "但所领导已主动制定整改方案。决定对所长进行约谈，限期三个月整改，整改情况纳入下次考评。"
)


def assessment_demo_exists() -> bool:
    return PeerGroup.objects.filter(owner__code=ROOT_CODE, name=PEER_GROUPS[0][0]).exists()


# --- Business figures ---------------------------------------------------------------------------


def _rate(rng: random.Random, low: float, high: float) -> float:
    return rng.uniform(low, high)


def _figure(unit, code, period: Period, denominator: int, rate: float, source) -> BusinessFigure:
    rate = min(max(rate, 0.0), 1.0)
    return BusinessFigure(
        unit=unit, code=code, period_start=period.start, period_end=period.end,
        numerator=round(denominator * rate), denominator=denominator, source=source,
    )  # fmt: skip


def _imported_figures(rng, unit: OrgUnit, period: Period, weak: bool) -> list:
    """破案率, 追赃率, 受立案规范率 as the bureau's case system exports them."""
    if unit.kind == UnitKind.CRIMINAL_BRIGADE:
        cases, clear = rng.randint(80, 200), _rate(rng, 0.76, 0.90)
    elif unit.kind == UnitKind.TRAFFIC_BRIGADE:  # 交通肇事逃逸案件
        cases, clear = rng.randint(20, 60), _rate(rng, 0.86, 0.97)
    else:
        cases, clear = rng.randint(60, 220), _rate(rng, 0.50, 0.66)
    recover = _rate(rng, 0.38, 0.58)
    if weak:
        clear, recover = clear - 0.08, recover - 0.08
    with_loot = max(10, round(cases * rng.uniform(0.45, 0.7)))
    source = FigureSource.IMPORTED
    return [
        _figure(unit, BusinessCode.CLEARANCE, period, cases, clear, source),
        _figure(unit, BusinessCode.RECOVERY, period, with_loot, recover, source),
        _figure(unit, BusinessCode.CASE_FILING, period, cases * 3 + rng.randint(0, 40),
                _rate(rng, 0.94, 0.995), source),
    ]  # fmt: skip


def _computed_figures(rng, unit: OrgUnit, period: Period, weak: bool) -> list:
    """Minyi's own figures for a period the demo history does not reach."""
    station = unit.kind == UnitKind.POLICE_STATION
    gap = 0.08 if weak else 0.0
    source = FigureSource.COMPUTED
    replies = rng.randint(400, 1200) if station else rng.randint(200, 600)
    return [
        _figure(unit, BusinessCode.SURVEY_SATISFACTION, period, replies,
                _rate(rng, 0.93, 0.97) - gap / 2, source),
        _figure(unit, BusinessCode.CALLBACK_ON_TIME, period, rng.randint(15, 60),
                _rate(rng, 0.86, 0.98) - gap, source),
        _figure(unit, BusinessCode.RECTIFICATION_ON_TIME, period, rng.randint(10, 40),
                _rate(rng, 0.82, 0.97) - gap * 1.5, source),
        _figure(unit, BusinessCode.OPINION_REPLY, period, rng.randint(8, 50),
                _rate(rng, 0.96, 1.0), source),
        _figure(unit, BusinessCode.TRUE_RESOLUTION, period, rng.randint(10, 40),
                _rate(rng, 0.76, 0.92) - gap, source),
    ]  # fmt: skip


def business_figures_create(
    *, admin, root: OrgUnit, units: list[OrgUnit], halves, today: date, seed: int
) -> int:
    """Imported figures for every unit and half-year; Minyi's computed ones from the real
    service, completed with drawn ones where the history does not reach."""
    rows = []
    for index, period in enumerate(halves):
        business_figures_compute(
            owner=root, period_start=period.start, period_end=period.end, actor=admin,
            today=today,
        )  # fmt: skip
        have = set(
            BusinessFigure.objects.filter(
                unit__in=units, period_start=period.start, period_end=period.end
            ).values_list("unit_id", "code")
        )
        rng = random.Random(f"{seed}:figures:{period.start}")  # noqa: S311
        for unit in units:
            weak = unit.code == WEAK_TWICE or (unit.code == WEAK_ONCE and index == 0)
            drawn = _imported_figures(rng, unit, period, weak)
            drawn += _computed_figures(rng, unit, period, weak)
            rows += [f for f in drawn if (unit.pk, f.code) not in have]
    BusinessFigure.objects.bulk_create(rows, batch_size=1000)
    return BusinessFigure.objects.filter(unit__in=units).count()


# --- Rules, assessments, accountability ---------------------------------------------------------


def rules_create(*, admin, root: OrgUnit, groups, years: list[int], today: date) -> dict:
    """An active rule for each of `years`; a draft for next year. {year: rule}."""
    rules = {}
    for year in years:
        rule = rule_save(
            actor=admin, owner=root, year=year, indicators=list(RULE_INDICATORS),
            peer_groups=groups,
            note=f"{year}年度综合考评：民意测评权重55%（五项指标各11%），业务指标45%。",
        )  # fmt: skip
        rules[year] = rule_activate(actor=admin, rule=rule)
    rule_save(
        actor=admin, owner=root, year=today.year + 1, indicators=list(DRAFT_INDICATORS),
        peer_groups=groups, note="征求意见稿：民意测评权重拟提高到60%。",
    )  # fmt: skip
    return rules


def assessments_create(*, admin, supervisor, rules: dict, demo: DemoPolls) -> list[Assessment]:
    """The previous and the latest half-year, computed, approved; the latest published."""
    done = []
    for period in demo.calendar.halves:
        polls = [p for p in demo.imported if period.start <= p.fielded_to <= period.end]
        assessment = assessment_compute(
            rule=rules[period.start.year], label=f"{period.label}综合考评",
            period_start=period.start, period_end=period.end, polls=polls, actor=admin,
        )  # fmt: skip
        done.append(assessment_approve(actor=supervisor, assessment=assessment))
    done[-1] = assessment_publish(actor=supervisor, assessment=done[-1])
    return done


def _leader_replies(*, unit: OrgUnit) -> AccountabilityCase | None:
    """The weak station's leader replies to the case the assessments opened."""
    case = AccountabilityCase.objects.filter(
        unit=unit, trigger=CaseTrigger.ASSESSMENT, status=CaseStatus.OPEN
    ).first()
    if case is None or case.leader is None:
        return case
    return case_reply(actor=case.leader, case=case, text=WEAK_REPLY)


def _older_result(rng: random.Random, label: str, period: Period, p_bottom3: float) -> dict:
    """One assessment result of a year before, in the gate's evidence shape (as
    `assessment.compute` stores it): the composite, the rank with its interval, the gate's
    probabilities and the poll indicators with their Wilson intervals."""
    indicators = {}
    for indicator, rate in (
        (Indicator.SATISFACTION, 0.81), (Indicator.SAW_POLICE, 0.72), (Indicator.SAFETY, 0.86),
        (Indicator.ATTITUDE, 0.83), (Indicator.FAMILIARITY, 0.66),
    ):  # fmt: skip
        n = rng.randint(700, 760)
        n_eff = round(n / rng.uniform(1.18, 1.26), 1)
        value = rate + rng.uniform(-0.01, 0.01)
        low, high = wilson_interval(value * n_eff, n_eff)
        indicators[indicator.value] = {
            "label": str(indicator.label), "value": value, "low": low, "high": high, "n": n,
            "n_eff": n_eff, "weight": "0.110", "direction": "higher", "source": "poll",
        }  # fmt: skip
    composite = rng.uniform(-2.6, -2.2)
    return {
        "label": label,
        "period": [period.start.isoformat(), period.end.isoformat()],
        "peer_group": PEER_GROUPS[0][0],
        "composite": [composite, composite - 0.55, composite + 0.5],
        "rank": {"raw": 47, "median": 46.0, "interval": [44, 47]},
        "peers": 47,
        "p_last": round(p_bottom3 - 0.3, 2),
        "p_bottom3": p_bottom3,
        "z_adjusted": round(rng.uniform(-3.3, -2.6), 2),
        "n_eff": min(f["n_eff"] for f in indicators.values()),
        "indicators": indicators,
    }


def _older_case(*, unit: OrgUnit, supervisor, halves, seed: int) -> AccountabilityCase:
    """A case of a year before the demo's assessments (two marks in the two half-years
    before them), replied to and decided (约谈), for the history."""
    previous = halves[0]
    second = half_of(previous.start - timedelta(days=1))
    first = half_of(second.start - timedelta(days=1))
    labels = [f"{first.label}综合考评", f"{second.label}综合考评"]
    tz = timezone.get_current_timezone()
    opened = datetime.combine(second.end + timedelta(days=25), datetime.min.time(), tz)
    opened += timedelta(hours=10)
    rng = random.Random(f"{seed}:cases:older")  # noqa: S311
    key = f"demo:assessment:{unit.code}:{first.start.isoformat()}"
    case = case_open(
        unit=unit,
        trigger=CaseTrigger.ASSESSMENT,
        source={"labels": labels},
        evidence={
            "results": [
                _older_result(rng, labels[0], first, 0.91),
                _older_result(rng, labels[1], second, 0.84),
            ],
            "callback_reasons": [
                {"tag": "出警慢", "count": 14},
                {"tag": "态度不好", "count": 9},
                {"tag": "夜间巡逻少", "count": 6},
            ],
            "opinions": {"complaint": 7, "suggestion": 5},
        },
        rule_version=f"assess-{second.start.year}.1 / stats-{second.start.year}.1",
        key=key,
        now=opened,
    )
    if case is None:  # opened before
        return AccountabilityCase.objects.get(key=key)
    leader = case.leader
    if leader is not None:
        case = case_reply(actor=leader, case=case, text=OLD_REPLY, now=opened + timedelta(days=4))
    return case_decide(
        actor=supervisor, case=case, decision=Decision.INTERVIEW, reason=OLD_REASON,
        now=opened + timedelta(days=11, hours=5),
    )  # fmt: skip


# --- Tenure (任职经历) ----------------------------------------------------------------------------


def _titles(unit: OrgUnit) -> tuple[str, str]:
    if unit.kind == UnitKind.POLICE_STATION:
        return "所长", "副所长"
    if unit.depth == 2:  # the city's own detachments
        return "支队长", "副支队长"
    return "大队长", "副大队长"


def tenures_create(*, units: list[OrgUnit], today: date, seed: int) -> int:
    """Each chief's current post; about half came from a deputy post at a peer unit."""
    rng = random.Random(f"{seed}:tenures")  # noqa: S311
    by_kind: dict[str, list[OrgUnit]] = {}
    for unit in units:
        by_kind.setdefault(unit.kind, []).append(unit)
    chiefs = Officer.objects.filter(unit__in=units, position=Position.CHIEF).select_related("unit")
    rows = []
    for officer in chiefs.order_by("unit__path", "pk"):
        title = _titles(officer.unit)[0]
        # Some took office during the polled waves: their earlier post then shows figures too.
        started = today - timedelta(days=rng.randint(150, 2400))
        rows.append(Tenure(officer=officer, unit=officer.unit, title=title, started_on=started))
        if rng.random() < 0.5:
            peers = [u for u in by_kind[officer.unit.kind] if u.pk != officer.unit_id]
            if peers:
                before = started - timedelta(days=rng.randint(700, 1800))
                earlier = rng.choice(peers)
                rows.append(
                    Tenure(
                        officer=officer, unit=earlier, title=_titles(earlier)[1],
                        started_on=before, ended_on=started - timedelta(days=1),
                    )
                )  # fmt: skip
    Tenure.objects.bulk_create(rows)
    return len(rows)


# --- Everything ---------------------------------------------------------------------------------


@dataclass
class DemoAssessment:
    created: bool
    seconds: float = 0.0
    polls: int = 0
    respondents: int = 0
    figures: int = 0
    assessments: list[str] | None = None
    marked: list[str] | None = None
    cases: int = 0
    tenures: int = 0


def summary_line(demo: DemoAssessment) -> str:
    if not demo.created:
        return "Assessment demo data exists already; nothing was written."
    marked = "、".join(demo.marked or []) or "–"
    return (
        f"Assessment demo written in {demo.seconds:.1f}s: {demo.polls} polls "
        f"({demo.respondents} respondents), {demo.figures} business figures, assessments "
        f"{'、'.join(demo.assessments or [])} (marked last: {marked}), "
        f"{demo.cases} accountability cases, {demo.tenures} tenure rows."
    )


def build_assessment_demo(*, seed: int = DEFAULT_SEED, now=None) -> DemoAssessment:
    """Polls, business figures, rules, two assessments, accountability cases and tenures of
    the demo city, once, in one transaction. `now` sets the day the demo is built for (the
    services stamp their own rows with the clock)."""
    if not settings.DEMO_MODE:
        raise DemoHistoryError("the assessment demo is written only in demo mode (DEMO_MODE)")
    started = time.perf_counter()
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        if assessment_demo_exists():
            return DemoAssessment(created=False)
        root = OrgUnit.objects.filter(code=ROOT_CODE).first()
        users = {u.username: u for u in User.objects.filter(username__in=[ADMIN, SUPERVISOR])}
        if root is None or len(users) < 2:
            raise DemoHistoryError(f"the demo city (unit {ROOT_CODE}) does not exist")
        admin, supervisor = users[ADMIN], users[SUPERVISOR]
        demo = polls_demo_create(root=root, admin=admin, today=today, now=now, seed=seed)
        for poll in [*demo.imported, demo.collected]:
            poll_weigh(poll=poll, actor=admin)
        units = polled_units(root)
        halves = demo.calendar.halves
        figures = business_figures_create(
            admin=admin, root=root, units=units, halves=halves, today=today, seed=seed
        )
        years = sorted({p.start.year for p in halves} | {today.year})
        rules = rules_create(admin=admin, root=root, groups=demo.groups, years=years, today=today)
        assessments = assessments_create(admin=admin, supervisor=supervisor, rules=rules, demo=demo)
        by_code = {u.code: u for u in units}
        _leader_replies(unit=by_code[WEAK_TWICE])
        _older_case(unit=by_code[OLD_CASE_UNIT], supervisor=supervisor, halves=halves, seed=seed)
        tenures = tenures_create(units=units, today=today, seed=seed)
        marked = sorted(
            {
                r.unit.display_name
                for a in assessments
                for r in a.results.filter(marked_last=True).select_related("unit")
            }
        )
    return DemoAssessment(
        created=True,
        seconds=time.perf_counter() - started,
        polls=len(demo.imported) + 1,
        respondents=demo.respondents,
        figures=figures,
        assessments=[a.label for a in assessments],
        marked=marked,
        cases=AccountabilityCase.objects.filter(unit__path__startswith=root.path).count(),
        tenures=tenures,
    )
