"""The shape of a service event as business systems send it (API and CSV alike)."""

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from minyi.core.batches import NOT_TEXT as _NOT_TEXT


# A plain pydantic model, not a ninja Schema: it only ever reads JSON objects, and ninja's
# wrapper for reading ORM objects tripled the cost of checking a 5,000-event batch. (No class
# docstring: pydantic would put it in the API's published schema.)
class EventIn(BaseModel):
    source: str = Field(min_length=1, max_length=40, description="Sending system, e.g. 110jcj")
    external_id: str = Field(min_length=1, max_length=80, description="Its id for the contact")
    business_type: str = Field(min_length=1, max_length=40, description="BusinessType code")
    unit: str = Field(min_length=1, max_length=20, description="OrgUnit code")
    officers: list[str] = Field(default_factory=list, max_length=20, description="警号")
    citizen_mobile: str = Field("", max_length=20)
    occurred_at: AwareDatetime

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        if not 2000 <= value.year <= 2100 or not 2000 <= value.astimezone(UTC).year <= 2100:
            raise ValueError("must be between the years 2000 and 2100")
        return value

    @field_validator("source", "external_id", "business_type", "unit", "citizen_mobile")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if _NOT_TEXT.search(value):
            raise ValueError("contains control characters or invalid Unicode")
        return value

    @field_validator("officers")
    @classmethod
    def _plain_numbers(cls, values: list[str]) -> list[str]:
        if any(_NOT_TEXT.search(v) for v in values):
            raise ValueError("contains control characters or invalid Unicode")
        return values
