"""The party's case pages (阳光警务), under /c/cases/: look a case up with its number and the
party's ID number, prove the mobile on record with a code, see the timeline, complain.

A wrong number, a wrong ID number and a confidential or private case all get the same page:
the same message on the same field, the typed number kept, the ID number never written back.

The proof of the code is a signed cookie (PROOF_COOKIE), not the session: it names the party
and carries a keyed hash of the mobile on record, never the mobile, and it is checked against
the case on every request with one statement. A party who only looked their case up has no
session left, so the timeline costs that one statement (docs/security.md, "Case proof cookie").
"""

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from minyi.cases.public_forms import CodeForm, ComplaintForm, LookupForm
from minyi.cases.selectors import case_party_public, case_party_version
from minyi.cases.services import (
    case_complaint_file,
    case_lookup_resend,
    case_lookup_start,
    case_lookup_verify,
    case_not_found,
)
from minyi.core.errors import ApplicationError
from minyi.core.net import client_ip
from minyi.core.pii import mask_mobile
from minyi.opinions.selectors import opinion_for_mobile
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_mark_verified
from minyi.verification.views import SEND_CODE

SESSION_PARTY = "case_party"  # the party found in step 1, waiting for its code
STEP_START, STEP_CODE = "start", "code"
PROOF_COOKIE = "minyi_case"  # the party proven with the code: "<party id>.<keyed mobile hash>"
PROOF_COOKIE_PATH = "/c/cases/"
PROOF_SALT = "minyi.cases.public_views.proof"


def _signer():
    return signing.TimestampSigner(salt=PROOF_SALT)  # SECRET_KEY (and its fallbacks)


def _mobile_mark(mobile_hash: str) -> str:
    """The mobile on record, as the proof cookie carries it: keyed with SECRET_KEY, so the
    cookie does not hold the database's lookup hash either."""
    return salted_hmac(PROOF_SALT, mobile_hash, algorithm="sha256").hexdigest()[:32]


def proof_cookie_value(party) -> str:
    """The signed, timestamped value of the proof cookie for a party that gave the right code
    (also used by bench/portal.py to make its clients' cookies)."""
    return _signer().sign(f"{party.pk}.{_mobile_mark(party.mobile_hash)}")


def _set_proof(response, party):
    # No Max-Age: like the session it replaces (SESSION_EXPIRE_AT_BROWSER_CLOSE), it goes
    # when the browser closes; the signed time limits it to MINYI_OTP_SESSION_MINUTES.
    response.set_cookie(
        PROOF_COOKIE,
        proof_cookie_value(party),
        path=PROOF_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _forget_proof(response):
    response.delete_cookie(PROOF_COOKIE, path=PROOF_COOKIE_PATH, samesite="Lax")
    return response


def _proof(request) -> tuple[int, str] | None:
    """(party id, mobile mark) from a proof cookie that is genuine and younger than
    MINYI_OTP_SESSION_MINUTES; None for no cookie, a forged, altered or expired one. Decided
    without the database, so it tells nothing about which cases exist."""
    signed = request.COOKIES.get(PROOF_COOKIE)
    if not signed:
        return None
    try:
        value = _signer().unsign(signed, max_age=settings.OTP_SESSION_MINUTES * 60)
    except signing.BadSignature:  # SignatureExpired included
        return None
    party_id, _sep, mark = value.partition(".")
    return (int(party_id), mark) if party_id.isdigit() and mark else None


def _proof_holds(mark: str, mobile_hash: str) -> bool:
    return bool(mobile_hash) and constant_time_compare(mark, _mobile_mark(mobile_hash))


def _form_error(form, exc: ApplicationError) -> None:
    """Put a service's refusal next to the field it names, or above the form."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def _start_page(request, form=None):
    return render(
        request, "cases/public/lookup.html", {"step": STEP_START, "form": form or LookupForm()}
    )


def _not_found_page(request):
    """Step 1 with the not-found refusal: what a case that stopped being public looks like."""
    request.session.pop(SESSION_PARTY, None)
    form = LookupForm()
    form.full_clean()  # unbound: no errors of its own, and add_error works
    form.cleaned_data = {}
    form.add_error("number", str(case_not_found().message))
    return _start_page(request, form)


def _code_page(request, party, *, form=None, notice="", code_error=""):
    return render(
        request,
        "cases/public/lookup.html",
        {
            "step": STEP_CODE,
            "form": form or CodeForm(),
            "sent_to": mask_mobile(party.mobile),
            "notice": notice,
            "code_error": code_error,
        },
    )


def case_lookup(request):
    if request.GET.get("restart"):
        request.session.pop(SESSION_PARTY, None)
        return _forget_proof(redirect("portal:case_lookup"))
    party_id = request.session.get(SESSION_PARTY)
    if request.method == "POST" and request.POST.get("step") == STEP_CODE and party_id:
        return _lookup_code(request, party_id)
    if request.method == "POST" and request.POST.get("step") != STEP_CODE:
        return _lookup_start(request)
    if party_id:
        party = case_party_public(party_id)
        if party is not None and party.mobile:
            return _code_page(request, party)
        request.session.pop(SESSION_PARTY, None)
    return _start_page(request)


def _lookup_start(request):
    """Step 1: case number + ID number → a code to the mobile on record."""
    request.session.pop(SESSION_PARTY, None)
    form = LookupForm(request.POST)
    if form.is_valid():
        try:
            party = case_lookup_start(
                number=form.cleaned_data["number"],
                id_number=form.cleaned_data["id_number"],
                ip=client_ip(request),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            request.session[SESSION_PARTY] = party.pk
            return redirect("portal:case_lookup")
    return _start_page(request, form)


def _lookup_code(request, party_id):
    """Step 2: the code (or a new one)."""
    party = case_party_public(party_id)
    if party is None or not party.mobile:
        return _not_found_page(request)
    if request.POST.get("action") == SEND_CODE:
        try:
            case_lookup_resend(party_id=party.pk, ip=client_ip(request))
        except ApplicationError as exc:
            if exc.code == "case_not_found":
                return _not_found_page(request)
            return _code_page(request, party, code_error=str(exc.message))
        return _code_page(
            request,
            party,
            notice=_("新的验证码已发送至 %(mobile)s，10 分钟内有效。")
            % {"mobile": mask_mobile(party.mobile)},
        )
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            party = case_lookup_verify(party_id=party.pk, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            if exc.code == "case_not_found":
                return _not_found_page(request)
            _form_error(form, exc)
        else:
            # The proof goes to the cookie; step 1's party leaves the session, and a session
            # left empty is deleted (its cookie too), so the timeline reads no session.
            request.session.pop(SESSION_PARTY, None)
            if not request.session.keys():
                request.session.flush()
            return _set_proof(redirect("portal:case_progress"), party)
    return _code_page(request, party, form=form)


def _hidden(request):
    """A proof that no longer opens its case (made confidential or private, the party or the
    mobile on record changed): the lookup's not-found page, and the proof is dropped."""
    return _forget_proof(_not_found_page(request))


def _verified_party(request):
    """(party, response): the party this browser proved, or the page to show instead."""
    proof = _proof(request)
    if proof is None:
        return None, _forget_proof(redirect("portal:case_lookup"))
    party = case_party_public(proof[0])
    if party is None or not _proof_holds(proof[1], party.mobile_hash):
        return None, _hidden(request)
    return party, None


def case_progress(request):
    """The timeline. Who may see it is checked on every request (the proof cookie's party and
    mobile, the case still public: one statement); the rendered page is kept for
    MINYI_PUBLIC_PAGE_CACHE_SECONDS per party and version of the case."""
    seconds = settings.PUBLIC_PAGE_CACHE_SECONDS
    proof = _proof(request)
    if proof is None:
        return _forget_proof(redirect("portal:case_lookup"))
    party_id, mark = proof
    current = case_party_version(party_id)
    if current is None or not _proof_holds(mark, current[0]):
        return _hidden(request)
    key = f"portal:case-progress:{party_id}:{current[1]}:{request.LANGUAGE_CODE}"
    body = cache.get(key) if seconds else None
    if body is None:
        party, response = _verified_party(request)
        if response is not None:
            return response
        case = party.case
        officer = case.officer if case.officer_id and case.officer.is_public else None
        body = render_to_string(
            "cases/public/progress.html",
            {"case": case, "unit": case.unit, "officer": officer, "steps": case.progress.all()},
            request=request,
        )
        if seconds:
            cache.set(key, body, seconds)
    response = HttpResponse(body)
    response["Cache-Control"] = "private, no-store"
    return response


def case_complain(request):
    party, response = _verified_party(request)
    if response is not None:
        return response
    case = party.case
    done = request.GET.get("done", "")
    if request.method == "GET" and done:
        opinion = opinion_for_mobile(done, party.mobile, case=case)
        if opinion is not None:
            return render(request, "cases/public/complain_done.html", {"opinion": opinion})
    form = ComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            opinion = case_complaint_file(party=party, content=form.cleaned_data["content"])
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            # The mobile is proven: the party may follow the complaint without a new code.
            session_mark_verified(
                request.session, purpose=OtpPurpose.OPINION_LOOKUP, mobile=party.mobile
            )
            url = reverse("portal:case_complain")
            return redirect(f"{url}?{urlencode({'done': opinion.number})}")
    return render(request, "cases/public/complain.html", {"case": case, "form": form})
