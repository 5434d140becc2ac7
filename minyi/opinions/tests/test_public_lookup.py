"""留言查询 by tracking number: the citizen types the number from the SMS and the mobile, gets
the code, and sees that one opinion, if (and only if) that mobile submitted it. Someone else's
opinion, anonymous or named, and a number that does not exist get the same answer."""

import re

import pytest
from django.test import Client
from django.urls import reverse, reverse_lazy

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.opinions.tests.factories import make_opinion

pytestmark = pytest.mark.django_db

TRACK = reverse_lazy("portal:opinion_track")
MOBILE = "13812345678"
OTHER = "13987654321"


def _look_up(client, number, mobile=MOBILE):
    """Ask for a code with the number and mobile typed, then enter it; the response."""
    client.post(TRACK, {"number": number, "mobile": mobile, "action": "send_code"})
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    code = re.search(r"\d{6}", sms.body).group(0)
    return client.post(
        TRACK, {"number": number, "mobile": mobile, "code": code, "action": "lookup"}
    )


def test_the_form_asks_for_the_tracking_number(client, db):
    html = client.get(TRACK).content.decode()
    assert 'name="number"' in html and "留言编号" in html


def test_number_and_code_open_that_one_opinion(client, world):
    mine = make_opinion(world, mobile=MOBILE, content="小区门口的路灯坏了一个月")
    make_opinion(world, mobile=MOBILE, content="另一条留言的内容")
    response = _look_up(client, mine.number)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:opinion_status", args=[mine.number])
    html = client.get(response["Location"]).content.decode()
    assert "小区门口的路灯坏了一个月" in html


def test_a_number_typed_in_lower_case_with_spaces_is_found(client, world):
    mine = make_opinion(world, mobile=MOBILE)
    typed = f" {mine.number[:4].lower()} {mine.number[4:]} "
    response = _look_up(client, typed)
    assert response["Location"] == reverse("portal:opinion_status", args=[mine.number])


@pytest.mark.parametrize("whose", ["named", "anonymous", "missing"])
def test_someone_elses_number_looks_like_a_missing_one(world, whose):
    # Given an opinion by another mobile (named or anonymous), or no opinion at all
    if whose == "missing":
        number = "MY261203000001"
    else:
        theirs = make_opinion(
            world, mobile=OTHER, anonymous=whose == "anonymous", content="别人的秘密留言内容"
        )
        number = theirs.number
    mine = make_opinion(world, mobile=MOBILE)
    client = Client()
    # When this citizen proves their own mobile with that number
    response = _look_up(client, number)
    # Then they land on their own list, told the number was not found, in the same words
    assert response["Location"] == f"{TRACK}?number={number}"
    html = client.get(response["Location"]).content.decode()
    assert "别人的秘密留言内容" not in html and "138****5678" in html
    notice = re.search(r'data-testid="number-missing">([^<]*)<', html).group(1)
    assert notice == (
        f"未找到编号为 {number} 的留言：编号有误，或该留言不是用手机号 138****5678 提交的。"
    )
    assert mine.number in html
    # And the status page of that number still shows nothing
    status = client.get(reverse("portal:opinion_status", args=[number]))
    assert status.status_code == 302


def test_without_a_number_the_list_is_shown_as_before(client, world):
    mine = make_opinion(world, mobile=MOBILE)
    response = _look_up(client, "")
    assert response["Location"] == str(TRACK)
    html = client.get(TRACK).content.decode()
    assert mine.number in html and "number-missing" not in html
