"""Public vote API (票选), for the H5 page's own clients, WeChat mini-programs and the bench:
GET /api/v1/votes/{code}, POST …/otp, POST …/ballots, GET …/receipts/{receipt}.

No login and no API key: the proof is the mobile's one-time code (OtpPurpose.VOTE, subject =
the campaign's code), checked on every ballot. The router therefore has no auth, and
django-ninja (1.x) checks CSRF only for cookie-based auth (SessionAuth, APIKeyCookie), so these
operations are CSRF-exempt on purpose: they read no session and no cookie, so a forged
cross-site request gains nothing a direct request would not (it still needs the code sent to
the voter's phone). The staff routers keep `django_auth`, and with it ninja's CSRF check.

Refusals are JSON with a stable `code` (ApplicationError): campaign_not_open,
campaign_closed, no_choice, too_many_choices, repeated_choice, unknown_option,
id_number_required, invalid_id_number, invalid_mobile, invalid_code, otp_missing, otp_wrong,
otp_used, otp_expired, otp_superseded, otp_locked (429), rate_limited (429), already_voted
(409), not_published (409), not_found (404), invalid_field / malformed_body (422).
"""

import re
from datetime import datetime

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import BaseModel, StrictInt, ValidationError

from minyi.core.errors import ApplicationError, NotFound
from minyi.core.jsonbody import json_body
from minyi.core.net import client_ip
from minyi.core.pii import mask_mobile, normalize_mobile
from minyi.core.schemas import ErrorOut, request_body_schema
from minyi.verification.models import OtpPurpose
from minyi.verification.services import otp_request, otp_verify
from minyi.votes.ballots import (
    ballot_by_receipt,
    ballot_cast,
    campaign_for_ballot,
    selection_vector,
)
from minyi.votes.models import MAX_OPTIONS, Campaign, CampaignStatus, ChainEntry, Channel
from minyi.votes.public_views import (
    campaign_options,
    campaign_public_get,
    campaign_public_tally,
    latest_head,
    shares_public,
    voting_state,
    window_refusal,
)

router = Router(auth=None, tags=["votes"])

ERRORS = {
    400: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,20}")


# --- Schemas -------------------------------------------------------------------------------


class OptionOut(Schema):
    number: int
    title: str
    text: str
    unit: str | None = None
    photos: list[str] = Field(description="URLs of the option's photos")


class TurnoutOut(Schema):
    online: int
    paper: int
    total: int


class ShareOut(Schema):
    number: int
    title: str
    online: int
    paper: int
    total: int
    share: float = Field(description="votes over ballots cast (approval shares add up to > 1)")


class HeadOut(Schema):
    seq: int
    hash: str
    published_at: datetime


class CampaignOut(Schema):
    code: str
    title: str
    description: str
    kind: str = Field(description="approval | single")
    max_choices: int
    opens_at: datetime
    closes_at: datetime
    status: str = Field(description="open | closed | published")
    voting: str = Field(description="before | open | closed: whether a ballot is taken now")
    require_id_number: bool
    options: list[OptionOut]
    turnout: TurnoutOut
    shares: list[ShareOut] | None = Field(
        None, description="per option, only once published or when the organiser shows them"
    )
    chain_head: HeadOut | None = Field(
        None, description="the hash chain's latest published head (daily while voting)"
    )


class OtpIn(BaseModel):
    mobile: str = Field(max_length=40)


class OtpOut(Schema):
    mobile: str = Field(description="masked")
    expires_in_minutes: int


class BallotIn(BaseModel):
    mobile: str = Field(max_length=40)
    code: str = Field(max_length=20, description="the 6-digit code from the SMS")
    # Strict: `true` or "3" is not option 3 (pydantic would coerce them).
    choices: list[StrictInt] = Field(
        max_length=MAX_OPTIONS * 2, description="option numbers (1, 2, …); approval: up to N"
    )
    id_number: str = Field("", max_length=30, description="when the campaign requires it")


class BallotOut(Schema):
    receipt: str
    seq: int


class ReceiptOut(Schema):
    """Counted, and where in the chain: never the choices (a receipt would otherwise prove to
    whoever holds it how its owner voted)."""

    receipt: str
    seq: int
    channel: str
    payload_hash: str


# --- Helpers -------------------------------------------------------------------------------


def _campaign(code: str) -> Campaign:
    if not _SLUG.fullmatch(code or ""):
        raise NotFound(_("没有找到该投票活动。"))
    try:
        return campaign_public_get(code)
    except Http404:
        raise NotFound(_("没有找到该投票活动。")) from None


def _campaign_for_ballot(code: str) -> tuple[Campaign, set[int]]:
    """The code and ballot requests' campaign and option numbers (a copy a second or two old:
    `campaign_for_ballot`)."""
    found = campaign_for_ballot(code) if _SLUG.fullmatch(code or "") else None
    if found is None:
        raise NotFound(_("没有找到该投票活动。"))
    return found


def _body(request, schema: type[BaseModel]) -> dict:
    """The JSON body checked against `schema`, or a 422 naming the first field at fault,
    without echoing the input (a mobile, an ID number)."""
    try:
        raw = json_body(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raw = None
    if not isinstance(raw, dict):
        raise ApplicationError("malformed_body", _("请求体应为 JSON 对象。"), status=422)
    try:
        return schema.model_validate(raw).model_dump()
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        message = (
            _("缺少字段 %(field)s。")
            if first["type"] == "missing"
            else _("字段 %(field)s 的值不正确。")
        )
        raise ApplicationError(
            "invalid_field", message % {"field": where}, field=where, status=422
        ) from None


def _request_body(schema: type[BaseModel]) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": request_body_schema(schema)}},
        }
    }


def _refuse_outside_window(campaign: Campaign) -> None:
    refusal = window_refusal(campaign)
    if refusal is not None:
        raise refusal


# --- Operations ----------------------------------------------------------------------------


@router.get(
    "/votes/{code}",
    response={200: CampaignOut, 404: ErrorOut},
    url_name="votes_campaign_api",
    summary="A vote campaign: options, turnout, and shares when they are public",
)
def votes_campaign_api(request, code: str):
    campaign = _campaign(code)
    tally = campaign_public_tally(campaign)
    return {
        "code": campaign.code,
        "title": campaign.title,
        "description": campaign.description,
        "kind": campaign.kind,
        "max_choices": campaign.max_choices,
        "opens_at": campaign.opens_at,
        "closes_at": campaign.closes_at,
        "status": campaign.status,
        "voting": voting_state(campaign),
        "require_id_number": campaign.require_id_number,
        "options": [
            {
                "number": option.number,
                "title": option.title,
                "text": option.text,
                "unit": option.unit.name if option.unit_id else None,
                "photos": [
                    request.build_absolute_uri(
                        reverse("votes_public:option_photo", args=[campaign.code, photo.pk])
                    )
                    for photo in option.photos.all()
                ],
            }
            for option in campaign_options(campaign)
        ],
        "turnout": tally["turnout"],
        "shares": tally["options"] if shares_public(campaign) else None,
        "chain_head": latest_head(campaign),
    }


@router.post(
    "/votes/{code}/otp",
    response={202: OtpOut, **ERRORS},
    url_name="votes_otp_api",
    summary="Send a one-time code to the voter's mobile",
    description="202 when the SMS is queued. At most one code a minute per mobile; a locked "
    "mobile (five wrong codes) gets none (429 otp_locked). 409 outside the voting times.",
    openapi_extra=_request_body(OtpIn),
)
def votes_otp_api(request, code: str):
    campaign, _option_numbers = _campaign_for_ballot(code)
    data = _body(request, OtpIn)
    _refuse_outside_window(campaign)
    otp_request(
        mobile=data["mobile"],
        purpose=OtpPurpose.VOTE,
        subject=campaign.code,
        ip=client_ip(request),
    )
    return Status(
        202,
        {
            "mobile": mask_mobile(normalize_mobile(data["mobile"])),
            "expires_in_minutes": settings.OTP_TTL_MINUTES,
        },
    )


@router.post(
    "/votes/{code}/ballots",
    response={201: BallotOut, **ERRORS},
    url_name="votes_ballot_api",
    summary="Cast a ballot with the mobile's one-time code",
    description="201 with the receipt code and the ballot's seq in the campaign's hash chain. "
    "The choices are checked before the code is (a refused choice does not spend it); the "
    "first valid ballot of a mobile (or ID number) counts, a second is 409 already_voted.",
    openapi_extra=_request_body(BallotIn),
)
def votes_ballot_api(request, code: str):
    campaign, option_numbers = _campaign_for_ballot(code)
    data = _body(request, BallotIn)
    _refuse_outside_window(campaign)
    selection_vector(campaign, data["choices"], option_numbers)
    # Outside any atomic block: a wrong code is counted in otp_verify's own transaction.
    mobile = otp_verify(
        mobile=data["mobile"], purpose=OtpPurpose.VOTE, code=data["code"], subject=campaign.code
    )
    ballot = ballot_cast(
        campaign,
        mobile=mobile,
        choices=data["choices"],
        channel=Channel.ONLINE,
        id_number=data["id_number"],
        ip=client_ip(request),
        option_numbers=option_numbers,
    )
    return Status(201, {"receipt": ballot.receipt, "seq": ballot.seq})


@router.get(
    "/votes/{code}/receipts/{receipt}",
    response={200: ReceiptOut, 404: ErrorOut, 409: ErrorOut},
    url_name="votes_receipt_api",
    summary="Check a receipt once the results are published",
    description="The counted ballot behind a receipt code: its seq in the hash chain, the "
    "chain entry's payload hash and the choices. 409 not_published before publication.",
)
def votes_receipt_api(request, code: str, receipt: str):
    campaign = _campaign(code)
    if campaign.status != CampaignStatus.PUBLISHED:
        raise ApplicationError("not_published", _("结果公布后才能核对回执码。"), status=409)
    ballot = ballot_by_receipt(campaign, receipt)
    if ballot is None:
        raise NotFound(_("没有找到该回执码，请核对后重新输入。"))
    entry = ChainEntry.objects.filter(campaign=campaign, seq=ballot.seq).first()
    return {
        "receipt": ballot.receipt,
        "seq": ballot.seq,
        "channel": ballot.channel,
        "payload_hash": entry.payload_hash if entry else "",
    }
