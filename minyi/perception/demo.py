"""Demo satisfaction history and live traffic for the demo city (capability 1, DOMAIN.md).

`build_history` gives the demo city (minyi.orgs.demo) `days` days of police contacts and
what the public said about them, ending now. Every figure is produced by the real services:
events go in through `events_ingest` in small batches as simulated time passes; the real
rules decide and send surveys (`surveys_schedule_pending`, `surveys_dispatch_due` and
`surveys_remind_and_expire`, each called with `now=` the simulated moment, so quiet hours,
cool-off, one open survey per mobile, sensitive types and staleness all apply); citizens
answer with `survey_answer(..., now=...)` (which opens the callbacks). Only the SMS round
trip is shortened: the outbox rows the services write are marked delivered by the console
gateway at the simulated time, and an answer by SMS is stored with its incoming message and
reply row directly instead of one `reply_record_sms` per answer (that function answers at
the wall-clock time). Questions and opt-outs (退订) do go through `inbound_receive` and
`reply_record_sms`, with their timestamps moved back to the simulated moment afterwards.

`traffic_tick` keeps the loop moving while the demo runs: a few new contacts "now", and a
few citizens answering their open surveys by SMS through the real gateway path.

Realism (Shaoxing reports 5,000+ contacts a day for the whole city; the demo uses a lighter
~600–900): contacts spread over stations and brigades by their size, 110 and window services
most frequent, sensitive types occasionally (the rules never survey them), daytime mostly
(110 also at night), one or two officers of the unit, synthetic mobiles with repeat
customers (跑多次, who are also less satisfied). About 37% of citizens answer (a quarter of
them on the H5 page); about 95% of answers are 1–3, with enforcement contacts, two weak
stations, a weak traffic brigade and 1.5% of officers noticeably worse, four stations better,
and a slow improvement over the period, so that dashboards and warnings have something to
show.

Cost: every row goes through the real services, so a 90-day build (~69,000 contacts, 64,000
surveys, 23,000 answers, 43,000 reminders) takes about four minutes on SQLite.

Deterministic: the same seed, `days`, `events_per_day` and `now` give the same contacts and
answers (survey tokens come from the real services and are random).
"""

import heapq
import itertools
import math
import random
import time
from collections import Counter, defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.integrations.sms.models import (
    InboundSms,
    InboundStatus,
    OptOut,
    OutboundSms,
    OutboundStatus,
    SmsPurpose,
)
from minyi.integrations.sms.services import inbound_receive
from minyi.orgs.choices import Position, UnitKind
from minyi.orgs.demo import DEFAULT_SEED, ROOT_CODE
from minyi.orgs.models import Officer, OrgUnit
from minyi.perception.models import (
    UNSATISFIED_RATINGS,
    BusinessType,
    Callback,
    ServiceEvent,
    Survey,
    SurveyReply,
    SurveyStatus,
)
from minyi.perception.replies import ReplyKind, parse_reply
from minyi.perception.services import (
    MAX_BATCH,
    events_ingest,
    reply_record_sms,
    survey_answer,
    surveys_dispatch_due,
    surveys_remind_and_expire,
    surveys_schedule_pending,
)

HISTORY_SOURCE = "demo"
LIVE_SOURCE = "demo-live"
DEMO_SOURCES = (HISTORY_SOURCE, LIVE_SOURCE)
GATEWAY = "console"

BASE_EVENTS_PER_DAY = 820  # a weekday; weekends have fewer window services (~550–650)
TARGET_UNSATISFIED = 0.05  # share of answers rated 4–5 across the city
H5_SHARE = 0.25  # answers given on the H5 page rather than by SMS
UNPARSED_SHARE = 0.005  # SMS answers that are a question or a remark, not a rating
OPT_OUT_SHARE = 0.004  # SMS answers that are 退订 / TD
LIVE_UNPARSED_SHARE = 0.06
LIVE_OPT_OUT_SHARE = 0.012
LIVE_GATEWAY_REPEAT = 0.05  # the gateway delivers the same reply twice


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
PRAISE = (
    "民警态度很好", "谢谢民警同志", "办事效率很高", "服务很周到，点赞", "辛苦了",
    "处理得很及时", "很耐心，谢谢", "给你们点个赞",
)  # fmt: skip
LUKEWARM = ("等的时间有点长", "就是人太多", "希望提高效率", "流程还能再简化", "停车不方便")
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
RETURN_TRIP = ("跑了两趟还没办好", "又让我跑一趟", "前后跑了几趟都没办成", "第二次来了还是办不了")
QUESTIONS = (
    "这个短信是真的吗？", "请问身份证什么时候能拿到", "你们是哪个派出所的？", "怎么评价？",
    "好的，收到", "谢谢", "是诈骗短信吗", "已经办好了吗", "？",
)  # fmt: skip
OPT_OUTS = ("TD", "退订", "td", "不要再发了")


def reply_text(rng: random.Random, rating: int, comments: str, *, repeat: bool = False) -> str:
    """What a citizen sends by SMS to answer with `rating` (1–5): a digit or words, and now
    and then a few words about why."""
    if rating <= 2:
        remark = rng.choice(PRAISE) if rng.random() < 0.18 else ""
    elif rating == 3:
        remark = rng.choice(LUKEWARM) if rng.random() < 0.3 else ""
    else:
        pool = RETURN_TRIP if repeat and rng.random() < 0.6 else COMPLAINTS[comments]
        remark = rng.choice(pool) if rng.random() < 0.7 else ""
    head = str(rating) if rng.random() < 0.65 else rng.choice(RATING_WORDS[rating])
    if not remark:
        return head
    return head + rng.choice((" ", "，", ",", "。")) + remark


def h5_comment(rng: random.Random, rating: int, comments: str, *, repeat: bool = False) -> str:
    if rating <= 3:
        return rng.choice(PRAISE if rating <= 2 else LUKEWARM) if rng.random() < 0.12 else ""
    if rng.random() < 0.3:
        return ""
    return rng.choice(RETURN_TRIP if repeat and rng.random() < 0.6 else COMPLAINTS[comments])


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


def _draw_event(cat, rng, citizens, *, type_code, moment, day, external_id) -> PlannedEvent:
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
            _draw_event(
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
    return rng.choices((1, 2, 3), weights=weights)[0]


# --- History -----------------------------------------------------------------------------------


@dataclass(order=True)
class _Answer:
    at: datetime
    seq: int
    survey_id: int = field(compare=False)
    mode: str = field(compare=False)  # sms / h5 / raw (through reply_record_sms)
    text: str = field(compare=False)
    rating: int = field(compare=False, default=0)
    comment: str = field(compare=False, default="")


def _ticks(rng: random.Random, start: datetime, end: datetime) -> list[datetime]:
    """When the simulated worker runs: hourly by day, every four hours at night."""
    ticks = []
    moment = start
    while moment < end:
        hour = timezone.localtime(moment).hour
        busy = settings.SURVEY_QUIET_END <= hour <= settings.SURVEY_QUIET_START
        if busy or hour % 4 == 0:
            ticks.append(min(moment + timedelta(seconds=rng.randrange(1, 50)), end))
        moment += timedelta(hours=1)
    if not ticks or ticks[-1] < end:
        ticks.append(end)
    return ticks


def _morning_if_night(rng, moment: datetime) -> datetime:
    """Few people answer between 23:00 and 07:00: such an answer comes the next morning."""
    local = timezone.localtime(moment)
    if 7 <= local.hour < 23:
        return moment
    morning = local.replace(hour=7, minute=0, second=0, microsecond=0)
    if local.hour >= 23:
        morning += timedelta(days=1)
    return morning + timedelta(seconds=rng.randrange(90 * 60))


class _History:
    def __init__(self, cat: Catalogue, *, seed: int, days: int):
        self.cat = cat
        self.days = days
        self.rng = random.Random(f"{seed}:history:replies")  # noqa: S311
        self.events: dict[int, PlannedEvent] = {}  # event id → what was planned
        self.day_of: dict[int, int] = {}
        self.queue: list[_Answer] = []
        self.seq = itertools.count()
        # Outbox rows are found by primary key ranges: scanning 100,000 messages on every
        # tick would make the build quadratic.
        self.last_sms_id = OutboundSms.objects.aggregate(m=Max("id"))["m"] or 0

    # Replies are decided when the survey is sent: whether, when, what.
    def plan_replies(self, now: datetime) -> None:
        sent = OutboundSms.objects.filter(
            id__gt=self.last_sms_id,
            purpose=SmsPurpose.SURVEY,
            survey__sent_at=now,
            survey__status=SurveyStatus.SENT,
            survey__event__source=HISTORY_SOURCE,
        ).order_by("survey_id")
        expiry = timedelta(hours=settings.SURVEY_EXPIRY_HOURS)
        reminder = timedelta(hours=settings.SURVEY_REMINDER_HOURS)
        for survey_id, event_id in sent.values_list("survey_id", "survey__event_id"):
            event = self.events[event_id]
            spec = self.cat.specs[event.type_code]
            rng = self.rng
            if rng.random() >= spec.reply:
                continue
            delay = timedelta(minutes=min(rng.lognormvariate(math.log(25), 1.0), 600))
            if reminder and rng.random() < 0.22:
                delay += reminder
            at = _morning_if_night(rng, now + delay)
            if at >= now + expiry - timedelta(minutes=1):
                continue
            trend = 1.15 - 0.3 * self.day_of[event_id] / max(self.days, 1)
            risk = unsatisfied_risk(self.cat, event, trend=trend)
            rating = draw_rating(rng, risk, enforcement=spec.unsatisfied >= 2)
            self._plan(at, survey_id, rating, event, spec)

    def _plan(self, at, survey_id, rating, event, spec) -> None:
        rng = self.rng
        draw = rng.random()
        if draw < OPT_OUT_SHARE:
            self._push(at, survey_id, "raw", rng.choice(OPT_OUTS))
        elif draw < OPT_OUT_SHARE + UNPARSED_SHARE:
            self._push(at, survey_id, "raw", rng.choice(QUESTIONS))
            if rng.random() < 0.6:  # then answers properly once they understood
                later = at + timedelta(minutes=rng.randint(5, 60))
                self._push(later, survey_id, "sms", str(rating), rating)
        elif rng.random() < H5_SHARE:
            comment = h5_comment(rng, rating, spec.comments, repeat=event.repeat)
            self._push(at, survey_id, "h5", comment, rating, comment)
        else:
            text = reply_text(rng, rating, spec.comments, repeat=event.repeat)
            self._push(at, survey_id, "sms", text, rating)

    def _push(self, at, survey_id, mode, text, rating=0, comment="") -> None:
        heapq.heappush(
            self.queue, _Answer(at, next(self.seq), survey_id, mode, text, rating, comment)
        )

    def answer_due(self, now: datetime) -> None:
        due = []
        while self.queue and self.queue[0].at <= now:
            due.append(heapq.heappop(self.queue))
        if not due:
            return
        surveys = Survey.objects.in_bulk({a.survey_id for a in due})
        inbound, replies = [], []
        for answer in due:
            survey = surveys[answer.survey_id]
            mobile = self.events[survey.event_id].mobile
            if answer.mode == "raw":
                self._through_gateway(answer, mobile)
                continue
            parsed = parse_reply(answer.text) if answer.mode == "sms" else None
            if parsed is not None and parsed.kind != ReplyKind.RATING:
                self._through_gateway(answer, mobile)
                continue
            rating = parsed.rating if parsed else answer.rating
            comment = parsed.comment if parsed else answer.comment
            try:
                survey_answer(
                    survey=survey, rating=rating, comment=comment, via=answer.mode, now=answer.at
                )
            except ApplicationError:
                continue  # closed meanwhile (opted out): the late answer is not counted
            message = None
            if answer.mode == "sms":
                message = InboundSms(
                    gateway=GATEWAY,
                    gateway_message_id=f"demo-history-{answer.seq}",
                    from_mobile=mobile,
                    from_mobile_hash=survey.mobile_hash,
                    text=answer.text,
                    received_at=answer.at,
                    status=InboundStatus.PROCESSED,
                    unit_id=survey.unit_id,
                )
                inbound.append(message)
            replies.append(
                SurveyReply(
                    survey_id=survey.pk,
                    inbound=message,
                    channel=answer.mode,
                    text=answer.text,
                    kind=ReplyKind.RATING,
                    rating=rating,
                    comment=comment,
                    counted=True,
                    created_at=answer.at,
                )
            )
        InboundSms.objects.bulk_create(inbound)
        SurveyReply.objects.bulk_create(replies)

    def _through_gateway(self, answer: _Answer, mobile: str) -> None:
        """Questions and opt-outs take the real path; their timestamps are then moved back
        to the simulated moment."""
        message, created = inbound_receive(
            gateway=GATEWAY,
            gateway_message_id=f"demo-history-{answer.seq}",
            sender=mobile,
            text=answer.text,
            received_at=answer.at,
        )
        if created:
            reply_record_sms(inbound_id=message.pk)
            SurveyReply.objects.filter(inbound=message).update(created_at=answer.at)
            OptOut.objects.filter(inbound=message).update(created_at=answer.at)
            Survey.objects.filter(replies__inbound=message, status=SurveyStatus.ANSWERED).update(
                answered_at=answer.at
            )

    def deliver(self, now: datetime) -> None:
        """The console gateway delivers what the services put in the outbox, at once."""
        last = OutboundSms.objects.aggregate(m=Max("id"))["m"] or 0
        OutboundSms.objects.filter(
            id__gt=self.last_sms_id, id__lte=last, status=OutboundStatus.QUEUED
        ).update(
            status=OutboundStatus.DELIVERED,
            backend=GATEWAY,
            gateway_reply=GATEWAY,
            attempts=1,
            created_at=now,
            not_before=now,
            claimed_at=now,
            sent_at=now,
            delivered_at=now,
        )
        self.last_sms_id = last


def history_exists() -> bool:
    return ServiceEvent.objects.filter(source=HISTORY_SOURCE).exists()


def build_history(
    *,
    days: int = 90,
    seed: int = DEFAULT_SEED,
    events_per_day: int | None = None,
    now=None,
    progress=None,
) -> dict:
    """Give the demo city `days` full days of contacts and answers before today, and
    today's until `now` (default: the current time). Does nothing when the history exists
    already. Runs in one transaction: all or nothing. `progress(day, days)` is called as
    each simulated day begins."""
    if not settings.DEMO_MODE:
        raise DemoHistoryError("the demo history is written only in demo mode (DEMO_MODE)")
    if days < 1:
        raise DemoHistoryError("days must be at least 1")
    if history_exists():
        return {**history_figures(), "created": False}
    started, cpu = time.perf_counter(), time.process_time()
    end = (now or timezone.now()).replace(microsecond=0)
    cat = load_catalogue(seed=seed)
    today = timezone.localtime(end).date()
    tz = timezone.get_current_timezone()
    start = datetime.combine(today - timedelta(days=days), dtime(0), tzinfo=tz)
    event_rng = random.Random(f"{seed}:history:events")  # noqa: S311
    citizens = Citizens()
    planned = []
    for day in range(days + 1):
        date = today - timedelta(days=days - day)
        planned += [
            (day, e)
            for e in plan_day(cat, event_rng, citizens, day=day, date=date, count=events_per_day)
            if e.occurred_at <= end
        ]
    with transaction.atomic(), _large_cache():
        if history_exists():
            return {**history_figures(now=end), "created": False}
        sim = _History(cat, seed=seed, days=days)
        position = 0
        tick_rng = random.Random(f"{seed}:history:ticks")  # noqa: S311
        day = -1
        for tick in _ticks(tick_rng, start, end):
            if progress and (tick - start).days > day:
                day = (tick - start).days
                progress(day, days)
            batch = []
            while position < len(planned) and planned[position][1].occurred_at <= tick:
                batch.append(planned[position])
                position += 1
            for chunk in range(0, len(batch), MAX_BATCH):
                _ingest(sim, batch[chunk : chunk + MAX_BATCH], tick)
            # The worker's pass, at the simulated moment.
            surveys_schedule_pending(now=tick, limit=MAX_BATCH)
            sim.answer_due(tick)
            if surveys_dispatch_due(now=tick, limit=MAX_BATCH):
                sim.plan_replies(tick)
            surveys_remind_and_expire(now=tick, limit=MAX_BATCH)
            sim.deliver(tick)
    return {
        **history_figures(now=end),
        "created": True,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
    }


@contextmanager
def _large_cache():
    """SQLite keeps 2 MB of pages by default: a 90-day transaction would spill them to the
    journal and read them back all the time. Use 256 MB while the history is written."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        size = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(size)}")


def _ingest(sim: _History, batch: list, now: datetime) -> None:
    results = events_ingest(
        items=[event.item(HISTORY_SOURCE) for _, event in batch], scope_unit=None
    )
    ids = []
    for (day, event), result in zip(batch, results, strict=True):
        if result.status != "accepted":
            raise DemoHistoryError(f"event {event.external_id} {result.status}: {result.message}")
        sim.events[result.id] = event
        sim.day_of[result.id] = day
        ids.append(result.id)
    ServiceEvent.objects.filter(id__in=ids).update(received_at=now)


def history_figures(sources=(HISTORY_SOURCE,), *, now=None) -> dict:
    """What the demo contacts came to: counts and rates, from the database."""
    now = now or timezone.now()
    settled_before = now - timedelta(hours=settings.SURVEY_EXPIRY_HOURS)
    events = ServiceEvent.objects.filter(source__in=sources)
    surveys = Survey.objects.filter(event__source__in=sources)
    decisions = dict(events.values_list("survey_decision").annotate(n=Count("id")).order_by())
    statuses = dict(surveys.values_list("status").annotate(n=Count("id")).order_by())
    ratings = dict(
        surveys.filter(status=SurveyStatus.ANSWERED)
        .values_list("rating")
        .annotate(n=Count("id"))
        .order_by()
    )
    answered = statuses.get(SurveyStatus.ANSWERED, 0)
    settled = dict(
        surveys.filter(
            sent_at__lte=settled_before,
            status__in=[SurveyStatus.ANSWERED, SurveyStatus.EXPIRED],
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    settled_answered = settled.get(SurveyStatus.ANSWERED, 0)
    settled_total = sum(settled.values())
    unsatisfied = sum(ratings.get(r, 0) for r in UNSATISFIED_RATINGS)
    sent = surveys.filter(sent_at__isnull=False).count()
    first = events.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    last = events.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    n_events = sum(decisions.values())
    span_days = max((last - first).total_seconds() / 86400, 1) if first else 0
    return {
        "events": n_events,
        "events_per_day": round(n_events / span_days) if span_days else 0,
        "decisions": decisions,
        "surveys_sent": sent,
        "surveys": statuses,
        "answered": answered,
        "open": statuses.get(SurveyStatus.SENT, 0) + statuses.get(SurveyStatus.SCHEDULED, 0),
        # Among surveys sent long enough ago that their time is up (answered or expired):
        # the rate the loop settles at. The dashboards' replies / sent counts the open too.
        "reply_rate": settled_answered / settled_total if settled_total else None,
        "reply_rate_of_sent": answered / sent if sent else None,
        "ratings": {r: ratings.get(r, 0) for r in range(1, 6)},
        "unsatisfied": unsatisfied,
        "satisfaction_rate": (answered - unsatisfied) / answered if answered else None,
        "callbacks": Callback.objects.filter(survey__event__source__in=sources).count(),
        "reminders": OutboundSms.objects.filter(
            survey__event__source__in=sources, purpose=SmsPurpose.REMINDER
        ).count(),
        "opt_outs": SurveyReply.objects.filter(
            survey__event__source__in=sources, kind=ReplyKind.OPT_OUT
        ).count(),
        "unparsed": SurveyReply.objects.filter(
            survey__event__source__in=sources, kind=ReplyKind.UNPARSED
        ).count(),
    }


def summary_line(figures: dict) -> str:
    def pct(value):
        return "–" if value is None else f"{value:.1%}"

    decisions = figures["decisions"]
    return (
        f"{figures['events']} events (~{figures['events_per_day']}/day), "
        f"{figures['surveys_sent']} surveys sent "
        f"({decisions.get('sensitive', 0)} sensitive, {decisions.get('cool_off', 0)} cool-off, "
        f"{decisions.get('open_survey', 0)} open-survey, "
        f"{decisions.get('opted_out', 0)} opted-out not surveyed), "
        f"{figures['answered']} answered: reply rate {pct(figures['reply_rate'])}, "
        f"satisfaction {pct(figures['satisfaction_rate'])}, "
        f"{figures['unsatisfied']} unsatisfied → {figures['callbacks']} callbacks, "
        f"{figures['open']} surveys still open"
    )


# --- Live traffic ------------------------------------------------------------------------------


def traffic_tick(*, rng: random.Random, now=None, seed: int = DEFAULT_SEED) -> dict:
    """One moment of a busy city: a few contacts "now" (source demo-live), and a few citizens
    answering the surveys they were sent, by SMS through the gateway path. Surveys are sent
    by the perception worker, as in production."""
    if not settings.DEMO_MODE:
        raise DemoHistoryError("demo traffic runs only in demo mode (DEMO_MODE)")
    now = now or timezone.now()
    cat = load_catalogue(seed=seed)
    done: Counter = Counter()

    hour = timezone.localtime(now).hour
    weights = [cat.specs[c].share * cat.specs[c].hours[hour] for c in cat.type_codes]
    citizens = Citizens()
    items = []
    stamp = f"{now:%Y%m%d%H%M%S}"
    for n in range(rng.randint(1, 3)):
        code = rng.choices(cat.type_codes, weights=weights)[0]
        moment = now - timedelta(seconds=rng.randrange(60, 25 * 60))
        event = _draw_event(
            cat,
            rng,
            citizens,
            type_code=code,
            moment=moment,
            day=0,
            external_id=f"L{stamp}-{n + 1}-{rng.getrandbits(32):08x}",
        )
        spec = cat.specs[code]
        if event.mobile and rng.random() < spec.repeat:
            again = _recent_mobile(rng, event, now)
            if again:
                event = replace(event, mobile=again, repeat=True)
        items.append(event.item(LIVE_SOURCE))
    results = events_ingest(items=items, scope_unit=None)
    done["events"] = sum(r.status == "accepted" for r in results)

    open_ids = list(
        Survey.objects.filter(
            status=SurveyStatus.SENT,
            event__source__in=DEMO_SOURCES,
            messages__purpose=SmsPurpose.SURVEY,
            messages__status__in=[OutboundStatus.SENT, OutboundStatus.DELIVERED],
        )
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    )
    chosen = rng.sample(open_ids, min(len(open_ids), rng.randint(1, 3)))
    surveys = Survey.objects.select_related("event", "business_type").in_bulk(chosen)
    for survey_id in chosen:
        survey = surveys[survey_id]
        event = survey.event
        planned = PlannedEvent(
            external_id=event.external_id,
            type_code=survey.business_type.code,
            unit_id=survey.unit_id,
            unit_code="",
            officers=tuple(event.officers.values_list("police_number", flat=True)),
            mobile=event.citizen_mobile,
            occurred_at=event.occurred_at,
            repeat=False,
        )
        spec = cat.specs.get(planned.type_code)
        draw = rng.random()
        if draw < LIVE_OPT_OUT_SHARE:
            text = rng.choice(OPT_OUTS)
        elif draw < LIVE_OPT_OUT_SHARE + LIVE_UNPARSED_SHARE or spec is None:
            text = rng.choice(QUESTIONS)
        else:
            risk = unsatisfied_risk(cat, planned)
            rating = draw_rating(rng, risk, enforcement=spec.unsatisfied >= 2)
            text = reply_text(rng, rating, spec.comments)
        message_id = f"demo-live-{stamp}-{survey_id}-{rng.getrandbits(32):08x}"
        times = 2 if rng.random() < LIVE_GATEWAY_REPEAT else 1
        for _ in range(times):
            message, created = inbound_receive(
                gateway=GATEWAY, gateway_message_id=message_id, sender=planned.mobile, text=text
            )
            if created:
                done[reply_record_sms(inbound_id=message.pk)] += 1
            else:
                done["gateway_repeats"] += 1
    return dict(done)


def _recent_mobile(rng, event: PlannedEvent, now) -> str:
    """A citizen who came for the same business at the same unit lately (跑多次)."""
    recent = list(
        ServiceEvent.objects.filter(
            source__in=DEMO_SOURCES,
            unit_id=event.unit_id,
            business_type__code=event.type_code,
            occurred_at__gte=now - timedelta(days=20),
        )
        .exclude(citizen_mobile_hash="")
        .order_by("-occurred_at", "-id")[:20]
    )
    return rng.choice(recent).citizen_mobile if recent else ""
