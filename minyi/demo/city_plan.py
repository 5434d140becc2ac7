"""The demo city as plain data: a Shaoxing-shaped public-security bureau with synthetic people.

`plan_city` is pure (no database): the same scale and seed always give the same units,
officers, police numbers, mobiles and ID numbers; `minyi.demo.city` writes a plan.

Real district, street and town names; every person, phone number and ID number is invented
(ID numbers carry a valid GB 11643 checksum so that the application accepts them).
"""

import random
from dataclasses import dataclass, field
from itertools import accumulate

from minyi.core.pii import id_number_checksum
from minyi.orgs.choices import Position, Role, UnitKind

DEFAULT_SEED = 20261124
MAX_SCALE = 50
ROOT_CODE = "330600"


class DemoCityError(Exception):
    pass


# --- Organisation ------------------------------------------------------------------------


@dataclass(frozen=True)
class _District:
    code: str
    name: str
    short_name: str
    place: str  # the short place name used in brigade names: 越城交警大队
    county: str  # the county-level division in addresses: 越城区
    phone_prefix: str  # first two digits of the eight-digit local landline numbers
    towns: tuple[str, ...]  # streets (街道) and towns (镇), one police station each


DISTRICTS = (
    _District(
        "330602",
        "越城区公安分局",
        "越城分局",
        "越城",
        "越城区",
        "85",
        (
            "府山街道",
            "塔山街道",
            "北海街道",
            "城南街道",
            "灵芝街道",
            "东湖街道",
            "皋埠街道",
            "鉴湖街道",
            "稽山街道",
        ),
    ),
    _District(
        "330603",
        "柯桥区公安分局",
        "柯桥分局",
        "柯桥",
        "柯桥区",
        "84",
        (
            "柯桥街道",
            "柯岩街道",
            "华舍街道",
            "齐贤街道",
            "安昌街道",
            "杨汛桥街道",
            "钱清街道",
            "兰亭街道",
        ),
    ),
    _District(
        "330604",
        "上虞区公安分局",
        "上虞分局",
        "上虞",
        "上虞区",
        "82",
        (
            "百官街道",
            "曹娥街道",
            "东关街道",
            "崧厦街道",
            "沥海街道",
            "梁湖街道",
            "章镇镇",
            "丰惠镇",
        ),
    ),
    _District(
        "330681",
        "诸暨市公安局",
        "诸暨市局",
        "诸暨",
        "诸暨市",
        "87",
        (
            "暨阳街道",
            "浣东街道",
            "陶朱街道",
            "大唐街道",
            "店口镇",
            "枫桥镇",
            "牌头镇",
            "次坞镇",
            "璜山镇",
        ),
    ),
    _District(
        "330683",
        "嵊州市公安局",
        "嵊州市局",
        "嵊州",
        "嵊州市",
        "83",
        ("剡湖街道", "三江街道", "鹿山街道", "浦口街道", "甘霖镇", "长乐镇", "崇仁镇"),
    ),
    _District(
        "330624",
        "新昌县公安局",
        "新昌县局",
        "新昌",
        "新昌县",
        "86",
        ("南明街道", "七星街道", "羽林街道", "沃洲镇", "儒岙镇", "澄潭镇"),
    ),
)

# City-level directly affiliated units (市局直属): (code suffix, name, short name, kind).
CITY_UNITS = (
    ("901", "绍兴市公安局交通警察支队", "市局交警支队", UnitKind.TRAFFIC_BRIGADE),
    ("902", "绍兴市公安局刑事侦查支队", "市局刑侦支队", UnitKind.CRIMINAL_BRIGADE),
    ("903", "绍兴市公安局出入境管理局", "市局出入境", UnitKind.SPECIAL_UNIT),
)
TRAFFIC_SUFFIX, CRIMINAL_SUFFIX = "901", "902"

ROADS = (
    "解放路", "中兴路", "人民路", "胜利路", "环城西路", "延安路", "越州路", "镜湖大道",
    "群贤路", "笛扬路", "湖西路", "市民大道", "江滨路", "浣纱路", "鉴湖路", "迪荡路",
    "舜江路", "剡溪路", "七星路", "兴越路", "曹娥路", "金柯桥大道", "望江路", "凤鸣路",
)  # fmt: skip

COMMUNITY_STEMS = (
    "仓桥", "新河", "西园", "蕺山", "东浦", "荷花", "梅山", "龙山", "银杏", "金湖", "桃园",
    "翠竹", "青藤", "书圣", "鲁迅", "八字桥", "大通", "和畅", "秋瑾", "前观", "城东", "城西",
    "江南", "江北", "南门", "北门", "长桥", "迎恩", "华联", "锦华", "新桥", "兴越", "钟堰",
    "凤凰", "阳光", "柳岸", "湖畔", "玉兰", "香樟", "桂花", "丽园", "绿洲", "双渎", "东安",
    "永丰", "望江", "五云", "福禄", "紫金", "宝珠", "白马", "鹿鸣", "清风", "石门", "溪口",
    "卧龙", "云松", "镜湖", "越秀", "汇泽", "樱花", "三味", "百花", "青山",
)  # fmt: skip

_CN_DIGITS = "零一二三四五六七八九"


def _cn_number(n: int) -> str:
    """1..99 in Chinese numerals: 2 → 二, 12 → 十二, 20 → 二十, 35 → 三十五."""
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else _CN_DIGITS[tens]) + "十" if tens else ""
    return text + (_CN_DIGITS[ones] if ones else "")


def _town_base(town: str) -> tuple[str, bool]:
    """府山街道 → (府山, urban); 店口镇 → (店口, rural)."""
    for suffix, urban in (("街道", True), ("镇", False), ("乡", False)):
        if town.endswith(suffix):
            return town[: -len(suffix)], urban
    return town, True


# --- Synthetic people --------------------------------------------------------------------

# Common surnames, weighted roughly as in Zhejiang (陈 王 first; 沈 钱 俞 金 楼 裘 竺 寿 are
# far more common in Shaoxing than nationally).
SURNAMES = (
    ("陈", 70), ("王", 60), ("张", 45), ("李", 40), ("吴", 30), ("徐", 26), ("周", 25),
    ("杨", 24), ("刘", 22), ("黄", 20), ("胡", 20), ("沈", 18), ("金", 15), ("孙", 15),
    ("朱", 15), ("赵", 15), ("何", 14), ("俞", 12), ("钱", 11), ("章", 10), ("马", 10),
    ("郭", 8), ("高", 9), ("林", 9), ("蒋", 9), ("楼", 8), ("裘", 7), ("宋", 8), ("姚", 8),
    ("丁", 7), ("潘", 7), ("任", 6), ("罗", 6), ("郑", 8), ("梁", 5), ("谢", 6), ("唐", 6),
    ("许", 7), ("韩", 5), ("冯", 6), ("邓", 4), ("曹", 5), ("彭", 4), ("曾", 3), ("肖", 4),
    ("田", 4), ("董", 6), ("袁", 5), ("于", 3), ("蔡", 6), ("余", 6), ("杜", 4), ("叶", 7),
    ("程", 4), ("苏", 4), ("魏", 4), ("吕", 5), ("卢", 4), ("姜", 4), ("崔", 2), ("钟", 4),
    ("谭", 2), ("陆", 6), ("汪", 5), ("范", 4), ("石", 4), ("廖", 2), ("贾", 2), ("夏", 4),
    ("韦", 2), ("方", 6), ("邹", 3), ("竺", 4), ("寿", 3), ("屠", 3), ("茹", 2), ("宣", 2),
    ("应", 1), ("单", 3), ("鲁", 3), ("祝", 3), ("傅", 5), ("戚", 2), ("严", 4), ("邵", 5),
)  # fmt: skip
_SURNAME_CHARS = tuple(s for s, _ in SURNAMES)
_SURNAME_CUM = tuple(accumulate(w for _, w in SURNAMES))

MALE_CHARS = (
    "伟强磊军勇杰涛明超斌鹏辉华建国平刚峰宇浩俊凯健波文志东晨阳林海飞龙亮鑫毅瑞恒航振良"
    "荣祥昊翔帅力彬坤锋炜旭然成兵江新永立忠庆春德晖睿哲远博宏泽轩豪骏铭栋翰"
)
FEMALE_CHARS = "丽敏静婷娜燕芳玲霞艳红琳倩雪颖慧莉萍洁晶蕾璐瑶怡欣悦雯琪妍楠梅兰芬英秀娟露蓉清"
NEUTRAL_CHARS = "晓文佳子一思嘉雨安天家金春海小亦如若可少立学"

ID_REGIONS = ("330602", "330603", "330604", "330621", "330624", "330681", "330682", "330683")
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "157", "158", "159", "180", "181", "182", "183", "186", "187", "188",
    "189", "191", "199",
)  # fmt: skip


def _person_name(rng: random.Random, male: bool) -> str:
    surname = rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_CUM)[0]
    gendered = MALE_CHARS if male else FEMALE_CHARS
    if rng.random() < 0.22:
        return surname + rng.choice(gendered)
    first = rng.choice(gendered + NEUTRAL_CHARS)
    second = rng.choice(gendered)
    while second == first:
        second = rng.choice(gendered)
    return surname + first + second


def synthetic_names(count: int, *, seed: int = DEFAULT_SEED) -> list[str]:
    """`count` synthetic Chinese names (mostly male, as in the police), deterministic."""
    rng = random.Random(f"{seed}:people")
    return [_person_name(rng, rng.random() < 0.82) for _ in range(count)]


# --- Plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitPlan:
    code: str
    name: str
    short_name: str
    kind: str
    parent_code: str | None
    duty_phone: str
    address: str
    has_perception_centre: bool = False
    communities: tuple[str, ...] = ()  # served by the station's community officers


@dataclass(frozen=True)
class OfficerPlan:
    police_number: str
    name: str
    unit_code: str
    position: str
    is_public: bool
    duty_phone: str
    communities: str
    mobile: str
    id_number: str


@dataclass(frozen=True)
class AccountPlan:
    username: str
    role: str
    unit_code: str
    full_name: str
    officer_police_number: str = ""  # unit leaders of stations are the station chief


@dataclass
class CityPlan:
    scale: int
    seed: int
    units: list[UnitPlan] = field(default_factory=list)
    officers: list[OfficerPlan] = field(default_factory=list)
    accounts: list[AccountPlan] = field(default_factory=list)


# (tier prefix in usernames, unit code, roles to create)
ACCOUNT_TIERS = (
    ("city", ROOT_CODE, tuple(Role)),
    ("yuecheng", "330602", tuple(Role)),
    ("fushan", "330602001", tuple(Role)),
    ("tashan", "330602002", (Role.UNIT_LEADER,)),
)
_ROLE_SLUG = {
    Role.ADMIN: "admin",
    Role.EVALUATOR: "evaluator",
    Role.UNIT_LEADER: "leader",
    Role.SUPERVISOR: "supervisor",
}
DEMO_USERNAMES = tuple(
    f"{tier}_{_ROLE_SLUG[role]}" for tier, _, roles in ACCOUNT_TIERS for role in roles
)


class _Numbers:
    """Unique synthetic phone numbers, police numbers and ID numbers from one stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.seen: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self.seen:
                self.seen.add(value)
                return value

    def landline(self, prefix: str) -> str:
        return self._unique(lambda: f"0575-{prefix}{self.rng.randrange(10**6):06d}")

    def mobile(self) -> str:
        return self._unique(
            lambda: self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
        )

    def id_number(self, male: bool, first_year: int, last_year: int) -> str:
        def make():
            year = self.rng.randint(first_year, last_year)
            month = self.rng.randint(1, 12)
            day = self.rng.randint(1, 28)
            sequence = self.rng.randrange(100) * 10 + self.rng.randrange(int(not male), 10, 2)
            first17 = f"{self.rng.choice(ID_REGIONS)}{year}{month:02d}{day:02d}{sequence:03d}"
            return first17 + id_number_checksum(first17)

        return self._unique(make)


def _staffing(kind: str, is_bureau_hq: bool, scale: int, rng: random.Random) -> list[str]:
    """The positions of one unit's officers, leaders first."""
    r = rng.randint
    if kind == UnitKind.CITY_BUREAU:
        counts = {Position.STAFF: 25 * scale}
    elif is_bureau_hq:
        counts = {Position.STAFF: r(8, 12) * scale}
    elif kind == UnitKind.POLICE_STATION:
        counts = {
            Position.CHIEF: 1, Position.INSTRUCTOR: 1, Position.DEPUTY: r(1, 2),
            Position.COMMUNITY: r(5, 9), Position.PATROL: r(6, 10), Position.CASE: r(5, 9),
            Position.WINDOW: r(3, 5),
        }  # fmt: skip
    elif kind == UnitKind.TRAFFIC_BRIGADE:
        counts = {
            Position.CHIEF: 1, Position.INSTRUCTOR: 1, Position.DEPUTY: 2,
            Position.TRAFFIC: r(38, 55) * scale, Position.STAFF: 2 * scale,
        }  # fmt: skip
    elif kind == UnitKind.CRIMINAL_BRIGADE:
        counts = {
            Position.CHIEF: 1, Position.INSTRUCTOR: 1, Position.DEPUTY: 2,
            Position.DETECTIVE: r(18, 28) * scale, Position.STAFF: 1 * scale,
        }  # fmt: skip
    else:  # e.g. the exit-entry administration: a window service
        counts = {
            Position.CHIEF: 1, Position.DEPUTY: 1, Position.WINDOW: 10 * scale,
            Position.STAFF: 4 * scale,
        }  # fmt: skip
    return [position for position, n in counts.items() for _ in range(n)]


_PUBLIC_SHARE = {Position.DETECTIVE: 0.6, Position.STAFF: 0.8, Position.COMMUNITY: 1.0}


def check_scale(scale: int) -> None:
    if not 1 <= scale <= MAX_SCALE:
        raise DemoCityError(f"scale must be between 1 and {MAX_SCALE}, not {scale}")


def plan_city(*, scale: int = 1, seed: int = DEFAULT_SEED) -> CityPlan:
    """The whole demo city as plain data; no database access, same input → same output."""
    check_scale(scale)
    plan = CityPlan(scale=scale, seed=seed)
    layout = random.Random(f"{seed}:layout")  # unit phones, addresses, staffing, communities
    people = random.Random(f"{seed}:people")  # names and genders
    numbers = _Numbers(random.Random(f"{seed}:numbers"))

    def address(county: str, town: str) -> str:
        return f"浙江省绍兴市{county}{town}{layout.choice(ROADS)}{layout.randint(1, 399)}号"

    units = plan.units
    units.append(
        UnitPlan(ROOT_CODE, "绍兴市公安局", "绍兴市局", UnitKind.CITY_BUREAU, None,
                 numbers.landline("88"), address("越城区", "府山街道"), True)
    )  # fmt: skip
    for suffix, name, short_name, kind in CITY_UNITS:
        units.append(
            UnitPlan(ROOT_CODE + suffix, name, short_name, kind, ROOT_CODE,
                     numbers.landline("88"), address("越城区", "城南街道"))
        )  # fmt: skip
    for district in DISTRICTS:
        seat = district.towns[0]
        units.append(
            UnitPlan(district.code, district.name, district.short_name,
                     UnitKind.DISTRICT_BUREAU, ROOT_CODE,
                     numbers.landline(district.phone_prefix), address(district.county, seat),
                     True)
        )  # fmt: skip
    for district in DISTRICTS:
        index = 0
        for copy in range(1, scale + 1):
            for town in district.towns:
                index += 1
                base, urban = _town_base(town)
                name, short_name = f"{base}派出所", f"{base}所"
                if copy > 1:
                    name = f"{base}第{_cn_number(copy)}派出所"
                    short_name = f"{base}{_cn_number(copy)}所"
                stems = [s for s in COMMUNITY_STEMS if s != base]
                ending = "社区" if urban else "村"
                communities = (f"{base}社区", *(s + ending for s in layout.sample(stems, 29)))
                units.append(
                    UnitPlan(f"{district.code}{index:03d}", name, short_name,
                             UnitKind.POLICE_STATION, district.code,
                             numbers.landline(district.phone_prefix),
                             address(district.county, town),
                             has_perception_centre=(index == 1), communities=communities)
                )  # fmt: skip
        for suffix, label, kind in (
            (TRAFFIC_SUFFIX, "交警", UnitKind.TRAFFIC_BRIGADE),
            (CRIMINAL_SUFFIX, "刑侦", UnitKind.CRIMINAL_BRIGADE),
        ):
            units.append(
                UnitPlan(f"{district.code}{suffix}", f"{district.place}{label}大队",
                         f"{district.place}{label}", kind, district.code,
                         numbers.landline(district.phone_prefix),
                         address(district.county, district.towns[1]))
            )  # fmt: skip

    prefixes = {d.code: d.phone_prefix for d in DISTRICTS}
    staffing = []
    for unit in units:
        hq = unit.kind in (UnitKind.CITY_BUREAU, UnitKind.DISTRICT_BUREAU)
        staffing.append((unit, _staffing(unit.kind, hq, scale, layout)))
    total = sum(len(positions) for _, positions in staffing)
    police_numbers = [f"{n:06d}" for n in numbers.rng.sample(range(100000, 1000000), total)]

    for unit, positions in staffing:
        prefix = prefixes.get(unit.code[:6], "88")
        communities = list(unit.communities)
        for position in positions:
            male = people.random() < (0.93 if position == Position.CHIEF else 0.82)
            name = _person_name(people, male)
            senior = position in (Position.CHIEF, Position.INSTRUCTOR, Position.DEPUTY)
            years = (1968, 1986) if senior else (1965, 2000)
            served = ""
            if position == Position.COMMUNITY and communities:
                take = min(len(communities), layout.randint(1, 3))
                served, communities = "、".join(communities[:take]), communities[take:]
            public = layout.random() < _PUBLIC_SHARE.get(position, 0.95)
            duty_phone = ""
            if position in (Position.COMMUNITY, Position.CHIEF, Position.INSTRUCTOR):
                duty_phone = numbers.landline(prefix)
            plan.officers.append(
                OfficerPlan(
                    police_number=police_numbers[len(plan.officers)],
                    name=name,
                    unit_code=unit.code,
                    position=position,
                    is_public=public,
                    duty_phone=duty_phone,
                    communities=served,
                    mobile=numbers.mobile(),
                    id_number=numbers.id_number(male, *years),
                )
            )

    chiefs = {o.unit_code: o for o in plan.officers if o.position == Position.CHIEF}
    for tier, unit_code, roles in ACCOUNT_TIERS:
        for role in roles:
            chief = chiefs.get(unit_code) if role == Role.UNIT_LEADER else None
            plan.accounts.append(
                AccountPlan(
                    username=f"{tier}_{_ROLE_SLUG[role]}",
                    role=role,
                    unit_code=unit_code,
                    full_name=chief.name if chief else _person_name(people, people.random() < 0.6),
                    officer_police_number=chief.police_number if chief else "",
                )
            )
    return plan
