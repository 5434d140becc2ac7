"""Demo: opinions that came offline (线下录入) into the demo city's two busiest stations, keyed
in by the perception centre's clerk and by the station's leader through the real service:
letters from the mailbox, questions at a 广场警务活动日 and a 恳谈会, calls to the chief's
phone, a petition, the 110直播室 and WeChat police groups. Some are answered by SMS and
rated, some by letter (printed or still to print), some are still open (one past its
deadline), and three came without any contact, so their answers are only archived.

Everything is dated relative to `now`, so the demo reads right at any hour; `load()` does
nothing when its keyed-in opinions exist already."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from minyi.demo.city import closest_account
from minyi.demo.corpus import letter_around
from minyi.opinions.models import Opinion, OpinionChannel, OpinionKind
from minyi.opinions.services.handling import opinion_accept, opinion_answer, opinion_rate
from minyi.opinions.services.intake import opinion_key_in
from minyi.opinions.services.letters import opinion_letter_print
from minyi.orgs.choices import Role
from minyi.orgs.models import OrgUnit, User

C, K = OpinionChannel, OpinionKind
CLERK = "city_evaluator"  # the perception centre keys in what reaches the bureau
STATION_CLERKS = {"330602001": "fushan_leader", "330602002": "tashan_leader"}
# Channels only this demo keys into (the meetings demo also keys in questions).
OWN_CHANNELS = (C.MAILBOX, C.PHONE, C.PETITION, C.WECHAT)

# What happens after intake: still open (accepted or not), answered (and then rated, with
# the rating), answered by a letter printed or not.
OPEN, ACCEPTED, ANSWERED, LETTER_PRINTED = "open", "accepted", "answered", "printed"


@dataclass(frozen=True)
class Entry:
    channel: str
    kind: str
    station: str  # unit code
    days_ago: float
    content: str
    answer: str = ""
    name: str = ""
    mobile: str = ""
    address: str = ""
    outcome: str = OPEN
    rating: int | None = None
    by_station: bool = False  # keyed in by the station itself (its own 恳谈会, 活动日)


ENTRIES = (
    Entry(
        C.MAILBOX,
        K.SUGGESTION,
        "330602001",
        12.2,
        "我是府山街道的退休职工，建议派出所在菜市场门口早上七点到九点安排人员疏导，电动车和三轮车乱停，"
        "老人过马路很危险。",
        "已在菜市场门口施划非机动车停放区，早高峰安排辅警疏导，感谢您的来信。",
        name="沈阿姨",
        address="越城区府山街道仓桥直街 36 号",
        outcome=LETTER_PRINTED,
    ),
    Entry(
        C.MAILBOX,
        K.COMPLAINT,
        "330602001",
        9.1,
        "上月在户籍窗口办理迁入，民警说材料不全让我回去补，第二次去又说还要街道证明，前后说法不一，"
        "希望一次告知清楚。",
        "经核查，窗口民警未一次性告知所需材料，已批评教育，并在窗口张贴迁入材料清单。",
        name="陶先生",
        address="越城区府山街道新河弄 12 号 3 单元",
        outcome=ANSWERED,
    ),
    Entry(
        C.MAILBOX,
        K.SUGGESTION,
        "330602002",
        6.3,
        "塔山脚下的小公园晚上没有灯，常有年轻人喝酒喧哗到深夜，建议加强巡逻。",
        "已联系街道增设照明，并将小公园列入夜间巡逻必到点。",
        outcome=ANSWERED,
    ),
    Entry(
        C.MAILBOX,
        K.CONSULTATION,
        "330602002",
        2.4,
        "我母亲八十多岁行动不便，身份证过期了，请问能不能上门办理？",
        name="钱女士",
        address="越城区塔山街道解放南路 218 号",
        outcome=OPEN,
    ),
    Entry(
        C.PLAZA_DAY,
        K.SUGGESTION,
        "330602001",
        20.5,
        "广场活动日群众反映：小区里频繁有人上门推销保健品，老人被骗买了几千元，希望民警来小区讲讲防骗。",
        "已于本周六在小区开展防诈骗讲座，并留下社区民警联系电话，欢迎随时反映。",
        name="马大伯",
        mobile="13705710301",
        outcome=ANSWERED,
        rating=1,
        by_station=True,
    ),
    Entry(
        C.PLAZA_DAY,
        K.CONSULTATION,
        "330602001",
        20.4,
        "广场活动日咨询：孩子在外地读大学，户口要不要迁走？迁走以后还能迁回来吗？",
        "大学生户口可自愿迁移，毕业后可凭毕业证迁回原籍，具体材料请到户籍窗口咨询。",
        mobile="13705710302",
        outcome=ANSWERED,
        rating=2,
        by_station=True,
    ),
    Entry(
        C.PLAZA_DAY,
        K.COMPLAINT,
        "330602001",
        20.3,
        "广场活动日现场反映：小区地下车库电动车充电乱拉电线，物业不管，担心起火。",
        "已会同消防和物业检查，拆除私拉电线 14 处，物业已安装集中充电桩。",
        outcome=ANSWERED,
        by_station=True,
    ),
    Entry(
        C.MEETING,
        K.SUGGESTION,
        "330602001",
        8.2,
        "社区恳谈会上居民提出：放学时段学校门口接送车辆堵住路口，建议设置临时停车点。",
        "已与学校和交警协调，在学校东侧设置临时接送车位，放学时段民警到岗疏导。",
        name="何老师",
        mobile="13705710303",
        outcome=ANSWERED,
        rating=2,
        by_station=True,
    ),
    Entry(
        C.MEETING,
        K.COMPLAINT,
        "330602001",
        8.1,
        "恳谈会上有居民反映：上次报警说邻居装修噪音，民警来了只说了几句就走了，问题没有解决。",
        name="吕先生",
        mobile="13705710304",
        outcome=ACCEPTED,
        by_station=True,
    ),
    Entry(
        C.MEETING,
        K.SUGGESTION,
        "330602002",
        3.2,
        "恳谈会建议：老旧小区没有门卫，晚上外来人员随意进出，希望装门禁或者多巡逻。",
        mobile="13705710305",
        outcome=OPEN,
    ),
    Entry(
        C.PHONE,
        K.COMPLAINT,
        "330602002",
        15.3,
        "来电反映：电动车被盗报案一个多月没有任何消息，打派出所电话也没人说清楚进展。",
        "已向您通报侦查进展，案件已串并侦查，后续进展由办案民警每周电话告知。",
        name="孔先生",
        mobile="13705710306",
        outcome=ANSWERED,
        rating=4,
    ),
    Entry(
        C.PHONE,
        K.CONSULTATION,
        "330602001",
        4.3,
        "局长电话咨询：在外省办的居住证到期了，能在这里续签吗？",
        "居住证须在居住地办理，您可在浙里办申领本地居住证，材料清单已短信告知。",
        mobile="13705710307",
        outcome=ANSWERED,
        rating=1,
    ),
    Entry(
        C.PHONE,
        K.TIP,
        "330602002",
        1.2,
        "来电举报：某小区出租屋近期夜间人员进出频繁，疑似有人聚众赌博。",
        mobile="13705710308",
        outcome=OPEN,
    ),
    Entry(
        C.PETITION,
        K.COMPLAINT,
        "330602001",
        11.4,
        "信访件：本人与邻居因宅基地界址纠纷多次报警，民警每次只调解不处理，要求依法处理。",
        "已会同司法所和村委会现场勘界，出具调解意见；涉及权属部分请通过自然资源部门确权。",
        name="潘先生",
        address="越城区府山街道西小路 5 号",
        outcome=LETTER_PRINTED,
    ),
    Entry(
        C.PETITION,
        K.COMPLAINT,
        "330602002",
        10.3,
        "信访件：去年的一起交通事故责任认定有异议，一直没有得到书面答复。",
        name="郑女士",
        address="越城区塔山街道中兴中路 99 弄 7 号",
        outcome=OPEN,
    ),
    Entry(
        C.RADIO,
        K.CONSULTATION,
        "330602001",
        5.4,
        "110直播室听众来电：驾驶证快到期了，体检可以在哪里做，要不要本人去车管所？",
        "可在指定医院体检后通过交管12123线上换证，无需本人到车管所。",
        mobile="13705710309",
        outcome=ANSWERED,
        rating=2,
    ),
    Entry(
        C.RADIO,
        K.SUGGESTION,
        "330602002",
        5.3,
        "110直播室听众建议：城南夜市收摊后垃圾多、酒后打架也多，希望加强夜间警力。",
        "夜市周边已增设临时警务点，周五周六晚延长巡逻至凌晨一点。",
        mobile="13705710310",
        outcome=ANSWERED,
        rating=3,
    ),
    Entry(
        C.RADIO,
        K.COMPLAINT,
        "330602001",
        0.6,
        "110直播室听众投诉：报警后等了四十分钟民警才到，希望说明原因。",
        mobile="13705710311",
        outcome=OPEN,
    ),
    Entry(
        C.WECHAT,
        K.CONSULTATION,
        "330602001",
        7.3,
        "微信警务群咨询：小区想装人脸识别门禁，需要到派出所备案吗？",
        "门禁系统采集人脸信息须告知并征得居民同意，不需到派出所备案，可咨询社区民警。",
        mobile="13705710312",
        outcome=ANSWERED,
        rating=1,
    ),
    Entry(
        C.WECHAT,
        K.SUGGESTION,
        "330602002",
        13.5,
        "微信警务群建议：群里经常有人转发所谓内部消息，建议民警定期发布辟谣提醒。",
        "已安排社区民警每周在群内发布防诈辟谣提示，并置顶举报方式。",
        mobile="13705710313",
        outcome=ANSWERED,
        rating=2,
    ),
    Entry(
        C.WECHAT,
        K.TIP,
        "330602001",
        3.1,
        "微信警务群线索：有人在群里招募跑分兼职，称日结佣金，疑似帮助洗钱。",
        "线索已转交反诈中心核查，已提醒群成员切勿参与。",
        mobile="13705710314",
        outcome=ANSWERED,
    ),
    Entry(
        C.MAILBOX,
        K.SUGGESTION,
        "330602001",
        1.3,
        "建议派出所门口的便民服务点周末也开放，上班族平时没时间办业务。",
        name="章先生",
        address="越城区府山街道胜利西路 66 号",
        outcome=OPEN,
    ),
    Entry(
        C.PLAZA_DAY,
        K.CONSULTATION,
        "330602002",
        0.3,
        "广场活动日咨询：家里老人走失过一次，能不能办防走失手环登记？",
        mobile="13705710315",
        outcome=OPEN,
    ),
    Entry(
        C.PHONE,
        K.SUGGESTION,
        "330602001",
        16.2,
        "来电建议：府山公园晨练的人多，有人遛狗不牵绳，建议民警劝导。",
        "已联合公园管理处张贴文明养犬提示，晨练时段社区民警巡查劝导。",
        name="俞大妈",
        mobile="13705710316",
        outcome=ANSWERED,
        rating=2,
    ),
    Entry(
        C.MAILBOX,
        K.COMPLAINT,
        "330602002",
        4.1,
        "匿名来信：某路段晚上常有改装车炸街，噪音扰民，报警多次仍然存在。",
        "已会同交警开展夜查，查处改装车辆 6 辆，并在该路段设置噪音抓拍设备。",
        outcome=ANSWERED,
    ),
)


def _written_out(index: int, entry: Entry) -> str:
    """A complaint that came as a letter or a petition, keyed in whole: the clerk's label
    ("信访件："), then the letter (salutation, background, the complaint, closing) around it."""
    if entry.kind != K.COMPLAINT or entry.channel not in (C.MAILBOX, C.PETITION):
        return entry.content
    label, sep, core = entry.content.partition("：")
    if not sep or len(label) > 6:
        label, core = "", entry.content
    rng = random.Random(f"offline:{index}")  # noqa: S311 (demo data, not secrets)
    return f"{label}{sep}\n{letter_around(rng, core.rstrip('。'))}".lstrip()


def _accounts() -> dict[str, User]:
    names = {CLERK, *STATION_CLERKS.values()}
    return {u.username: u for u in User.objects.filter(username__in=names, is_active=True)}


def load(now=None) -> dict:
    """Key in the demo's offline opinions and take each as far as its story goes. Does
    nothing when keyed-in opinions of its channels exist, or without the demo city."""
    now = now or timezone.now()
    figures = {"opinions": 0, "answered": 0, "letters_printed": 0, "rated": 0}
    # Keyed-in letters, calls, petitions or WeChat posts mean this ran already. Not any
    # keyed-in opinion: the meetings demo keys in the questions of its 恳谈会 and 110直播室.
    if Opinion.objects.filter(entered_by__isnull=False, channel__in=OWN_CHANNELS).exists():
        return figures
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=STATION_CLERKS)}
    accounts = _accounts()
    clerk = accounts.get(CLERK)
    if clerk is None or len(units) < len(STATION_CLERKS):
        return figures
    leaders = list(
        User.objects.filter(role=Role.UNIT_LEADER, is_active=True).select_related("unit")
    )
    for index, entry in enumerate(ENTRIES):
        unit = units[entry.station]
        actor = accounts.get(STATION_CLERKS[entry.station]) if entry.by_station else None
        received = now - timedelta(days=entry.days_ago)
        opinion = opinion_key_in(
            actor=actor or clerk,
            channel=entry.channel,
            kind=entry.kind,
            content=_written_out(index, entry),
            contact_name=entry.name,
            mobile=entry.mobile,
            postal_address=entry.address,
            consent=bool(entry.name or entry.mobile or entry.address),
            area=unit.name,
            unit_id=unit.pk,
            received_at=received,
            now=now,
        )
        figures["opinions"] += 1
        leader = closest_account(leaders, unit)
        if leader is None or entry.outcome == OPEN:
            continue
        # Taken up a few hours after it came in; answered within a day or two, never later
        # than a little before now.
        step = min(received + timedelta(hours=3), now - timedelta(minutes=30))
        if entry.outcome == ACCEPTED:
            opinion_accept(actor=leader, opinion=opinion, now=step)
            continue
        answered_at = min(received + timedelta(days=min(entry.days_ago / 3, 2)), now)
        answered_at = max(answered_at, step)
        opinion = opinion_answer(actor=leader, opinion=opinion, text=entry.answer, now=answered_at)
        figures["answered"] += 1
        if entry.outcome == LETTER_PRINTED:
            opinion_letter_print(actor=leader, opinion=opinion, now=answered_at)
            figures["letters_printed"] += 1
        if entry.rating and entry.mobile:
            rated_at = min(answered_at + timedelta(hours=5), now)
            opinion_rate(opinion=opinion, mobile=entry.mobile, rating=entry.rating, now=rated_at)
            figures["rated"] += 1
    return figures
