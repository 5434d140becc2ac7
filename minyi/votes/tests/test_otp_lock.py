"""The sixth wrong code locks the mobile under every HTTP method and with any writing of the
number: wrong codes typed on the ballot page and sent to the API count together, whether the
number is written 13800001111, "+86 138 0000 1111", "138-0000-1111", "86 13800001111" or in
full-width digits; a request by another method never checks a code, so it neither votes nor
resets the count."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from minyi.core.pii import lookup_hash
from minyi.verification.models import OtpChallenge, OtpLock
from minyi.votes.models import Ballot
from minyi.votes.tests.factories import make_campaign
from minyi.votes.tests.test_public import latest_code, other_code

pytestmark = pytest.mark.django_db

MOBILE = "13800001111"
WRITINGS = [
    "13800001111",
    "+86 138 0000 1111",
    "138-0000-1111",
    "86 13800001111",
    "１３８００００１１１１",
]
IP = "198.51.100.7"


class Voter:
    """One citizen trying both doors: the ballot page (a browser) and the API."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.browser = Client()
        self.api = Client()
        self.page_url = reverse("votes_public:ballot", args=[campaign.code])
        self.api_url = f"/api/v1/votes/{campaign.code}/ballots"

    def page(self, mobile, code):
        response = self.browser.post(
            self.page_url,
            {"choices": ["1"], "mobile": mobile, "code": code, "action": "submit"},
            REMOTE_ADDR=IP,
        )
        assert response.status_code in (200, 429)
        return response

    def via_api(self, mobile, code):
        return self.api.post(
            self.api_url,
            {"mobile": mobile, "code": code, "choices": [1]},
            content_type="application/json",
            REMOTE_ADDR=IP,
        )

    def attempt(self, door, mobile, code) -> str:
        """The refusal's code ("" if the ballot was accepted) and the HTTP status."""
        if door == "api":
            response = self.via_api(mobile, code)
            if response.status_code == 201:
                return "", 201
            return response.json()["code"], response.status_code
        response = self.page(mobile, code)
        html = response.content.decode()
        if "验证码错误次数过多" in html:
            return "otp_locked", response.status_code
        if "验证码不正确" in html:
            return "otp_wrong", response.status_code
        return "", response.status_code


def _code_sent(campaign) -> str:
    response = Client().post(
        f"/api/v1/votes/{campaign.code}/otp",
        {"mobile": MOBILE},
        content_type="application/json",
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 202
    return latest_code(MOBILE)


def _failures() -> int:
    return OtpLock.objects.get(mobile_hash=lookup_hash("mobile", MOBILE)).failures


def _other_methods_with_the_right_code(voter, right):
    """GET/PUT/PATCH/DELETE on both ballot endpoints, carrying the right code: all 405."""
    fields = {"mobile": MOBILE, "code": right, "choices": [1], "action": "submit"}
    for url in (voter.page_url, voter.api_url):
        for client in (voter.browser, voter.api):
            assert client.get(url, fields).status_code == 405
            for method in ("put", "patch", "delete"):
                response = getattr(client, method)(
                    url, json.dumps(fields), content_type="application/json"
                )
                assert response.status_code == 405, (url, method)


@pytest.mark.parametrize("door", ["page", "api"])
@pytest.mark.parametrize("writing", WRITINGS)
def test_the_sixth_attempt_is_locked_even_with_the_right_code(world, door, writing):
    campaign = make_campaign(world)
    right = _code_sent(campaign)
    wrong = other_code(right)
    voter = Voter(campaign)

    # Five wrong codes, spread over both doors and every writing of the number.
    plan = [
        ("page", WRITINGS[0]),
        ("api", WRITINGS[1]),
        ("page", WRITINGS[2]),
        ("api", WRITINGS[3]),
    ]
    for n, (through, mobile) in enumerate(plan, start=1):
        assert voter.attempt(through, mobile, wrong)[0] == "otp_wrong"
        assert _failures() == n
        _other_methods_with_the_right_code(voter, right)
        assert _failures() == n  # other methods neither check nor reset
    assert voter.attempt("page", WRITINGS[4], wrong) == ("otp_locked", 429)

    # The sixth, with the right code, through either door and any writing: locked.
    assert voter.attempt(door, writing, right) == ("otp_locked", 429)
    assert not Ballot.objects.exists()
    assert OtpChallenge.objects.get().used_at is None


def test_other_methods_never_vote_and_do_not_reset_the_count(world):
    campaign = make_campaign(world)
    right = _code_sent(campaign)
    voter = Voter(campaign)
    for mobile in WRITINGS[:4]:
        assert voter.attempt("api", mobile, other_code(right))[0] == "otp_wrong"

    _other_methods_with_the_right_code(voter, right)
    # The campaign page takes a code in its query string as nothing at all.
    page = reverse("votes_public:campaign", args=[campaign.code])
    assert voter.browser.get(page, {"mobile": MOBILE, "code": right}).status_code == 200

    assert _failures() == 4
    assert OtpChallenge.objects.get().used_at is None
    assert not Ballot.objects.exists()
    # The fifth wrong code locks: the count was never reset by the requests in between.
    assert voter.attempt("page", WRITINGS[4], other_code(right)) == ("otp_locked", 429)
    assert voter.attempt("api", MOBILE, right) == ("otp_locked", 429)
