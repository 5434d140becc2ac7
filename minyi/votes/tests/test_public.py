"""The citizen's vote pages (票选, issue 15 items 1, 2, 4 and "Bad input"): the campaign page a
WeChat share opens, the ballot with a one-time code, the receipt, the results and the
published receipts."""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.verification.models import OtpChallenge
from minyi.votes.ballots import ballot_cast
from minyi.votes.chain import head_publish
from minyi.votes.keys import device_key, network_key
from minyi.votes.models import (
    Ballot,
    CampaignKind,
    CampaignStatus,
    ChainEntry,
    Option,
    OptionPhoto,
    Rejection,
)
from minyi.votes.public_views import DEVICE_COOKIE
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db

MOBILE = "13800002222"
IP = "203.0.113.9"


def campaign_url(campaign, name="campaign"):
    return reverse(f"votes_public:{name}", args=[campaign.code])


def latest_code(mobile=MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"(?<!\d)(\d{6})(?!\d)", sms.body).group(1)


def other_code(code: str) -> str:
    """A six-digit code that is not `code`."""
    return f"{(int(code) + 1) % 10**6:06d}"


def ballot_data(choices=(1,), *, mobile=MOBILE, code="", action="submit", **extra):
    return {"choices": [str(c) for c in choices], "mobile": mobile, "code": code, "action": action}


def ask_code(client, campaign, mobile=MOBILE) -> str:
    response = client.post(
        campaign_url(campaign, "ballot"),
        ballot_data(mobile=mobile, action="send_code"),
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 200
    return latest_code(mobile)


def vote(client, campaign, choices, *, mobile=MOBILE, code="", **extra):
    data = ballot_data(choices, mobile=mobile, code=code)
    data.update(extra)
    return client.post(campaign_url(campaign, "ballot"), data, REMOTE_ADDR=IP)


def errors_of(response) -> str:
    return " ".join(re.findall(r'class="c-error"[^>]*>([^<]+)<', response.content.decode()))


# --- The page a share opens ----------------------------------------------------------------


def test_campaign_page_has_share_meta_options_and_a_ballot_form(client, world):
    campaign = make_campaign(
        world, title="2027年惠民实事票选", description="十选三，请投出您的一票"
    )
    response = client.get(campaign_url(campaign))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<meta property="og:title" content="2027年惠民实事票选">' in html
    assert '<meta property="og:description" content="十选三，请投出您的一票">' in html
    assert "og:image" not in html  # no option photo yet
    assert html.count('type="checkbox" name="choices"') == 5
    assert "最多选 3 项" in html
    assert 'value="send_code"' in html
    assert f'action="{campaign_url(campaign, "ballot")}"' in html
    assert 'name="id_number"' not in html
    assert "hx-get" in html  # live turnout


def test_single_choice_campaign_renders_radio_buttons(client, world):
    campaign = make_campaign(world, kind=CampaignKind.SINGLE, options=11)
    html = client.get(campaign_url(campaign)).content.decode()
    assert html.count('type="radio" name="choices"') == 11
    assert 'type="checkbox"' not in html


def test_option_photo_is_the_share_image_and_served_publicly(client, world):
    campaign = make_campaign(world)
    option = campaign.options.get(number=2)
    photo = OptionPhoto(option=option, content_type="image/png")
    photo.file.save("p.png", ContentFile(b"\x89PNG fake"), save=True)
    photo_url = reverse("votes_public:option_photo", args=[campaign.code, photo.pk])

    html = client.get(campaign_url(campaign)).content.decode()
    assert f'<meta property="og:image" content="http://testserver{photo_url}">' in html
    response = client.get(photo_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG fake"
    assert response["X-Content-Type-Options"] == "nosniff"
    # Another campaign's code does not reach this photo.
    other = make_campaign(world)
    assert (
        client.get(reverse("votes_public:option_photo", args=[other.code, photo.pk])).status_code
        == 404
    )


def test_a_draft_campaign_is_not_public(client, world):
    campaign = make_campaign(world, status=CampaignStatus.DRAFT)
    option = campaign.options.get(number=1)
    photo = OptionPhoto(option=option, content_type="image/png")
    photo.file.save("p.png", ContentFile(b"x"), save=True)
    for url in (
        campaign_url(campaign),
        campaign_url(campaign, "results"),
        campaign_url(campaign, "receipts"),
        reverse("votes_public:option_photo", args=[campaign.code, photo.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert vote(client, campaign, [1], code="123456").status_code == 404


def test_the_index_lists_open_coming_and_finished_campaigns_but_no_draft(client, world):
    now = timezone.now()
    open_now = make_campaign(world, title="正在投票的活动")
    coming = make_campaign(
        world,
        title="下周开始的活动",
        opens_at=now + timedelta(days=7),
        closes_at=now + timedelta(days=9),
    )
    done = make_campaign(world, title="已公布的活动", status=CampaignStatus.PUBLISHED)
    draft = make_campaign(world, title="草稿活动", status=CampaignStatus.DRAFT)

    page = client.get(reverse("votes_public:index")).content.decode()

    assert campaign_url(open_now) in page and campaign_url(coming) in page
    assert campaign_url(done, "results") in page
    assert draft.title not in page
    assert reverse("votes_public:index") in client.get(reverse("portal:home")).content.decode()


def test_device_cookie_is_set_once_httponly_lax_for_a_year(client, world):
    campaign = make_campaign(world)
    response = client.get(campaign_url(campaign))
    cookie = response.cookies[DEVICE_COOKIE]
    assert len(cookie.value) >= 20
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    again = client.get(campaign_url(campaign))
    assert DEVICE_COOKIE not in again.cookies  # kept, not replaced


def test_before_opening_the_page_says_so_and_shows_no_form(client, world):
    now = timezone.now()
    campaign = make_campaign(
        world, opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=9)
    )
    html = client.get(campaign_url(campaign)).content.decode()
    assert "投票尚未开始" in html
    assert timezone.localtime(campaign.opens_at).strftime("%Y-%m-%d %H:%M") in html
    assert 'data-testid="ballot-form"' not in html
    # A stale form gets no code and no ballot.
    response = client.post(
        campaign_url(campaign, "ballot"), ballot_data(action="send_code"), REMOTE_ADDR=IP
    )
    assert "投票尚未开始" in errors_of(response)
    assert not OutboundSms.objects.exists()
    response = vote(client, campaign, [1], code="123456")
    assert "投票尚未开始" in errors_of(response)
    assert not Ballot.objects.exists()


@pytest.mark.parametrize("how", ["status_closed", "past_closing_time"])
def test_after_closing_the_page_says_so_and_takes_no_ballot(client, world, how):
    now = timezone.now()
    if how == "status_closed":
        campaign = make_campaign(world, status=CampaignStatus.CLOSED)
    else:
        campaign = make_campaign(
            world, opens_at=now - timedelta(days=3), closes_at=now - timedelta(minutes=1)
        )
    html = client.get(campaign_url(campaign)).content.decode()
    assert "投票已于" in html and "截止" in html
    assert timezone.localtime(campaign.closes_at).strftime("%Y-%m-%d %H:%M") in html
    assert 'data-testid="ballot-form"' not in html
    response = vote(client, campaign, [1], code="123456")
    assert "投票已截止" in errors_of(response)
    assert not Ballot.objects.exists()


# --- The ballot ----------------------------------------------------------------------------


def test_a_ballot_with_a_code_is_counted_and_the_receipt_shown(client, world):
    campaign = make_campaign(world)
    client.get(campaign_url(campaign))
    device = client.cookies[DEVICE_COOKIE].value
    code = ask_code(client, campaign)
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1

    response = vote(client, campaign, [2, 5], code=code)

    assert response.status_code == 302
    assert response.url == campaign_url(campaign, "receipt")
    ballot = Ballot.objects.get()
    assert ballot.chosen_numbers() == [2, 5]
    assert ballot.device_key == device_key(device)
    assert ballot.network_key == network_key(IP)
    assert ballot.mobile == MOBILE
    receipt = client.get(response.url)
    html = receipt.content.decode()
    assert ballot.receipt in html
    assert "138****2222" in html and MOBILE not in html
    assert "候选项目2" in html and "候选项目5" in html and "候选项目1<" not in html
    assert "核对回执码" in html
    assert receipt["Cache-Control"] == "private, no-store"
    # Another browser has no receipt to show.
    assert Client().get(response.url).status_code == 302


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([1, 2, 3, 4], "最多可选 3 项，您选了 4 项"),
        ([2, 2], "同一候选项只能选择一次"),
        ([7], "所选的候选项不存在"),
        ([], "请至少选择一项"),
        (["x"], "所选项目不属于本次投票"),
    ],
)
def test_bad_choices_are_refused_with_ticks_kept_and_the_code_not_spent(
    client, world, choices, message
):
    campaign = make_campaign(world)
    code = ask_code(client, campaign)

    response = vote(client, campaign, choices, code=code)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in errors_of(response)
    # The message sits in the choices' fieldset, above the options.
    fieldset = html[html.index('<fieldset class="c-fieldset">') : html.index("</fieldset>")]
    assert message in fieldset
    for number in {c for c in choices if isinstance(c, int) and c <= 5}:
        assert f'value="{number}" id="choice-{number}" checked' in html
    assert f'value="{MOBILE}"' in html
    assert not Ballot.objects.exists()
    # The code was not spent on a refused ballot: it still works.
    assert vote(client, campaign, [1], code=code).status_code == 302
    assert Ballot.objects.count() == 1


def test_a_forged_code_is_refused_next_to_the_code_field(client, world):
    campaign = make_campaign(world)
    # No code asked for at all.
    response = vote(client, campaign, [1], code="123456")
    assert "请先获取验证码" in errors_of(response)
    # A code asked for, and another typed.
    code = ask_code(client, campaign)
    response = vote(client, campaign, [1, 3], code=other_code(code))
    html = response.content.decode()
    assert "验证码不正确，还可以再试 4 次" in errors_of(response)
    code_field = html[html.index('name="code"') : html.index('value="send_code"') + 400]
    assert "验证码不正确" in code_field
    assert 'value="1" id="choice-1" checked' in html and 'value="3" id="choice-3" checked' in html
    assert not Ballot.objects.exists()


def test_a_reused_code_and_a_second_ballot_are_refused_and_counted_once(client, world):
    campaign = make_campaign(world)
    code = ask_code(client, campaign)
    assert vote(client, campaign, [1], code=code).status_code == 302

    # The same code from another browser (no proof in its session): used.
    response = vote(Client(), campaign, [2], code=code)
    assert "该验证码已使用过" in errors_of(response)
    # The same browser: its proof was spent on the ballot, so a second try needs a new code.
    response = vote(client, campaign, [2], code="")
    assert "验证码" in errors_of(response)
    assert not Rejection.objects.exists()
    # With a new code (a minute later): the mobile has voted; the refusal spends the proof too.
    OtpChallenge.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    response = vote(client, campaign, [2], code=ask_code(client, campaign))
    html = response.content.decode()
    assert "该手机号已经投过票" in errors_of(response)
    mobile_field = html[html.index('name="mobile"') - 300 : html.index('name="code"')]
    assert "该手机号已经投过票" in mobile_field
    for _again in range(5):
        vote(client, campaign, [2], code="")

    assert Ballot.objects.count() == 1
    assert Ballot.objects.get().chosen_numbers() == [1]
    # Back on the campaign page, this browser is pointed to its receipt, not to a new ballot.
    page = client.get(campaign_url(campaign)).content.decode()
    assert 'data-testid="voted"' in page and 'data-testid="ballot-form"' not in page
    assert campaign_url(campaign, "receipt") in page
    # The refused duplicate is on the record, in the chain.
    assert Rejection.objects.filter(campaign=campaign).count() == 1
    assert ChainEntry.objects.filter(campaign=campaign).count() == 2


def test_a_code_proven_for_one_campaign_does_not_vote_in_another(client, world):
    a, b = make_campaign(world), make_campaign(world)
    code = ask_code(client, a)
    # Not used in A yet: the code itself is for A only.
    response = vote(Client(), b, [1], code=code)
    assert "请先获取验证码" in errors_of(response)
    # Proven and used in A: the session's proof is A's, not B's.
    assert vote(client, a, [1], code=code).status_code == 302
    response = vote(client, b, [1], code="")
    assert "请输入短信中的 6 位数字验证码" in errors_of(response)
    assert list(Ballot.objects.values_list("campaign", flat=True)) == [a.pk]


def test_an_option_of_another_campaign_is_unknown_here(client, world):
    a = make_campaign(world, options=3)
    b = make_campaign(world, options=8)
    Option.objects.filter(campaign=b, number=8).update(title="只属于B的选项")
    code = ask_code(client, a)
    response = vote(client, a, [8], code=code)
    assert "所选的候选项不存在" in errors_of(response)
    assert not Ballot.objects.exists()


def test_id_number_required_when_the_campaign_asks(client, world):
    campaign = make_campaign(world, require_id_number=True)
    html = client.get(campaign_url(campaign)).content.decode()
    assert 'name="id_number"' in html
    code = ask_code(client, campaign)
    response = vote(client, campaign, [1], code=code)
    assert "本次投票需要填写身份证号" in errors_of(response)
    assert not Ballot.objects.exists()
    # The mobile is proven by now (kept in the session): the ID number is all that is missing.
    response = vote(client, campaign, [1], code="", id_number="11010519491231002X")
    assert response.status_code == 302
    assert Ballot.objects.get().id_key


def test_the_ballot_url_takes_post_only(client, world):
    campaign = make_campaign(world)
    for method in ("get", "put", "patch", "delete"):
        response = getattr(client, method)(campaign_url(campaign, "ballot"))
        assert response.status_code == 405, method


# --- Turnout and results -------------------------------------------------------------------


def _cast(campaign, mobile, choices, **extra):
    return ballot_cast(campaign, mobile=mobile, choices=choices, ip=IP, **extra)


def test_turnout_is_live_but_cached_and_shares_hidden_while_open(client, world):
    campaign = make_campaign(world)
    _cast(campaign, "13900000001", [1])
    url = campaign_url(campaign, "turnout")

    response = client.get(url)
    assert "已有 1 人参与投票" in response.content.decode()
    assert 'data-testid="shares"' not in response.content.decode()
    # A burst of openings reads the cached count.
    _cast(campaign, "13900000002", [2])
    assert "已有 1 人参与投票" in client.get(url).content.decode()
    assert "已有 1 人参与投票" in client.get(campaign_url(campaign)).content.decode()


def test_shares_shown_while_open_when_the_organiser_chose_so(client, world):
    campaign = make_campaign(world, show_shares=True)
    _cast(campaign, "13900000001", [1, 2])
    _cast(campaign, "13900000002", [1])
    html = client.get(campaign_url(campaign, "turnout")).content.decode()
    assert "1. 候选项目1：2 票（100%）" in html
    assert "2. 候选项目2：1 票（50%）" in html


def test_results_turnout_only_while_open_then_final_shares(client, world):
    campaign = make_campaign(world)
    _cast(campaign, "13900000001", [1, 2])
    _cast(campaign, "13900000002", [1])
    html = client.get(campaign_url(campaign, "results")).content.decode()
    assert "参与投票 2 人" in html
    assert 'data-testid="results-shares"' not in html

    # Closed, paper still being keyed and flags reviewed: still turnout only (as the API).
    campaign.status = CampaignStatus.CLOSED
    campaign.save(update_fields=["status"])
    html = client.get(campaign_url(campaign, "results")).content.decode()
    assert 'data-testid="results-shares"' not in html
    assert 'data-testid="shares"' not in client.get(campaign_url(campaign)).content.decode()
    _publish(campaign)
    html = client.get(campaign_url(campaign, "results")).content.decode()
    assert 'data-testid="results-shares"' in html
    assert "<td>1. 候选项目1</td><td>2</td><td>0</td><td>2</td><td>100%</td>" in html


# --- Published receipts --------------------------------------------------------------------


def _publish(campaign):
    campaign.status = CampaignStatus.PUBLISHED
    campaign.published_at = timezone.now()
    campaign.save(update_fields=["status", "published_at"])


def test_receipts_are_published_only_after_publication(client, world):
    campaign = make_campaign(world)
    ballot = _cast(campaign, "13900000001", [1, 4])
    html = client.get(campaign_url(campaign, "receipts")).content.decode()
    assert "结果公布后" in html
    assert ballot.receipt not in html
    assert client.get(campaign_url(campaign, "receipts_csv")).status_code == 404
    html = client.get(
        campaign_url(campaign, "receipts"), {"receipt": ballot.receipt}
    ).content.decode()
    assert "已计入" not in html

    campaign.status = CampaignStatus.CLOSED
    campaign.save(update_fields=["status"])
    assert ballot.receipt not in client.get(campaign_url(campaign, "receipts")).content.decode()


def test_chain_heads_are_public_from_the_first_day_of_voting(client, world):
    campaign = make_campaign(world)
    _cast(campaign, "13900000001", [1])
    head = head_publish(campaign)
    html = client.get(campaign_url(campaign, "receipts")).content.decode()
    assert head.hash in html and 'data-testid="receipt-list"' not in html
    assert head.hash in client.get(campaign_url(campaign)).content.decode()


def test_published_receipts_list_lookup_and_csv(client, world):
    campaign = make_campaign(world)
    ballots = [_cast(campaign, f"1390000000{i}", [i % 5 + 1]) for i in range(3)]
    _publish(campaign)
    entry = ChainEntry.objects.get(campaign=campaign, seq=ballots[0].seq)

    html = client.get(campaign_url(campaign, "receipts")).content.decode()
    for ballot in ballots:
        assert ballot.receipt in html
    assert entry.payload_hash in html
    assert "候选项目" not in html  # no choices in the list

    # Looked up as typed from a screenshot: lower case, no dashes.
    typed = ballots[0].receipt.replace("-", "").lower()
    html = client.get(campaign_url(campaign, "receipts"), {"receipt": typed}).content.decode()
    assert "已计入" in html
    assert f"存证链第 {ballots[0].seq} 条" in html
    assert entry.payload_hash in html
    assert "候选项目" not in html  # counted, not how: a receipt proves no vote to a buyer
    html = client.get(
        campaign_url(campaign, "receipts"), {"receipt": "ZZZZ-ZZZZ-ZZ"}
    ).content.decode()
    assert "没有找到该回执码" in html
    html = client.get(campaign_url(campaign, "receipts"), {"receipt": "abc"}).content.decode()
    assert "回执码格式不正确" in html

    response = client.get(campaign_url(campaign, "receipts_csv"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "receipt,seq,channel,payload_sha256"
    assert len(lines) == 4
    assert f"{ballots[0].receipt},{ballots[0].seq},网上投票,{entry.payload_hash}" in lines


def test_published_receipts_are_paged(client, world, monkeypatch):
    monkeypatch.setattr("minyi.votes.public_views.RECEIPTS_PAGE_SIZE", 2)
    campaign = make_campaign(world)
    ballots = [_cast(campaign, f"1390000000{i}", [1]) for i in range(3)]
    _publish(campaign)
    first = client.get(campaign_url(campaign, "receipts")).content.decode()
    second = client.get(campaign_url(campaign, "receipts"), {"page": 2}).content.decode()
    assert ballots[0].receipt in first and ballots[2].receipt not in first
    assert ballots[2].receipt in second and ballots[0].receipt not in second
    assert "第 1 / 2 页" in first
