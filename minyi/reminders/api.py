"""The reminders API: due items (到期事项) pushed by business systems, POST
/api/v1/reminders/items with an integration key (ApiKey) scoped to its unit's subtree."""

from datetime import date

from django.utils.translation import pgettext
from ninja import Field, Router, Schema, Status
from pydantic import field_validator

from minyi.core.batches import NOT_TEXT, BatchOut, batch_answer, batch_read, batch_validate
from minyi.core.schemas import ErrorOut, request_body_schema
from minyi.orgs.api_auth import ApiKeyAuth
from minyi.reminders.items import MAX_BATCH, items_ingest

router = Router(tags=["reminders"])


class DueItemIn(Schema):
    source: str = Field(min_length=1, max_length=20, description="Sending system, e.g. jgj")
    external_id: str = Field(min_length=1, max_length=64, description="The item's id there")
    kind: str = Field(
        min_length=1,
        max_length=20,
        description="vehicle_inspection | licence_renewal | id_expiry | unpaid_violation, "
        "or its Chinese label",
    )
    unit: str = Field(min_length=1, max_length=20, description="OrgUnit code (单位代码)")
    mobile: str = Field(min_length=1, max_length=20, description="The citizen's mobile")
    item: str = Field(
        min_length=1,
        max_length=60,
        description="What the reminder names: a plate, licence or ID number (masked on "
        "receipt: 浙D·***12, 尾号1234)",
    )
    due_date: date

    @field_validator("source", "external_id", "kind", "unit", "mobile", "item")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if NOT_TEXT.search(value):
            raise ValueError("contains control characters or invalid Unicode")
        return value


BATCH_SCHEMA = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH,
            "items": request_body_schema(DueItemIn),
        }
    },
}


@router.post(
    "/reminders/items",
    auth=ApiKeyAuth(),
    url_name="reminder_items_ingest_api",
    response={200: BatchOut, 207: BatchOut, 401: ErrorOut, 413: ErrorOut, 422: BatchOut | ErrorOut},
    summary="Ingest a batch of due items (到期事项) for service reminders",
    description="Up to 1,000 due items, each of a unit inside the key's subtree. Idempotent "
    "on (source, external_id): a repeat is a duplicate with the stored id (the stored item is "
    "kept as it was). Each item is accepted, a duplicate or rejected with a code "
    "(invalid_item, invalid_kind, unknown_unit, unit_out_of_scope, invalid_mobile, "
    "due_date_past, due_date_too_far); valid items are kept whatever the others are. 200: "
    "none rejected; 207: some rejected; 422: all rejected or the body is not a batch; 413: "
    "more than 1,000 items.",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}
    },
)
def reminder_items_ingest_api(request):
    raw_items = batch_read(
        request, key="items", max_items=MAX_BATCH, noun=pgettext("batch items", "到期事项")
    )
    if isinstance(raw_items, Status):
        return raw_items
    valid, rejected = batch_validate(raw_items, DueItemIn)
    results = items_ingest(items=[item for _, item in valid], scope_unit=request.auth.unit)
    return batch_answer(len(raw_items), valid, results, rejected)
