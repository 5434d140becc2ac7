"""The citizen's vote pages (票选), under /c/votes/<code>/: the page a WeChat share opens, the
ballot, the receipt, the results and the published receipts. Issue 15, DOMAIN.md capability 3.

Phone first and small: server-rendered, no script but htmx for the live turnout; the server
alone checks the number of ticks. "获取验证码" submits the whole form, like the opinion pages,
and every refusal re-renders it with what was ticked and typed. The ballot URL takes POST
only: a code in a GET (a link, a prefetch, a crawler) is never checked, so it neither votes
nor counts towards the mobile's lock.

A draft campaign does not exist for the public (404): its options may still change.
"""

import csv
import secrets
from datetime import timedelta

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from minyi.core.errors import ApplicationError
from minyi.core.net import client_ip
from minyi.core.pii import mask_mobile
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_forget, session_verified_mobile
from minyi.verification.views import proven_mobile, send_code, wants_code
from minyi.votes.ballots import (
    ballot_by_receipt,
    ballot_cast,
    campaign_option_numbers,
    selection_vector,
)
from minyi.votes.models import (
    Ballot,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ChainEntry,
    ChainHead,
    Channel,
    Option,
    OptionPhoto,
)
from minyi.votes.public_forms import BallotForm, ReceiptLookupForm
from minyi.votes.results import campaign_tally

# The device cookie: a random id (not personal data), kept a year; ballot_cast stores only
# its keyed hash (keys.device_key) with a ballot, for the stuffing review (one device, many
# mobiles).
DEVICE_COOKIE = "minyi_vd"
DEVICE_MAX_AGE = int(timedelta(days=365).total_seconds())
# A burst of openings after a WeChat share reads the count once per few seconds, not once each.
TALLY_CACHE_SECONDS = 5
TURNOUT_REFRESH_SECONDS = 15
RECEIPTS_PAGE_SIZE = 100
# Answered as 429 on the page too: the same status the API gives a locked mobile.
TOO_MANY = 429


# --- Reads shared with the API (minyi/votes/api.py) ----------------------------------------


def campaign_public_get(code: str) -> Campaign:
    """The campaign behind a public link, or 404. Drafts are not public."""
    return get_object_or_404(Campaign.objects.exclude(status=CampaignStatus.DRAFT), code=code)


def campaign_options(campaign: Campaign) -> list[Option]:
    return list(
        campaign.options.select_related("unit").prefetch_related(
            Prefetch("photos", queryset=OptionPhoto.objects.order_by("pk"))
        )
    )


def campaign_public_tally(campaign: Campaign) -> dict:
    """{"turnout": {online, paper, total}, "options": [{number, title, online, paper, total,
    share}]}, read at most once every few seconds per campaign (Django's cache)."""
    key = f"votes:public-tally:{campaign.pk}:{campaign.status}"
    data = cache.get(key)
    if data is None:
        tally = campaign_tally(campaign)
        data = {
            "turnout": dict(tally["turnout"]),
            "options": [
                {
                    "number": row["option"].number,
                    "title": row["option"].title,
                    "online": row["online"],
                    "paper": row["paper"],
                    "total": row["total"],
                    "share": row["share"],
                }
                for row in tally["options"]
            ],
        }
        cache.set(key, data, TALLY_CACHE_SECONDS)
    return data


def window_refusal(campaign: Campaign, now=None) -> ApplicationError | None:
    """The refusal for a code or a ballot outside the voting times, before a code is sent or
    spent (ballot_cast checks again under its lock, with the same codes and words)."""
    state = voting_state(campaign, now)
    if state == "before":
        return ApplicationError(
            "campaign_not_open", _("投票尚未开始，请在开始时间后再来投票。"), status=409
        )
    if state == "closed":
        return ApplicationError("campaign_closed", _("投票已截止，感谢您的关注。"), status=409)
    return None


def shares_public(campaign: Campaign) -> bool:
    """Whether counts per option may be shown: after publication (paper sheets keyed, flags
    reviewed), and before only if the organiser chose to show them while voting. The page and
    the API answer alike."""
    return campaign.status == CampaignStatus.PUBLISHED or campaign.show_shares


def latest_head(campaign: Campaign) -> ChainHead | None:
    """The chain head published last (daily while voting, and at closing): shown on the public
    pages from the first day, so that a rewrite of the record before publication is caught."""
    return ChainHead.objects.filter(campaign=campaign).order_by("-published_at", "-id").first()


def voting_state(campaign: Campaign, now=None) -> str:
    """ "before", "open" or "closed" (closed also once the closing time has passed)."""
    now = now or timezone.now()
    if campaign.status != CampaignStatus.OPEN or now >= campaign.closes_at:
        return "closed"
    return "before" if now < campaign.opens_at else "open"


# --- The campaign page and the ballot ------------------------------------------------------


def _device_id(request) -> tuple[str, bool]:
    """(the device cookie's value, whether it is new)."""
    current = request.COOKIES.get(DEVICE_COOKIE, "")
    if current and len(current) <= 64:
        return current, False
    return secrets.token_urlsafe(18), True


def _with_device_cookie(request, response, device_id: str, new: bool):
    if new:
        response.set_cookie(
            DEVICE_COOKIE,
            device_id,
            max_age=DEVICE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _form_error(form, exc: ApplicationError) -> None:
    """The refusal next to the field it is about; an already-used mobile next to the mobile."""
    field = exc.field
    if exc.code in ("already_voted", "invalid_mobile") and not field:
        field = "mobile"
    form.add_error(field if field in form.fields else None, str(exc.message))


def _receipt_session_key(campaign: Campaign) -> str:
    return f"minyi_vote_receipt:{campaign.code}"


def _render_campaign(request, campaign, form, *, notice="", code_error="", status=200):
    device_id, new = _device_id(request)
    options = campaign_options(campaign)
    og_photo = next((o.photos.all()[0] for o in options if o.photos.all()), None)
    context = {
        "campaign": campaign,
        "options": options,
        "form": form,
        "ticked": form.ticked(),
        "state": voting_state(campaign),
        "notice": notice,
        "code_error": code_error,
        "proven_masked": mask_mobile(
            session_verified_mobile(request.session, purpose=OtpPurpose.VOTE, subject=campaign.code)
        ),
        "tally": campaign_public_tally(campaign),
        "shares": shares_public(campaign),
        "head": latest_head(campaign),
        "refresh": TURNOUT_REFRESH_SECONDS,
        "page_url": request.build_absolute_uri(
            reverse("votes_public:campaign", args=[campaign.code])
        ),
        "og_image": request.build_absolute_uri(
            reverse("votes_public:option_photo", args=[campaign.code, og_photo.pk])
        )
        if og_photo
        else "",
        "is_single": campaign.kind == CampaignKind.SINGLE,
        # This browser has voted here: the page points to its receipt, not to a new ballot
        # (a refused second ballot still comes back as a form, with its message).
        "voted": not form.is_bound
        and isinstance(request.session.get(_receipt_session_key(campaign)), dict),
    }
    response = render(request, "votes/public/campaign.html", context, status=status)
    return _with_device_cookie(request, response, device_id, new)


@require_safe
def campaign_index(request):
    """/c/votes/: the campaigns open now, those to come, and the last results published."""
    public = Campaign.objects.exclude(status=CampaignStatus.DRAFT).order_by("-opens_at", "-id")
    now = timezone.now()
    open_now = [c for c in public.filter(status=CampaignStatus.OPEN) if c.closes_at > now]
    return render(
        request,
        "votes/public/index.html",
        {
            "open_now": [c for c in open_now if c.opens_at <= now],
            "coming": [c for c in open_now if c.opens_at > now],
            "finished": list(
                public.filter(status__in=[CampaignStatus.CLOSED, CampaignStatus.PUBLISHED])[:10]
            ),
        },
    )


@require_safe
def campaign_page(request, code):
    campaign = campaign_public_get(code)
    return _render_campaign(request, campaign, BallotForm(campaign=campaign))


@require_POST
def ballot(request, code):
    """The ballot form's target: "获取验证码", or the ballot itself (proven mobile, then
    ballot_cast). Success goes to the receipt page."""
    campaign = campaign_public_get(code)
    form = BallotForm(request.POST, campaign=campaign)
    refusal = window_refusal(campaign)
    if wants_code(request):
        notice, code_error = (
            ("", str(refusal.message))
            if refusal
            else send_code(
                request,
                mobile=request.POST.get("mobile", ""),
                purpose=OtpPurpose.VOTE,
                subject=campaign.code,
            )
        )
        return _render_campaign(request, campaign, form, notice=notice, code_error=code_error)
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        device_id, new = _device_id(request)
        try:
            # The window and the choices first: a code is not spent on a ballot refused anyway.
            if refusal is not None:
                raise refusal
            option_numbers = campaign_option_numbers(campaign)
            selection_vector(campaign, data["choices"], option_numbers)
            mobile = proven_mobile(
                request,
                mobile=data["mobile"],
                code=data["code"],
                purpose=OtpPurpose.VOTE,
                subject=campaign.code,
            )
            cast = ballot_cast(
                campaign,
                mobile=mobile,
                choices=data["choices"],
                channel=Channel.ONLINE,
                id_number=data.get("id_number", ""),
                ip=client_ip(request),
                device=device_id,
                option_numbers=option_numbers,
            )
        except ApplicationError as exc:
            _form_error(form, exc)
            status = TOO_MANY if exc.status == TOO_MANY else 200
            if exc.code == "already_voted":
                # The proof is spent: a script cannot repeat the refusal (and its chain entry)
                # without a new code each time.
                session_forget(request.session, purpose=OtpPurpose.VOTE)
        else:
            # One proof, one ballot: a second try needs a new code.
            session_forget(request.session, purpose=OtpPurpose.VOTE)
            request.session[_receipt_session_key(campaign)] = {
                "ballot": cast.pk,
                "mobile": mask_mobile(mobile),
            }
            response = redirect("votes_public:receipt", code=campaign.code)
            return _with_device_cookie(request, response, device_id, new)
    elif "choices" not in form.errors:
        # Another field is missing: say at once too if the ticks break the limit, so the
        # voter does not learn it only on the next round trip.
        try:
            selection_vector(campaign, sorted(form.ticked()))
        except ApplicationError as exc:
            _form_error(form, exc)
    return _render_campaign(request, campaign, form, status=status)


@require_safe
def turnout(request, code):
    """The live turnout box (htmx partial, refreshed every 15 s)."""
    campaign = campaign_public_get(code)
    response = render(
        request,
        "votes/public/_turnout.html",
        {
            "campaign": campaign,
            "tally": campaign_public_tally(campaign),
            "shares": shares_public(campaign),
            "state": voting_state(campaign),
            "refresh": TURNOUT_REFRESH_SECONDS,
        },
    )
    response["Cache-Control"] = f"public, max-age={TALLY_CACHE_SECONDS}"
    return response


@require_safe
def option_photo(request, code, pk):
    """An option's photo: public once the campaign is (never while it is a draft)."""
    campaign = campaign_public_get(code)
    photo = get_object_or_404(OptionPhoto, pk=pk, option__campaign=campaign)
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- The receipt ---------------------------------------------------------------------------


@require_safe
def receipt(request, code):
    """The receipt code, shown to this browser's session only: what was chosen, the masked
    mobile, and how to find it in the published receipts."""
    campaign = campaign_public_get(code)
    entry = request.session.get(_receipt_session_key(campaign))
    cast = (
        Ballot.objects.filter(campaign=campaign, pk=entry.get("ballot")).first()
        if isinstance(entry, dict)
        else None
    )
    if cast is None:
        return redirect("votes_public:campaign", code=campaign.code)
    response = render(
        request,
        "votes/public/receipt.html",
        {
            "campaign": campaign,
            "ballot": cast,
            "chosen": list(campaign.options.filter(number__in=cast.chosen_numbers())),
            "mobile_masked": entry.get("mobile", ""),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- Results and published receipts --------------------------------------------------------


@require_safe
def results(request, code):
    campaign = campaign_public_get(code)
    return render(
        request,
        "votes/public/results.html",
        {
            "campaign": campaign,
            "tally": campaign_public_tally(campaign),
            "shares": shares_public(campaign),
            "state": voting_state(campaign),
            "published": campaign.status == CampaignStatus.PUBLISHED,
        },
    )


def receipt_rows(campaign: Campaign, ballots) -> list[dict]:
    """Receipt, chain seq and the chain entry's payload hash of `ballots` (never choices)."""
    ballots = list(ballots)
    hashes = dict(
        ChainEntry.objects.filter(campaign=campaign, seq__in=[b.seq for b in ballots]).values_list(
            "seq", "payload_hash"
        )
    )
    return [
        {
            "receipt": b.receipt,
            "seq": b.seq,
            "channel": b.get_channel_display(),
            "payload_hash": hashes.get(b.seq, ""),
        }
        for b in ballots
    ]


def _published_ballots(campaign: Campaign):
    return campaign.ballots.order_by("seq").only("receipt", "seq", "channel")


@require_safe
def receipts(request, code):
    """The published chain heads (from the first day of voting); after publication, one's
    receipt (已计入 and its place in the chain, not its choices) and the list of every receipt
    with its chain entry."""
    campaign = campaign_public_get(code)
    published = campaign.status == CampaignStatus.PUBLISHED
    context = {
        "campaign": campaign,
        "published": published,
        "heads": ChainHead.objects.filter(campaign=campaign).order_by("-published_at")[:30],
    }
    if published:
        form = ReceiptLookupForm(request.GET if "receipt" in request.GET else None)
        found = missing = None
        if form.is_bound and form.is_valid():
            found = ballot_by_receipt(campaign, form.cleaned_data["receipt"])
            missing = found is None
        page = Paginator(_published_ballots(campaign), RECEIPTS_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        context.update(
            form=form,
            # Counted and where: never the choices (see ReceiptOut in api.py).
            found=found,
            found_entry=ChainEntry.objects.filter(campaign=campaign, seq=found.seq).first()
            if found
            else None,
            missing=missing,
            page=page,
            rows=receipt_rows(campaign, page.object_list),
        )
    return render(request, "votes/public/receipts.html", context)


class _Echo:
    def write(self, value):
        return value


@require_safe
def receipts_csv(request, code):
    """Every receipt as CSV (receipt, seq, channel, payload hash), after publication only."""
    campaign = campaign_public_get(code)
    if campaign.status != CampaignStatus.PUBLISHED:
        raise Http404
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(["receipt", "seq", "channel", "payload_sha256"])
        ballots = _published_ballots(campaign)
        for start in range(0, ballots.count(), 2000):
            for row in receipt_rows(campaign, ballots[start : start + 2000]):
                yield writer.writerow(
                    [row["receipt"], row["seq"], row["channel"], row["payload_hash"]]
                )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="receipts-{campaign.code}.csv"'
    return response
