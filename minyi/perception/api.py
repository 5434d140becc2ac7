"""Event ingest for integrating systems (业务系统): POST /api/v1/events."""

from django.utils.translation import pgettext
from ninja import Router, Status

from minyi.core.batches import BatchOut, batch_answer, batch_read, batch_validate
from minyi.core.schemas import ErrorOut, request_body_schema
from minyi.orgs.api_auth import ApiKeyAuth
from minyi.perception.schemas import EventIn
from minyi.perception.services.ingest import MAX_BATCH, events_ingest

router = Router(auth=ApiKeyAuth(), tags=["events"])


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
    raw_items = batch_read(
        request, key="events", max_items=MAX_BATCH, noun=pgettext("batch items", "事件")
    )
    if isinstance(raw_items, Status):
        return raw_items
    valid, rejected = batch_validate(raw_items, EventIn)
    results = events_ingest(
        items=[item for _, item in valid], scope_unit=request.auth.unit, api_key=request.auth
    )
    return batch_answer(len(raw_items), valid, results, rejected)
