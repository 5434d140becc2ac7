"""The shapes of the case API (/api/v1/cases). They check types only; every rule (ID checksum,
stage names, the reason for 不予立案, the unit's scope) is the service's."""

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str = Field("party", description="reporter (报案人) | victim (被害人) | party (当事人)")
    name: str
    id_number: str = Field(description="18-character resident ID number, checksum verified")
    mobile: str = Field("", description="Mainland mobile; needed for lookups and SMS")
    notify: bool = Field(True, description="Push progress to this party by SMS")


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stage: str = Field(
        description="received | filed | investigating | solved | prosecution | closed | "
        "not_filed (needs the reason in note)"
    )
    occurred_at: str = Field(description="ISO 8601, e.g. 2026-11-24T09:30:00+08:00")
    note: str = Field("", description="Shown to the parties; the reason for not_filed")
    external_id: str = Field(description="The step's id in the case system (idempotency)")
    notify: bool = True


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    number: str
    case_type: str
    unit_code: str
    officer_police_number: str = ""
    confidential: bool = Field(
        False, description="涉密. Left out of an update: unchanged; of a new case: false"
    )
    private: bool = Field(
        False, description="涉及隐私. Left out of an update: unchanged; of a new case: false"
    )
    parties: list[PartyIn] = []
    progress: list[ProgressIn] = []


class CaseOut(Schema):
    number: str
    stage: str
    created: bool


class ProgressOut(Schema):
    number: str
    stage: str = Field(description="The case's current stage after this step")
    external_id: str
    created: bool = Field(description="False when the step was already there (idempotent)")


class CaseErrorOut(Schema):
    code: str
    message: str
    field: str | None = None
