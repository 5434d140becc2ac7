"""Case ingest for the bureau's case system (阳光警务): POST /api/v1/cases and
POST /api/v1/cases/{number}/progress, with an integration key (X-API-Key) whose unit's
subtree is the scope. Answers never carry an ID number or a mobile."""

from django.utils.translation import gettext as _
from ninja import Router, Status
from pydantic import BaseModel, ValidationError

from minyi.cases.schemas import CaseErrorOut, CaseIn, CaseOut, ProgressIn, ProgressOut
from minyi.cases.services import case_progress_add, case_upsert
from minyi.core.errors import ApplicationError
from minyi.core.jsonbody import json_body
from minyi.core.schemas import request_body_schema
from minyi.orgs.api_auth import ApiKeyAuth

router = Router(auth=ApiKeyAuth(), tags=["cases"])

ERRORS = {400: CaseErrorOut, 401: CaseErrorOut, 404: CaseErrorOut, 422: CaseErrorOut}


def _where(loc) -> str:
    """pydantic's ("parties", 0, "id_number") as the services write it: parties[0].id_number"""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _unstorable(value, where: str = "") -> str | None:
    """Where in `value` a string holds a NUL or a lone surrogate (neither can be stored)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where
        return where if "\x00" in value else None
    if isinstance(value, (dict, list)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            part = f"[{key}]" if isinstance(key, int) else (f".{key}" if where else str(key))
            found = _unstorable(item, where + part)
            if found is not None:
                return found
    return None


def _refuse_unstorable(value) -> None:
    where = _unstorable(value)
    if where is not None:
        raise ApplicationError(
            "invalid_text",
            _("字段 %(field)s 含有无法保存的字符。") % {"field": where or "number"},
            field=where or "number",
            status=422,
        )


def _body(request, schema: type[BaseModel]) -> dict:
    """The JSON body checked against `schema`, or a 422 naming the first field at fault.
    pydantic's own error carries the input, which may be an ID number: it is not passed on.
    Only the fields sent are returned: a flag left out of an update must stay as it is, not
    fall back to the schema's default (a confidential case would turn public)."""
    try:
        raw = json_body(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raw = None
    if not isinstance(raw, dict):
        raise ApplicationError("malformed_body", _("请求体应为 JSON 对象。"), status=422)
    _refuse_unstorable(raw)
    try:
        return schema.model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = _where(first["loc"])
        message = (
            _("缺少字段 %(field)s。")
            if first["type"] == "missing"
            else _("字段 %(field)s 的类型不正确。")
        )
        raise ApplicationError(
            "invalid_field", message % {"field": where}, field=where, status=422
        ) from None


def _source(request) -> str:
    return f"api:{request.auth.name}"[:60]


@router.post(
    "/cases",
    response={200: CaseOut, 201: CaseOut, **ERRORS},
    url_name="cases_upsert_api",
    summary="Create or update a case with its parties and progress steps",
    description="Upsert on `number`. 201 when the case is new, 200 when it was updated. Steps "
    "are idempotent on `external_id`; the newest new step is pushed to the parties by SMS "
    "(never for a confidential or private case). `confidential` and `private` left out of "
    "an update keep their stored values (a new case without them is public). The key's unit "
    "subtree must contain `unit_code` (and the case's current unit). Errors: 400 a rule "
    "(bad ID checksum, unknown stage, 不予立案 without a reason, unit outside the key's "
    "scope), 422 a field missing or of the wrong type.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": request_body_schema(CaseIn)}},
        }
    },
)
def cases_upsert_api(request):
    data = _body(request, CaseIn)
    case, created = case_upsert(scope=request.auth.unit, data=data, source=_source(request))
    return Status(
        201 if created else 200, {"number": case.number, "stage": case.stage, "created": created}
    )


@router.post(
    "/cases/{number}/progress",
    response={200: ProgressOut, 201: ProgressOut, **ERRORS},
    url_name="cases_progress_add_api",
    summary="Add one progress step to a case",
    description="201 when the step is new (and pushed by SMS to the parties who want it), "
    "200 when a step with this `external_id` was already on the case. 404 when the case "
    "does not exist or is outside the key's scope.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": request_body_schema(ProgressIn)}},
        }
    },
)
def cases_progress_add_api(request, number: str):
    step = _body(request, ProgressIn)
    _refuse_unstorable(number)
    case, progress = case_progress_add(
        scope=request.auth.unit, number=number, step=step, source=_source(request)
    )
    return Status(
        201 if progress is not None else 200,
        {
            "number": case.number,
            "stage": case.stage,
            "external_id": step["external_id"],
            "created": progress is not None,
        },
    )
