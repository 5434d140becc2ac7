from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.security import django_auth

from minyi.core.errors import PermissionDenied
from minyi.core.schemas import ERRORS, ERRORS_WITH_404, Pagination
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import (
    officer_get_visible,
    officer_list_visible_to,
    orgunit_get_visible,
    orgunit_list_visible_to,
)

router = Router(auth=django_auth, tags=["organisation"])


def require(request, perm: str) -> None:
    if not has_perm(request.user, perm):
        raise PermissionDenied()


class UnitOut(Schema):
    id: int
    name: str
    short_name: str
    code: str
    kind: str
    depth: int
    parent_id: int | None = None
    duty_phone: str
    has_perception_centre: bool


class OfficerOut(Schema):
    id: int
    police_number: str
    name: str
    unit_id: int
    unit_name: str = Field(alias="unit.name")
    position: str
    is_public: bool
    duty_phone: str
    communities: str
    mobile_masked: str


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    unit: UnitOut | None


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The signed-in account")
def me(request):
    return request.user


@router.get("/org-units", response={200: list[UnitOut], **ERRORS}, summary="Units in my subtree")
@paginate(Pagination)
def org_units_list(request):
    require(request, Perm.ORG_VIEW)
    return orgunit_list_visible_to(request.user)


@router.get(
    "/org-units/{unit_id}",
    response={200: UnitOut, **ERRORS_WITH_404},
    summary="One unit in my subtree",
)
def org_units_get(request, unit_id: int):
    require(request, Perm.ORG_VIEW)
    return orgunit_get_visible(request.user, unit_id)


@router.get(
    "/officers",
    response={200: list[OfficerOut], **ERRORS_WITH_404},
    summary="Officers in my subtree",
)
@paginate(Pagination)
def officers_list(request, q: str = "", unit_id: int | None = None):
    require(request, Perm.OFFICER_VIEW)
    unit = orgunit_get_visible(request.user, unit_id) if unit_id else None
    return officer_list_visible_to(request.user, search=q[:50], unit=unit)


@router.get(
    "/officers/{officer_id}", response={200: OfficerOut, **ERRORS_WITH_404}, summary="One officer"
)
def officers_get(request, officer_id: int):
    require(request, Perm.OFFICER_VIEW)
    return officer_get_visible(request.user, officer_id)
