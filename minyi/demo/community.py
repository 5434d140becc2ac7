"""Demo: community safety (社区安全, DOMAIN.md capability 6, issue 16) in the demo city.

For every police station of the demo city (or the stations asked for):
- the grid (网格): 3–6 communities (社区, villages 村 for towns) named as the station's
  community officers' served communities (`Officer.communities`), each with 3–6 resident groups
  (居民小组) tiling it, 4–10 buildings (楼栋, points) per group with 12–80 households (a few
  under 8, folded into their group on public pages) and 1–3 road segments (路段) in the streets
  around and through it, about a third of them key (重点路段) with their key hours; one
  resident group per station is the key town area (重点区域). Communities are slightly
  irregular polygons on a grid per station, stations on a grid per district around the
  district's real position (越城 ≈ 120.58 E, 30.00 N);
- monthly populations (registered and floating) of communities and groups for 14 months;
- incidents (警情) for the 14 months ending `now` at about 35 a year per 10,000 residents,
  theft first, burglary mostly at night; a few communities clearly hot (→ red), a few
  moderately (→ orange), one so small that fewer than 5 are expected (→ grey);
- the communities' officers (社区民警) and their responsibility lists (责任清单);
- household visits (入户走访) of the last 3 months, follow-ups open and done;
- notice subscriptions (订阅) and safety notices already sent (治安通报、安全提醒), no SMS;
- the city bureau's patrol rules and 2 days of GPS pings of 2–3 patrol units per station
  along their key segments and key area (with parked stops, gaps with no data and a few
  impossible pings, flagged as ingest would), and check-ins (巡逻打卡);
- then the colours of the last 3 months (`colours_compute`) and the patrol passes of the
  last 2 days (`passes_compute`), by the real services.

Every time is relative to `now`, so the demo reads right at any hour. `build_community_demo`
does all of it in one transaction, once (`community_demo_exists`); `rebuild=True` first
removes the demo city's community data.
"""

import math
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import shapely
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from minyi.community.colours import colours_compute
from minyi.community.models import (
    AreaColour,
    AreaLevel,
    AreaPopulation,
    CommunityOfficer,
    GridArea,
    Incident,
    IncidentCategory,
    NoticeKind,
    NoticeSubscription,
    PatrolCheckin,
    PatrolCoverage,
    PatrolPass,
    PatrolPing,
    PatrolRule,
    PingFlag,
    SafetyNotice,
    Visit,
    VisitTopic,
)
from minyi.community.patrol import passes_compute
from minyi.core.pii import lookup_hash
from minyi.demo.city_plan import DEFAULT_SEED, ROOT_CODE
from minyi.demo.contacts import DemoHistoryError
from minyi.orgs.choices import Position, UnitKind
from minyi.orgs.models import Officer, OrgUnit

SOURCE = "demo"  # Incident.source of the demo's incidents
MONTHS = 14  # populations and incidents
VISIT_MONTHS = 3
COLOUR_MONTHS = 3
PATROL_DAYS = 2  # yesterday and today (up to now)
# Incidents per resident a month: ordinary communities run at 0.72–0.96 of it, so that the
# city as a whole has about 35 a year per 10,000 residents.
BASE_RATE = 35 / 10_000 / 12 / 0.87
BATCH = 2000

# --- Where things are --------------------------------------------------------------------------

# Each district's stations on a grid around the district's real seat (lng, lat).
DISTRICT_CENTRES = {
    "330602": (120.58, 30.00),  # 越城
    "330603": (120.49, 30.08),  # 柯桥
    "330604": (120.87, 30.03),  # 上虞
    "330681": (120.24, 29.71),  # 诸暨
    "330683": (120.82, 29.59),  # 嵊州
    "330624": (120.90, 29.50),  # 新昌
}
STATION_STEP = (0.030, 0.024)  # degrees between stations' blocks (lng, lat)
GAP = 0.0004  # the street between two communities (≈ 40 m)
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LNG = 111_320.0 * math.cos(math.radians(30.0))

# Streets per district: the horizontal (east-west) streets first, then the north-south ones.
ROADS = {
    "330602": (
        ("解放北路", "胜利西路", "环城北路", "中兴中路", "鲁迅中路", "延安路", "人民中路",
         "城南大道", "越东路", "二环北路"),
        ("府山横街", "北海路", "越秀路", "投醪河路", "萧山街", "上大路", "偏门直街",
         "迪荡湖路", "凤林西路", "镜水路"),
    ),
    "330603": (
        ("金柯桥大道", "笛扬路", "鉴湖路", "湖西路", "群贤路", "柯华路", "钱陶公路"),
        ("柯北大道", "湖中路", "裕民路", "兴越路", "瓜渚路", "阮社路"),
    ),
    "330604": (
        ("市民大道", "人民西路", "江扬路", "曹娥路", "百官大道", "舜耕大道"),
        ("舜江路", "德盛路", "城北路", "五星路", "峰山路", "凤鸣路"),
    ),
    "330681": (
        ("暨阳路", "浣纱南路", "艮塔路", "望云路", "西施大街", "健民路"),
        ("东二路", "大桥路", "东一路", "苎萝东路", "永昌路", "滨江路"),
    ),
    "330683": (
        ("剡溪路", "鹿山路", "官河路", "北直街", "东前街", "三江大道"),
        ("领带园路", "城中路", "西后街", "环城东路", "剡湖路", "嵊义路"),
    ),
    "330624": (
        ("七星路", "人民中路", "鼓山西路", "江滨路", "沃洲路", "南明街"),
        ("新昌大道", "大佛路", "班竹路", "环城南路", "城东路", "七盘路"),
    ),
}  # fmt: skip
LANES = ("直街", "巷", "横街", "弄")
ESTATES = ("新村", "小区", "花园", "家园", "苑", "公寓", "东区", "西区")
_CN = "零一二三四五六七八九十"

# --- Who is hot ---------------------------------------------------------------------------------

# (station code, index of the community): incidents at these multiples of BASE_RATE.
# Ordinary communities run at 0.72–0.96 of it (the city at about 0.87), so these are about
# 2.6–2.8 times the city's rate and 1.5 times: after the empirical-Bayes smoothing, which
# pulls a community of ~40 expected incidents a good way towards the city, red (≥ 1.5) and
# orange (≥ 1.2) with room to spare.
HOT = {("330602001", 2): 2.3, ("330603001", 0): 2.4}
RISING = {("330602002", 1): 3.2}  # like the others until 6 months ago, then hot
MODERATE = {
    ("330602001", 3): 1.3,
    ("330602003", 0): 1.3,
    ("330604001", 1): 1.3,
    ("330681001", 2): 1.3,
}
ORDINARY = (0.72, 0.96)
TINY = ("330602001", 5)  # fewer than 5 incidents expected in a year: grey
SHOWCASE = "330602001"  # 府山派出所: the station of the fushan_* accounts shows every case
RISING_MONTHS = 6

# --- Incidents ------------------------------------------------------------------------------------

_I = IncidentCategory
CATEGORY_WEIGHTS = (
    (_I.THEFT, 40), (_I.FRAUD, 20), (_I.VEHICLE_THEFT, 13), (_I.BURGLARY, 10),
    (_I.ASSAULT, 6), (_I.ROBBERY, 3), (_I.OTHER, 8),
)  # fmt: skip
# Relative weights of the 24 hours (local) per category.
_DAY = (0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.4, 1.5, 1.5, 1.6,
        1.6, 1.5, 1.5, 1.6, 1.7, 1.9, 2.0, 1.9, 1.6, 1.2, 0.8, 0.5)  # fmt: skip
HOUR_WEIGHTS = {
    _I.THEFT: _DAY,
    _I.FRAUD: (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.9, 1.5, 2.0, 2.0, 1.8,
               1.4, 1.6, 2.0, 2.0, 1.8, 1.5, 1.2, 1.2, 1.3, 1.1, 0.7, 0.4),
    _I.BURGLARY: (2.6, 3.0, 3.2, 3.0, 2.4, 1.2, 0.5, 0.3, 0.4, 0.6, 0.7, 0.6,
                  0.5, 0.6, 0.7, 0.6, 0.5, 0.5, 0.6, 0.8, 1.0, 1.3, 1.7, 2.2),
    _I.VEHICLE_THEFT: (1.8, 2.0, 2.0, 1.6, 1.2, 0.6, 0.4, 0.6, 0.8, 0.8, 0.8, 0.8,
                       0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6),
    _I.ASSAULT: (2.0, 1.8, 1.2, 0.6, 0.3, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7,
                 0.8, 0.7, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 1.8, 2.2, 2.4, 2.3),
    _I.ROBBERY: (1.8, 1.8, 1.4, 1.0, 0.6, 0.4, 0.3, 0.4, 0.5, 0.5, 0.6, 0.6,
                 0.6, 0.6, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 1.8, 2.0, 2.1, 2.0),
    _I.OTHER: _DAY,
}  # fmt: skip
# Share of a category's incidents on a road segment (the rest at a building).
ON_STREET = {
    _I.THEFT: 0.45, _I.VEHICLE_THEFT: 0.4, _I.ROBBERY: 0.8, _I.ASSAULT: 0.5,
    _I.OTHER: 0.4, _I.BURGLARY: 0.0, _I.FRAUD: 0.0,
}  # fmt: skip
# Month of the year → seasonal factor (a little more in summer and before the Spring Festival).
SEASON = {1: 1.08, 2: 0.9, 3: 0.95, 4: 0.97, 5: 1.0, 6: 1.04,
          7: 1.1, 8: 1.1, 9: 1.0, 10: 0.98, 11: 0.95, 12: 1.02}  # fmt: skip

# --- Officers' work -------------------------------------------------------------------------------

DUTIES_FIRST = "负责{name}实有人口、出租房屋管理，及时采集更新基础信息"
DUTIES = (
    "每月走访重点户不少于 20 户，独居老人每月至少上门一次",
    "组织反诈宣传进社区、进楼道，对接到可疑来电的居民上门提醒",
    "排查化解邻里、物业、婚恋家庭等矛盾纠纷，重大纠纷当日报告",
    "指导物业和保安落实小区门禁、监控和电动自行车停放充电管理",
    "每周参加一次社区网格例会，通报辖区治安形势和防范提示",
    "管理社区警务室，工作日 17:30 前在室接待群众",
    "带领平安志愿者开展夜间巡防，节假日加密巡逻",
    "掌握辖区寄递物流、废旧金属收购等行业场所情况，开展安全检查",
    "配合学校落实护学岗，上学放学时段在校门口值守",
    "建立居民微信群，及时发布警情通报和安全提醒",
)
VISIT_TOPIC_WEIGHTS = (
    (VisitTopic.SAFETY, 30), (VisitTopic.FRAUD, 25), (VisitTopic.RENTAL, 18),
    (VisitTopic.DISPUTE, 12), (VisitTopic.KEY_PERSON, 7), (VisitTopic.OTHER, 8),
)  # fmt: skip
VISIT_NOTES = {
    VisitTopic.SAFETY: (
        "走访{place}住户，检查楼道消防通道，提醒关好门窗、贵重物品不外露。",
        "{place}部分单元门禁损坏，已告知物业尽快维修，期间加强夜间巡查。",
        "提醒住户电动自行车不进楼道、不飞线充电，现场清理楼道电动车 2 辆。",
        "入户宣传防盗知识，建议低楼层住户加装限位器，住户表示认可。",
    ),
    VisitTopic.FRAUD: (
        "在{place}开展反诈宣传，帮助 {n} 户居民安装国家反诈中心 APP。",
        "上门提醒老年住户警惕“保健品”“养老投资”骗局，发放宣传折页。",
        "走访近期接到冒充客服电话的住户，讲解退款理赔类诈骗手法。",
        "对{place}租住的年轻人讲解刷单返利、虚假贷款类诈骗，均表示知晓。",
    ),
    VisitTopic.RENTAL: (
        "核查{place}出租房屋 {n} 户，更新租客登记信息，督促房东落实安全责任。",
        "发现一户群租房隔断过多，已告知房东限期整改并报社区备案。",
        "指导房东通过手机登记租客信息，现场完成登记 {n} 户。",
    ),
    VisitTopic.DISPUTE: (
        "调解{place}楼上楼下漏水纠纷，双方同意由物业出具维修方案。",
        "走访邻里停车位纠纷当事人，讲清物业管理规定，双方暂时达成一致。",
        "了解一户家庭矛盾情况，联系社区调解员共同跟进。",
    ),
    VisitTopic.KEY_PERSON: (
        "按要求走访辖区关注对象，了解近期生活和工作情况，无异常。",
        "走访刑满释放人员家庭，协调社区落实就业帮扶。",
    ),
    VisitTopic.OTHER: (
        "走访{place}独居老人，了解生活需要，转告社区落实助餐服务。",
        "收集居民对社区治安的意见建议 {n} 条，已汇总上报。",
        "核实一户居民户籍信息变更情况，指导网上办理。",
    ),
}
# What a visit of each topic may leave to do (后续事项).
FOLLOW_UPS = {
    VisitTopic.SAFETY: ("督促物业一周内修复单元门禁", "将居民反映的路灯损坏情况转城管部门",
                        "复查楼道电动自行车清理情况"),
    VisitTopic.FRAUD: ("一周后回访，确认老人未再向陌生账户转账", "联系其子女共同做好防范"),
    VisitTopic.RENTAL: ("复查出租房屋整改情况", "督促房东补登新入住租客信息"),
    VisitTopic.DISPUTE: ("联系社区调解员再次上门调解", "两周后回访，确认纠纷是否化解"),
    VisitTopic.KEY_PERSON: ("协调社区落实就业帮扶",),
    VisitTopic.OTHER: ("协调社区为独居老人安装一键报警器", "将居民意见汇总后答复"),
}  # fmt: skip
# The one note that carries a mobile number, for the pages' masking (on the showcase station).
NOTE_WITH_MOBILE = (
    "独居老人陈阿姨反映近期多次接到自称医保局的电话，要求提供银行卡号。已上门讲解防骗知识，"
    "并告知其儿子（手机 13857561234）共同防范。"
)
NOTICES = (
    (NoticeKind.ALERT, "警惕冒充医保局诈骗",
     "近期辖区发生多起冒充医保局工作人员、以医保卡异常为由要求转账的诈骗，"
     "医保部门不会电话要求转账，接到此类电话请挂断并拨打 96110 咨询。"),
    (NoticeKind.ALERT, "电动自行车防盗提醒",
     "近期夜间电动自行车被盗有所增加，请将车辆停放在有监控的车棚并加装防盗锁，"
     "发现可疑人员请拨打 110。"),
    (NoticeKind.BULLETIN, "上月辖区治安情况通报",
     "上月本社区接报刑事警情较前月有所下降，以盗窃和电信诈骗为主，"
     "请居民出门关好门窗，不轻信陌生来电。"),
    (NoticeKind.ALERT, "入室盗窃防范提示",
     "近期周边小区发生入室盗窃，作案多在凌晨，请低楼层住户关好门窗、加装限位器，"
     "贵重物品不放在窗边。"),
    (NoticeKind.BULLETIN, "节前安全提示",
     "节日期间请注意防火防盗，外出前关闭燃气电源，长时间离家可告知社区民警，"
     "我们将加强巡逻。"),
)  # fmt: skip
DRAFT_NOTICE = (
    NoticeKind.ALERT,
    "谨防刷单返利诈骗",
    "近期辖区连续发生刷单返利诈骗，“先返小利、再骗大钱”，凡是要求垫资刷单的都是诈骗，请勿轻信。",
)

# --- Patrol ---------------------------------------------------------------------------------------

# (start hour, start minute, length in minutes) of each unit's shifts, local time.
SHIFTS = (
    ((6, 50), 140, (16, 50), 140),  # unit 1: the morning and evening rush
    ((9, 40), 90, (19, 50), 140),  # unit 2: late mornings and evenings
    ((13, 0), 90, (0, 0), 90),  # unit 3: afternoons and after midnight
)


# --- Result -------------------------------------------------------------------------------------


@dataclass
class DemoCommunity:
    created: bool
    seconds: float = 0.0
    stations: int = 0
    levels: Counter = field(default_factory=Counter)
    key_segments: int = 0
    key_areas: int = 0
    populations: int = 0
    incidents: int = 0
    officers: int = 0
    visits: int = 0
    open_follow_ups: int = 0
    subscriptions: int = 0
    notices: int = 0
    pings: int = 0
    flagged: int = 0
    checkins: int = 0
    passes: int = 0
    colours: Counter = field(default_factory=Counter)
    colour_month: date | None = None


def summary_line(demo: DemoCommunity) -> str:
    if not demo.created:
        return "Community demo data exists already; nothing was written (--rebuild rewrites it)."
    levels = demo.levels
    colours = ", ".join(f"{demo.colours[c]} {c}" for c in ("red", "orange", "green", "grey"))
    month = f"{demo.colour_month:%Y-%m}" if demo.colour_month else "-"
    return (
        f"Community demo written in {demo.seconds:.1f}s for {demo.stations} stations: "
        f"{levels[AreaLevel.COMMUNITY]} communities, {levels[AreaLevel.GROUP]} resident groups, "
        f"{levels[AreaLevel.BUILDING]} buildings, {levels[AreaLevel.SEGMENT]} road segments "
        f"({demo.key_segments} key, {demo.key_areas} key areas); {demo.populations} monthly "
        f"populations; {demo.incidents} incidents over {MONTHS} months; colours {month}: "
        f"{colours}; {demo.officers} officer posts, {demo.visits} visits "
        f"({demo.open_follow_ups} follow-ups open), {demo.subscriptions} subscriptions, "
        f"{demo.notices} notices; {demo.pings} patrol pings ({demo.flagged} flagged), "
        f"{demo.checkins} check-ins, {demo.passes} passes."
    )


# --- Small helpers --------------------------------------------------------------------------------


def _cn(n: int) -> str:
    """1..19 in Chinese numerals."""
    return _CN[n] if n <= 10 else "十" + _CN[n - 10]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_add(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _local(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    naive = datetime(day.year, day.month, day.day) + timedelta(
        hours=hour, minutes=minute, seconds=second
    )
    return timezone.make_aware(naive)


def _bbox(points) -> dict:
    lngs = [p[0] for p in points]
    lats = [p[1] for p in points]
    return {"min_lng": min(lngs), "min_lat": min(lats), "max_lng": max(lngs), "max_lat": max(lats)}


def _polygon(ring: list[tuple[float, float]]) -> dict:
    closed = [[round(x, 6), round(y, 6)] for x, y in ring]
    closed.append(closed[0])
    return {"type": "Polygon", "coordinates": [closed]}


def _count(rng: random.Random, lam: float) -> int:
    """A month's count around `lam`: a little less scattered than Poisson, so that the
    communities meant to be ordinary read green (a pure Poisson world would make a few of
    them orange by chance, and the demo's story is clearer without)."""
    if lam <= 0:
        return 0
    return max(0, math.floor(lam + rng.gauss(0, 0.6 * math.sqrt(lam)) + rng.random()))


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder): the parts sum to it."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _stem(name: str) -> str:
    for suffix in ("社区", "村"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _insert(model, fields: list[str], rows: list[tuple]) -> None:
    """INSERT plain tuples: COPY on PostgreSQL, many rows a statement on SQLite. The demo
    writes a few hundred thousand rows; model instances with bulk_create cost ten times as
    much, and on PostgreSQL so do INSERT statements (COPY: 0.4 s for 20,000 pings, INSERT
    1.8 s). Values must be what the column holds (ids for foreign keys)."""
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    names = ", ".join(quote(f.column) for f in columns)
    # JSON goes through its field (the backend's own adapter).
    prepared = [i for i, f in enumerate(columns) if f.get_internal_type() == "JSONField"]

    def prepare(row):
        if not prepared:
            return row
        row = list(row)
        for k in prepared:
            row[k] = columns[k].get_db_prep_save(row[k], connection)
        return row

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepare(row))
            return
        # SQLite ≥ 3.32 takes 32,766 parameters a statement; aware datetimes are stored as
        # naive UTC text, as Django's backend writes them.
        stamps = [i for i, f in enumerate(columns) if f.get_internal_type() == "DateTimeField"]
        limit = 999 if sqlite3.sqlite_version_info < (3, 32) else 30_000
        per = max(1, min(1000, limit // len(columns)))
        one = f"({', '.join(['%s'] * len(columns))})"

        def statement(n: int) -> str:  # names from the model, values as parameters
            return f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES {', '.join([one] * n)}"  # noqa: S608

        full = statement(per)
        for i in range(0, len(rows), per):
            batch = [list(prepare(row)) for row in rows[i : i + per]]
            for row in batch:
                for k in stamps:
                    if row[k] is not None:
                        row[k] = str(row[k].astimezone(UTC).replace(tzinfo=None))
            params = [value for row in batch for value in row]
            cursor.execute(full if len(batch) == per else statement(len(batch)), params)


# --- Plan of the grid (plain data) ---------------------------------------------------------------


@dataclass
class _Area:
    level: str
    code: str
    name: str
    geometry: dict
    households: int = 0
    is_key: bool = False
    key_hours: str = ""
    children: list = field(default_factory=list)
    # Plan data not stored on the area.
    point: tuple[float, float] | None = None  # a building's door
    line: list | None = None  # a segment's points
    weights: list = field(default_factory=list)  # a community's groups' shares of people
    row: GridArea | None = None


@dataclass
class _Community:
    area: _Area
    index: int
    multiplier: float
    rising: float = 0.0
    tiny: bool = False
    registered: int = 0
    floating_share: float = 0.2
    trend: float = 0.0
    hotspots: list = field(default_factory=list)  # buildings and segments incidents prefer


@dataclass
class _Station:
    unit: OrgUnit
    communities: list[_Community] = field(default_factory=list)
    key_segments: list[_Area] = field(default_factory=list)
    key_area: _Area | None = None
    officers: list[Officer] = field(default_factory=list)


def _community_names(unit: OrgUnit, officers: list[Officer], rng: random.Random, n: int):
    names: list[str] = []
    for officer in officers:
        for name in officer.communities.split("、"):
            if name and name not in names:
                names.append(name)
    base = unit.name.split("派出所")[0].split("第")[0]
    ending = "村" if "镇" in unit.address else "社区"
    if not names:
        names = [base + ending]
    fillers = ["城东", "城西", "江南", "江北", "南门", "北门", "新桥", "长桥"]
    while len(names) < n:
        names.append(fillers.pop(rng.randrange(len(fillers))) + ending)
    return names[:n]


def _station_origin(unit: OrgUnit, index_in_district: int) -> tuple[float, float]:
    lng0, lat0 = DISTRICT_CENTRES.get(unit.code[:6], (120.58, 30.00))
    col, row = index_in_district % 3, index_in_district // 3
    # The district's seat station in the middle, the others around it.
    return (
        lng0 + (col - 1) * STATION_STEP[0] - 0.011,
        lat0 + (1 - row) * STATION_STEP[1] - 0.006,
    )


def _plan_station(
    rng: random.Random, unit: OrgUnit, index_in_district: int, officers: list[Officer]
) -> _Station:
    station = _Station(unit=unit, officers=officers)
    count = 6 if unit.code == SHOWCASE else rng.randint(3, 6)
    names = _community_names(unit, officers, rng, count)
    rural = names[0].endswith("村")
    horizontal, vertical = ROADS.get(unit.code[:6], ROADS["330602"])
    h_roads = rng.sample(horizontal, 3)
    v_roads = rng.sample(vertical, 4)
    origin_lng, origin_lat = _station_origin(unit, index_in_district)
    widths = [rng.uniform(0.0052, 0.0070) for _ in range(3)]
    heights = [rng.uniform(0.0048, 0.0058) for _ in range(2)]
    for index, name in enumerate(names):
        col, row = index % 3, index // 3
        x0 = origin_lng + sum(widths[:col]) + GAP / 2
        x1 = origin_lng + sum(widths[: col + 1]) - GAP / 2
        y0 = origin_lat + sum(heights[:row]) + GAP / 2
        y1 = origin_lat + sum(heights[: row + 1]) - GAP / 2
        key = (unit.code, index)
        tiny = key == (TINY[0], TINY[1])
        if tiny:  # a small one: half a cell
            x1 = x0 + (x1 - x0) * 0.5
            y1 = y0 + (y1 - y0) * 0.55
        community = _plan_community(
            rng,
            unit,
            index,
            name,
            (x0, y0, x1, y1),
            rural=rural,
            tiny=tiny,
            roads=(h_roads[row], v_roads[col], v_roads[3]),
        )
        community.multiplier = HOT.get(key) or MODERATE.get(key) or rng.uniform(*ORDINARY)
        community.rising = RISING.get(key, 0.0)
        hot = key in HOT or key in RISING or key in MODERATE
        if tiny:
            community.registered = rng.randint(650, 780)
            community.floating_share = 0.1
        elif hot:
            community.registered = rng.randint(9000, 14000)
            community.floating_share = rng.uniform(0.25, 0.40)
        else:
            community.registered = rng.randint(2000, 15000)
            community.floating_share = rng.uniform(0.10, 0.40)
        community.trend = rng.uniform(-0.002, 0.004)
        if hot:
            buildings = [b for g in community.area.children if g.level == "group"
                         for b in g.children]  # fmt: skip
            segments = [s for s in community.area.children if s.level == AreaLevel.SEGMENT]
            community.hotspots = rng.sample(buildings, 2) + segments[:1]
        station.communities.append(community)
    _mark_keys(rng, station)
    return station


def _plan_community(rng, unit, index, name, box, *, rural, tiny, roads) -> _Community:
    x0, y0, x1, y1 = box
    code = f"{unit.code}-{index + 1:02d}"
    groups_n = 3 if tiny else rng.randint(3, 6)
    # Vertical strips in one row (3 groups) or two rows; breaks jittered to look drawn.
    rows = 1 if groups_n <= 3 else 2
    per_row = [math.ceil(groups_n / rows), groups_n - math.ceil(groups_n / rows)][:rows]
    y_mid = y0 + (y1 - y0) * rng.uniform(0.42, 0.58)
    wobble = 0.00012

    def breaks(n):
        xs = [x0, *sorted(rng.uniform(x0, x1) for _ in range(n - 1)), x1]
        # Keep strips at least a fifth of the even width apart.
        even = (x1 - x0) / n
        xs = [x0 + i * even + (xs[i] - (x0 + i * even)) * 0.3 for i in range(n + 1)]
        return xs

    bottom_row = breaks(per_row[-1]) if rows == 2 else breaks(per_row[0])
    top_row = breaks(per_row[0])
    bottom = [(x, y0 + (rng.uniform(-wobble, wobble) if 0 < i < len(bottom_row) - 1 else 0))
              for i, x in enumerate(bottom_row)]  # fmt: skip
    top = [(x, y1 + (rng.uniform(-wobble, wobble) if 0 < i < len(top_row) - 1 else 0))
           for i, x in enumerate(top_row)]  # fmt: skip
    outline = bottom + list(reversed(top))
    community = _Area(AreaLevel.COMMUNITY, code, name, _polygon(outline))
    quads = []
    if rows == 1:
        for i in range(len(top) - 1):
            quads.append([bottom[i], bottom[i + 1], top[i + 1], top[i]])
    else:
        mid_top = [(x, y_mid) for x, _y in top]
        mid_bottom = [(x, y_mid) for x, _y in bottom]
        for i in range(len(bottom) - 1):
            quads.append([bottom[i], bottom[i + 1], mid_bottom[i + 1], mid_bottom[i]])
        for i in range(len(top) - 1):
            quads.append([mid_top[i], mid_top[i + 1], top[i + 1], top[i]])
    stem = _stem(name)
    estates = rng.sample(ESTATES, len(ESTATES))
    word = "村民小组" if rural else "居民小组"
    for g, quad in enumerate(quads, start=1):
        group = _Area(AreaLevel.GROUP, f"{code}-G{g}", f"{name}第{_cn(g)}{word}", _polygon(quad))
        estate = f"{stem}{estates[(g - 1) % len(estates)]}"
        buildings_n = 4 if tiny else rng.randint(4, 10)
        cols = math.ceil(math.sqrt(buildings_n))
        rows_b = math.ceil(buildings_n / cols)
        for b in range(buildings_n):
            u = (b % cols + 0.5) / cols * 0.76 + 0.12 + rng.uniform(-0.03, 0.03)
            v = (b // cols + 0.5) / rows_b * 0.76 + 0.12 + rng.uniform(-0.03, 0.03)
            (ax, ay), (bx, by), (cx, cy), (dx, dy) = quad
            lng = (1 - u) * (1 - v) * ax + u * (1 - v) * bx + u * v * cx + (1 - u) * v * dx
            lat = (1 - u) * (1 - v) * ay + u * (1 - v) * by + u * v * cy + (1 - u) * v * dy
            small = (tiny and b < 2) or rng.random() < 0.04
            households = rng.randint(3, 7) if small else rng.randint(12, 80)
            point = (round(lng, 6), round(lat, 6))
            group.children.append(
                _Area(
                    AreaLevel.BUILDING,
                    f"{code}-G{g}-B{b + 1:02d}",
                    f"{estate}{b + 1}幢",
                    {"type": "Point", "coordinates": list(point)},
                    households=households,
                    point=point,
                )
            )
        group.households = sum(b.households for b in group.children)
        community.children.append(group)
    community.households = sum(g.households for g in community.children)
    weights = [g.households * rng.uniform(0.85, 1.15) for g in community.children]
    # Road segments: the street south of the community, the one west of it, and a lane
    # through it (between two groups).
    h_road, v_road, _spare = roads
    south = [(x0, y0 - GAP / 2), (x1, y0 - GAP / 2)]
    west = [(x0 - GAP / 2, y0), (x0 - GAP / 2, y1)]
    lane = [(x0, y_mid), (x1, y_mid)] if rows == 2 else [(top_row[1], y0), (top_row[1], y1)]
    lines = [
        (f"{h_road}（{stem}段）", south),
        (f"{v_road}（{stem}段）", west),
        (f"{stem}{rng.choice(LANES)}", lane),
    ]
    segments_n = 1 if tiny else rng.randint(1, 3)
    for s, (road, points) in enumerate(lines[:segments_n], start=1):
        coords = [[round(x, 6), round(y, 6)] for x, y in points]
        community.children.append(
            _Area(
                AreaLevel.SEGMENT,
                f"{code}-R{s}",
                road,
                {"type": "LineString", "coordinates": coords},
                line=[tuple(c) for c in coords],
            )
        )
    community.weights = weights
    return _Community(area=community, index=index, multiplier=1.0, tiny=tiny)


def _mark_keys(rng: random.Random, station: _Station) -> None:
    """About a third of the segments key (at least one a station), one group the key area."""
    segments = [
        s for c in station.communities for s in c.area.children if s.level == AreaLevel.SEGMENT
    ]
    wanted = max(1, round(len(segments) / 3))
    for segment in rng.sample(segments, wanted):
        segment.is_key = True
        segment.key_hours = rng.choice(("", "", "7-9,17-19", "7-9,17-19", "20-23", "7-9"))
        station.key_segments.append(segment)
    station.key_segments.sort(key=lambda s: s.code)
    first = station.communities[0].area
    station.key_area = next(g for g in first.children if g.level == AreaLevel.GROUP)
    station.key_area.is_key = True


# --- Writing the grid ----------------------------------------------------------------------------


def _areas_write(stations: list[_Station], now: datetime) -> Counter:
    """Insert the areas level by level (parents first, each pointing at its community), then
    point the communities at themselves."""
    levels: Counter = Counter()
    fields = ["station", "parent", "community", "level", "code", "name", "households",
              "geometry", "min_lng", "min_lat", "max_lng", "max_lat", "is_key", "key_hours",
              "created_at", "updated_at"]  # fmt: skip
    generation = [(s.unit.pk, None, c.area, None) for s in stations for c in s.communities]
    while generation:
        rows = []
        for station_id, parent, area, community_id in generation:
            box = _bbox(_points(area.geometry))
            rows.append(
                (station_id, parent.row.pk if parent else None, community_id, area.level,
                 area.code, area.name, area.households, area.geometry, box["min_lng"],
                 box["min_lat"], box["max_lng"], box["max_lat"], area.is_key, area.key_hours,
                 now, now)
            )  # fmt: skip
            levels[area.level] += 1
        _insert(GridArea, fields, rows)
        ids = {}
        codes = [area.code for _s, _p, area, _c in generation]
        for i in range(0, len(codes), 900):  # SQLite's limit on parameters
            ids.update(
                GridArea.objects.filter(code__in=codes[i : i + 900]).values_list("code", "pk")
            )
        for _s, _p, area, _c in generation:
            area.row = GridArea(pk=ids[area.code], code=area.code)
        generation = [
            (station_id, area, child, community_id or area.row.pk)
            for station_id, _parent, area, community_id in generation
            for child in area.children
        ]
    # A community is its own community.
    GridArea.objects.filter(
        station__in=[s.unit for s in stations], level=AreaLevel.COMMUNITY, community=None
    ).update(community=F("pk"))
    return levels


def _points(geometry: dict) -> list:
    kind, coords = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        return [coords]
    if kind == "LineString":
        return coords
    return coords[0]


def grid_problems(areas) -> list[str]:
    """What is wrong with the demo grid's geometry: invalid polygons, groups sticking out of
    their community, communities overlapping each other (an empty list when all is well)."""
    problems = []
    shapes = {}
    for area in areas:
        geom = shapely.geometry.shape(area.geometry)
        shapes[area.pk] = geom
        if not geom.is_valid:
            problems.append(f"{area.code}: invalid {geom.geom_type}")
    communities = [a for a in areas if a.level == AreaLevel.COMMUNITY]
    tree = shapely.STRtree([shapes[c.pk] for c in communities])
    for i, c in enumerate(communities):
        for j in tree.query(shapes[c.pk]):
            if j > i and shapes[c.pk].intersection(shapes[communities[j].pk]).area > 1e-12:
                problems.append(f"{c.code} overlaps {communities[j].code}")
    for area in areas:
        if area.level == AreaLevel.COMMUNITY or area.community_id not in shapes:
            continue
        outer = shapes[area.community_id].buffer(GAP)
        if not outer.contains(shapes[area.pk]):
            problems.append(f"{area.code} outside its community")
    return problems


# --- Populations and incidents --------------------------------------------------------------------


def _populations_write(rng: random.Random, stations: list[_Station], months: list[date]) -> int:
    rows = []
    for station in stations:
        for c in station.communities:
            for k, month in enumerate(months):
                drift = 1 + c.trend * (k - len(months) + 1)
                registered = round(c.registered * drift * rng.uniform(0.997, 1.003))
                seasonal = 1 + 0.05 * math.sin((month.month - 2) / 12 * 2 * math.pi)
                floating = round(registered * c.floating_share * seasonal * rng.uniform(0.97, 1.03))
                rows.append((c.area.row.pk, month, registered, floating))
                groups = [g for g in c.area.children if g.level == AreaLevel.GROUP]
                for g, r, f in zip(
                    groups, _split(registered, c.area.weights), _split(floating, c.area.weights),
                    strict=True,
                ):  # fmt: skip
                    rows.append((g.row.pk, month, r, f))
    _insert(AreaPopulation, ["area", "month", "registered", "floating"], rows)
    return len(rows)


def _incident_place(rng: random.Random, c: _Community, category: str):
    segments = [s for s in c.area.children if s.level == AreaLevel.SEGMENT]
    if c.hotspots and rng.random() < 0.45:
        place = rng.choice(c.hotspots)
    elif segments and rng.random() < ON_STREET[category]:
        place = rng.choice(segments)
    else:
        group = rng.choices(
            [g for g in c.area.children if g.level == AreaLevel.GROUP], weights=c.area.weights
        )[0]
        place = rng.choices(group.children, weights=[b.households for b in group.children])[0]
    if place.level == AreaLevel.SEGMENT:
        (ax, ay), (bx, by) = place.line[0], place.line[-1]
        t = rng.random()
        lng, lat = ax + (bx - ax) * t, ay + (by - ay) * t
        jitter = 0.00012
    else:
        lng, lat = place.point
        jitter = 0.00018
    return (
        place,
        round(lng + rng.uniform(-jitter, jitter), 6),
        round(lat + rng.uniform(-jitter, jitter), 6),
    )


def _incidents_write(
    rng: random.Random, stations: list[_Station], months: list[date], now: datetime
) -> int:
    categories = [c for c, _w in CATEGORY_WEIGHTS]
    weights = [w for _c, w in CATEGORY_WEIGHTS]
    hours = list(range(24))
    rows = []
    seq = 0
    last = months[-1]
    for station in stations:
        for c in station.communities:
            for month in months:
                start = _local(month)
                end = min(_local(_month_add(month, 1)), now)
                if end <= start:
                    continue
                share = (end - start) / (_local(_month_add(month, 1)) - start)
                people = c.registered * (1 + c.floating_share)
                multiplier = c.multiplier
                if c.rising and month > _month_add(last, -RISING_MONTHS):
                    multiplier = c.rising
                lam = people * BASE_RATE * multiplier * SEASON[month.month] * share
                days = max(1, math.ceil((end - start).total_seconds() / 86400))
                for _ in range(_count(rng, lam)):
                    category = rng.choices(categories, weights=weights)[0]
                    for _attempt in range(20):
                        day = month + timedelta(days=rng.randrange(days))
                        hour = rng.choices(hours, weights=HOUR_WEIGHTS[category])[0]
                        at = _local(day, hour, rng.randrange(60), rng.randrange(60))
                        if at < end:
                            break
                    else:
                        at = end - timedelta(minutes=rng.randint(1, 59))
                    if at < start:
                        continue
                    place, lng, lat = _incident_place(rng, c, category)
                    seq += 1
                    local = timezone.localtime(at)
                    rows.append(
                        (
                            place.row.pk,
                            c.area.row.pk,
                            category,
                            at,
                            lng,
                            lat,
                            SOURCE,
                            f"J{station.unit.code}{local:%Y%m%d}{seq:06d}",
                            min(at + timedelta(minutes=rng.randint(20, 1800)), now),
                        )
                    )
    fields = ["area", "community", "category", "occurred_at", "lng", "lat", "source",
              "external_id", "created_at"]  # fmt: skip
    _insert(Incident, fields, rows)
    return len(rows)


# --- Officers, visits, subscriptions, notices -----------------------------------------------


def _officers_write(rng: random.Random, stations: list[_Station], today: date) -> int:
    rows = []
    unpublished_done = False
    for station in stations:
        pool = station.officers
        if not pool:
            continue
        for i, c in enumerate(station.communities):
            name = c.area.name
            serving = [o for o in pool if name in o.communities.split("、")]
            first = serving[0] if serving else pool[i % len(pool)]
            chosen = [first]
            others = [o for o in pool if o.pk != first.pk]
            if others and (rng.random() < 0.35 or c.multiplier > 1.1):
                chosen.append(rng.choice(others))
            for k, officer in enumerate(chosen):
                lines = [DUTIES_FIRST.format(name=name), *rng.sample(DUTIES, rng.randint(2, 4))]
                published = True
                if (
                    not unpublished_done
                    and k == len(chosen) - 1
                    and (station.unit.code == SHOWCASE or station is stations[-1])
                    and i == 1
                ):
                    published, unpublished_done = False, True
                rows.append(
                    CommunityOfficer(
                        area=c.area.row,
                        officer=officer,
                        duties="\n".join(lines),
                        published=published,
                        since=today - timedelta(days=rng.randint(120, 2600)),
                    )
                )
    CommunityOfficer.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _visits_write(rng, stations, today: date, now: datetime) -> tuple[int, int]:
    topics = [t for t, _w in VISIT_TOPIC_WEIGHTS]
    topic_weights = [w for _t, w in VISIT_TOPIC_WEIGHTS]
    posts: dict[int, list[int]] = {}
    for area_id, officer_id in CommunityOfficer.objects.filter(
        area__in=[c.area.row for s in stations for c in s.communities]
    ).values_list("area_id", "officer_id"):
        posts.setdefault(area_id, []).append(officer_id)
    current = _month_start(today)
    rows = []
    mobile_note_done = False
    for station in stations:
        for c in station.communities:
            buildings = [b for g in c.area.children if g.level == AreaLevel.GROUP
                         for b in g.children]  # fmt: skip
            groups = [g for g in c.area.children if g.level == AreaLevel.GROUP]
            officers = posts.get(c.area.row.pk, [None])
            coverage = rng.uniform(0.4, 0.9)
            for back in range(VISIT_MONTHS - 1, -1, -1):
                month = _month_add(current, -back)
                last_day = min(_month_add(month, 1) - timedelta(days=1), today)
                span = (last_day - month).days + 1
                share = min(1.0, max(0.1, span / 30)) if back == 0 else 1.0
                target = coverage * rng.uniform(0.9, 1.1) * share
                visited = rng.sample(
                    buildings, max(1, min(len(buildings), round(target * len(buildings))))
                )
                places = visited + rng.sample(groups, min(len(groups), rng.randint(0, 2)))
                for place in places:
                    day = month + timedelta(days=rng.randrange(span))
                    if day.weekday() >= 5 and rng.random() < 0.6:  # fewer at weekends
                        day = month + timedelta(days=rng.randrange(span))
                    topic = rng.choices(topics, weights=topic_weights)[0]
                    households = max(1, round(place.households * rng.uniform(0.15, 0.6)))
                    if place.level == AreaLevel.GROUP:
                        households = min(households, rng.randint(15, 40))
                    note = rng.choice(VISIT_NOTES[topic]).format(
                        place=place.name, n=min(households, rng.randint(3, 12))
                    )
                    if not mobile_note_done and station.unit.code in (
                        SHOWCASE,
                        stations[0].unit.code,
                    ):
                        note, topic, mobile_note_done = NOTE_WITH_MOBILE, VisitTopic.FRAUD, True
                    created = _local(day, 17, rng.randrange(60)) + timedelta(
                        minutes=rng.randint(0, 180)
                    )
                    created = min(created, now)
                    follow_up, done_at = "", None
                    if rng.random() < 0.22:
                        follow_up = rng.choice(FOLLOW_UPS[topic])
                        age = (today - day).days
                        if age > 7 and rng.random() < min(0.95, age / 25):
                            done_at = min(created + timedelta(days=rng.randint(1, 7)), now)
                    rows.append(
                        (place.row.pk, c.area.row.pk, rng.choice(officers), day, topic,
                         households, note, follow_up, done_at, created)
                    )  # fmt: skip
    fields = ["area", "community", "officer", "visited_on", "topic", "households", "note",
              "follow_up", "follow_up_done_at", "created_at"]  # fmt: skip
    _insert(Visit, fields, rows)
    return len(rows), sum(1 for v in rows if v[7] and v[8] is None)


def _subscriptions_write(rng, stations, now: datetime) -> dict[int, int]:
    """A handful of subscribers per community; returns active subscribers per community."""
    seen: set[str] = set()
    rows = []
    active: Counter = Counter()
    for station in stations:
        for c in station.communities:
            for _ in range(rng.randint(2, 6) if c.tiny else rng.randint(4, 12)):
                mobile = f"138{rng.randrange(10**8):08d}"
                while mobile in seen:
                    mobile = f"138{rng.randrange(10**8):08d}"
                seen.add(mobile)
                created = now - timedelta(days=rng.randint(3, 200), minutes=rng.randrange(1440))
                stopped = None
                if rng.random() < 0.1:
                    stopped = min(created + timedelta(days=rng.randint(1, 60)), now)
                else:
                    active[c.area.row.pk] += 1
                rows.append(
                    NoticeSubscription(
                        area=c.area.row,
                        mobile=mobile,
                        mobile_hash=lookup_hash("mobile", mobile),
                        created_at=created,
                        stopped_at=stopped,
                    )
                )
    NoticeSubscription.objects.bulk_create(rows, batch_size=BATCH)
    return active


def _notices_write(rng, stations, active: dict[int, int], now: datetime) -> int:
    rows = []
    for station in stations:
        for _ in range(rng.randint(2, 3)):
            c = rng.choice(station.communities)
            kind, title, body = rng.choice(NOTICES)
            sent = timezone.localtime(now) - timedelta(days=rng.randint(2, 75))
            sent = sent.replace(
                hour=rng.randint(9, 17), minute=rng.randrange(60), second=0, microsecond=0
            )
            if sent >= now:
                sent -= timedelta(days=1)
            recipients = max(0, active.get(c.area.row.pk, 0) - rng.randint(0, 2))
            rows.append(
                SafetyNotice(
                    area=c.area.row,
                    kind=kind,
                    title=title,
                    body=body,
                    sent_at=sent,
                    recipients=recipients,
                    skipped=active.get(c.area.row.pk, 0) - recipients,
                    created_at=sent - timedelta(minutes=rng.randint(10, 90)),
                )
            )
        if station.unit.code == SHOWCASE:  # one draft waiting to be sent
            kind, title, body = DRAFT_NOTICE
            rows.append(
                SafetyNotice(
                    area=station.communities[0].area.row, kind=kind, title=title, body=body,
                    created_at=now - timedelta(hours=2),
                )
            )  # fmt: skip
    SafetyNotice.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


# --- Patrol -------------------------------------------------------------------------------------


def _route(rng: random.Random, station: _Station, unit_index: int, area_on_route: bool) -> list:
    """The loop a unit drives: along its key segments (start → end) and through the key area."""
    segments = list(station.key_segments)
    if unit_index == 1 and len(segments) > 1:
        segments = segments[1:]  # the second unit leaves the first key segment to the first
    if unit_index == 2:
        segments = list(reversed(segments))
    points = []
    for segment in segments:
        line = segment.line
        if unit_index % 2:
            line = list(reversed(line))
        points.extend(line)
    if area_on_route and station.key_area is not None and unit_index != 1:
        ring = station.key_area.geometry["coordinates"][0]
        cx = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
        cy = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
        points.append((cx, cy))
    if len(points) < 2:
        (x0, y0, x1, y1) = _area_box(station.communities[0].area)
        points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    points.append(points[0])
    return points


def _area_box(area: _Area):
    pts = _points(area.geometry)
    return (
        min(p[0] for p in pts),
        min(p[1] for p in pts),
        max(p[0] for p in pts),
        max(p[1] for p in pts),
    )


def _metres(a, b) -> float:
    return math.hypot((b[0] - a[0]) * M_PER_DEG_LNG, (b[1] - a[1]) * M_PER_DEG_LAT)


def _drive(rng, route, start: datetime, end: datetime, stop_at: set[int], now: datetime):
    """Pings of one shift: round and round `route` at 10–40 km/h, every 10–30 s, parking
    10–20 minutes at the route points in `stop_at` (once each), until `end` (or `now`)."""
    pings = []
    at = start
    leg, progress = 0, 0.0  # metres along the current leg
    interval = rng.uniform(16, 27)
    speed = rng.uniform(10, 40) / 3.6  # m/s
    stopped = set()
    limit = min(end, now)
    while at < limit:
        a, b = route[leg], route[leg + 1]
        length = max(_metres(a, b), 1.0)
        t = min(progress / length, 1.0)
        lng = a[0] + (b[0] - a[0]) * t + rng.gauss(0, 0.00004)
        lat = a[1] + (b[1] - a[1]) * t + rng.gauss(0, 0.00004)
        pings.append((at, round(lng, 6), round(lat, 6)))
        step = max(10.0, min(30.0, interval + rng.uniform(-3, 3)))
        at = at + timedelta(seconds=round(step))
        progress += speed * step
        if progress >= length:
            progress -= length
            leg += 1
            speed = rng.uniform(10, 40) / 3.6
            if leg in stop_at and leg not in stopped:  # park: the Koper stop
                stopped.add(leg)
                parked_until = at + timedelta(minutes=rng.uniform(10, 20))
                px, py = route[leg]
                while at < min(parked_until, limit):
                    pings.append(
                        (
                            at,
                            round(px + rng.gauss(0, 0.00005), 6),
                            round(py + rng.gauss(0, 0.00005), 6),
                        )
                    )
                    at += timedelta(seconds=30)
                progress = 0.0
            if leg >= len(route) - 1:
                leg = 0
    return pings


def _pings_insert(rows: list[tuple], now: datetime) -> int:
    """Pings (station id, unit code, aware time, lng, lat, flag), each received
    (`created_at`) half a minute after it was taken."""
    received = timedelta(seconds=30)
    seen: set[tuple[str, datetime]] = set()
    unique = []
    for row in rows:  # a repeat of (unit, time) is the same ping (PatrolPing's constraint)
        if (row[1], row[2]) not in seen:
            seen.add((row[1], row[2]))
            unique.append((*row, min(row[2] + received, now)))
    fields = ["station", "unit_code", "at", "lng", "lat", "flag", "created_at"]
    _insert(PatrolPing, fields, unique)
    return len(unique)


def _patrol_write(rng, stations, today: date, now: datetime) -> tuple[int, int, int]:
    days = [today - timedelta(days=k) for k in range(PATROL_DAYS - 1, -1, -1)]
    rows = []
    checkins = []
    flagged = 0
    for s_index, station in enumerate(stations):
        units = 3 if station.unit.code == SHOWCASE or rng.random() < 0.15 else 2
        # Every fifth station leaves its key area off the routes: only check-ins, too few.
        area_on_route = s_index % 5 != 4
        for u in range(units):
            code = f"{station.unit.code}-P{u + 1}"
            route = _route(rng, station, u, area_on_route)
            track = []
            for day in days:
                first_start, first_len, second_start, second_len = SHIFTS[u]
                for (hour, minute), length in (
                    (first_start, first_len),
                    (second_start, second_len),
                ):
                    begin = _local(day, hour, minute) + timedelta(minutes=rng.randint(-8, 8))
                    end = begin + timedelta(minutes=length + rng.randint(-10, 10))
                    stops = {rng.randrange(1, len(route))} if rng.random() < 0.7 else set()
                    track.extend(_drive(rng, route, begin, end, stops, now))
            # Deliberate gaps (设备离线): some stations' units lose GPS for a key hour
            # yesterday; those hours show "no data", not failure.
            if s_index % 4 == 1 and len(days) > 1:
                gap_hour = (7, 20, 13)[u]
                lo, hi = _local(days[-2], gap_hour), _local(days[-2], gap_hour + 1)
                track = [p for p in track if not lo <= p[0] < hi]
            track.sort()
            station_id = station.unit.pk
            rows.extend((station_id, code, at, lng, lat, "") for at, lng, lat in track)
            # An impossible jump (a GPS glitch) on some units: kept, flagged, never used.
            if len(track) > 50 and rng.random() < 0.35:
                at, lng, lat = track[len(track) // 2]
                far = (round(lng + 0.05, 6), round(lat - 0.04, 6))
                rows.append((station_id, code, at + timedelta(seconds=3), *far, PingFlag.SPEED))
                flagged += 1
            if s_index == 0 and u == 0 and track:  # a device reporting from Hangzhou
                at = track[-1][0] - timedelta(seconds=5)
                rows.append((station_id, code, at, 120.1551, 30.2741, PingFlag.OUTSIDE))
                flagged += 1
        # Check-ins (巡逻打卡): the foot patrol scans the key area's code a few times a day,
        # the cars now and then at a key segment.
        for day in days:
            for _ in range(rng.randint(2, 4)):
                at = _local(day, rng.choice((9, 10, 15, 16, 19, 20)), rng.randrange(60))
                if at < now and station.key_area is not None:
                    walker = f"{station.unit.code}-W1"  # the foot patrol (步巡)
                    checkins.append(
                        PatrolCheckin(area=station.key_area.row, unit_code=walker, at=at,
                                      source="qrcode", created_at=at)
                    )  # fmt: skip
            for _ in range(rng.randint(0, 2)):
                if not station.key_segments:
                    break
                at = _local(day, rng.choice((7, 8, 17, 18)), rng.randrange(60))
                if at < now:
                    checkins.append(
                        PatrolCheckin(area=rng.choice(station.key_segments).row,
                                      unit_code=f"{station.unit.code}-P1", at=at, source="app",
                                      created_at=at)
                    )  # fmt: skip
    pings = _pings_insert(rows, now)
    PatrolCheckin.objects.bulk_create(checkins, batch_size=BATCH, ignore_conflicts=True)
    return pings, flagged, len(checkins)


# --- The whole -----------------------------------------------------------------------------------


def _demo_stations(root: OrgUnit, codes) -> list[OrgUnit]:
    stations = OrgUnit.objects.filter(
        path__startswith=root.path, kind=UnitKind.POLICE_STATION, is_active=True
    ).order_by("code")
    if codes:
        stations = stations.filter(code__in=list(codes))
    return list(stations)


def community_demo_exists(root: OrgUnit) -> bool:
    return GridArea.objects.filter(station__path__startswith=root.path).exists()


def community_demo_clear(root: OrgUnit) -> None:
    """Remove the community data of the demo city's stations (the demo's, and anything else
    written for them)."""
    stations = OrgUnit.objects.filter(path__startswith=root.path)
    areas = GridArea.objects.filter(station__in=stations)
    PatrolPass.objects.filter(area__in=areas).delete()
    PatrolCoverage.objects.filter(station__in=stations).delete()
    PatrolPing.objects.filter(station__in=stations).delete()
    PatrolCheckin.objects.filter(area__in=areas).delete()
    AreaColour.objects.filter(area__in=areas).delete()
    Incident.objects.filter(Q(area__in=areas) | Q(community__in=areas)).delete()
    Visit.objects.filter(Q(area__in=areas) | Q(community__in=areas)).delete()
    SafetyNotice.objects.filter(area__in=areas).delete()
    NoticeSubscription.objects.filter(area__in=areas).delete()
    CommunityOfficer.objects.filter(area__in=areas).delete()
    AreaPopulation.objects.filter(area__in=areas).delete()
    areas.update(parent=None, community=None)
    areas.delete()
    PatrolRule.objects.filter(bureau=root).delete()


def build_community_demo(
    *, seed: int = DEFAULT_SEED, now=None, stations=None, rebuild: bool = False
) -> DemoCommunity:
    """The demo city's community safety data, once, in one transaction (see the module
    docstring). `now` sets the moment it is built for; `stations` (unit codes) limits it to
    those stations (the tests build one)."""
    if not settings.DEMO_MODE:
        raise DemoHistoryError("the community demo is written only in demo mode (DEMO_MODE)")
    started = time.perf_counter()
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        root = OrgUnit.objects.filter(code=ROOT_CODE).first()
        if root is None:
            raise DemoHistoryError(f"the demo city (unit {ROOT_CODE}) does not exist")
        if community_demo_exists(root):
            if not rebuild:
                return DemoCommunity(created=False)
            community_demo_clear(root)
        units = _demo_stations(root, stations)
        if not units:
            raise DemoHistoryError("no police station of the demo city to build a grid for")
        rng = random.Random(f"{seed}:community")  # noqa: S311
        community_officers: dict[int, list[Officer]] = {}
        for officer in Officer.objects.filter(
            unit__in=units, position=Position.COMMUNITY, is_active=True
        ).order_by("pk"):
            community_officers.setdefault(officer.unit_id, []).append(officer)
        # Position in the district: by the station's code, as in the full city, so one
        # station built alone lies where it lies in the whole demo.
        plans = []
        for unit in units:
            index = int(unit.code[6:]) - 1 if unit.code[6:].isdigit() else 0
            # Each station's grid from its own stream: the same whichever stations are built.
            layout = random.Random(f"{seed}:community:{unit.code}")  # noqa: S311
            officers = community_officers.get(unit.pk, [])
            plans.append(_plan_station(layout, unit, index % 9, officers))
        demo = DemoCommunity(created=True, stations=len(plans))
        demo.levels = _areas_write(plans, now)
        demo.key_segments = sum(len(s.key_segments) for s in plans)
        demo.key_areas = sum(1 for s in plans if s.key_area is not None)
        current = _month_start(today)
        months = [_month_add(current, k) for k in range(1 - MONTHS, 1)]
        demo.populations = _populations_write(rng, plans, months)
        demo.incidents = _incidents_write(rng, plans, months, now)
        demo.officers = _officers_write(rng, plans, today)
        demo.visits, demo.open_follow_ups = _visits_write(rng, plans, today, now)
        active = _subscriptions_write(rng, plans, now)
        demo.subscriptions = NoticeSubscription.objects.filter(area__station__in=units).count()
        demo.notices = _notices_write(rng, plans, active, now)
        PatrolRule.objects.get_or_create(bureau=root)
        demo.pings, demo.flagged, demo.checkins = _patrol_write(rng, plans, today, now)
        # The real computations: colours for the last months (oldest first, so the
        # two-months-in-a-row rule has history), passes for the patrol days.
        for back in range(COLOUR_MONTHS - 1, -1, -1):
            colours_compute(root, _month_add(current, -back), now=now)
        demo.colour_month = current
        demo.colours = Counter(
            AreaColour.objects.filter(area__station__in=units, month=current).values_list(
                "colour", flat=True
            )
        )
        for station in units:
            for back in range(PATROL_DAYS - 1, -1, -1):
                demo.passes += passes_compute(station, today - timedelta(days=back), now=now)
    demo.seconds = time.perf_counter() - started
    return demo
