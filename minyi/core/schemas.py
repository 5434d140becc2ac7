"""API schemas shared by every router."""

from typing import Any

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination


class ErrorOut(Schema):
    """Every answer that is not 2xx: a stable machine `code` and a human `message`."""

    code: str
    message: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


# Responses every authenticated operation may give besides its success.
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}
ERRORS_WITH_404 = {**ERRORS, 404: ErrorOut}


class Pagination(LimitOffsetPagination):
    """Limit/offset with bounds a database can hold (an offset past 2^63 is a server error on
    SQLite and PostgreSQL alike; found by Schemathesis)."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=500)
        offset: int = Field(0, ge=0, le=10_000_000)


def request_body_schema(model) -> dict:
    """`model`'s JSON schema with its `$defs` inlined. A request body schema is placed inside
    the OpenAPI document, where pydantic's `#/$defs/…` references would point at nothing, and
    clients and fuzzers would not see the nested fields."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            rest = {key: resolve(value) for key, value in node.items() if key != "$ref"}
            return {**resolve(defs[ref.removeprefix("#/$defs/")]), **rest}
        return {key: resolve(value) for key, value in node.items()}

    return resolve(schema)
