"""The meetings staff pages (list and filters, scheduling with its checks, recording a
question, attendance, minutes, publishing) and the citizen pages, which never show a name, a
contact or the citizen's own words."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from minyi.community.tests.factories import make_area
from minyi.meetings.forms import MeetingForm
from minyi.meetings.models import Meeting, MeetingKind, MeetingQuestion, MeetingStatus
from minyi.meetings.services import question_add
from minyi.meetings.tests.factories import make_meeting
from minyi.opinions.models import Opinion, OpinionChannel
from minyi.opinions.services.handling import opinion_answer, opinion_transfer
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db

WORDS = "我是王大伯，住幸福里3幢，公交站晚上总有人扒窃"
MOBILE = "13800007777"


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def client_for(user):
    other = Client()
    other.force_login(user)
    return other


@pytest.fixture
def leader_client(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    return client


def test_list_filters_by_kind_and_time(leader_client, world):
    now = timezone.now()
    make_meeting(world.station_a2, title="往期恳谈会", start=now - timedelta(days=3))
    make_meeting(world.station_a2, title="下周恳谈会", start=now + timedelta(days=3))
    make_meeting(
        world.station_a2, kind=MeetingKind.RADIO, title="明日直播", start=now + timedelta(days=1)
    )
    make_meeting(world.station_a1, title="甲一所恳谈会", start=now + timedelta(days=3))
    url = reverse("meetings:meeting_list")

    page = leader_client.get(url).content.decode()
    assert "往期恳谈会" in page and "下周恳谈会" in page and "甲一所恳谈会" not in page
    page = leader_client.get(url, {"when": "upcoming", "kind": "forum"}).content.decode()
    assert "下周恳谈会" in page and "往期恳谈会" not in page and "明日直播" not in page
    page = leader_client.get(url, {"when": "past"}).content.decode()
    assert "往期恳谈会" in page and "下周恳谈会" not in page


def test_schedule_a_meeting_and_its_refusals(leader_client, world):
    community = make_area(world.station_a2, name="甲二社区")
    sibling = make_area(world.station_a1, name="甲一社区")
    start = timezone.now() + timedelta(days=2)
    data = {
        "kind": MeetingKind.FORUM,
        "unit": world.station_a2.pk,
        "community": community.pk,
        "title": "甲二社区警民恳谈会",
        "place": "甲二社区会议室",
        "starts_at": _local(start),
        "ends_at": _local(start - timedelta(hours=1)),
        "agenda": "治安形势通报；群众提问",
    }
    url = reverse("meetings:meeting_new")
    response = leader_client.post(url, data)
    assert response.status_code == 400
    assert "结束时间须晚于开始时间" in response.content.decode()
    # A sibling station's community is not even a choice.
    assert sibling.name not in leader_client.get(url).content.decode()

    response = leader_client.post(url, {**data, "ends_at": _local(start + timedelta(hours=2))})
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response.url == meeting.get_absolute_url()
    assert meeting.community == community and meeting.created_by == world.user(
        "a2", Role.UNIT_LEADER
    )


def test_record_a_question_then_publish(leader_client, world):
    meeting = make_meeting(world.station_a2, start=timezone.now() - timedelta(hours=1))
    detail = reverse("meetings:meeting_detail", args=[meeting.pk])
    assert 'data-testid="question-new"' in leader_client.get(detail).content.decode()

    response = leader_client.post(
        reverse("meetings:question_new", args=[meeting.pk]),
        {"kind": "complaint", "content": WORDS, "summary": "公交站夜间扒窃", "mobile": MOBILE},
    )
    assert response.status_code == 400  # a mobile without consent
    assert "须经本人同意" in response.content.decode()
    assert not Opinion.objects.exists()

    response = leader_client.post(
        reverse("meetings:question_new", args=[meeting.pk]),
        {
            "kind": "complaint",
            "content": f"{WORDS}，电话{MOBILE}",
            "summary": "公交站夜间扒窃",
            "mobile": MOBILE,
            "contact_name": "王大伯",
            "consent": "on",
        },
    )
    assert response.status_code == 302
    question = MeetingQuestion.objects.get()
    assert question.opinion.channel == OpinionChannel.MEETING
    page = leader_client.get(detail).content.decode()
    assert question.opinion.number in page and MOBILE not in page  # masked on screen

    # Publishing before the meeting is recorded as held is refused with a message.
    response = leader_client.post(reverse("meetings:publish", args=[meeting.pk]), follow=True)
    assert "活动尚未召开" in response.content.decode()
    leader_client.post(
        reverse("meetings:attendance", args=[meeting.pk]),
        {"citizens_count": 35, "officers_present": "张所长、李警官"},
    )
    leader_client.post(
        reverse("meetings:minutes", args=[meeting.pk]),
        {"minutes": "通报辖区治安形势，群众提问 1 个。", "follow_up": ""},
    )
    response = leader_client.post(reverse("meetings:publish", args=[meeting.pk]))
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PUBLISHED and meeting.citizens_count == 35


def test_citizen_pages_show_summaries_and_answers_never_personal_data(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    now = timezone.now()
    meeting = make_meeting(
        world.station_a2,
        start=now - timedelta(hours=3),
        status=MeetingStatus.SCHEDULED,
        title="幸福里恳谈会",
    )
    answered = question_add(
        actor=leader,
        meeting=meeting,
        kind="complaint",
        content=f"{WORDS}，电话{MOBILE}",
        summary="公交站夜间扒窃",
        contact_name="王大伯",
        mobile=MOBILE,
        consent=True,
        now=now,
    )
    question_add(
        actor=leader,
        meeting=meeting,
        kind="suggestion",
        content="希望菜场门口划停车位",
        summary="菜场门口停车难",
        answered_on_spot=True,
        spot_answer="已联系城管现场查看",
        now=now,
    )
    tip = question_add(
        actor=leader,
        meeting=meeting,
        kind="tip",
        content="幸福里3幢有人晚上在楼道里卖假烟",
        summary="小区楼道有人售卖假烟",
        answered_on_spot=True,
        spot_answer="民警已记录，将核查",
        now=now,
    )
    Meeting.objects.filter(pk=meeting.pk).update(
        status=MeetingStatus.PUBLISHED,
        minutes=f"群众反映公交站扒窃，联系人电话 {MOBILE}。",
        follow_up="公交站扒窃已打掉",
        published_at=now,
    )
    opinion_answer(
        actor=leader,
        opinion=answered.opinion,
        text="王大伯您好，已在您家楼下公交站增设巡逻点，抓获扒窃嫌疑人两名。",
        now=now,
    )
    opinion_answer(
        actor=leader, opinion=tip.opinion, text="您反映的线索已经核实并依法处理。", now=now
    )
    public_url = reverse("meetings_public:meeting", args=[meeting.pk])
    # Answered, no public answer written yet: 已答复 and nothing of the answer to the citizen.
    page = client.get(public_url).content.decode()
    assert "已答复" in page and "抓获扒窃嫌疑人" not in page
    leader_client = client_for(leader)
    response = leader_client.post(
        reverse("meetings:public_answer", args=[meeting.pk, answered.pk]),
        {f"q{answered.pk}-public_answer": "公交站已增设巡逻点，抓获扒窃嫌疑人两名。"},
    )
    assert response.status_code == 302
    upcoming = make_meeting(
        world.station_a2, start=now + timedelta(days=2), title="下周广场活动日", kind="plaza_day"
    )

    index = client.get(reverse("meetings_public:index")).content.decode()
    assert "下周广场活动日" in index and "幸福里恳谈会" in index
    assert "2 个问题" in index  # the tip is not counted
    page = client.get(public_url).content.decode()
    assert "公交站夜间扒窃" in page and "公交站已增设巡逻点，抓获扒窃嫌疑人两名" in page
    assert "菜场门口停车难" in page and "办理中" in page and "已联系城管现场查看" in page
    assert "公交站扒窃已打掉" in page
    assert page.count('data-testid="public-question"') == 2
    secrets = ("王大伯", MOBILE, "幸福里3幢", answered.opinion.number, "您家楼下")
    for secret in (*secrets, "假烟", "民警已记录", "依法处理"):
        assert secret not in page
    assert "联系人电话 138****7777" in page  # a number in the minutes, masked
    # The upcoming one shows where and when, no minutes; a held but unpublished one is not public.
    page = client.get(reverse("meetings_public:meeting", args=[upcoming.pk])).content.decode()
    assert "社区会议室" in page and "会议纪要" not in page
    held = make_meeting(world.station_a2, status=MeetingStatus.HELD, title="未公开")
    assert client.get(reverse("meetings_public:meeting", args=[held.pk])).status_code == 404


def test_list_queries_do_not_grow_with_rows(leader_client, world, django_assert_max_num_queries):
    for day in range(12):
        make_meeting(world.station_a2, start=timezone.now() - timedelta(days=day + 1))
    with django_assert_max_num_queries(10):
        assert leader_client.get(reverse("meetings:meeting_list")).status_code == 200


def test_public_pages_list_a_cancelled_meeting_with_its_reason(client, world):
    meeting = make_meeting(
        world.station_a2,
        start=timezone.now() + timedelta(days=1),
        status=MeetingStatus.CANCELLED,
        cancel_reason="台风预警，改期另行通知",
        title="取消的恳谈会",
    )
    index = client.get(reverse("meetings_public:index")).content.decode()
    assert "取消的恳谈会" in index and "已取消" in index
    page = client.get(reverse("meetings_public:meeting", args=[meeting.pk])).content.decode()
    assert "台风预警，改期另行通知" in page


def test_detail_page_queries_do_not_grow_with_questions(
    leader_client, world, django_assert_max_num_queries
):
    leader = world.user("a2", Role.UNIT_LEADER)
    meeting = make_meeting(world.station_a2, start=timezone.now() - timedelta(hours=1))
    for i in range(6):
        question_add(
            actor=leader,
            meeting=meeting,
            kind="consultation",
            content=f"第{i}个问题：夜间巡逻能否延长？",
            summary=f"夜间巡逻时间{i}",
        )
    with django_assert_max_num_queries(12):
        page = leader_client.get(reverse("meetings:meeting_detail", args=[meeting.pk]))
    assert page.content.decode().count('data-testid="question-row"') == 6


def test_staff_page_shows_words_and_answer_only_of_opinions_in_scope(client, world):
    """An opinion transferred (转办) outside the station's subtree: the station sees its number
    and status, not the citizen's words nor the answer; the district above sees all."""
    leader = world.user("a2", Role.UNIT_LEADER)
    meeting = make_meeting(world.station_a2, start=timezone.now() - timedelta(hours=1))
    kept = question_add(
        actor=leader,
        meeting=meeting,
        kind="consultation",
        content="菜场门口晚上路灯不亮",
        summary="菜场门口路灯不亮",
    )
    moved = question_add(
        actor=leader,
        meeting=meeting,
        kind="complaint",
        content=WORDS,
        summary="公交站夜间扒窃",
    )
    district_leader = world.user("a", Role.UNIT_LEADER)
    opinion_transfer(
        actor=world.user("a", Role.SUPERVISOR),
        opinion=moved.opinion,
        unit=world.station_a1,
        note="辖区属甲一所",
    )
    opinion_answer(
        actor=world.user("a1", Role.UNIT_LEADER),
        opinion=moved.opinion,
        text="王大伯您好，甲一所已在公交站增设巡逻。",
    )
    detail = reverse("meetings:meeting_detail", args=[meeting.pk])

    page = client_for(leader).get(detail).content.decode()
    assert "菜场门口晚上路灯不亮" in page and kept.opinion.number in page
    assert moved.opinion.number in page and "已答复" in page and "公交站夜间扒窃" in page
    assert "王大伯" not in page and "甲一所已在公交站增设巡逻" not in page
    assert reverse("opinions:opinion_detail", args=[moved.opinion.pk]) not in page
    assert 'data-testid="question-out-of-scope"' in page

    page = client_for(district_leader).get(detail).content.decode()
    assert "公交站晚上总有人扒窃" in page and "甲一所已在公交站增设巡逻" in page
    assert 'data-testid="question-out-of-scope"' not in page


def test_public_answer_form_on_the_staff_page(leader_client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    meeting = make_meeting(world.station_a2, start=timezone.now() - timedelta(hours=1))
    question = question_add(
        actor=leader, meeting=meeting, kind="consultation", content=WORDS, summary="公交站扒窃"
    )
    detail = reverse("meetings:meeting_detail", args=[meeting.pk])
    url = reverse("meetings:public_answer", args=[meeting.pk, question.pk])
    field = f"q{question.pk}-public_answer"
    assert 'data-testid="public-answer-form"' not in leader_client.get(detail).content.decode()
    response = leader_client.post(url, {field: "已增设巡逻点"}, follow=True)
    assert "尚未答复" in response.content.decode()

    opinion_answer(actor=leader, opinion=question.opinion, text="已在公交站增设巡逻点，谢谢。")
    page = leader_client.get(detail).content.decode()
    assert 'data-testid="public-answer-form"' in page
    response = leader_client.post(url, {field: "巡" * 501}, follow=True)
    assert "公开答复不能超过 500 个字" in response.content.decode()
    response = leader_client.post(url, {field: "公交站已增设巡逻点。"}, follow=True)
    assert "公开答复已保存" in response.content.decode()
    question.refresh_from_db()
    assert question.public_answer == "公交站已增设巡逻点。"
    # The staff page shows it, and the form offers it for editing.
    assert leader_client.get(detail).content.decode().count("公交站已增设巡逻点。") == 2


def test_cancel_refused_and_hidden_once_questions_were_recorded(leader_client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    meeting = make_meeting(world.station_a2, start=timezone.now() - timedelta(hours=1))
    detail = reverse("meetings:meeting_detail", args=[meeting.pk])
    assert 'data-testid="cancel-form"' in leader_client.get(detail).content.decode()
    question_add(
        actor=leader, meeting=meeting, kind="consultation", content=WORDS, summary="公交站扒窃"
    )
    assert 'data-testid="cancel-form"' not in leader_client.get(detail).content.decode()
    response = leader_client.post(
        reverse("meetings:cancel", args=[meeting.pk]), {"reason": "下雨"}, follow=True
    )
    assert "已录入群众提问" in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED

    data = {
        "kind": MeetingKind.PLAZA_DAY,
        "unit": world.station_a2.pk,
        "title": meeting.title,
        "place": meeting.place,
        "starts_at": _local(meeting.starts_at),
        "ends_at": _local(meeting.ends_at),
    }
    response = leader_client.post(reverse("meetings:meeting_edit", args=[meeting.pk]), data)
    assert response.status_code == 409
    assert "不能再改变活动类型" in response.content.decode()


def test_a_required_time_message_is_translated_when_shown():
    with translation.override("en"):
        form = MeetingForm({})
        assert not form.is_valid()
        assert form.errors["starts_at"] == ["Enter Started at."]
    form = MeetingForm({})
    assert not form.is_valid()
    assert form.errors["starts_at"] == ["请填写开始时间。"]
