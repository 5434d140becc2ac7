"""The party's case pages (阳光警务), under /c/cases/: look a case up with its number and the
party's ID number, prove the mobile on record with a code, see the timeline, complain.

A wrong number, a wrong ID number and a confidential or private case all get the same page:
the same message on the same field, the typed number kept, the ID number never written back.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
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
    party_subject,
)
from minyi.core.errors import ApplicationError
from minyi.core.net import client_ip
from minyi.core.pii import lookup_hash, mask_mobile
from minyi.opinions.selectors import opinion_for_mobile
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_mark_verified, session_verified_mobile
from minyi.verification.views import SEND_CODE

SESSION_PARTY = "case_party"  # the party found in step 1, waiting for (or past) its code
STEP_START, STEP_CODE = "start", "code"


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
        return redirect("portal:case_lookup")
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
            session_mark_verified(
                request.session,
                purpose=OtpPurpose.CASE_LOOKUP,
                mobile=party.mobile,
                subject=party_subject(party.pk),
            )
            return redirect("portal:case_progress")
    return _code_page(request, party, form=form)


def _verified_party(request):
    """(party, response): the party this session proved, or the page to show instead."""
    party_id = request.session.get(SESSION_PARTY)
    if not party_id:
        return None, redirect("portal:case_lookup")
    mobile = session_verified_mobile(
        request.session, purpose=OtpPurpose.CASE_LOOKUP, subject=party_subject(party_id)
    )
    if not mobile:
        return None, redirect("portal:case_lookup")
    party = case_party_public(party_id)
    if party is None or party.mobile != mobile:
        return None, _not_found_page(request)
    return party, None


def case_progress(request):
    """The timeline. Who may see it is checked on every request (the session's proven mobile,
    the case still public); the rendered page is kept for MINYI_PUBLIC_PAGE_CACHE_SECONDS per
    party and version of the case, so a party refreshing it costs two small queries."""
    seconds = settings.PUBLIC_PAGE_CACHE_SECONDS
    party_id = request.session.get(SESSION_PARTY)
    mobile = party_id and session_verified_mobile(
        request.session, purpose=OtpPurpose.CASE_LOOKUP, subject=party_subject(party_id)
    )
    if not mobile:
        return redirect("portal:case_lookup")
    current = case_party_version(party_id)
    if current is None or current[0] != lookup_hash("mobile", mobile):
        return _not_found_page(request)
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
