"""The officer directory's citizen pages (找民警, 民警公开信息卡), under /c/: find the community
officer and the station chief by community or station name, or by the QR code printed on a
card. Scanning a code counts it per officer and day, a proxy for 知晓率 (capability 5)."""

import hashlib
import re

from django.conf import settings
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from minyi.core.errors import NotFound
from minyi.core.net import client_ip
from minyi.directory.selectors import (
    QUERY_MAX,
    QUERY_MIN,
    clean_query,
    directory_districts,
    directory_search,
    officer_card_public,
    unit_people,
    unit_public,
)
from minyi.directory.services import card_scan_record
from minyi.verification.services import first_today

PHOTO_TYPES = {"image/jpeg", "image/png"}
# Link previewers and crawlers open printed addresses too; they are not citizens scanning.
_NOT_A_PERSON = re.compile(r"bot|spider|crawl|slurp|preview|curl|wget|python", re.IGNORECASE)


def _public_page(request, key: str, build):
    """The page `build()` renders, kept by this process for MINYI_PUBLIC_PAGE_CACHE_SECONDS.
    Only for pages that are the same for everyone (no form tokens, no session): a QR-scan
    burst on one card, or a community searched all day, costs one render a minute."""
    seconds = settings.PUBLIC_PAGE_CACHE_SECONDS
    digest = hashlib.sha256(f"{key}:{request.LANGUAGE_CODE}".encode()).hexdigest()
    cache_key = f"directory:page:{digest}"
    body = cache.get(cache_key) if seconds else None
    if body is not None:
        return HttpResponse(body)
    response = build()
    if seconds and response.status_code == 200:
        cache.set(cache_key, response.content, seconds)
    return response


def _not_found(request, exc: NotFound):
    return render(request, "directory/not_found.html", {"message": exc.message}, status=404)


@require_safe
def search(request):
    q = clean_query(request.GET.get("q", ""))
    return _public_page(request, f"directory:{q}", lambda: _search(request, q))


def _search(request, q):
    context = {"q": q[:QUERY_MAX], "query_max": QUERY_MAX}
    if not q:
        context["districts"] = directory_districts()
    elif len(q) < QUERY_MIN:
        context["hint"] = _("请输入至少 %(n)d 个字，例如社区名称或派出所名称。") % {"n": QUERY_MIN}
    elif len(q) > QUERY_MAX:
        context["hint"] = _("请输入不超过 %(n)d 个字。") % {"n": QUERY_MAX}
    else:
        context["results"] = directory_search(q)
        context["searched"] = True
    return render(request, "directory/search.html", context)


@require_safe
def officer_card(request, code):
    return _public_page(request, f"officer:{code}", lambda: _officer_card(request, code))


def _officer_card(request, code):
    try:
        card = officer_card_public(code)
    except NotFound as exc:
        return _not_found(request, exc)
    return render(
        request,
        "directory/officer_card.html",
        {"card": card, "officer": card.officer, "unit": card.officer.unit},
    )


@require_safe
def officer_photo(request, code):
    try:
        card = officer_card_public(code)
    except NotFound as exc:
        raise Http404 from exc
    if not card.photo or card.photo_type not in PHOTO_TYPES:
        raise Http404
    try:
        handle = card.photo.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=card.photo_type)
    # Short and public: a photo taken down (officer no longer public) stops showing soon.
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def unit_card(request, code):
    return _public_page(request, f"unit:{code}", lambda: _unit_card(request, code))


def _unit_card(request, code):
    try:
        unit = unit_public(code)
    except NotFound as exc:
        return _not_found(request, exc)
    chiefs, officers = unit_people(unit)
    return render(
        request,
        "directory/unit_card.html",
        {"unit": unit, "chiefs": chiefs, "officers": officers},
    )


def _counts(request, card: str) -> bool:
    """Only a person's GET counts as a scan: not HEAD, not a link preview or crawler, and one
    address counts once per card and day (the count is a proxy for how many people know
    their officer, not for how often one phone reopens the page)."""
    if request.method != "GET" or _NOT_A_PERSON.search(request.headers.get("User-Agent", "")):
        return False
    return first_today(scope="card_scan", key=f"{client_ip(request)}|{card}")


@require_safe
def officer_scan(request, code):
    """What an officer's printed QR code opens: count the scan, then show the card."""
    try:
        card = officer_card_public(code)
    except NotFound as exc:
        return _not_found(request, exc)
    if _counts(request, f"o{card.pk}"):
        card_scan_record(unit_id=card.officer.unit_id, officer_id=card.officer_id)
    return redirect("directory:officer_card", code=card.code)


@require_safe
def unit_scan(request, code):
    """What a station's printed QR code opens: count the scan, then show the station."""
    try:
        unit = unit_public(code)
    except NotFound as exc:
        return _not_found(request, exc)
    if _counts(request, f"u{unit.pk}"):
        card_scan_record(unit_id=unit.pk)
    return redirect("directory:unit_card", code=unit.code)
