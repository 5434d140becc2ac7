"""Event ingest for integrating systems (业务系统): POST /api/v1/events."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import ValidationError

from minyi.core.jsonbody import json_body
from minyi.core.schemas import ErrorOut, request_body_schema
from minyi.orgs.api_auth import ApiKeyAuth
from minyi.perception.schemas import EventIn, printable
from minyi.perception.services.ingest import MAX_BATCH, ItemResult, events_ingest

router = Router(auth=ApiKeyAuth(), tags=["events"])


class ItemOut(Schema):
    index: int
    external_id: str
    status: str = Field(description="accepted | duplicate | rejected")
    id: int | None = None
    code: str = ""
    message: str = ""


class BatchOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    items: list[ItemOut]


BATCH_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH,
            "items": request_body_schema(EventIn),
        }
    },
}


def _validate_items(raw_items: list) -> tuple[list[dict], dict[int, ItemResult]]:
    valid, rejected = [], {}
    for index, raw in enumerate(raw_items):
        try:
            valid.append((index, EventIn.model_validate(raw).model_dump()))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            external_id = printable(raw.get("external_id", "")) if isinstance(raw, dict) else ""
            rejected[index] = ItemResult(
                index,
                external_id,
                "rejected",
                code="invalid_item",
                message=printable(f"{where}: {first['msg']}"),
            )
    return valid, rejected


@router.post(
    "/events",
    response={200: BatchOut, 207: BatchOut, 401: ErrorOut, 413: ErrorOut, 422: BatchOut | ErrorOut},
    summary="Ingest a batch of service events",
    description="Up to 5,000 events. Idempotent on (source, external_id). Each item is "
    "accepted, a duplicate (already stored: its id is returned) or rejected with a code; "
    "valid items are kept whatever the others are. 200: none rejected; 207: some rejected; "
    "422: all rejected or the body is not a batch; 413: more than 5,000 events.",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}
    },
)
def events_ingest_api(request):
    try:
        body = json_body(request.body or b"null")
    except RequestDataTooBig:
        return Status(
            413,
            {
                "code": "request_too_large",
                "message": _("请求体超过 %(mb)d MB，请分批发送。")
                % {"mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20},
            },
        )
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return Status(
            422,
            {
                "code": "malformed_batch",
                "message": _('请求体应为 JSON 对象：{"events": [...]}。'),
            },
        )
    raw_items = body["events"]
    if len(raw_items) > MAX_BATCH:
        return Status(
            413,
            {
                "code": "batch_too_large",
                "message": _("一批最多 %(max)d 条事件。") % {"max": MAX_BATCH},
            },
        )
    if not raw_items:
        return Status(422, {"code": "empty_batch", "message": _("批次中没有事件。")})
    valid, rejected = _validate_items(raw_items)
    results = events_ingest(
        items=[item for _, item in valid], scope_unit=request.auth.unit, api_key=request.auth
    )
    for (index, _item), result in zip(valid, results, strict=True):
        result.index = index
        rejected[index] = result
    items = [rejected[i] for i in range(len(raw_items))]
    counts = {
        s: sum(1 for r in items if r.status == s) for s in ("accepted", "duplicate", "rejected")
    }
    status = 200 if not counts["rejected"] else 422 if counts["rejected"] == len(items) else 207
    return Status(
        status,
        {
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
            "items": [vars(r) for r in items],
        },
    )
