"""The proof cookie the case lookup leaves after the right code: what it holds, and that a
forged, altered, expired or stale one opens nothing and tells nothing about which cases exist."""

import re
import time
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from minyi.cases.models import Case, CaseParty
from minyi.cases.public_views import PROOF_COOKIE, proof_cookie_value
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, make_case, otp_code
from minyi.core.pii import mobile_hash

pytestmark = pytest.mark.django_db

LOOKUP = "/c/cases/"
PROGRESS = "/c/cases/progress/"
COMPLAIN = "/c/cases/complain/"


def _verify(client, case):
    client.post(LOOKUP, {"step": "start", "number": case.number, "id_number": PARTY_ID})
    return client.post(LOOKUP, {"step": "code", "code": otp_code(), "action": "verify"})


def _page(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def _answer(client, cookie: str | None, path=PROGRESS):
    """The answer to a fresh browser holding only this proof cookie, and the statements run."""
    client.cookies.clear()
    if cookie is not None:
        client.cookies[PROOF_COOKIE] = cookie
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return (response.status_code, response.get("Location"), _page(response)), len(queries)


def _signed_at(party, seconds_ago: float) -> str:
    with mock.patch("django.core.signing.time.time", return_value=time.time() - seconds_ago):
        return proof_cookie_value(party)


def test_the_code_leaves_a_signed_cookie_without_the_mobile_and_no_session(client, world):
    # Given a party who gives the right code
    case = make_case(world)
    party = case.parties.get()
    response = _verify(client, case)
    # Then the browser gets the proof: HttpOnly, SameSite=Lax, only for the case pages, gone
    # with the browser
    cookie = response.cookies[PROOF_COOKIE]
    assert response.url == PROGRESS
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == LOOKUP
    assert not cookie["max-age"] and not cookie["expires"]
    # And it holds the party's id, but neither the mobile nor its lookup hash
    assert cookie.value.startswith(f"{party.pk}.")
    assert PARTY_MOBILE not in cookie.value and party.mobile_hash not in cookie.value
    # And the session of step 1 is deleted, so the timeline reads no session
    assert not response.cookies["sessionid"].value
    status, _queries = _answer(client, cookie.value)
    assert status[0] == 200 and case.number in status[2]


def test_secure_cookies_mark_the_proof_secure(client, world, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = _verify(client, make_case(world))
    assert response.cookies[PROOF_COOKIE]["secure"]


def test_forged_altered_and_expired_proofs_open_nothing_and_read_nothing(client, world, settings):
    # Given a public case, a confidential one, and a party id that does not exist
    public = make_case(world).parties.get()
    secret = make_case(world, number="S2026110009", confidential=True).parties.get()
    genuine = proof_cookie_value(public)
    mark = genuine.split(":")[0].split(".")[1]
    forged = [
        f"{public.pk}.{mark}:bad:signature",
        f"{secret.pk}.{mark}:bad:signature",
        "999999.0000:bad:signature",
        genuine.replace(f"{public.pk}.", f"{secret.pk}.", 1),  # altered: another party
        genuine[:-1] + ("A" if genuine[-1] != "A" else "B"),  # altered signature
        _signed_at(public, settings.OTP_SESSION_MINUTES * 60 + 5),  # expired
        "",
    ]
    # When a fresh browser shows each of them
    answers = [_answer(client, cookie) for cookie in forged]
    # Then each gets what a browser without any proof gets, and not one statement ran
    assert set(answers) == {_answer(client, None)}
    assert answers[0][0][:2] == (302, LOOKUP) and {n for _a, n in answers} == {0}
    # And the complaint page answers them the same way
    complaints = {_answer(client, cookie, COMPLAIN)[0] for cookie in forged}
    assert complaints == {_answer(client, None, COMPLAIN)[0]}
    # While the genuine one, just inside its window, still opens the case
    inside = _signed_at(public, settings.OTP_SESSION_MINUTES * 60 - 30)
    assert _answer(client, inside)[0][0] == 200


def test_a_proof_that_stopped_opening_its_case_looks_like_a_missing_case(client, world):
    # Given four genuine proofs: a case made confidential, one made private, a party whose
    # mobile on record changed, and a party that does not exist (any more)
    cases = [make_case(world, number=f"A202611000{n}") for n in range(1, 4)]
    parties = [case.parties.get() for case in cases]
    proofs = [proof_cookie_value(party) for party in parties]
    gone = SimpleNamespace(pk=999999, mobile_hash=parties[0].mobile_hash)
    proofs.append(proof_cookie_value(gone))
    Case.objects.filter(pk=cases[0].pk).update(confidential=True)
    Case.objects.filter(pk=cases[1].pk).update(private=True)
    CaseParty.objects.filter(pk=parties[2].pk).update(mobile_hash=mobile_hash("13900000000"))
    # When each is shown, then all four get the same page: the lookup's "not found", after
    # the same single statement, and the browser is told to drop the proof
    answers = []
    for proof in proofs:
        answers.append(_answer(client, proof))
        assert client.cookies[PROOF_COOKIE].value == ""
    assert len(set(answers)) == 1
    (status, _location, page), statements = answers[0]
    assert status == 200 and "未找到该案件" in page and statements == 1
    assert not any(case.number in page for case in cases)
    # And the complaint page is as closed
    complaint = _answer(client, proofs[0], COMPLAIN)[0]
    assert complaint[0] == 200 and "未找到该案件" in complaint[2]


def test_looking_up_another_case_drops_the_proof(client, world):
    # Given a party with a proof
    case = make_case(world)
    proof = _verify(client, case).cookies[PROOF_COOKIE].value
    assert client.get(PROGRESS).status_code == 200
    # When they choose "查询其他案件"
    response = client.get(LOOKUP + "?restart=1")
    # Then the browser is told to drop it, and the timeline is closed again
    assert response.cookies[PROOF_COOKIE].value == ""
    assert response.cookies[PROOF_COOKIE]["path"] == LOOKUP
    assert client.get(PROGRESS).url == LOOKUP
    # (A copy kept elsewhere lasts until its signed time runs out: docs/security.md.)
    assert _answer(client, proof)[0][0] == 200
