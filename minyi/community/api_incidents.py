"""Incident ingest for integrating systems (警情系统): POST /api/v1/community/incidents, with an
integration key (ApiKey) scoped to its unit's subtree."""

from datetime import UTC, datetime

from django.utils.translation import pgettext
from ninja import Field, Router, Schema, Status
from pydantic import AwareDatetime, field_validator

from minyi.community.incidents import MAX_BATCH, incidents_ingest
from minyi.core.batches import NOT_TEXT, BatchOut, batch_answer, batch_read, batch_validate
from minyi.core.schemas import ErrorOut, request_body_schema
from minyi.orgs.api_auth import ApiKeyAuth

router = Router(tags=["community"])


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
        if NOT_TEXT.search(value):
            raise ValueError("contains control characters or invalid Unicode")
        return value


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
    raw_items = batch_read(
        request, key="incidents", max_items=MAX_BATCH, noun=pgettext("batch items", "警情")
    )
    if isinstance(raw_items, Status):
        return raw_items
    valid, rejected = batch_validate(raw_items, IncidentIn)
    results = incidents_ingest(items=[item for _, item in valid], scope_unit=request.auth.unit)
    return batch_answer(len(raw_items), valid, results, rejected)
