"""Batches from integrating systems (业务系统): one shape of request and answer for every ingest
API (service events, incidents, patrol pings), written once.

A request is a JSON object holding one list (`{"events": [...]}`); the answer counts the items
accepted, duplicated (already stored: the stored id is returned) and rejected (with a machine
code and a message), and lists each. 200 when none was rejected, 207 when some were, 422 when
all were or the body is not a batch, 413 when it is too big.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status
from ninja.responses import NinjaJSONEncoder
from pydantic import ValidationError

from minyi.core.jsonbody import json_body

# JSON can carry lone surrogates and NUL, which no database stores as text.
NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def printable(value) -> str:
    """For echoing a rejected item's id back: never fails to encode."""
    return NOT_TEXT.sub("\ufffd", str(value))[:80]


@dataclass
class ItemResult:
    index: int
    external_id: str
    status: str  # accepted / duplicate / rejected
    id: int | None = None
    code: str = ""
    message: str = ""


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


def _error(status: int, code: str, message) -> Status:
    return Status(status, {"code": code, "message": message})


def batch_read(request, *, key: str, max_items: int, noun: str) -> list | Status:
    """The batch's raw items, or the Status refusing the request: too big, not a batch, too
    many items (`noun` names them in the message: 事件, 警情…), none."""
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
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        return _error(
            422, "malformed_batch", _('请求体应为 JSON 对象：{"%(key)s": [...]}。') % {"key": key}
        )
    raw_items = body[key]
    if len(raw_items) > max_items:
        return _error(
            413,
            "batch_too_large",
            _("一批最多 %(max)d 条%(noun)s。") % {"max": max_items, "noun": noun},
        )
    if not raw_items:
        return _error(422, "empty_batch", _("批次中没有%(noun)s。") % {"noun": noun})
    return raw_items


def batch_validate(raw_items: list, schema) -> tuple[list[tuple[int, dict]], dict[int, ItemResult]]:
    """(index, item) of the items `schema` accepts, and the rejection of each other item
    (invalid_item, naming the first field at fault)."""
    valid, rejected = [], {}
    for index, raw in enumerate(raw_items):
        try:
            valid.append((index, schema.model_validate(raw).model_dump()))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = f"{where}: {first['msg']}" if where else first["msg"]  # not an object
            external_id = printable(raw.get("external_id", "")) if isinstance(raw, dict) else ""
            rejected[index] = ItemResult(
                index,
                external_id,
                "rejected",
                code="invalid_item",
                message=printable(message),
            )
    return valid, rejected


def batch_answer(count: int, valid: list, results: list, rejected: dict) -> HttpResponse:
    """The answer to a batch of `count` items: the service's `results` for the `valid` ones
    (in order), merged with the items `batch_validate` rejected. Rendered here, in BatchOut's
    shape, rather than returned for ninja to check against BatchOut: re-validating 5,000 items
    that this function builds cost a third as much as storing them (tests hold the shape)."""
    for (index, _item), result in zip(valid, results, strict=True):
        result.index = index
        rejected[index] = result
    items = [rejected[i] for i in range(count)]
    counts = Counter(r.status for r in items)
    status = 200 if not counts["rejected"] else 422 if counts["rejected"] == len(items) else 207
    body = {
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
        "items": [vars(r) for r in items],
    }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, cls=NinjaJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )
