"""Community safety API: patrol pings and check-ins from the patrol systems (巡逻定位、巡逻打卡),
authenticated by an integration key (X-API-Key) and scoped to the key's subtree.

POST /api/v1/community/pings {"station": "<派出所代码>", "pings": [{unit_code, at, lng, lat}]}
POST /api/v1/community/checkins {"checkins": [{area, unit_code, at}]}
Up to 5,000 items; each answered accepted (a ping perhaps with a flag), duplicate or rejected,
with a machine code; the valid ones are kept whatever the others are."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from minyi.community.patrol import MAX_BATCH, checkins_ingest, pings_ingest
from minyi.core.jsonbody import json_body
from minyi.core.schemas import ErrorOut
from minyi.orgs.api_auth import ApiKeyAuth
from minyi.orgs.models import OrgUnit

router = Router(auth=ApiKeyAuth(), tags=["community"])


class PingItemOut(Schema):
    index: int
    unit_code: str
    status: str = Field(description="accepted | duplicate | rejected")
    flag: str = Field("", description='"" | speed | outside: kept, never counted as a pass')
    code: str = ""
    message: str = ""


class PingBatchOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    flagged: int
    items: list[PingItemOut]


class CheckinItemOut(Schema):
    index: int
    area: str
    unit_code: str
    status: str
    code: str = ""
    message: str = ""


class CheckinBatchOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    items: list[CheckinItemOut]


def _batch(request, key: str):
    """(items, None) or (None, the error answer)."""
    try:
        body = json_body(request.body or b"null")
    except RequestDataTooBig:
        return None, Status(
            413,
            {
                "code": "request_too_large",
                "message": _("请求体超过 %(mb)d MB，请分批发送。")
                % {"mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20},
            },
        )
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        return None, Status(
            422,
            {
                "code": "malformed_batch",
                "message": _('请求体应为 JSON 对象：{"%(key)s": [...]}。') % {"key": key},
            },
        )
    if len(body[key]) > MAX_BATCH:
        return None, Status(
            413,
            {"code": "batch_too_large", "message": _("一批最多 %(max)d 条。") % {"max": MAX_BATCH}},
        )
    if not body[key]:
        return None, Status(422, {"code": "empty_batch", "message": _("批次为空。")})
    return body, None


def _answer(results, **extra):
    items = [vars(r) for r in results]
    counts = {
        s: sum(1 for r in results if r.status == s) for s in ("accepted", "duplicate", "rejected")
    }
    status = 200 if not counts["rejected"] else 422 if counts["rejected"] == len(items) else 207
    return Status(
        status,
        {
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
            "items": items,
            **extra,
        },
    )


@router.post(
    "/community/pings",
    response={
        200: PingBatchOut,
        207: PingBatchOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
        422: PingBatchOut | ErrorOut,
    },
    summary="Ingest a batch of patrol GPS pings",
    description="Up to 5,000 pings of one station (its unit code in `station`, inside the "
    "key's subtree, else 403 station_out_of_scope). A repeat of (unit_code, at) is a "
    "duplicate, stored once. A ping implying a speed above the bureau's limit from the unit's "
    "previous good ping is accepted with flag `speed`; one outside the city with flag "
    "`outside`; flagged pings are kept and shown, never counted as passes. 200: none rejected; "
    "207: some rejected; 422: all rejected or not a batch.",
)
def patrol_pings_ingest_api(request):
    body, error = _batch(request, "pings")
    if error is not None:
        return error
    station = OrgUnit.objects.filter(code=str(body.get("station", ""))).first()
    results = pings_ingest(station=station, items=body["pings"], scope_unit=request.auth.unit)
    return _answer(results, flagged=sum(1 for r in results if r.flag))


@router.post(
    "/community/checkins",
    response={
        200: CheckinBatchOut,
        207: CheckinBatchOut,
        401: ErrorOut,
        413: ErrorOut,
        422: CheckinBatchOut | ErrorOut,
    },
    summary="Ingest a batch of patrol check-ins",
    description="Up to 5,000 check-ins {area (网格编码 of a key segment or area), unit_code, "
    "at}. An area outside the key's subtree answers as unknown_area. Each check-in counts as "
    "a pass (the same pass as a GPS pass of the unit within the minimum gap).",
)
def patrol_checkins_ingest_api(request):
    body, error = _batch(request, "checkins")
    if error is not None:
        return error
    return _answer(checkins_ingest(items=body["checkins"], scope_unit=request.auth.unit))
