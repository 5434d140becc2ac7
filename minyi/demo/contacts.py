"""The demo city's police contacts and what citizens answer (capability 1, DOMAIN.md), as
the history (`minyi.demo.history`) and the live traffic (`minyi.demo.traffic`) draw them: the
business types' shares, hours and risks, what citizens write, the city as the simulation sees
it (`load_catalogue`) and one day of planned contacts (`plan_day`).

Realism (Shaoxing reports 5,000+ contacts a day for the whole city; the demo uses a lighter
~600–900): contacts spread over stations and brigades by their size, 110 and window services
most frequent, sensitive types occasionally (the rules never survey them), daytime mostly
(110 also at night), one or two officers of the unit, synthetic mobiles with repeat
customers (跑多次, who are also less satisfied). About 37% of citizens answer (a quarter of
them on the H5 page); about 95% of answers are 1–3, with enforcement contacts, two weak
stations, a weak traffic brigade and 1.5% of officers noticeably worse, four stations better,
and a slow improvement over the period, so that dashboards and warnings have something to
show.
"""

import math
import random
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime

from django.utils import timezone

from minyi.demo.city_plan import DEFAULT_SEED, ROOT_CODE
from minyi.demo.corpus import corpus_texts
from minyi.orgs.choices import Position, UnitKind
from minyi.orgs.models import Officer, OrgUnit
from minyi.perception.models import SATISFIED_RATINGS, BusinessType, ReasonTag
from minyi.perception.replies import parse_reply

HISTORY_SOURCE = "demo"
LIVE_SOURCE = "demo-live"
DEMO_SOURCES = (HISTORY_SOURCE, LIVE_SOURCE)
GATEWAY = "console"

BASE_EVENTS_PER_DAY = 820  # a weekday; weekends have fewer window services (~550–650)
TARGET_UNSATISFIED = 0.05  # share of answers rated 4–5 across the city


class DemoHistoryError(Exception):
    pass


# --- Business types ------------------------------------------------------------------------

# Hours of the day (0–23), relative weights.
_WINDOW_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 3, 10, 11, 6, 1.5, 3, 9, 10, 8, 2, 0.3, 0.2, 0, 0, 0, 0)
_DISPATCH_HOURS = (2, 1.5, 1.2, 1, 1, 1.2, 2, 3.5, 5, 6, 6.5, 6.5, 6, 6, 6, 6, 6.5, 7, 7.5, 7.5,
                   7, 6, 4.5, 3)  # fmt: skip
_ROAD_HOURS = (1, 0.6, 0.5, 0.4, 0.4, 0.8, 2, 6, 8, 5, 4, 4, 3.5, 3.5, 4, 4.5, 6, 8, 7, 4, 3,
               2.5, 2, 1.5)  # fmt: skip
_OFFICE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0.3, 4, 9, 9, 7, 2, 4, 8, 9, 8, 4, 1, 0.5, 0.3, 0, 0, 0)
_CASE_HOURS = (1.5, 1.2, 1, 0.8, 0.6, 0.6, 1, 2, 4, 6, 6, 5.5, 4, 5, 6, 6, 5.5, 5, 4.5, 4, 3.5,
               3, 2.5, 2)  # fmt: skip

# Day of week (Monday first): window services are mostly closed at weekends.
_WEEKDAYS_OFFICE = (1, 1, 1, 1, 1, 0.45, 0.25)
_WEEKDAYS_STREET = (0.95, 0.95, 0.95, 0.97, 1.05, 1.12, 1.08)
_WEEKDAYS_FLAT = (1, 1, 1, 1, 1, 1, 1)

P = Position


@dataclass(frozen=True)
class TypeSpec:
    code: str
    share: float  # of all contacts
    units: dict  # unit class → weight (multiplied by the unit's number of officers)
    positions: tuple  # who handles it
    hours: tuple
    weekdays: tuple
    reply: float  # probability that a surveyed citizen answers
    unsatisfied: float  # relative risk of a 4–5 answer
    repeat: float  # probability that the contact is a return trip for the same business
    two_officers: float
    comments: str  # key into the comment lists
    no_mobile: float = 0.005


TYPE_SPECS = (
    TypeSpec("emergency_call_110", 0.28, {"station": 1}, (P.PATROL, P.COMMUNITY, P.DEPUTY),
             _DISPATCH_HOURS, _WEEKDAYS_STREET, 0.36, 1.0, 0.04, 0.75, "dispatch", 0.03),
    TypeSpec("help_request", 0.06, {"station": 1}, (P.PATROL, P.COMMUNITY),
             _DISPATCH_HOURS, _WEEKDAYS_STREET, 0.40, 0.8, 0.02, 0.6, "dispatch", 0.02),
    TypeSpec("dispute_mediation", 0.06, {"station": 1}, (P.COMMUNITY, P.PATROL, P.DEPUTY),
             _DISPATCH_HOURS, _WEEKDAYS_STREET, 0.33, 1.6, 0.05, 0.7, "dispute"),
    TypeSpec("hukou_registration", 0.12, {"station": 1}, (P.WINDOW,),
             _WINDOW_HOURS, _WEEKDAYS_OFFICE, 0.42, 0.6, 0.07, 0.05, "window"),
    TypeSpec("id_card", 0.13, {"station": 1}, (P.WINDOW,),
             _WINDOW_HOURS, _WEEKDAYS_OFFICE, 0.42, 0.5, 0.06, 0.05, "window"),
    TypeSpec("exit_entry_permit", 0.05, {"exit_entry": 3, "bureau": 0.5}, (P.WINDOW, P.STAFF),
             _WINDOW_HOURS, _WEEKDAYS_OFFICE, 0.44, 0.6, 0.05, 0.05, "window"),
    TypeSpec("driving_licence", 0.06, {"city_traffic": 2, "traffic": 1}, (P.STAFF, P.TRAFFIC),
             _WINDOW_HOURS, _WEEKDAYS_OFFICE, 0.40, 0.8, 0.06, 0.05, "window"),
    TypeSpec("vehicle_registration", 0.04, {"city_traffic": 2, "traffic": 1},
             (P.STAFF, P.TRAFFIC), _WINDOW_HOURS, _WEEKDAYS_OFFICE, 0.40, 0.8, 0.06, 0.05,
             "window"),
    TypeSpec("traffic_accident", 0.06, {"traffic": 1, "city_traffic": 0.3}, (P.TRAFFIC,),
             _ROAD_HOURS, _WEEKDAYS_STREET, 0.33, 1.6, 0.03, 0.7, "traffic"),
    TypeSpec("traffic_violation", 0.07, {"traffic": 1, "city_traffic": 1}, (P.TRAFFIC,),
             _OFFICE_HOURS, _WEEKDAYS_OFFICE, 0.27, 3.0, 0.03, 0.3, "penalty"),
    TypeSpec("public_order_case", 0.03, {"station": 1}, (P.CASE, P.DEPUTY),
             _CASE_HOURS, _WEEKDAYS_FLAT, 0.28, 2.2, 0.03, 0.9, "case"),
    TypeSpec("crime_scene_investigation", 0.02, {"criminal": 1, "city_criminal": 0.3},
             (P.DETECTIVE,), _CASE_HOURS, _WEEKDAYS_FLAT, 0.38, 1.5, 0.02, 0.9, "case"),
    TypeSpec("police_complaint", 0.005, {"bureau": 1, "city": 0.5}, (P.STAFF,),
             _OFFICE_HOURS, _WEEKDAYS_OFFICE, 0.55, 4.0, 0.05, 0.5, "complaint"),
    # Sensitive: the real rules never survey them.
    TypeSpec("domestic_violence", 0.008, {"station": 1}, (P.PATROL, P.COMMUNITY),
             _CASE_HOURS, _WEEKDAYS_STREET, 0, 1, 0, 0.9, "case"),
    TypeSpec("sexual_offence", 0.001, {"criminal": 1}, (P.DETECTIVE,),
             _CASE_HOURS, _WEEKDAYS_FLAT, 0, 1, 0, 0.9, "case"),
    TypeSpec("detention_arrest", 0.008, {"station": 1, "criminal": 0.5}, (P.CASE, P.DETECTIVE),
             _CASE_HOURS, _WEEKDAYS_FLAT, 0, 1, 0, 1.0, "case"),
    TypeSpec("criminal_suspect", 0.005, {"criminal": 1}, (P.DETECTIVE,),
             _CASE_HOURS, _WEEKDAYS_FLAT, 0, 1, 0, 1.0, "case"),
    TypeSpec("death_handling", 0.003, {"station": 1}, (P.PATROL, P.CASE),
             _CASE_HOURS, _WEEKDAYS_FLAT, 0, 1, 0, 1.0, "case"),
)  # fmt: skip


# --- What citizens write -------------------------------------------------------------------

RATING_WORDS = {
    1: ("非常满意", "很满意", "非常满意！"),
    2: ("满意", "比较满意", "满意。"),
    3: ("基本满意", "还可以", "还行"),
    4: ("不满意", "不太满意"),
    5: ("非常不满意", "很不满意"),
}
LUKEWARM = ("等的时间有点长", "就是人太多", "希望提高效率", "流程还能再简化", "停车不方便")
# A business's own terse complaints, now and then; most remarks come from minyi.demo.corpus.
COMPLAINTS = {
    "window": ("等太久了", "排队排了两个小时", "材料没有一次说清楚，跑了两趟",
               "窗口人员态度冷淡", "系统老是坏，办不了", "中午没人办理"),
    "dispatch": ("出警太慢了", "等了四十分钟才到", "民警来了也没解决问题", "态度不好，不耐烦",
                 "到现在也没有结果"),
    "dispute": ("调解不公平", "偏向对方", "问题根本没解决", "民警态度很差"),
    "traffic": ("事故责任认定不公平", "等了很久才到现场", "处理太慢", "民警态度生硬"),
    "penalty": ("罚得没道理", "没有解释清楚为什么罚款", "民警态度生硬", "执法不规范"),
    "case": ("案子一直没有进展", "没有告诉我办理结果", "东西到现在还没追回来", "民警态度很差"),
    "complaint": ("投诉的问题没有解决", "处理结果敷衍", "没人联系我"),
}  # fmt: skip
QUESTIONS = (
    "这个短信是真的吗？", "请问身份证什么时候能拿到", "你们是哪个派出所的？", "怎么评价？",
    "好的，收到", "谢谢", "是诈骗短信吗", "已经办好了吗", "？",
)  # fmt: skip
OPT_OUTS = ("TD", "退订", "td", "不要再发了")


def _remark(rng: random.Random, rating: int, comments: str, *, repeat: bool) -> str:
    """Why, in a citizen's own words (minyi.demo.corpus: SMS fragments, typos, dialect):
    praise or thanks after a good rating; after a poor one a complaint, about coming back
    for a return trip, now and then the business's own terse one."""
    if rating <= 2:
        return corpus_texts(rng, "survey", 1, mood="praise")[0][0]
    if repeat and rng.random() < 0.6:
        return corpus_texts(rng, "survey", 1, with_tag=ReasonTag.MULTIPLE_TRIPS)[0][0]
    if rating == 3 and rng.random() < 0.4:
        return rng.choice(LUKEWARM)
    if rng.random() < 0.25:
        return rng.choice(COMPLAINTS[comments])
    return corpus_texts(rng, "survey", 1, mood="complaint")[0][0]


def reply_text(rng: random.Random, rating: int, comments: str, *, repeat: bool = False) -> str:
    """What a citizen sends by SMS to answer with `rating` (1–5): a digit or words, and now
    and then a few words about why (left out when they would blur the rating)."""
    share = 0.18 if rating <= 2 else 0.3 if rating == 3 else 0.7
    remark = _remark(rng, rating, comments, repeat=repeat) if rng.random() < share else ""
    head = str(rating) if rng.random() < 0.65 else rng.choice(RATING_WORDS[rating])
    if not remark:
        return head
    text = head + rng.choice((" ", "，", ",", "。")) + remark
    return text if parse_reply(text).rating == rating else head


def h5_comment(rng: random.Random, rating: int, comments: str, *, repeat: bool = False) -> str:
    if rating in SATISFIED_RATINGS:
        return _remark(rng, rating, comments, repeat=repeat) if rng.random() < 0.12 else ""
    if rng.random() < 0.3:
        return ""
    return _remark(rng, rating, comments, repeat=repeat)


def new_mobile(rng: random.Random) -> str:
    """A synthetic mainland mobile: 13x / 15x / 18x and eight digits."""
    prefix = rng.choice("358")
    return f"1{prefix}{rng.randrange(10)}{rng.randrange(10**8):08d}"


# --- The city as the simulation sees it --------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    id: int
    code: str
    size: int


@dataclass
class Catalogue:
    """Units, officers and business types of the demo city, and who is better or worse."""

    specs: dict[str, TypeSpec]
    type_codes: list[str]
    units: dict[str, list[_Unit]]  # type code → units that handle it
    unit_weights: dict[str, list[float]]
    officers: dict[tuple[int, str], list[str]]  # (unit id, type code) → police numbers
    unit_risk: dict[int, float]
    officer_risk: dict[str, float]
    base_risk: float
    weak_units: list[str] = field(default_factory=list)


def _unit_class(unit: OrgUnit) -> str | None:
    city_level = unit.depth == 2
    return {
        UnitKind.POLICE_STATION: "station",
        UnitKind.TRAFFIC_BRIGADE: "city_traffic" if city_level else "traffic",
        UnitKind.CRIMINAL_BRIGADE: "city_criminal" if city_level else "criminal",
        UnitKind.DISTRICT_BUREAU: "bureau",
        UnitKind.CITY_BUREAU: "city",
        UnitKind.SPECIAL_UNIT: "exit_entry",
    }.get(unit.kind)


def load_catalogue(*, seed: int = DEFAULT_SEED) -> Catalogue:
    root = OrgUnit.objects.filter(code=ROOT_CODE).first()
    if root is None:
        raise DemoHistoryError(f"the demo city (unit {ROOT_CODE}) does not exist")
    units = list(
        OrgUnit.objects.filter(path__startswith=root.path, is_active=True).order_by("path")
    )
    by_unit: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for unit_id, number, position in (
        Officer.objects.filter(unit__path__startswith=root.path, is_active=True)
        .order_by("police_number")
        .values_list("unit_id", "police_number", "position")
    ):
        by_unit[unit_id].append((number, position))
    present = set(
        BusinessType.objects.filter(code__in=[s.code for s in TYPE_SPECS]).values_list(
            "code", flat=True
        )
    )
    specs = {s.code: s for s in TYPE_SPECS if s.code in present}
    if not specs:
        raise DemoHistoryError("the demo business types do not exist")

    rng = random.Random(f"{seed}:history:quality")  # noqa: S311 (demo data, not secrets)
    stations = [u for u in units if u.kind == UnitKind.POLICE_STATION and by_unit[u.pk]]
    brigades = [u for u in units if _unit_class(u) == "traffic" and by_unit[u.pk]]
    unit_risk = {u.pk: math.exp(rng.gauss(0, 0.15)) for u in units}
    weak = rng.sample(stations, min(2, len(stations)))
    for unit, risk in zip(weak, (2.8, 2.2), strict=False):
        unit_risk[unit.pk] = risk
    good = rng.sample([s for s in stations if s not in weak], min(4, max(len(stations) - 2, 0)))
    for unit in good:
        unit_risk[unit.pk] = 0.55
    weak_brigade = rng.sample(brigades, min(1, len(brigades)))
    for unit in weak_brigade:
        unit_risk[unit.pk] = 1.8
    numbers = sorted(n for officers in by_unit.values() for n, _ in officers)
    officer_risk = dict.fromkeys(rng.sample(numbers, len(numbers) * 15 // 1000), 3.5)

    units_for, weights_for, officers_for = {}, {}, {}
    for code, spec in specs.items():
        chosen = [
            (u, spec.units[_unit_class(u)] * len(by_unit[u.pk]))
            for u in units
            if _unit_class(u) in spec.units and by_unit[u.pk]
        ]
        units_for[code] = [_Unit(u.pk, u.code, len(by_unit[u.pk])) for u, _ in chosen]
        weights_for[code] = [w for _, w in chosen]
        for u, _ in chosen:
            fit = [n for n, position in by_unit[u.pk] if position in spec.positions]
            officers_for[(u.pk, code)] = fit or [n for n, _ in by_unit[u.pk]]
    specs = {c: s for c, s in specs.items() if units_for[c]}

    # Scale the risk so that about TARGET_UNSATISFIED of all answers are 4–5.
    answered = risky = 0.0
    for code, spec in specs.items():
        total = sum(weights_for[code])
        mean_unit = (
            sum(
                w * unit_risk[u.id] for u, w in zip(units_for[code], weights_for[code], strict=True)
            )
            / total
        )
        answered += spec.share * spec.reply
        risky += spec.share * spec.reply * spec.unsatisfied * mean_unit
    base = TARGET_UNSATISFIED / (risky / answered) / 1.07  # officers and return trips add ~7%

    return Catalogue(
        specs=specs,
        type_codes=list(specs),
        units=units_for,
        unit_weights=weights_for,
        officers=officers_for,
        unit_risk=unit_risk,
        officer_risk=officer_risk,
        base_risk=base,
        weak_units=[u.code for u in [*weak, *weak_brigade]],
    )


@dataclass(frozen=True)
class PlannedEvent:
    external_id: str
    type_code: str
    unit_id: int
    unit_code: str
    officers: tuple[str, ...]
    mobile: str
    occurred_at: datetime
    repeat: bool  # a return trip for the same business at the same unit (跑多次)

    def item(self, source: str) -> dict:
        return {
            "source": source,
            "external_id": self.external_id,
            "business_type": self.type_code,
            "unit": self.unit_code,
            "officers": list(self.officers),
            "citizen_mobile": self.mobile,
            "occurred_at": self.occurred_at,
        }


class Citizens:
    """Who comes: mostly new numbers, sometimes someone back for the same business."""

    def __init__(self):
        self.recent: dict[tuple[int, str], deque] = defaultdict(lambda: deque(maxlen=60))

    def pick(self, rng, spec: TypeSpec, unit_id: int, day: int) -> tuple[str, bool]:
        if rng.random() < spec.no_mobile:
            return "", False
        seen = self.recent[(unit_id, spec.code)]
        if seen and rng.random() < spec.repeat:
            candidates = [m for d, m in seen if day - d <= 20]
            if candidates:
                return rng.choice(candidates), True
        mobile = new_mobile(rng)
        seen.append((day, mobile))
        return mobile, False


def draw_event(cat, rng, citizens, *, type_code, moment, day, external_id) -> PlannedEvent:
    spec = cat.specs[type_code]
    unit = rng.choices(cat.units[type_code], weights=cat.unit_weights[type_code])[0]
    staff = cat.officers[(unit.id, type_code)]
    count = 2 if rng.random() < spec.two_officers and len(staff) > 1 else 1
    mobile, repeat = citizens.pick(rng, spec, unit.id, day)
    return PlannedEvent(
        external_id=external_id,
        type_code=type_code,
        unit_id=unit.id,
        unit_code=unit.code,
        officers=tuple(rng.sample(staff, count)),
        mobile=mobile,
        occurred_at=moment,
        repeat=repeat,
    )


def plan_day(
    cat: Catalogue, rng: random.Random, citizens: Citizens, *, day: int, date, count=None
) -> list[PlannedEvent]:
    """One day of contacts in the city, in time order."""
    weekday = date.weekday()
    weights = [cat.specs[c].share * cat.specs[c].weekdays[weekday] for c in cat.type_codes]
    if count is None:
        factor = sum(weights) / sum(cat.specs[c].share for c in cat.type_codes)
        count = round(BASE_EVENTS_PER_DAY * factor * rng.uniform(0.93, 1.07))
    tz = timezone.get_current_timezone()
    midnight = datetime.combine(date, dtime(0), tzinfo=tz)
    events = []
    for n, code in enumerate(rng.choices(cat.type_codes, weights=weights, k=count)):
        hour = rng.choices(range(24), weights=cat.specs[code].hours)[0]
        moment = midnight + timedelta(hours=hour, seconds=rng.randrange(3600))
        events.append(
            draw_event(
                cat,
                rng,
                citizens,
                type_code=code,
                moment=moment,
                day=day,
                external_id=f"H{date:%Y%m%d}-{n + 1:04d}",
            )
        )
    events.sort(key=lambda e: (e.occurred_at, e.external_id))
    return events


def unsatisfied_risk(cat: Catalogue, event: PlannedEvent, *, trend: float = 1.0) -> float:
    spec = cat.specs[event.type_code]
    officer = max((cat.officer_risk.get(n, 1.0) for n in event.officers), default=1.0)
    risk = cat.base_risk * spec.unsatisfied * cat.unit_risk.get(event.unit_id, 1.0) * officer
    if event.repeat:
        risk *= 2.0
    return min(risk * trend, 0.6)


def draw_rating(rng: random.Random, risk: float, *, enforcement: bool) -> int:
    if rng.random() < risk:
        return 4 if rng.random() < 0.7 else 5
    weights = (0.55, 0.30, 0.15) if enforcement else (0.74, 0.20, 0.06)
    return rng.choices(SATISFIED_RATINGS, weights=weights)[0]
