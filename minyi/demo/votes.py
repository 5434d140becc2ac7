"""Demo: public decisions by vote (票选, DOMAIN.md capability 3) in the demo city, made by the
real services of `minyi.votes` (campaigns, ballots, paper keying, stuffing review, actions).

- 「公安惠民实事项目票选」 (sxhuimin): the city bureau's approval vote, "choose up to 10 of
  30" proposals, five of them from citizens' suggestions (with their tracking numbers when
  demo_portal wrote some). Opened about 60 days ago, closed about 30 days ago, published.
  About 3,000 online ballots over many networks and hours, 400 paper sheets keyed twice by two
  clerks (mismatches settled by the supervisor, unreadable sheets, duplicates of online
  voters rejected), a chain head every day, one confirmed stuffing flag (a real burst from one
  network) and one cleared (a community event's Wi-Fi). The ten chosen proposals are action
  plans with responsible units, milestones, progress updates with figures and followers.
- 「最满意派出所大PK」 (ycpk): the Yuecheng district's single-choice vote among its 11 units
  (its police stations, then its brigades when the district has fewer than 11 stations),
  open now (opened 3 days ago, closes in 4), shares hidden, about 1,500 online ballots so
  far, paper sheets waiting for their second keying, two in the mismatch queue and one open
  stuffing flag (a burst of identical ballots) waiting for review.
- 「交通安全劝导站点位票选」 (sxquandao): a draft for the organiser to edit and open.

Every time is relative to `now`, so the demo reads right at any hour. `build_votes_demo`
does all of it in one transaction, once (`votes_demo_exists`).
"""

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from minyi.demo.city import closest_account
from minyi.demo.city_plan import DEFAULT_SEED, ROOT_CODE
from minyi.demo.contacts import DemoHistoryError
from minyi.opinions.models import Opinion, OpinionKind
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import OrgUnit, User
from minyi.votes import actions, campaigns, chain, keys, paper, stuffing
from minyi.votes.ballots import ballot_cast
from minyi.votes.models import (
    ActionPlan,
    Ballot,
    Campaign,
    CampaignEvent,
    CampaignKind,
    FlagKind,
    FlagStatus,
    PaperSheet,
    Rejection,
    SheetStatus,
)
from minyi.votes.results import campaign_tally

HUIMIN, PK, DRAFT = "sxhuimin", "ycpk", "sxquandao"
DEMO_CODES = (HUIMIN, PK, DRAFT)
ORGANISER = "city_supervisor"
DISTRICT_ORGANISER = "yuecheng_supervisor"
CLERK = "city_evaluator"
# The city bureau's second keying clerk (录入员): the demo city has one evaluator per tier,
# and a sheet must be keyed by two different people. It signs in nowhere (no password).
SECOND_CLERK = "city_clerk"
DISTRICT_CLERK = "yuecheng_evaluator"
PK_DISTRICT = "330602"
PK_OPTIONS = 11

ONLINE_HUIMIN = 3000
PAPER_HUIMIN = 400
MISMATCHES = 12
UNREADABLE = 6
DUPLICATES = 10
ONLINE_PK = 1500
PK_PENDING = 6
PK_MISMATCHES = 2

HOUR_WEIGHTS = (
    0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.4, 1.0, 1.6, 1.5, 1.3, 1.4,
    2.0, 1.8, 1.2, 1.1, 1.1, 1.3, 1.6, 2.2, 2.6, 2.4, 1.6, 0.8,
)  # fmt: skip
# How many proposals a voter ticks (1..10): most use all ten.
PICKS = (3, 4, 7, 7, 9, 7, 7, 8, 6, 42)

# --- The proposals ----------------------------------------------------------------------------

# (title, popularity, keywords of the citizen's suggestion it came from, text)
PROPOSALS = (
    ("户籍“一件事”办理", 10.0, (),
     "出生落户、户口迁移、投靠落户等事项一窗受理、一次办结，材料共享免提交。"),
    ("夜间巡逻点位增加", 9.2, (),
     "在夜市、商圈、城中村等夜间人员密集区域增设巡逻点位，延长见警时段。"),
    ("校园周边护学岗", 8.8, ("学校",),
     "中小学、幼儿园上学放学时段设置护学岗，民警、辅警与家长志愿者联合值守。"),
    ("电动自行车防盗登记", 8.1, (),
     "电动自行车免费加装防盗芯片并登记备案，被盗后快速追踪找回。"),
    ("反诈宣传进社区", 7.9, ("诈骗",),
     "民警进社区、进老年大学开展反诈宣讲，重点人群上门提醒，劝阻资金转出。"),
    ("出入境证件自助办理", 7.2, (),
     "在各区县办证大厅和部分派出所布设自助签注机，港澳通行证签注即办即取。"),
    ("城区交通堵点整治", 6.8, (),
     "对学校、医院、商圈周边10个常发堵点逐一制定方案，优化信号配时和停车管理。"),
    ("户籍窗口午间不打烊", 6.5, ("户籍窗口",),
     "户籍窗口中午轮班，方便上班族午休时间办理业务。"),
    ("社区警务室延时服务", 6.1, (),
     "社区警务室工作日延长到晚上8点，周末半天开放，方便居民咨询和办理。"),
    ("独居老人安全守护", 5.8, (),
     "社区民警定期走访独居老人，加装一键报警装置，与社区网格员联动响应。"),
    ("派出所无障碍设施改造", 4.1, ("无障碍",),
     "派出所门口设置无障碍通道和低位服务台，方便老年人和残疾人办事。"),
    ("夜市周边警务服务点", 4.3, ("夜市",),
     "在主要夜市周边设立临时警务服务点，晚间受理求助、调解纠纷。"),
    ("驾驶证业务就近办理", 4.6, (),
     "驾驶证换证、补证和体检下沉到派出所和银行网点，就近可办。"),
    ("违停先提醒后处罚", 4.4, (),
     "对首次轻微违停先发短信提醒，限时驶离不予处罚。"),
    ("居住证网上办理", 3.9, (),
     "居住证申领、签注全程网上办，证件邮寄到家。"),
    ("无犯罪记录证明网上开具", 3.7, (),
     "无犯罪记录证明网上申请、电子证明即时出具，单位可在线核验。"),
    ("景区节假日警务服务站", 2.4, (),
     "节假日在鲁迅故里、沈园、柯岩等景区设立警务服务站，提供求助和寻人服务。"),
    ("农村道路交通安全劝导站", 3.3, (),
     "在农村主要路口设立劝导站，劝导不戴头盔、超员载人等违法行为。"),
    ("“智安小区”建设", 3.5, (),
     "老旧小区加装人脸门禁、高空抛物监控和车辆识别系统，实现小区防盗。"),
    ("外卖快递骑手交通安全培训", 2.6, (),
     "联合平台企业开展骑手交通安全培训，建立骑手交通违法记分管理。"),
    ("寄递物流实名核验", 1.6, (),
     "寄递网点全面落实实名收寄和开箱验视，防范违禁物品流通。"),
    ("医院警务室全覆盖", 2.9, (),
     "二级以上医院设立警务室，快速处置医闹和涉医纠纷。"),
    ("校园安全教育“开学第一课”", 2.8, (),
     "民警每学期走进中小学讲授防溺水、防欺凌、防诈骗安全课。"),
    ("走失老人儿童快速寻找", 3.0, (),
     "接到走失报警后启动“团圆”快速查找机制，联动公交、出租车和社区发布信息。"),
    ("出租房屋网上登记", 1.8, (),
     "出租房屋和租客信息网上登记备案，房东手机上即可办理。"),
    ("电动自行车上牌点增设", 2.7, (),
     "在大型小区、商场和乡镇增设电动自行车上牌点，周末照常办理。"),
    ("地铁站点警务巡控", 2.2, (),
     "在地铁站点和换乘枢纽增加巡逻警力，高峰时段驻站执勤。"),
    ("未成年人保护专项检查", 1.9, (),
     "定期检查网吧、酒吧、KTV等场所违规接纳未成年人问题。"),
    ("事故快处快赔点增设", 2.3, (),
     "增设交通事故快处快赔服务点，轻微事故十分钟撤离现场。"),
    ("警营开放日", 1.2, (),
     "每季度开放派出所、交警指挥中心，邀请群众参观体验警务工作。"),
)  # fmt: skip
STUFFED = "景区节假日警务服务站"
STUFFING_NOTE = (
    "经核查，该网段为某旅游公司办公网络。10分钟内投出 %(n)d 票，每票都选了“景区节假日警务服务站”，"
    "手机号由该公司专人收集后集中代投，投票人本人不知情。确认异常：相关选票在结果中单列说明，"
    "已将情况通报该公司所在地派出所。"
)
EVENT_NOTE = (
    "经核查，该时段为灵芝街道“反诈宣传进社区”活动现场，群众扫码投票：手机号分属不同号段，"
    "设备各不相同，所选项目各异，属正常集中投票，复核正常。"
)

# (responsible unit code, target, milestones [(title, due day after publication, done)],
#  updates [(day after publication, percent, text, figure label, figure value)])
PLANS = {
    "户籍“一件事”办理": (
        ROOT_CODE,
        "全市各派出所户籍窗口实现出生落户、户口迁移等8类事项一窗受理、一次办结。",
        (
            ("梳理事项清单和材料共享目录", 3, True),
            ("全市户籍窗口系统升级", 10, True),
            ("全面推行并评估", 20, True),
        ),
        (
            (4, 40, "已梳理8类户籍事项，明确可共享材料23项，群众无需重复提交。", "", None),
            (
                11,
                75,
                "全市派出所户籍窗口系统升级完成，出生落户实现“一件事”联办。",
                "已上线窗口（个）",
                52,
            ),
            (
                22,
                100,
                "户籍“一件事”全面推行：平均办理时间由3天缩短到1天，群众少跑腿2次以上。",
                "惠及群众（人）",
                82000,
            ),
        ),
    ),
    "夜间巡逻点位增加": (
        "330602",
        "越城区夜市、商圈和城中村新增夜间巡逻点位30个，晚8点至凌晨2点见警率提升。",
        (
            ("排查夜间警情高发区域", 4, True),
            ("调整勤务，设置巡逻点位", 12, True),
            ("运行一个月后评估", 40, False),
        ),
        (
            (5, 30, "完成近一年夜间警情分析，确定重点区域12处。", "", None),
            (13, 60, "新增夜间巡逻点位30个，每晚投入巡逻警力46人。", "新增巡逻点位（个）", 30),
        ),
    ),
    "校园周边护学岗": (
        PK_DISTRICT,
        "越城区中小学、幼儿园上学放学时段护学岗全覆盖。",
        (
            ("确定护学岗点位", 5, True),
            ("护学岗全面上岗", 14, True),
            ("家长志愿者招募", 45, False),
            ("护学岗运行评估", 90, False),
        ),
        (
            (6, 35, "已对辖区127所中小学、幼儿园周边道路逐一踏勘，确定护学岗点位。", "", None),
            (15, 70, "护学岗全面上岗，每天上学放学时段民警、辅警在岗。", "覆盖学校（所）", 127),
        ),
    ),
    "电动自行车防盗登记": (
        "330603",
        "柯桥区电动自行车免费加装防盗芯片并登记，全年登记10万辆。",
        (
            ("采购防盗芯片和读取设备", 7, True),
            ("设立登记点", 15, True),
            ("完成10万辆登记", 120, False),
        ),
        (
            (8, 20, "防盗芯片招标完成，首批5万枚到货。", "", None),
            (16, 45, "全区设立登记点36个，周末照常办理。", "已登记车辆（辆）", 21400),
        ),
    ),
    "反诈宣传进社区": (
        ROOT_CODE + "902",
        "全市社区反诈宣讲全覆盖，老年人等重点人群上门提醒。",
        (
            ("组建反诈宣讲队", 3, True),
            ("重点人群上门提醒", 20, True),
            ("社区宣讲全覆盖", 60, False),
        ),
        (
            (4, 25, "组建由民警、社区干部和志愿者组成的反诈宣讲队58支。", "", None),
            (18, 55, "已在412个社区开展宣讲，上门提醒老年人1.2万人次。", "宣讲场次（场）", 468),
        ),
    ),
    "出入境证件自助办理": (
        ROOT_CODE + "903",
        "各区县办证大厅和20个派出所布设自助签注机。",
        (
            ("设备采购和点位选定", 10, True),
            ("区县办证大厅安装", 20, True),
            ("派出所自助签注机安装调试", 45, False),
        ),
        ((12, 50, "自助签注机采购完成，已在6个区县办证大厅安装使用。", "已布设设备（台）", 14),),
    ),
    "城区交通堵点整治": (
        ROOT_CODE + "901",
        "城区10个常发堵点逐一整治，高峰通行时间缩短15%。",
        (
            ("堵点排查和方案制定", 7, True),
            ("首批5个堵点整治", 30, False),
            ("全部整治完成", 90, False),
        ),
        (
            (8, 20, "完成城区10个常发堵点的方案，首批5个开工。", "", None),
            (
                20,
                40,
                "解放路—中兴路口信号配时优化后，晚高峰排队长度缩短约三成。",
                "已整治堵点（个）",
                3,
            ),
        ),
    ),
    "户籍窗口午间不打烊": (
        PK_DISTRICT + "001",
        "府山派出所户籍窗口中午12点至下午2点轮班办理。",
        (("制定轮班方案", 2, True), ("公示午间开放时间", 4, True), ("午间窗口开放", 5, True)),
        (
            (3, 50, "制定户籍窗口午间轮班方案，公示开放时间。", "", None),
            (6, 100, "户籍窗口午间不打烊正式实行，中午时段已接待群众。", "午间办件（件）", 640),
        ),
    ),
    "社区警务室延时服务": (
        "330604",
        "上虞区社区警务室工作日延长到晚上8点，周末半天开放。",
        (
            ("确定延时服务警务室", 6, True),
            ("排定值守民警", 12, True),
            ("延时服务运行评估", 60, False),
        ),
        ((7, 30, "确定首批延时服务社区警务室24个，排定值守民警。", "延时服务警务室（个）", 24),),
    ),
    "独居老人安全守护": (
        "330681",
        "诸暨市独居老人建档走访，加装一键报警装置2000户。",
        (
            ("独居老人摸底建档", 10, True),
            ("首批一键报警装置安装", 18, True),
            ("一键报警装置全部安装", 60, False),
        ),
        ((11, 20, "完成独居老人摸底建档3,260人，首批一键报警装置已安装。", "已安装（户）", 410),),
    ),
}
GENERIC_PLAN = (
    None,
    "",
    (("制定实施方案", 7, True), ("组织实施", 45, False), ("评估验收", 90, False)),
    ((8, 20, "已制定实施方案，明确责任人和时间表。", "", None),),
)

# In path order (越城: 府山, 塔山, 北海, 城南, 灵芝, 东湖, 皋埠, 鉴湖, 稽山, then the brigades):
# 塔山, marked last in the assessments, is not the citizens' favourite either.
PK_FAVOURITES = (1.2, 0.55, 1.1, 0.8, 0.9, 1.3, 1.0, 1.0, 0.85, 0.7, 0.6)

DRAFT_OPTIONS = (
    ("马山镇国道路口劝导站", "国道与乡道交叉口，电动自行车和行人混行，事故多发。"),
    ("陶堰街道集镇劝导站", "集镇赶集日人车密集，劝导不戴头盔和违规载人。"),
    ("平水镇学校门口劝导站", "上学放学时段车辆违停，学生横穿马路。"),
    ("孙端街道工业区劝导站", "上下班高峰电动自行车集中，逆行和闯红灯较多。"),
    ("富盛镇山区道路劝导站", "山区弯道多，周末骑行和自驾游客多。"),
)


@dataclass
class DemoVotes:
    created: bool
    seconds: float = 0.0
    campaigns: list[str] = field(default_factory=list)
    online: int = 0
    paper: int = 0
    rejections: int = 0
    flags: int = 0
    plans: int = 0
    suggestions: int = 0


def votes_demo_exists() -> bool:
    return Campaign.objects.filter(code__in=DEMO_CODES).exists()


def summary_line(demo: DemoVotes) -> str:
    if not demo.created:
        return "Votes demo data exists already; nothing was written."
    return (
        f"Votes demo written in {demo.seconds:.1f}s: campaigns {'、'.join(demo.campaigns)}; "
        f"{demo.online} online and {demo.paper} paper ballots, {demo.rejections} rejections, "
        f"{demo.flags} stuffing flags, {demo.plans} action plans "
        f"({demo.suggestions} proposals from citizens' suggestions)."
    )


# --- Synthetic voters: mobiles, networks, devices, times -----------------------------------------


class _Voters:
    """Unique mobiles in Shaoxing's number blocks (号段 + 0575-like H codes), and the networks
    and devices they vote from."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.seen: set[str] = set()
        prefixes = ("134", "135", "136", "137", "138", "139", "150", "151", "152", "157",
                    "158", "159", "182", "187", "188", "198", "133", "153", "180", "189",
                    "199", "130", "131", "132", "155", "156", "185", "186", "176")  # fmt: skip
        self.blocks = [f"{p}{rng.choice('5678')}{rng.randrange(10):01d}{rng.randrange(100):02d}"
                       for p in rng.sample(prefixes, 20) for _ in range(3)]  # fmt: skip
        # Home broadband /24s (China Telecom, Unicom in Zhejiang) and mobile NAT pools.
        fixed = [f"{a}.{rng.randrange(256)}"
                 for a in rng.choices(("115.192", "115.193", "60.190", "60.191", "122.224",
                                       "125.118", "183.129", "101.68"), k=900)]  # fmt: skip
        mobile = [f"{a}.{rng.randrange(256)}"
                  for a in rng.choices(("112.17", "223.104", "39.183", "117.136", "36.22"),
                                       k=300)]  # fmt: skip
        self.networks = fixed + mobile

    def mobile(self) -> str:
        while True:
            number = f"{self.rng.choice(self.blocks)}{self.rng.randrange(10_000):04d}"
            if number not in self.seen:
                self.seen.add(number)
                return number

    def ip(self) -> str:
        if self.rng.random() < 0.15:  # IPv6 on 4G/5G: its own /64
            groups = ":".join(f"{self.rng.randrange(65536):x}" for _ in range(3))
            return f"2409:8934:{groups}::{self.rng.randrange(1, 65535):x}"
        return f"{self.rng.choice(self.networks)}.{self.rng.randint(2, 254)}"

    def device(self) -> str:
        return f"{self.rng.getrandbits(96):024x}"


def _local(day, hour: int, minute: int = 0) -> datetime:
    tz = timezone.get_current_timezone()
    return datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=hour, minutes=minute)


def _times(rng: random.Random, start: datetime, end: datetime, n: int, day_weight) -> list:
    """`n` sorted instants in [start, end): each hour weighted by the hour of the day and by
    `day_weight(days since start)`."""
    slots, weights = [], []
    slot = start
    while slot < end:
        local = timezone.localtime(slot)
        slots.append(slot)
        weights.append(HOUR_WEIGHTS[local.hour] * day_weight((slot - start).days))
        slot += timedelta(hours=1)
    chosen = rng.choices(range(len(slots)), weights=weights, k=n)
    out = []
    for i in chosen:
        width = min(slots[i] + timedelta(hours=1), end) - slots[i]
        out.append(slots[i] + timedelta(seconds=rng.random() * width.total_seconds()))
    return sorted(out)


def _pick(rng: random.Random, weights: list[float], k: int) -> list[int]:
    """k option numbers drawn without replacement, each in proportion to its weight."""
    keyed = sorted(
        ((rng.random() ** (1.0 / w), i + 1) for i, w in enumerate(weights)), reverse=True
    )
    return sorted(number for _, number in keyed[:k])


def _burst_start(instant: datetime) -> datetime:
    """The start of the stuffing detector's 10-minute window holding `instant`, plus 20 s: a
    burst from there on stays inside one window."""
    seconds = stuffing.WINDOW_SECONDS
    start = int(instant.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(start + 20, tz=instant.tzinfo)


# --- Casting in time order, with the daily heads and the reviewer's work in between -----------


class _Clock:
    """Runs scheduled steps (a detection run, a decision) and publishes the chain's daily head
    at each local midnight, as the worker would, while ballots are cast in time order."""

    def __init__(self, campaign: Campaign, start: datetime):
        self.campaign = campaign
        self.next_midnight = _local(timezone.localdate(start) + timedelta(days=1), 0, 5)
        self.steps: list[tuple[datetime, object]] = []

    def at(self, when: datetime, step) -> None:
        self.steps.append((when, step))
        self.steps.sort(key=lambda item: item[0])

    def advance(self, until: datetime) -> None:
        while True:
            step_at = self.steps[0][0] if self.steps else None
            if self.next_midnight <= until and (step_at is None or self.next_midnight <= step_at):
                chain.head_publish(self.campaign, now=self.next_midnight)
                self.next_midnight += timedelta(days=1)
            elif step_at is not None and step_at <= until:
                _, step = self.steps.pop(0)
                step()
            else:
                return


def _cast_all(campaign, clock: _Clock, ballots: list[tuple]) -> list[Ballot]:
    """Cast (time, mobile, choices, ip, device) tuples in time order."""
    cast = []
    for when, mobile, choices, ip, device in sorted(ballots, key=lambda b: b[0]):
        clock.advance(when)
        cast.append(
            ballot_cast(campaign, mobile=mobile, choices=choices, ip=ip, device=device, now=when)
        )
    return cast


def _flag_holding(campaign, kind: str, ballot_pks: set[int]):
    for flag in campaign.flags.filter(kind=kind):
        if set(flag.ballots.values_list("pk", flat=True)) & ballot_pks:
            return flag
    return None


# --- 1. The ten public-benefit actions (惠民实事) ---------------------------------------------


def _suggestions(root: OrgUnit) -> dict[str, str]:
    """{keyword: tracking number}: the oldest citizen's suggestion that speaks of it."""
    found: dict[str, str] = {}
    keywords = [k for _, _, words, _ in PROPOSALS for k in words]
    rows = Opinion.objects.filter(
        kind=OpinionKind.SUGGESTION, unit__path__startswith=root.path
    ).order_by("submitted_at", "pk")
    for opinion in rows.iterator():
        for keyword in keywords:
            if keyword not in found and keyword in (opinion.content or ""):
                found[keyword] = opinion.number
        if len(found) == len(keywords):
            break
    return found


def _paper_sheets(rng, voters: _Voters, weights, online_mobiles: list[str]) -> list[dict]:
    """The sheets as printed and marked: {serial, mobile, choices, kind}."""
    sheets = []
    kinds = ["mismatch"] * MISMATCHES + ["unreadable"] * UNREADABLE + ["duplicate"] * DUPLICATES
    kinds += ["plain"] * (PAPER_HUIMIN - len(kinds))
    rng.shuffle(kinds)
    duplicates = iter(rng.sample(online_mobiles, DUPLICATES))
    # Paper voters (older, at the community offices) care more for fraud and the elderly.
    paper_weights = [w * (1.8 if i in (4, 9, 10, 23) else 1.0) for i, w in enumerate(weights)]
    for number, kind in enumerate(kinds, start=1):
        k = rng.choices(range(1, 11), weights=PICKS)[0]
        sheets.append(
            {
                "serial": f"SX-{number:06d}",
                "mobile": next(duplicates) if kind == "duplicate" else voters.mobile(),
                "choices": _pick(rng, paper_weights, k),
                "kind": kind,
            }
        )
    return sheets


def _misread(rng, sheet: dict, options: int) -> tuple[str, list[int]]:
    """What the second clerk typed for a mismatched sheet: a digit of the mobile, or a mark."""
    mobile, choices = sheet["mobile"], list(sheet["choices"])
    if rng.random() < 0.65:
        i = rng.randrange(3, 11)
        digit = str((int(mobile[i]) + rng.randint(1, 9)) % 10)
        return mobile[:i] + digit + mobile[i + 1 :], choices
    missing = [n for n in range(1, options + 1) if n not in choices]
    if len(choices) > 1 and rng.random() < 0.5:
        choices.remove(rng.choice(choices))
    else:
        choices[rng.randrange(len(choices))] = rng.choice(missing)
    return mobile, sorted(choices)


def _working_day(day):
    """`day`, or the Monday after it when it falls on a weekend."""
    return day + timedelta(days=max(0, 7 - day.weekday())) if day.weekday() >= 5 else day


def _key_paper(rng, campaign, sheets, *, first, second, supervisor, closes_at, clock):
    """Two clerks key every sheet on the working days after the close; the supervisor settles
    the mismatches from the paper the working day after. Returns that day."""
    day = _working_day(timezone.localdate(closes_at) + timedelta(days=1))
    second_day = _working_day(day + timedelta(days=1))
    resolve_day = _working_day(second_day + timedelta(days=1))
    options = campaign.options.count()

    def working_times(day, n):
        return sorted(_local(day, 9) + timedelta(seconds=rng.random() * 7.5 * 3600)
                      for _ in range(n))  # fmt: skip

    for clerk, when_day in ((first, day), (second, second_day)):
        for sheet, at in zip(sheets, working_times(when_day, len(sheets)), strict=True):
            unreadable = sheet["kind"] == "unreadable"
            mobile, choices = sheet["mobile"], sheet["choices"]
            if clerk is second and sheet["kind"] == "mismatch":
                mobile, choices = _misread(rng, sheet, options)
            clock.advance(at)
            paper.sheet_key(
                clerk, campaign, serial=sheet["serial"], mobile="" if unreadable else mobile,
                unreadable=unreadable, choices=choices, now=at,
            )  # fmt: skip
    queue = PaperSheet.objects.filter(campaign=campaign, status=SheetStatus.MISMATCH)
    by_serial = {s["serial"]: s for s in sheets}
    for sheet, at in zip(
        queue.order_by("serial"), working_times(resolve_day, queue.count()), strict=True
    ):
        read = by_serial[sheet.serial]
        clock.advance(at)
        paper.sheet_resolve(
            supervisor, sheet, mobile=read["mobile"], unreadable=False, choices=read["choices"],
            now=at,
        )  # fmt: skip
    return resolve_day


def _plan_steps(plan, *, organiser, leaders, published, now, detail) -> None:
    """Milestones and updates of one action plan, by the responsible unit's leader."""
    _, _, milestones, updates = detail
    author = closest_account(leaders, plan.unit) or organiser
    today = timezone.localdate(now)
    last = (now - published).days
    for title, due, done in milestones:
        due_on = timezone.localdate(published) + timedelta(days=due)
        milestone = actions.milestone_add(author, plan, title=title, due_on=due_on)
        done_on = min(due_on, today)
        if done and done_on <= today and (done_on - timezone.localdate(published)).days <= last:
            actions.milestone_done(author, milestone, done_on, now=now)
    for day, percent, text, label, value in updates:
        at = published + timedelta(days=min(day, max(last - 1, 0)), hours=1)
        at = min(at, now - timedelta(hours=2))
        actions.update_publish(
            author, plan, text=text, percent_done=percent, figure_label=label,
            figure_value=value, now=at,
        )  # fmt: skip


def _huimin(rng, *, root, organiser, clerks, leaders, now) -> dict:
    today = timezone.localdate(now)
    opens_at = _local(today - timedelta(days=60), 9)
    closes_at = _local(today - timedelta(days=30), 18)
    campaign = campaigns.campaign_create(
        organiser, unit=root, title=f"{today.year}年度公安惠民实事项目票选",
        description=(
            "为办好群众最关心、最期盼的公安民生实事，绍兴市公安局面向社会征集候选项目30个，"
            "请您从中选出最希望办的项目（最多选10项）。得票最多的10个项目列为年度惠民实事，"
            "落实进展将在本页面持续公开。每个手机号限投一次，也可在社区警务室填写纸质票选表。"
        ),
        kind=CampaignKind.APPROVAL, max_choices=10, opens_at=opens_at, closes_at=closes_at,
        show_shares=True, code=HUIMIN,
    )  # fmt: skip
    _backdate(campaign, opens_at - timedelta(days=5))
    numbers = _suggestions(root)
    linked = 0
    for title, _weight, words, text in PROPOSALS:
        number = next((numbers[k] for k in words if k in numbers), "")
        linked += bool(number)
        campaigns.option_add(organiser, campaign, title=title, text=text, opinion_number=number)
    campaigns.campaign_open(organiser, campaign, now=opens_at - timedelta(days=1))
    campaign.refresh_from_db()

    weights = [w for _, w, _, _ in PROPOSALS]
    voters = _Voters(rng)

    def day_weight(day):
        return {0: 3.0, 1: 2.0, 10: 1.8, 11: 1.5, 27: 1.6, 28: 2.2, 29: 2.8}.get(day, 1.0)

    ballots = []
    for when in _times(rng, opens_at, closes_at, ONLINE_HUIMIN, day_weight):
        k = rng.choices(range(1, 11), weights=PICKS)[0]
        ip, device = voters.ip(), voters.device()
        if ballots and rng.random() < 0.03:  # one phone, two family members
            ip, device = ballots[-1][3], ballots[-1][4]
        ballots.append((when, voters.mobile(), _pick(rng, weights, k), ip, device))
    stuffed_number = [p[0] for p in PROPOSALS].index(STUFFED) + 1
    # A travel company's office network: 46 ballots in 8 minutes, each with its proposal.
    stuffed_at = _burst_start(_local(timezone.localdate(opens_at) + timedelta(days=17), 21, 34))
    stuffed_net = "36.22.105"
    burst = [
        (stuffed_at + timedelta(seconds=rng.uniform(0, 480)), voters.mobile(),
         sorted({stuffed_number, *_pick(rng, weights, rng.randint(3, 8))}),
         f"{stuffed_net}.{rng.randint(20, 60)}", voters.device())
        for _ in range(46)
    ]  # fmt: skip
    # A community anti-fraud event: 15 residents vote on the venue's Wi-Fi in 9 minutes.
    event_at = _burst_start(_local(timezone.localdate(opens_at) + timedelta(days=8), 10, 12))
    event = [
        (event_at + timedelta(seconds=rng.uniform(0, 540)), voters.mobile(),
         _pick(rng, weights, rng.randint(4, 10)), f"115.220.31.{rng.randint(2, 250)}",
         voters.device())
        for _ in range(15)
    ]  # fmt: skip
    supervisor = organiser
    clock = _Clock(campaign, opens_at)
    burst_mobiles = {b[1] for b in burst}
    event_mobiles = {b[1] for b in event}

    def decide(mobiles, status, note, when):
        def step():
            voter_keys = [keys.voter_key(campaign, m) for m in mobiles]
            pks = set(
                Ballot.objects.filter(campaign=campaign, voter_key__in=voter_keys).values_list(
                    "pk", flat=True
                )
            )
            flag = _flag_holding(campaign, FlagKind.NETWORK_BURST, pks)
            text = note % {"n": flag.ballots.count()} if "%(n)" in note else note
            stuffing.flag_decide(supervisor, flag, status=status, note=text, now=when)

        return step

    for at, mobiles, status, note in (
        (event_at, event_mobiles, FlagStatus.CLEARED, EVENT_NOTE),
        (stuffed_at, burst_mobiles, FlagStatus.CONFIRMED, STUFFING_NOTE),
    ):
        # The worker's detection run soon after; the supervisor's review the next morning.
        detect_at = at + timedelta(minutes=40)
        clock.at(detect_at, lambda when=detect_at: stuffing.stuffing_detect(campaign, now=when))
        review_at = _local(timezone.localdate(at) + timedelta(days=1), 10, 20)
        clock.at(review_at, decide(mobiles, status, note, review_at))
    cast = _cast_all(campaign, clock, ballots + burst + event)
    clock.advance(closes_at)
    campaigns.campaign_close(organiser, campaign, now=closes_at)
    stuffing.stuffing_detect(campaign, now=closes_at + timedelta(minutes=30))
    sheets = _paper_sheets(rng, voters, weights, [b.mobile for b in cast[:2000]])
    first, second = clerks
    resolved_on = _key_paper(
        rng, campaign, sheets, first=first, second=second, supervisor=supervisor,
        closes_at=closes_at, clock=clock,
    )  # fmt: skip
    published = _local(_working_day(resolved_on + timedelta(days=1)), 10)
    clock.advance(published - timedelta(minutes=1))
    campaigns.campaign_publish(organiser, campaign, now=published)
    campaign.refresh_from_db()
    plans = _plans(campaign, organiser=organiser, leaders=leaders, published=published, now=now)
    return {"campaign": campaign, "plans": plans, "suggestions": linked, "voters": voters}


def _plans(campaign, *, organiser, leaders, published, now) -> int:
    tally = campaign_tally(campaign)
    top = sorted(tally["options"], key=lambda row: (-row["total"], row["option"].number))[:10]
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[p[0] for p in PLANS.values()])}
    rng = random.Random(f"{campaign.code}:followers")  # noqa: S311
    voters = _Voters(rng)
    for row in top:
        option = row["option"]
        detail = PLANS.get(option.title, GENERIC_PLAN)
        unit = units.get(detail[0]) or campaign.unit
        plan = actions.plan_create(organiser, option, unit=unit, target=detail[1])
        # plan_create stamps the clock: the plan was made two days after publication.
        ActionPlan.objects.filter(pk=plan.pk).update(created_at=published + timedelta(days=2))
        _plan_steps(
            plan, organiser=organiser, leaders=leaders, published=published, now=now,
            detail=detail,
        )  # fmt: skip
        # Followers after the last update: nothing is queued to their phones by the demo.
        for _ in range(rng.randint(1, 6)):
            actions.follow(plan, voters.mobile(), now=now - timedelta(hours=rng.randint(1, 48)))
    return len(top)


# --- 2. The station PK (最满意派出所大PK) -----------------------------------------------------


def _pk_units(district: OrgUnit) -> list[OrgUnit]:
    children = OrgUnit.objects.filter(path__startswith=district.path, depth=district.depth + 1)
    stations = list(children.filter(kind=UnitKind.POLICE_STATION).order_by("path"))
    others = list(
        children.filter(kind__in=[UnitKind.TRAFFIC_BRIGADE, UnitKind.CRIMINAL_BRIGADE]).order_by(
            "path"
        )
    )
    return (stations + others)[:PK_OPTIONS]


def _station_pk(rng, *, district, organiser, clerks, now) -> Campaign:
    today = timezone.localdate(now)
    opens_at = _local(today - timedelta(days=3), 9)
    closes_at = _local(today + timedelta(days=4), 18)
    units = _pk_units(district)
    campaign = campaigns.campaign_create(
        organiser, unit=district, title="最满意派出所大PK",
        description=(
            f"{district.name}辖区{len(units)}个所队参评，请为您最满意的一个投票（单选）。"
            "投票期间只公布参与人数，截止后公布各所队得票。每个手机号限投一次。"
        ),
        kind=CampaignKind.SINGLE, max_choices=1, opens_at=opens_at, closes_at=closes_at,
        show_shares=False, code=PK,
    )  # fmt: skip
    _backdate(campaign, opens_at - timedelta(days=2))
    for unit in units:
        campaigns.option_add(
            organiser, campaign, title=unit.name,
            text=f"地址：{unit.address}；值班电话：{unit.duty_phone}", unit=unit,
        )  # fmt: skip
    campaigns.campaign_open(organiser, campaign, now=opens_at - timedelta(hours=20))
    campaign.refresh_from_db()
    voters = _Voters(rng)
    weights = [PK_FAVOURITES[i % len(PK_FAVOURITES)] for i in range(len(units))]
    end = now - timedelta(minutes=3)

    def day_weight(day):
        return 1.6 if day == 0 else 1.0

    ballots = [
        (when, voters.mobile(), _pick(rng, weights, 1), voters.ip(), voters.device())
        for when in _times(rng, opens_at, end, ONLINE_PK, day_weight)
    ]
    # Someone's WeChat group: 24 identical ballots for one station within 7 minutes.
    favourite = 7 if len(units) >= 7 else 1
    burst_at = _burst_start(_local(timezone.localdate(opens_at) + timedelta(days=1), 20, 31))
    ballots += [
        (burst_at + timedelta(seconds=rng.uniform(0, 420)), voters.mobile(), [favourite],
         voters.ip(), voters.device())
        for _ in range(24)
    ]  # fmt: skip
    clock = _Clock(campaign, opens_at)
    clock.at(
        burst_at + timedelta(minutes=35),
        lambda: stuffing.stuffing_detect(campaign, now=burst_at + timedelta(minutes=35)),
    )
    _cast_all(campaign, clock, ballots)
    clock.advance(end)
    # The worker's latest detection run: the burst's flag is the only one, still open.
    stuffing.stuffing_detect(campaign, now=end)
    # Paper sheets from the stations' boxes: keyed once yesterday afternoon, two mismatched.
    first, second = clerks
    keyed = _local(today - timedelta(days=1), 14)
    for number in range(1, PK_PENDING + PK_MISMATCHES + 1):
        mobile, choice = voters.mobile(), _pick(rng, weights, 1)
        at = keyed + timedelta(minutes=7 * number)
        serial = f"YC-{number:05d}"
        paper.sheet_key(
            first, campaign, serial=serial, mobile=mobile, unreadable=False, choices=choice,
            now=at,
        )  # fmt: skip
        if number > PK_PENDING:
            other = [(choice[0] % len(units)) + 1]
            paper.sheet_key(
                second, campaign, serial=serial, mobile=mobile, unreadable=False,
                choices=other, now=at + timedelta(hours=1),
            )  # fmt: skip
    return campaign


# --- 3. A draft --------------------------------------------------------------------------------


def _draft(*, root, organiser, now) -> Campaign:
    today = timezone.localdate(now)
    campaign = campaigns.campaign_create(
        organiser, unit=root, title="交通安全劝导站点位票选",
        description="拟在农村道路新设交通安全劝导站，请选出您认为最需要设站的路口（最多选3处）。",
        kind=CampaignKind.APPROVAL, max_choices=3,
        opens_at=_local(today + timedelta(days=7), 9),
        closes_at=_local(today + timedelta(days=21), 18), code=DRAFT,
    )  # fmt: skip
    brigade = OrgUnit.objects.filter(code=ROOT_CODE + "901").first()
    for title, text in DRAFT_OPTIONS:
        campaigns.option_add(organiser, campaign, title=title, text=text, unit=brigade)
    return campaign


# --- Everything ----------------------------------------------------------------------------------


def _backdate(campaign: Campaign, when: datetime) -> None:
    # campaign_create stamps the clock; the demo's campaign was drafted days before it opened:
    # its row and its first history row ("创建") say so.
    Campaign.objects.filter(pk=campaign.pk).update(created_at=when)
    CampaignEvent.objects.filter(campaign=campaign, from_status="").update(created_at=when)


def _second_clerk(root: OrgUnit) -> User:
    user = User.objects.filter(username=SECOND_CLERK).first()
    if user is None:
        user = User(username=SECOND_CLERK, role=Role.EVALUATOR, unit=root, full_name="钱晓燕")
        user.set_unusable_password()
        user.save()
    return user


def build_votes_demo(*, seed: int = DEFAULT_SEED, now=None) -> DemoVotes:
    """The three campaigns of the demo city, once, in one transaction (see the module
    docstring). `now` sets the moment the demo is built for."""
    if not settings.DEMO_MODE:
        raise DemoHistoryError("the votes demo is written only in demo mode (DEMO_MODE)")
    started = time.perf_counter()
    now = now or timezone.now()
    with transaction.atomic():
        if votes_demo_exists():
            return DemoVotes(created=False)
        root = OrgUnit.objects.filter(code=ROOT_CODE).first()
        district = OrgUnit.objects.filter(code=PK_DISTRICT).first()
        names = (ORGANISER, DISTRICT_ORGANISER, CLERK, DISTRICT_CLERK)
        users = {u.username: u for u in User.objects.filter(username__in=names)}
        if root is None or district is None or len(users) < len(names):
            raise DemoHistoryError(f"the demo city (unit {ROOT_CODE}) does not exist")
        leaders = list(
            User.objects.filter(role=Role.UNIT_LEADER, unit__path__startswith=root.path)
            .select_related("unit")
            .order_by("pk")
        )
        rng = random.Random(f"{seed}:votes")  # noqa: S311
        huimin = _huimin(
            rng, root=root, organiser=users[ORGANISER],
            clerks=(users[CLERK], _second_clerk(root)), leaders=leaders, now=now,
        )  # fmt: skip
        pk = _station_pk(
            rng, district=district, organiser=users[DISTRICT_ORGANISER],
            clerks=(users[DISTRICT_CLERK], users[CLERK]), now=now,
        )  # fmt: skip
        draft = _draft(root=root, organiser=users[ORGANISER], now=now)
        mine = [huimin["campaign"], pk, draft]
        ballots = Ballot.objects.filter(campaign__in=mine)
        return DemoVotes(
            created=True,
            seconds=time.perf_counter() - started,
            campaigns=[c.title for c in mine],
            online=ballots.filter(channel="online").count(),
            paper=ballots.filter(channel="paper").count(),
            rejections=Rejection.objects.filter(campaign__in=mine).count(),
            flags=sum(c.flags.count() for c in mine),
            plans=huimin["plans"],
            suggestions=huimin["suggestions"],
        )
