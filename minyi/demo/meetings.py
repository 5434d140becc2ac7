"""Demo: meetings and live programmes (恳谈会、广场警务活动日、110直播室, issue 17) in the demo
city, made by the real services of `minyi.meetings` (each question keyed in as an opinion
through `opinion_key_in`, answered through `opinion_answer`, and given the public answer the
portal shows, 公开答复, which is not the answer sent to the citizen):

- 府山派出所 (the fushan accounts): a 恳谈会 about 20 days ago, published, three questions all
  answered (one on the spot too) and its follow-up (公交站扒窃已打掉); one 3 days ago, held,
  its minutes still a draft, one question open; an upcoming one in 5 days;
- 塔山派出所: a 恳谈会 about 9 days ago, published, one question answered and one still
  办理中 (the portal shows it so);
- 越城分局: a 广场警务活动日 about 12 days ago, published, with three questions;
- 绍兴市局: the 110直播室 of the last five working days, published, one or two calls each,
  answered within the day; and the programmes of today and the coming four working days.

Every time is relative to `now`, so the demo reads right at any hour. `load` does it in one
transaction, once: a second run finds its meetings and writes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from minyi.community.models import AreaLevel, GridArea
from minyi.demo.city_plan import ROOT_CODE
from minyi.demo.contacts import DemoHistoryError
from minyi.meetings.models import Meeting, MeetingKind
from minyi.meetings.services import (
    meeting_publish,
    meeting_record_attendance,
    meeting_save,
    meeting_write_minutes,
    question_add,
    question_write_public_answer,
    radio_schedule,
    working_days_from,
)
from minyi.opinions.services.handling import opinion_answer
from minyi.orgs.models import OrgUnit, User

FUSHAN, TASHAN, YUECHENG = "330602001", "330602002", "330602"
RADIO_TITLE = "110直播室"
RADIO_PLACE = "绍兴交通广播 FM93.0"
RADIO_PAST_DAYS = 5
RADIO_COMING_DAYS = 5


@dataclass(frozen=True)
class _Question:
    kind: str
    content: str
    summary: str
    answer: str = ""  # answered this many hours after the meeting (below), or left open
    answer_hours: float = 26
    spot_answer: str = ""
    mobile: str = ""  # with the citizen's consent
    public: str = ""  # the public answer (公开答复), written once answered


@dataclass(frozen=True)
class _Meeting:
    unit_code: str
    leader: str  # the demo account that runs it
    kind: str
    title: str
    place: str
    days_ago: float  # negative: still to come
    hour: int
    hours: float
    agenda: str
    questions: tuple[_Question, ...] = ()
    citizens: int = 0
    officers: str = ""
    minutes: str = ""
    follow_up: str = ""
    publish: bool = False
    in_community: bool = True


MEETINGS = (
    _Meeting(
        FUSHAN,
        "fushan_leader",
        MeetingKind.FORUM,
        "府山街道警民恳谈会（第四季度）",
        "府山街道社区服务中心二楼会议室",
        20,
        19,
        1.5,
        "一、通报近三个月辖区治安形势；二、防范电信网络诈骗提示；三、群众提问与现场解答。",
        (
            _Question(
                "complaint",
                "公交站（胜利路口）晚上经常有人扒窃，我邻居上周手机被偷了。",
                "胜利路口公交站夜间扒窃多发",
                "已在胜利路口公交站增设晚高峰巡逻点，便衣民警蹲守三周，抓获扒窃嫌疑人两名。",
                50,
                public="胜利路口公交站已增设晚高峰巡逻点，抓获扒窃嫌疑人两名。",
                mobile="13957500101",
            ),
            _Question(
                "suggestion",
                "小区门口电动车乱停，消防通道常被堵住，希望派出所管一管。",
                "小区消防通道被电动车堵塞",
                "已会同社区和物业划定电动车停放区，对占用消防通道的车辆劝导移位。",
                30,
                public="已划定电动车停放区，消防通道已清理。",
                spot_answer="社区民警当场表示本周内会同物业现场查看。",
            ),
            _Question(
                "consultation",
                "老人身份证过期了，行动不便，能不能上门办？",
                "行动不便老人如何换领身份证",
                "可预约移动办证上门服务，社区民警将上门采集照片和指纹。",
                3,
                public="行动不便的老人可预约上门办证，由社区民警上门采集照片和指纹。",
                spot_answer="可以预约上门办证，民警现场登记了预约需求。",
            ),
        ),
        citizens=46,
        officers="府山派出所所长、教导员、社区民警三名",
        minutes="通报近三个月辖区治安形势，提示防范电信网络诈骗。群众提出 3 个问题，"
        "其中 2 个现场作了解答，会后均已书面答复。",
        follow_up="胜利路口公交站扒窃团伙已打掉，近两周未再接到扒窃报警。",
        publish=True,
    ),
    _Meeting(
        TASHAN,
        "tashan_leader",
        MeetingKind.FORUM,
        "塔山街道平安恳谈会",
        "塔山街道文化礼堂",
        9,
        19,
        1.5,
        "一、夜间巡逻安排；二、群众提问。",
        (
            _Question(
                "suggestion",
                "菜场门口早上车辆乱停，行人很难过去，希望早高峰有人指挥。",
                "菜场门口早高峰车辆乱停",
                "已安排辅警早高峰在菜场门口疏导，并联系交警增设临时停车泊位。",
                40,
                public="菜场门口早高峰已安排辅警疏导，并增设临时停车泊位。",
            ),
            _Question(
                "complaint",
                "晚上十点以后广场舞音响太吵，影响休息。",
                "夜间广场舞噪声扰民",
            ),
        ),
        citizens=31,
        officers="塔山派出所副所长、社区民警两名",
        minutes="介绍夜间巡逻安排；群众提出 2 个问题，会后逐一办理。",
        publish=True,
    ),
    _Meeting(
        YUECHENG,
        "yuecheng_leader",
        MeetingKind.PLAZA_DAY,
        "越城分局“广场警务活动日”",
        "城市广场东侧",
        12,
        9,
        3,
        "户籍、出入境、交管业务现场咨询；反诈宣传；群众意见现场登记。",
        (
            _Question(
                "consultation",
                "孩子上学要迁户口，需要带哪些材料？",
                "子女入学户口迁移所需材料",
                "需携带户口簿、房产证明和入学通知书，可在任一派出所户籍窗口办理。",
                4,
                public="子女入学迁户口需户口簿、房产证明和入学通知书，任一派出所户籍窗口可办。",
                spot_answer="户籍民警现场讲解了所需材料。",
            ),
            _Question(
                "suggestion",
                "希望出入境办证周末也能开放半天。",
                "出入境办证周末开放",
                "自下月起，出入境接待大厅每周六上午开放。",
                70,
                public="出入境接待大厅自下月起每周六上午开放。",
            ),
            _Question(
                "complaint",
                "接到冒充客服的电话差点被骗，希望多宣传。",
                "冒充客服诈骗电话增多",
                "已在各社区开展反诈宣传，并通过短信向辖区群众发送预警提示。",
                30,
                public="已在各社区开展反诈宣传，并以短信发送预警提示。",
            ),
        ),
        citizens=320,
        officers="越城分局户籍、出入境、交警、反诈中心民警共十二名",
        minutes="现场接待群众约 320 人次，办理咨询 60 余件，登记群众意见 3 条，会后均已答复。",
        follow_up="出入境接待大厅已于本月起周六上午开放。",
        publish=True,
        in_community=False,
    ),
    _Meeting(
        FUSHAN,
        "fushan_leader",
        MeetingKind.FORUM,
        "府山街道老旧小区安全恳谈会",
        "府山街道社区服务中心二楼会议室",
        3,
        19,
        1.5,
        "老旧小区楼道堆物和电动车充电安全。",
        (
            _Question(
                "suggestion",
                "楼道里电动车充电很危险，能不能在小区里装集中充电桩？",
                "老旧小区电动车集中充电",
            ),
        ),
        citizens=28,
        officers="府山派出所社区民警两名",
        minutes="（草稿）讨论楼道堆物和电动车充电安全。",
    ),
    _Meeting(
        FUSHAN,
        "fushan_leader",
        MeetingKind.FORUM,
        "府山街道警民恳谈会（防范养老诈骗）",
        "府山街道社区服务中心二楼会议室",
        -5,
        19,
        1.5,
        "一、养老诈骗常见手法；二、群众提问与现场解答。欢迎辖区群众参加。",
    ),
)
RADIO_CALLS = (
    _Question(
        "consultation",
        "驾驶证快到期了，在哪里换证？",
        "驾驶证到期换证在哪里办理",
        "可在“交管12123”App 网上办理，或到任一车管服务站办理。",
        0.5,
        public="驾驶证到期可在“交管12123”App 网上换证，或到任一车管服务站办理。",
    ),
    _Question(
        "complaint",
        "小区附近夜里有人飙车，噪声很大。",
        "夜间飙车噪声扰民",
        "已安排交警夜间在该路段设卡整治，查处改装车辆三辆。",
        20,
        public="交警已在夜间设卡整治飙车，查处改装车辆三辆。",
    ),
    _Question(
        "consultation",
        "外地来绍兴工作，居住证怎么办？",
        "外地来绍人员如何办理居住证",
        "可在居住地派出所或“浙里办”App 申领，提交租房合同等材料。",
        1,
        public="居住证可在居住地派出所或“浙里办”App 申领。",
    ),
)


@dataclass
class DemoMeetings:
    created: bool
    meetings: int = 0
    questions: int = 0
    answered: int = 0
    radio_coming: int = 0
    by_kind: dict = field(default_factory=dict)


def _local(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def _community(unit: OrgUnit) -> GridArea | None:
    return (
        GridArea.objects.filter(station__path__startswith=unit.path, level=AreaLevel.COMMUNITY)
        .order_by("code")
        .first()
    )


def _ask_all(leader, meeting: Meeting, plans, now: datetime, demo: DemoMeetings) -> None:
    asked_at = min(meeting.starts_at + timedelta(minutes=20), now)
    for plan in plans:
        question = question_add(
            actor=leader,
            meeting=meeting,
            kind=plan.kind,
            content=plan.content,
            summary=plan.summary,
            mobile=plan.mobile,
            consent=bool(plan.mobile),
            answered_on_spot=bool(plan.spot_answer),
            spot_answer=plan.spot_answer,
            now=asked_at,
        )
        demo.questions += 1
        answer_at = meeting.ends_at + timedelta(hours=plan.answer_hours)
        if plan.answer and answer_at < now:
            opinion_answer(actor=leader, opinion=question.opinion, text=plan.answer, now=answer_at)
            demo.answered += 1
            if plan.public:
                question_write_public_answer(
                    actor=leader, question=question, public_answer=plan.public
                )


def _hold(leader, meeting: Meeting, plan: _Meeting, now: datetime, demo: DemoMeetings) -> None:
    held_at = meeting.ends_at
    meeting = meeting_record_attendance(
        actor=leader,
        meeting=meeting,
        citizens_count=plan.citizens,
        officers_present=plan.officers,
        now=held_at,
    )
    _ask_all(leader, meeting, plan.questions, now, demo)
    meeting = meeting_write_minutes(actor=leader, meeting=meeting, minutes=plan.minutes)
    if plan.publish:
        meeting = meeting_publish(actor=leader, meeting=meeting, now=held_at + timedelta(days=1))
        if plan.follow_up:
            meeting_write_minutes(
                actor=leader, meeting=meeting, minutes=plan.minutes, follow_up=plan.follow_up
            )


def _radio(city_leader, root: OrgUnit, now: datetime, demo: DemoMeetings) -> None:
    today = timezone.localdate(now)
    calendar_days = working_days_from(today - timedelta(days=RADIO_PAST_DAYS * 2 + 10), 40)
    past = [d for d in calendar_days if d < today][-RADIO_PAST_DAYS:]
    for index, day in enumerate(past):
        starts_at = _local(day, 9)
        meeting = meeting_save(
            actor=city_leader,
            kind=MeetingKind.RADIO,
            unit=root,
            title=RADIO_TITLE,
            place=RADIO_PLACE,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            agenda="市局领导和业务部门民警在线接听群众来电，现场答复。",
            now=starts_at - timedelta(days=1),
        )
        calls = RADIO_CALLS[index % 3 : index % 3 + 1 + index % 2]
        plan = _Meeting(
            ROOT_CODE,
            "",
            MeetingKind.RADIO,
            RADIO_TITLE,
            RADIO_PLACE,
            0,
            9,
            1,
            "",
            calls,
            citizens=len(calls),
            officers="市局指挥中心、交警支队、治安支队民警",
            minutes=f"本期接听群众来电 {len(calls)} 个，均已登记办理。",
            publish=True,
        )
        _hold(city_leader, meeting, plan, now, demo)
        demo.meetings += 1
    coming = radio_schedule(
        actor=city_leader,
        unit=root,
        start=today,
        days=RADIO_COMING_DAYS,
        at=time(9),
        minutes=60,
        title=RADIO_TITLE,
        place=RADIO_PLACE,
        now=now,
    )
    demo.radio_coming = len(coming)
    demo.meetings += len(coming)


def meetings_demo_exists() -> bool:
    return Meeting.objects.filter(title__in=[m.title for m in MEETINGS]).exists()


def load(now=None) -> DemoMeetings:
    """Write the meetings demo once (see the module docstring); nothing when it exists."""
    if meetings_demo_exists():
        return DemoMeetings(created=False)
    root = OrgUnit.objects.filter(code=ROOT_CODE).first()
    if root is None:
        raise DemoHistoryError("请先生成演示城市（demo_city）。")
    now = now or timezone.now()
    users = {u.username: u for u in User.objects.filter(username__endswith="_leader")}
    demo = DemoMeetings(created=True)
    with transaction.atomic():
        for plan in MEETINGS:
            unit = OrgUnit.objects.filter(code=plan.unit_code).first()
            leader = users.get(plan.leader)
            if unit is None or leader is None:
                continue
            day = timezone.localdate(now) - timedelta(days=plan.days_ago)
            starts_at = _local(day, plan.hour)
            meeting = meeting_save(
                actor=leader,
                kind=plan.kind,
                unit=unit,
                community=_community(unit) if plan.in_community else None,
                title=plan.title,
                place=plan.place,
                agenda=plan.agenda,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=plan.hours),
                now=min(now, starts_at - timedelta(days=7)),
            )
            demo.meetings += 1
            if plan.days_ago > 0:
                _hold(leader, meeting, plan, now, demo)
        if "city_leader" in users:
            _radio(users["city_leader"], root, now, demo)
    for kind, label in MeetingKind.choices:
        demo.by_kind[str(label)] = Meeting.objects.filter(kind=kind).count()
    return demo


def summary_line(demo: DemoMeetings) -> str:
    if not demo.created:
        return "meetings: already loaded"
    kinds = ", ".join(f"{k} {n}" for k, n in demo.by_kind.items())
    return (
        f"meetings: {demo.meetings} ({kinds}); questions {demo.questions}, "
        f"answered {demo.answered}; 110直播室 coming {demo.radio_coming}"
    )
