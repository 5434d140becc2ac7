"""Reads of the grid (网格), always scoped to the user's subtree by the area's station
(`GridArea.station`): outside it an area does not exist. Every page, export and API of
community safety starts from these."""

from django.db.models import Q, QuerySet

from minyi.community.access import GRID_VIEW
from minyi.community.models import AreaLevel, GridArea
from minyi.core.errors import NotFound
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import scope_q


def area_scope_q(user, prefix: str = "") -> Q:
    """Q restricting rows whose area is reached through `prefix` ("" for GridArea itself,
    "area__" for an incident, a visit…) to the areas of `user`'s subtree."""
    if not user.is_superuser and not has_perm(user, GRID_VIEW):
        return Q(pk__in=[])
    return scope_q(user, f"{prefix}station__")


def areas_visible_to(user) -> QuerySet[GridArea]:
    return GridArea.objects.filter(area_scope_q(user))


def communities_visible_to(user) -> QuerySet[GridArea]:
    return areas_visible_to(user).filter(level=AreaLevel.COMMUNITY).order_by("code")


def area_get_visible_to(user, pk) -> GridArea:
    area = areas_visible_to(user).filter(pk=pk).select_related("station", "parent").first()
    if area is None:
        raise NotFound()
    return area
