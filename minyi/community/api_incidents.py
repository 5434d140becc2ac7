"""Incident ingest for integrating systems (警情系统): POST /api/v1/community/incidents, with an
integration key (ApiKey) scoped to its unit's subtree."""

import re
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import AwareDatetime, ValidationError, field_validator

from minyi.community.incidents import MAX_BATCH, ItemResult, incidents_ingest
from minyi.core.jsonbody import json_body
from minyi.core.schemas import ErrorOut, request_body_schema
from minyi.orgs.api_auth import ApiKeyAuth
from minyi.perception.schemas import printable

router = Router(tags=["community"])

# JSON can carry lone surrogates and NUL, which no database stores as text.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class IncidentIn(Schema):
    source: str = Field(min_length=1, max_length=20, description="Sending system, e.g. 110jcj")
    external_id: str = Field(min_length=1, max_length=64, description="警情编号")
    category: str = Field(
        min_length=1, max_length=20, description="IncidentCategory value or its Chinese label"
    )
    occurred_at: AwareDatetime
    area: str = Field(min_length=1, max_length=40, description="GridArea code (网格编码)")
    lng: float | None = Field(None, description="WGS84 longitude, inside China")
    lat: float | None = Field(None, description="WGS84 latitude, inside China")

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        if not 2000 <= value.astimezone(UTC).year <= 2100:
            raise ValueError("must be between the years 2000 and 2100")
        return value

    @field_validator("source", "external_id", "category", "area")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if _NOT_TEXT.search(value):
            raise ValueError("contains control characters or invalid Unicode")
        return value


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
    "required": ["incidents"],
    "properties": {
        "incidents": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH,
            "items": request_body_schema(IncidentIn),
        }
    },
}


def _validate_items(raw_items: list) -> tuple[list[tuple[int, dict]], dict[int, ItemResult]]:
    valid, rejected = [], {}
    for index, raw in enumerate(raw_items):
        try:
            valid.append((index, IncidentIn.model_validate(raw).model_dump()))
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


def _error(status: int, code: str, message: str):
    return Status(status, {"code": code, "message": message})


@router.post(
    "/community/incidents",
    auth=ApiKeyAuth(),
    response={200: BatchOut, 207: BatchOut, 401: ErrorOut, 413: ErrorOut, 422: BatchOut | ErrorOut},
    summary="Ingest a batch of incidents (警情)",
    description="Up to 1,000 incidents, each attributed to a grid area (building, road "
    "segment, resident group or community) inside the key's subtree. Idempotent on (source, "
    "external_id): a repeat is a duplicate with the stored id. Each item is accepted, a "
    "duplicate or rejected with a code (invalid_item, unknown_area, area_out_of_scope, "
    "invalid_category, occurred_in_future, incomplete_location, location_outside_china); "
    "valid items are kept whatever the others are. 200: none rejected; 207: some rejected; "
    "422: all rejected or the body is not a batch; 413: more than 1,000 incidents.",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}
    },
)
def community_incidents_ingest_api(request):
    try:
        body = json_body(request.body or b"null")
    except RequestDataTooBig:
        return _error(
            413,
            "request_too_large",
            _("请求体超过 %(mb)d MB，请分批发送。")
            % {"mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20},
        )
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("incidents"), list):
        return _error(422, "malformed_batch", _('请求体应为 JSON 对象：{"incidents": [...]}。'))
    raw_items = body["incidents"]
    if len(raw_items) > MAX_BATCH:
        return _error(413, "batch_too_large", _("一批最多 %(max)d 条警情。") % {"max": MAX_BATCH})
    if not raw_items:
        return _error(422, "empty_batch", _("批次中没有警情。"))
    valid, rejected = _validate_items(raw_items)
    results = incidents_ingest(items=[item for _, item in valid], scope_unit=request.auth.unit)
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
