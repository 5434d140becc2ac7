"""The citizen's opinion pages (警务e广场): write, look up, rate, and the public wall."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.opinions.models import Opinion, OpinionKind, OpinionStatus
from minyi.opinions.services.handling import opinion_answer, opinion_transfer
from minyi.opinions.tests.factories import make_opinion, png_upload
from minyi.orgs.choices import Role
from minyi.verification.models import OtpChallenge, OtpPurpose
from minyi.verification.services import session_mark_verified

pytestmark = pytest.mark.django_db

NEW = reverse_lazy("portal:opinion_new")
TRACK = reverse_lazy("portal:opinion_track")
WALL = reverse_lazy("portal:opinion_wall")
MOBILE = "13812345678"
CONTENT = "我家楼下每晚都有人飙车，噪音很大，希望派出所管一管。"


def status_url(number):
    return reverse("portal:opinion_status", args=[number])


def latest_code(mobile=MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


def form_data(**overrides):
    data = {
        "kind": OpinionKind.COMPLAINT,
        "content": CONTENT,
        "area": "甲区幸福小区",
        "unit": "",
        "contact_name": "李四",
        "mobile": MOBILE,
        "code": "",
        "action": "submit",
    }
    data.update(overrides)
    return data


def ask_code(client, url=NEW, **overrides):
    response = client.post(url, form_data(action="send_code", **overrides))
    assert response.status_code == 200
    return latest_code(overrides.get("mobile", MOBILE))


def submit(client, **overrides):
    code = ask_code(client, **{k: v for k, v in overrides.items() if k == "mobile"})
    return client.post(NEW, form_data(code=code, **overrides))


def lookup_session(client, mobile):
    """The citizen's browser, having proved `mobile` for looking up opinions."""
    session = client.session
    session_mark_verified(session, purpose=OtpPurpose.OPINION_LOOKUP, mobile=mobile)
    session.save()
    client.cookies["sessionid"] = session.session_key


# --- The form ------------------------------------------------------------------------------


def test_new_form_preselects_kind_and_groups_units_by_district(client, world):
    response = client.get(NEW, {"kind": "suggestion"})
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<input[^>]*value="suggestion"[^>]*checked', html)
    assert "不清楚，由公安机关分派" in html
    # Stations come under their district; the district itself is not a choice
    group = re.search(r'<optgroup label="甲区分局">(.*?)</optgroup>', html, re.S).group(1)
    assert world.station_a1.name in group and world.station_a2.name in group
    assert f'value="{world.district_a.pk}"' not in html
    assert "同意在民意墙公开（隐去个人信息）" in html


def test_asking_for_a_code_keeps_the_form_and_submits_nothing(client, world):
    # When the citizen taps 获取验证码 with half the form filled in
    response = client.post(NEW, form_data(action="send_code", content="还没写完的内容"))

    # Then the code is sent, the text comes back, no error is shown and nothing is submitted
    html = response.content.decode()
    assert "验证码已发送至 138****5678" in html
    assert "还没写完的内容" in html
    assert "c-error" not in html
    assert not Opinion.objects.exists()
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1


def test_named_complaint_with_photo_is_received_and_citizen_is_told(client, world):
    # Given a code on the citizen's phone
    code = ask_code(client)

    # When they submit a complaint to 甲二派出所 with a photo
    response = client.post(
        NEW,
        {**form_data(code=code, unit=str(world.station_a2.pk)), "photos": [png_upload()]},
    )

    # Then they land on the done page showing the tracking number and deadline
    opinion = Opinion.objects.get()
    assert response.status_code == 302
    done = client.get(response["Location"])
    html = done.content.decode()
    assert opinion.number in html
    assert "受理编号" in html
    assert f"{opinion.deadline.year}年{opinion.deadline.month}月{opinion.deadline.day}日" in html
    assert status_url(opinion.number) in html
    assert (opinion.kind, opinion.unit, opinion.contact_name) == (
        OpinionKind.COMPLAINT,
        world.station_a2,
        "李四",
    )
    assert opinion.content == CONTENT and opinion.mobile == MOBILE
    assert opinion.photos.get().content_type == "image/png"
    # And the SMS telling them the number is in the outbox
    told = OutboundSms.objects.filter(
        purpose=SmsPurpose.NOTIFICATION, to_mobile_hash=lookup_hash("mobile", MOBILE)
    ).get()
    assert opinion.number in told.body
    # And the same browser may open the opinion at once, without a second code
    page = client.get(status_url(opinion.number))
    assert page.status_code == 200
    assert "飙车" in page.content.decode()


def test_anonymous_opinion_keeps_no_name(client, world):
    response = submit(client, anonymous="on", contact_name="王五")
    assert response.status_code == 302
    opinion = Opinion.objects.get()
    assert opinion.anonymous is True
    assert opinion.contact_name == ""
    assert opinion.mobile == MOBILE  # still kept, so the answer reaches them


def test_done_page_of_another_mobile_shows_only_the_form(client, world):
    theirs = make_opinion(world)
    html = client.get(NEW, {"done": theirs.number}).content.decode()
    assert theirs.number not in html
    assert "提交留言" in html


@pytest.mark.parametrize(
    ("overrides", "files", "message"),
    [
        ({"content": "   "}, None, "内容至少 5 个字。"),
        ({"content": "很" * 2001}, None, "内容不能超过 2000 个字（现有 2001 个字）。"),
        ({"contact_name": ""}, None, "实名留言请填写姓名，或选择匿名。"),
        ({}, [SimpleUploadedFile("fake.jpg", b"just some text", "image/jpeg")], "不是 JPG 或 PNG"),
        ({}, "four", "最多上传 3 张照片。"),
        ({"kind": ""}, None, "请选择留言类别。"),
        ({"mobile": "12345"}, None, "手机号码格式不正确"),
    ],
    ids=["empty", "too-long", "no-name", "txt-as-jpg", "four-photos", "no-kind", "bad-mobile"],
)
def test_bad_input_is_refused_with_the_text_kept_and_the_code_unspent(
    client, world, overrides, files, message
):
    # Given a valid code
    code = ask_code(client)
    if files == "four":
        files = [png_upload(f"p{i}.png") for i in range(4)]
    data = form_data(code=code, area="幸福小区东门", **overrides)
    if files:
        data["photos"] = files

    # When the citizen submits something wrong
    response = client.post(NEW, data)

    # Then the page says what is wrong, keeps what they wrote, and nothing is stored
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert "幸福小区东门" in html
    if overrides.get("content", CONTENT).strip():
        assert overrides.get("content", CONTENT)[:20] in html
    assert not Opinion.objects.exists()
    if files:
        assert "请重新选择照片" in html
    # And the code is still good for the corrected submission
    assert OtpChallenge.objects.get().used_at is None


def test_oversized_photo_is_refused(client, world, settings):
    settings.OPINION_PHOTO_MAX_BYTES = 2**20
    big = SimpleUploadedFile("big.png", png_upload().read() + b"\0" * 2**20, "image/png")
    code = ask_code(client)
    html = client.post(NEW, {**form_data(code=code), "photos": [big]}).content.decode()
    assert "文件“big.png”超过 1 MB。" in html
    assert CONTENT in html and "请重新选择照片" in html
    assert not Opinion.objects.exists()


def test_wrong_code_is_refused_and_text_kept(client, world):
    code = ask_code(client)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    html = client.post(NEW, form_data(code=wrong)).content.decode()
    assert "验证码不正确，还可以再试 4 次。" in html
    assert CONTENT in html
    assert not Opinion.objects.exists()


def test_missing_code_asks_for_it(client, world):
    html = client.post(NEW, form_data(code="")).content.decode()
    assert "请输入短信中的 6 位数字验证码。" in html
    assert CONTENT in html


def test_expired_code_is_refused(client, world):
    code = ask_code(client)
    OtpChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    html = client.post(NEW, form_data(code=code)).content.decode()
    assert "验证码已过期" in html
    assert CONTENT in html
    assert not Opinion.objects.exists()


def test_replayed_code_is_refused(client, world):
    # Given a code already used for one opinion
    code = ask_code(client)
    assert client.post(NEW, form_data(code=code)).status_code == 302

    # When another browser sends the same code again
    other = Client()
    html = other.post(NEW, form_data(code=code, content="再提交一次同样的内容")).content.decode()

    # Then it is refused and nothing more is stored
    assert "该验证码已使用过" in html
    assert "再提交一次同样的内容" in html
    assert Opinion.objects.count() == 1


def test_a_code_typed_with_a_space_or_full_width_digits_is_accepted(client, world):
    # Given a code on the citizen's phone, typed as "123 456"
    code = ask_code(client)
    spaced = f"{code[:3]} {code[3:]}"

    # Then the opinion is received
    assert client.post(NEW, form_data(code=spaced)).status_code == 302
    assert Opinion.objects.count() == 1

    # And the look-up (another phone and browser: one code a minute per mobile, and this
    # browser has proven its mobile already) takes full-width digits with spaces too
    other, browser = "13812340000", Client()
    code = ask_code(browser, url=TRACK, mobile=other)
    wide = " ".join(chr(ord(c) + 0xFEE0) for c in code)  # "１ ２ ３ ４ ５ ６": 11 characters
    assert browser.post(TRACK, {"mobile": other, "code": wide}).status_code == 302


def test_an_overlong_code_is_refused_in_chinese(client, world):
    html = client.post(NEW, form_data(code="1234567890123")).content.decode()
    assert "请输入短信中的 6 位数字验证码。" in html
    assert CONTENT in html and not Opinion.objects.exists()


def test_wall_consent_is_kept_for_suggestions_only(client, world):
    submit(client, kind=OpinionKind.SUGGESTION, wall_consent="on")
    assert Opinion.objects.get().wall_consent is True


# --- Look-up --------------------------------------------------------------------------------


def test_track_proves_the_mobile_then_lists_own_opinions_newest_first(client, world):
    now = timezone.now()
    older = make_opinion(world, mobile=MOBILE, now=now - timedelta(days=3))
    newer = make_opinion(world, mobile=MOBILE, kind="consultation", now=now - timedelta(days=1))
    someone_else = make_opinion(world)

    # Without a proven mobile: the form, pre-filled with the number asked about
    html = client.get(TRACK, {"number": newer.number}).content.decode()
    assert "请验证提交时使用的手机号" in html and newer.number in html
    assert older.number not in html

    # When the citizen asks for a code and enters it
    code = ask_code(client, url=f"{TRACK}?number={newer.number}")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = client.post(TRACK, {"mobile": MOBILE, "code": wrong}).content.decode()
    assert "验证码不正确" in refused and MOBILE in refused  # the typed mobile is kept
    response = client.post(f"{TRACK}?number={newer.number}", {"mobile": MOBILE, "code": code})
    assert response.status_code == 302

    # Then they see their own opinions, newest first, the one asked about marked
    html = client.get(response["Location"]).content.decode()
    assert html.index(newer.number) < html.index(older.number)
    assert someone_else.number not in html
    assert "138****5678" in html and MOBILE not in html
    assert 'aria-current="true"' in html
    assert status_url(older.number) in html

    # And "换个手机号" forgets the mobile
    client.post(TRACK, {"action": "forget"})
    html = client.get(TRACK).content.decode()
    assert older.number not in html
    assert "获取验证码" in html


def test_track_list_queries_do_not_grow_with_opinions(client, world, django_assert_max_num_queries):
    for _i in range(6):
        make_opinion(world, mobile=MOBILE)
    lookup_session(client, MOBILE)
    with django_assert_max_num_queries(6):
        response = client.get(TRACK)
    assert response.content.decode().count('data-testid="opinion-') == 6


def test_status_of_someone_elses_opinion_redirects_without_content(client, world):
    theirs = make_opinion(world, content="别人的秘密留言内容")
    lookup_session(client, MOBILE)

    response = client.get(status_url(theirs.number))

    assert response.status_code == 302
    assert response["Location"] == f"{TRACK}?number={theirs.number}"
    assert "别人的秘密留言内容" not in client.get(response["Location"]).content.decode()
    # Nor can it be rated from here, even once answered
    opinion_answer(
        actor=world.user("a2", Role.UNIT_LEADER), opinion=theirs, text="已处理完毕，感谢反映。"
    )
    assert client.post(status_url(theirs.number), {"rating": "5"}).status_code == 302
    theirs.refresh_from_db()
    assert theirs.rating is None and theirs.status == OpinionStatus.ANSWERED
    # A number that does not exist looks just the same
    missing = client.get(status_url("MY000000000000"))
    assert missing["Location"] == f"{TRACK}?number=MY000000000000"


def test_status_without_proven_mobile_redirects(client, world):
    mine = make_opinion(world, mobile=MOBILE)
    response = client.get(status_url(mine.number))
    assert response.status_code == 302


def test_status_shows_timeline_answer_and_takes_the_rating(client, world):
    # Given an opinion with a phone number in it, transferred by the district and answered
    opinion = make_opinion(
        world, mobile=MOBILE, content="民警小王态度不好，我的电话13900001111可以联系我。"
    )
    opinion_transfer(
        actor=world.user("a", Role.SUPERVISOR),
        opinion=opinion,
        unit=world.station_a1,
        note="内部备注：由辖区所办理",
    )
    world.station_a1.duty_phone = "0575-81234567"
    world.station_a1.save()
    leader = world.user("a1", Role.UNIT_LEADER)
    opinion_answer(actor=leader, opinion=opinion, text="已核实情况，对当事民警进行了批评教育。")
    lookup_session(client, MOBILE)

    # When the citizen opens it
    html = client.get(status_url(opinion.number)).content.decode()

    # Then they see the masked content, the handling unit, the timeline and the answer
    assert "139****1111" in html and "13900001111" not in html
    assert "转办至 甲一派出所" in html
    assert "内部备注" not in html
    assert leader.full_name not in html
    assert "0575-81234567" in html
    assert "已核实情况，对当事民警进行了批评教育。" in html
    assert "请评价本次答复" in html
    # And the answer SMS is in the outbox
    assert OutboundSms.objects.filter(
        purpose=SmsPurpose.NOTIFICATION,
        to_mobile_hash=lookup_hash("mobile", MOBILE),
        body__contains="已答复",
    ).exists()

    # When they submit without choosing, the comment is kept
    html = client.post(status_url(opinion.number), {"comment": "处理及时"}).content.decode()
    assert "请选择评价等级。" in html and "处理及时" in html

    # When they rate it 满意
    response = client.post(status_url(opinion.number), {"rating": "2", "comment": "处理及时"})
    assert response.status_code == 302

    # Then the opinion is closed with the rating, shown read-only
    opinion.refresh_from_db()
    assert (opinion.status, opinion.rating, opinion.rating_comment) == (
        OpinionStatus.CLOSED,
        2,
        "处理及时",
    )
    html = client.get(status_url(opinion.number)).content.decode()
    assert "您的评价" in html and "满意" in html
    assert "请评价本次答复" not in html
    # And a second rating is not taken
    client.post(status_url(opinion.number), {"rating": "5"})
    opinion.refresh_from_db()
    assert opinion.rating == 2


def test_open_opinion_has_no_rating_form(client, world):
    opinion = make_opinion(world, mobile=MOBILE)
    lookup_session(client, MOBILE)
    html = client.get(status_url(opinion.number)).content.decode()
    assert "待签收" in html
    assert "请评价本次答复" not in html
    client.post(status_url(opinion.number), {"rating": "1"})
    opinion.refresh_from_db()
    assert opinion.status == OpinionStatus.RECEIVED and opinion.rating is None


# --- The wall --------------------------------------------------------------------------------


def _answered(world, opinion, text="感谢建议，已在该路段增设路灯并加强夜间巡逻。"):
    return opinion_answer(
        actor=world.user(_key(world, opinion.unit), Role.UNIT_LEADER), opinion=opinion, text=text
    )


def _key(world, unit):
    return {world.station_a1.pk: "a1", world.station_a2.pk: "a2", world.station_b1.pk: "b1"}[
        unit.pk
    ]


def test_wall_shows_only_answered_suggestions_whose_authors_agreed(client, world):
    shown = _answered(
        world,
        make_opinion(
            world,
            kind="suggestion",
            wall_consent=True,
            contact_name="赵六",
            content="建议在学校门口设置护学岗，联系13911112222",
        ),
    )
    not_consented = _answered(
        world, make_opinion(world, kind="suggestion", content="不同意公开的建议内容")
    )
    hidden = _answered(
        world, make_opinion(world, kind="suggestion", wall_consent=True, content="被隐藏的建议")
    )
    Opinion.objects.filter(pk=hidden.pk).update(wall_hidden=True)
    complaint = _answered(world, make_opinion(world, kind="complaint", content="一条投诉内容"))
    Opinion.objects.filter(pk=complaint.pk).update(wall_consent=True)
    make_opinion(world, kind="suggestion", wall_consent=True, content="尚未答复的建议")

    html = client.get(WALL).content.decode()

    assert "建议在学校门口设置护学岗" in html
    assert "已在该路段增设路灯" in html
    assert world.station_a2.name in html
    assert html.count('data-testid="wall-item"') == 1
    for absent in ("不同意公开的建议内容", "被隐藏的建议", "一条投诉内容", "尚未答复的建议"):
        assert absent not in html
    # Never a name or a mobile
    assert "赵六" not in html
    assert shown.mobile not in html and "13911112222" not in html
    assert not_consented.number not in html


def test_a_suggestion_taken_off_the_wall_is_no_longer_shown(client, world):
    from minyi.opinions.services.handling import opinion_wall_hide

    shown = _answered(
        world,
        make_opinion(world, kind="suggestion", wall_consent=True, content="村口加装路灯的建议"),
    )
    assert "村口加装路灯的建议" in client.get(WALL).content.decode()

    opinion_wall_hide(
        actor=world.user("city", Role.EVALUATOR), opinion=shown, reason="内容涉及他人隐私"
    )

    html = client.get(WALL).content.decode()
    assert "村口加装路灯的建议" not in html and 'data-testid="wall-item"' not in html


def test_wall_pages_by_twenty_newest_first(client, world, django_assert_max_num_queries):
    now = timezone.now()
    for i in range(21):
        opinion = make_opinion(
            world, kind="suggestion", wall_consent=True, content=f"第{i:02d}条建议内容"
        )
        opinion_answer(
            actor=world.user("a2", Role.UNIT_LEADER),
            opinion=opinion,
            text="感谢您的建议，我们已经采纳。",
            now=now + timedelta(minutes=i),
        )
    with django_assert_max_num_queries(4):
        first = client.get(WALL).content.decode()
    assert first.count('data-testid="wall-item"') == 20
    assert first.index("第20条") < first.index("第19条")
    assert "第00条" not in first
    second = client.get(WALL, {"page": 2}).content.decode()
    assert second.count('data-testid="wall-item"') == 1 and "第00条" in second


def test_a_code_is_not_sent_to_a_mobile_in_another_scripts_digits(client, world):
    # Issue 12: the portal "sent" a code to 1381234000١
    from minyi.integrations.sms.models import OutboundSms

    response = client.post(NEW, form_data(action="send_code", mobile="1381234000١"))
    assert response.status_code == 200
    assert "手机号码格式不正确" in response.content.decode()
    assert not OutboundSms.objects.exists()
