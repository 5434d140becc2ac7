"""The party's pages: lookup with a code, the timeline, complaining; and what a confidential
case, a wrong number and a wrong ID number look like (the same)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from minyi.cases.models import Case
from minyi.cases.services import case_progress_add
from minyi.cases.tests.factories import (
    PARTY_ID,
    PARTY_MOBILE,
    bad_checksum,
    make_case,
    otp_code,
    valid_id,
)
from minyi.opinions.models import Opinion
from minyi.verification.models import OtpChallenge

pytestmark = pytest.mark.django_db

LOOKUP = "/c/cases/"
PROGRESS = "/c/cases/progress/"
COMPLAIN = "/c/cases/complain/"


def _start(client, number, id_number=PARTY_ID):
    return client.post(LOOKUP, {"step": "start", "number": number, "id_number": id_number})


def _code(client, code, action="verify"):
    return client.post(LOOKUP, {"step": "code", "code": code, "action": action})


def _without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def _verified(client, world, **case_kwargs):
    case = make_case(world, **case_kwargs)
    assert _start(client, case.number).status_code == 302
    assert _code(client, otp_code()).url == PROGRESS
    return case


def test_party_looks_up_a_case_with_the_code(client, world):
    world.station_a2.duty_phone = "0575-85551234"
    world.station_a2.save()
    case = make_case(world)
    # Step 1: number + ID number → a code to the mobile on record
    response = _start(client, case.number.lower())
    assert response.status_code == 302 and response.url == LOOKUP
    page = client.get(LOOKUP).content.decode()
    assert "验证码已发送至 138****5678" in page
    assert PARTY_ID not in page and PARTY_MOBILE not in page
    # Before the code, the progress page is closed
    assert client.get(PROGRESS).url == LOOKUP
    # Step 2: the code → the timeline
    response = _code(client, otp_code())
    assert response.status_code == 302 and response.url == PROGRESS
    page = client.get(PROGRESS).content.decode()
    assert "受理" in page and "立案" in page and "已立案侦查" in page
    assert "甲二派出所" in page and "0575-85551234" in page and "盗窃" in page
    assert "我要投诉" in page
    assert PARTY_ID not in page and PARTY_MOBILE not in page


def test_wrong_number_wrong_id_and_confidential_answer_the_same(client, world):
    make_case(world, number="OPEN1")
    make_case(world, number="SECRET", confidential=True)
    make_case(world, number="PRIVAT", private=True)
    wrong_number = _start(client, "NOPE01")
    wrong_id = _start(client, "OPEN1", valid_id(9))
    confidential = _start(client, "SECRET")
    private = _start(client, "PRIVAT")
    bodies = {
        _without_csrf(r).replace(n, "NUMBER")
        for r, n in [
            (wrong_number, "NOPE01"),
            (wrong_id, "OPEN1"),
            (confidential, "SECRET"),
            (private, "PRIVAT"),
        ]
    }
    assert len(bodies) == 1
    assert {r.status_code for r in (wrong_number, wrong_id, confidential, private)} == {200}
    body = bodies.pop()
    assert "未找到该案件" in body and 'value="NUMBER"' in body
    # The typed ID number is not written back into the page
    assert PARTY_ID not in confidential.content.decode()
    assert not OtpChallenge.objects.exists()


def test_bad_checksum_is_a_clear_message_and_not_echoed(client, world):
    make_case(world)
    wrong = bad_checksum(PARTY_ID)
    response = _start(client, "A2026110001", wrong)
    text = response.content.decode()
    assert "身份证号码校验位不正确" in text and wrong not in text
    assert 'value="A2026110001"' in text


def test_empty_fields_are_named(client, world):
    text = _start(client, "", "").content.decode()
    assert "请输入案件编号" in text and "请输入当事人身份证号码" in text


def test_wrong_expired_and_replayed_codes(client, world, settings):
    case = make_case(world)
    _start(client, case.number)
    code = otp_code()
    wrong = "000000" if code != "000000" else "111111"
    assert "验证码不正确" in _code(client, wrong).content.decode()
    assert "6 位数字" in _code(client, "12").content.decode()
    assert _code(client, code).url == PROGRESS
    # Replayed: a second browser holding step 1 for the same party tries the used code
    other = client.__class__()
    _start(other, case.number)  # refused: a code was sent less than a minute ago
    session = other.session
    session["case_party"] = case.parties.get().pk
    session.save()
    OtpChallenge.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    text = _code(other, code).content.decode()
    assert "已使用过" in text
    # Expired: a new code, pushed past its lifetime
    assert "新的验证码已发送" in _code(other, "", action="send_code").content.decode()
    new_code = otp_code()
    OtpChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "验证码已过期" in _code(other, new_code).content.decode()
    assert other.get(PROGRESS).url == LOOKUP


def test_case_turned_confidential_looks_like_not_found(client, world):
    case = _verified(client, world)
    Case.objects.filter(pk=case.pk).update(private=True)
    response = client.get(PROGRESS)
    text = response.content.decode()
    assert response.status_code == 200 and "未找到该案件" in text and case.number not in text


def test_restart_forgets_the_party(client, world):
    _verified(client, world)
    client.get(LOOKUP + "?restart=1")
    assert client.get(PROGRESS).url == LOOKUP


def test_not_filed_shows_its_reason(client, world):
    case = _verified(client, world)
    case_progress_add(
        scope=None,
        unrestricted=True,
        number=case.number,
        step={
            "stage": "not_filed",
            "occurred_at": timezone.now().isoformat(),
            "note": "经审查没有犯罪事实",
            "external_id": "nf",
        },
    )
    text = client.get(PROGRESS).content.decode()
    assert "不予立案" in text and "理由：经审查没有犯罪事实" in text


def test_public_officer_is_named_a_private_one_is_not(client, world):
    officer = world.officers["a2"]
    case = _verified(client, world, officer_police_number=officer.police_number)
    assert officer.name in client.get(PROGRESS).content.decode()
    officer.is_public = False
    officer.save()
    assert case.officer_id and officer.name not in client.get(PROGRESS).content.decode()


def test_complaint_becomes_an_opinion_linked_to_the_case(client, world):
    case = _verified(client, world)
    page = client.get(COMPLAIN).content.decode()
    assert "投诉内容" in page
    # Too short: the message, with the text kept
    short = client.post(COMPLAIN, {"content": "慢"}).content.decode()
    assert "内容至少 5 个字" in short and "慢" in short
    response = client.post(COMPLAIN, {"content": "立案后两个月没有任何消息"})
    assert response.status_code == 302
    opinion = Opinion.objects.get()
    assert opinion.kind == "complaint" and opinion.case == case
    assert opinion.unit == world.district_a  # above the unit complained about
    assert opinion.contact_name == "王小明" and not opinion.anonymous
    assert opinion.mobile == PARTY_MOBILE and not opinion.wall_consent
    done = client.get(response.url).content.decode()
    assert opinion.number in done and reverse("portal:opinion_track") in done


def test_a_case_complaint_cannot_be_anonymous(client, world):
    # Given a party on the complaint form
    _verified(client, world)
    page = client.get(COMPLAIN).content.decode()
    # Then there is no anonymous option, and the page says who will know the name
    assert 'name="anonymous"' not in page and "匿名投诉" not in page
    assert "上级机关" in page and "不能匿名" in page and "姓名" in page
    # When the party still sends "anonymous" (an old form, a crafted request)
    client.post(COMPLAIN, {"content": "民警态度不好，不解释", "anonymous": "on"})
    # Then the complaint is stored in the party's name
    opinion = Opinion.objects.get()
    assert not opinion.anonymous and opinion.contact_name == "王小明"


def test_complain_needs_the_verified_session(client, world):
    make_case(world)
    assert client.get(COMPLAIN).url == LOOKUP
    assert client.post(COMPLAIN, {"content": "立案后两个月没有任何消息"}).url == LOOKUP
    assert not Opinion.objects.exists()


def test_thirty_first_lookup_from_one_address_is_refused(client, world, settings):
    settings.CASE_LOOKUPS_PER_IP_HOUR = 30
    for _ in range(30):
        assert "未找到该案件" in _start(client, "NOPE").content.decode()
    text = _start(client, "NOPE").content.decode()
    assert "操作过于频繁" in text and "未找到该案件" not in text


def test_a_refreshed_progress_page_checks_access_each_time_and_shows_new_steps(
    client, world, settings
):
    # Given a party who opened the timeline once
    settings.PUBLIC_PAGE_CACHE_SECONDS = 60
    case = _verified(client, world)
    first = client.get(PROGRESS)
    # When they refresh it, one small query runs (the case's version, against their proof)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(PROGRESS)
    assert again.content == first.content and len(queries) == 1
    assert again["Cache-Control"] == "private, no-store"
    # And a new step shows at once
    case_progress_add(
        scope=None,
        unrestricted=True,
        number=case.number,
        step={"stage": "solved", "occurred_at": timezone.now().isoformat(), "external_id": "s"},
    )
    assert "破案" in client.get(PROGRESS).content.decode()
    # And a case made confidential is gone at once, like a wrong number
    Case.objects.filter(pk=case.pk).update(confidential=True)
    assert case.number not in client.get(PROGRESS).content.decode()
