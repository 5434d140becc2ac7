"""Incidents (警情), issue 16 item 2: criminal incidents attributed to an area of the grid, in
by file (staff import, minyi.core.imports) and by API (integrating systems, an ApiKey scoped
to a unit's subtree). Both go through `incidents_ingest`: idempotent on (source,
external_id), each item accepted, a duplicate (its stored id returned) or rejected with a
machine code; valid items are kept whatever the others are (the file import, by the project's
import rules, keeps nothing when any row is bad, and says which rows).

Reads: counts by month and category for every grid viewer; exact times and places only for
roles with INCIDENT_LOCATION (`incident_points_visible_to`)."""

import math
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.community.access import INCIDENT_LOCATION
from minyi.community.colours import month_add, month_start
from minyi.community.models import AreaLevel, GridArea, Incident, IncidentCategory
from minyi.community.selectors import area_scope_q
from minyi.core.batches import ItemResult
from minyi.core.errors import ApplicationError
from minyi.core.imports import (
    Column,
    ImportReport,
    Progress,
    Row,
    Table,
    cell_datetime,
    cell_number,
    ingest_rows,
    rows_import,
)
from minyi.core.masking import mask_text
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import orgunit_root_for

MAX_BATCH = 1000
FILE_SOURCE = "file"
# Mainland China, Hainan and the southern islands, roughly: a point outside is a typo
# (lng and lat swapped, a missing digit), not an incident here.
CHINA_LNG = (73.4, 135.1)
CHINA_LAT = (3.8, 53.6)
FUTURE_SLACK = timedelta(minutes=10)

COLUMNS = [
    Column("external_id", "警情编号", aliases=("编号", "接警编号")),
    Column("category", "类别", aliases=("警情类别", "案件类别")),
    Column("occurred_at", "发生时间", aliases=("案发时间",)),
    Column("area_code", "网格编码", aliases=("网格", "area")),
    Column("lng", "经度", required=False),
    Column("lat", "纬度", required=False),
]
_CATEGORIES = {
    **{value: value for value in IncidentCategory.values},
    **{str(label): value for value, label in IncidentCategory.choices},
}


# --- Checking one incident --------------------------------------------------------------------


def category_parse(text: str, *, column: str = "category") -> str:
    value = _CATEGORIES.get(str(text).strip())
    if value is None:
        raise ApplicationError(
            "invalid_category",
            _("“%(text)s”不是有效的警情类别，应填：%(labels)s。")
            % {"text": str(text)[:20], "labels": "、".join(str(c.label) for c in IncidentCategory)},
            field=column,
        )
    return value


def location_check(lng, lat) -> tuple[float | None, float | None]:
    """Both coordinates or neither; inside China."""
    if lng is None and lat is None:
        return None, None
    if lng is None or lat is None:
        raise ApplicationError(
            "incomplete_location", _("经度和纬度要么都填，要么都不填。"), field="lng"
        )
    if not (math.isfinite(lng) and math.isfinite(lat)):
        raise ApplicationError("invalid_location", _("经纬度不是有效的数字。"), field="lng")
    if not (CHINA_LNG[0] <= lng <= CHINA_LNG[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]):
        raise ApplicationError(
            "location_outside_china",
            _("经纬度（%(lng)s, %(lat)s）不在中国境内：请检查是否填反或少了位数。")
            % {"lng": lng, "lat": lat},
            field="lng" if not CHINA_LNG[0] <= lng <= CHINA_LNG[1] else "lat",
        )
    return float(lng), float(lat)


class AreaCodes:
    """Grid areas by code, and whether each lies in the importer's (or the key's) subtree."""

    def __init__(self, codes, *, scope: OrgUnit | None):
        self.scope = scope
        self.areas = {
            a.code: a
            for a in GridArea.objects.filter(code__in=set(codes))
            .select_related("station")
            .only("pk", "code", "name", "level", "community_id", "station__path")
        }

    def get(self, code: str, *, column: str = "area_code") -> GridArea:
        if not code:
            raise ApplicationError("area_required", _("网格编码不能为空。"), field=column)
        area = self.areas.get(code)
        if area is None:
            raise ApplicationError(
                "unknown_area",
                _("网格编码“%(code)s”不存在：请先导入该楼栋、路段或社区。") % {"code": code[:40]},
                field=column,
            )
        if self.scope is not None and not self.scope.contains(area.station):
            raise ApplicationError(
                "area_out_of_scope",
                _("网格“%(code)s”不在授权范围内。") % {"code": code[:40]},
                field=column,
            )
        return area


def _reject(index: int, external_id, exc: ApplicationError) -> ItemResult:
    return ItemResult(
        index,
        str(external_id)[:80],
        "rejected",
        code=exc.code,
        message=mask_text(str(exc.message)),
    )


# --- Storing -----------------------------------------------------------------------------------


def incidents_ingest(
    *, items: list[dict], scope_unit: OrgUnit | None, import_file=None, now=None
) -> list[ItemResult]:
    """Store a batch of incidents. Each item: source, external_id, category (value or Chinese
    label), occurred_at (aware datetime; naive is read as local time), area (grid code),
    lng/lat (optional). Idempotent on (source, external_id); `scope_unit` limits the areas
    (None: all)."""
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            "batch_too_large", _("一批最多 %(max)d 条警情。") % {"max": MAX_BATCH}, status=413
        )
    now = now or timezone.now()
    areas = AreaCodes((str(i.get("area", "")) for i in items), scope=scope_unit)
    keys = {(str(i.get("source", "")), str(i.get("external_id", ""))) for i in items}
    existing = {
        (s, e): (pk, path)
        for s, e, pk, path in Incident.objects.filter(
            source__in={k[0] for k in keys}, external_id__in={k[1] for k in keys}
        ).values_list("source", "external_id", "id", "area__station__path")
        if (s, e) in keys
    }
    results: list[ItemResult] = []
    new: list[tuple[ItemResult, Incident]] = []
    seen: dict[tuple[str, str], ItemResult] = {}
    repeats: list[tuple[ItemResult, ItemResult]] = []  # (a repeat in the batch, its first)
    for index, item in enumerate(items):
        key = (str(item.get("source", "")), str(item.get("external_id", "")))
        try:
            # Scope first: a key must not learn whether another subtree's incident exists.
            area = areas.get(str(item.get("area", "")), column="area")
            if key in existing:
                stored_id, stored_path = existing[key]
                if scope_unit is not None and not stored_path.startswith(scope_unit.path):
                    raise ApplicationError(
                        "area_out_of_scope",
                        _("网格“%(code)s”不在授权范围内。") % {"code": area.code},
                    )
                results.append(ItemResult(index, key[1], "duplicate", id=stored_id))
                continue
            if key in seen:
                repeat = ItemResult(index, key[1], "duplicate")
                repeats.append((repeat, seen[key]))
                results.append(repeat)
                continue
            if not key[0] or not key[1]:
                raise ApplicationError(
                    "external_id_required", _("来源和警情编号不能为空。"), field="external_id"
                )
            category = category_parse(item.get("category", ""))
            occurred_at = item.get("occurred_at")
            if not isinstance(occurred_at, datetime):
                raise ApplicationError(
                    "invalid_time", _("发生时间格式不正确。"), field="occurred_at"
                )
            if timezone.is_naive(occurred_at):
                occurred_at = timezone.make_aware(occurred_at)
            if occurred_at > now + FUTURE_SLACK:
                raise ApplicationError(
                    "occurred_in_future", _("发生时间晚于当前时间。"), field="occurred_at"
                )
            lng, lat = location_check(item.get("lng"), item.get("lat"))
        except ApplicationError as exc:
            results.append(_reject(index, key[1], exc))
            continue
        result = ItemResult(index, key[1], "accepted")
        seen[key] = result
        results.append(result)
        new.append(
            (
                result,
                Incident(
                    area=area,
                    community_id=area.community_id or area.pk,
                    category=category,
                    occurred_at=occurred_at,
                    lng=lng,
                    lat=lat,
                    source=key[0],
                    external_id=key[1],
                    import_file=import_file,
                    created_at=now,
                ),
            )
        )
    if new:
        _store(new)
    for repeat, first in repeats:
        repeat.id = first.id
    return results


def _store(new: list[tuple[ItemResult, Incident]]) -> None:
    try:
        with transaction.atomic():
            created = Incident.objects.bulk_create([incident for _r, incident in new])
            for (result, _incident), row in zip(new, created, strict=True):
                result.id = row.pk
    except IntegrityError:
        # Another request stored some of these a moment ago: one by one, the late ones
        # answered as duplicates.
        for result, incident in new:
            try:
                with transaction.atomic():
                    incident.pk = None
                    incident.save()
                    result.id = incident.pk
            except IntegrityError:
                result.status = "duplicate"
                result.id = (
                    Incident.objects.filter(
                        source=incident.source, external_id=incident.external_id
                    )
                    .values_list("pk", flat=True)
                    .first()
                )


# --- The file import ---------------------------------------------------------------------------

# Which column a rejection from the ingest belongs to.
INGEST_COLUMNS = {
    "unknown_area": "area_code",
    "area_out_of_scope": "area_code",
    "area_required": "area_code",
    "invalid_category": "category",
    "occurred_in_future": "occurred_at",
    "invalid_time": "occurred_at",
    "incomplete_location": "lng",
    "invalid_location": "lng",
    "location_outside_china": "lng",
    "external_id_required": "external_id",
}


def _coordinate(text: str, *, column: str) -> float | None:
    return cell_number(text, column=column) if text else None


def incident_checker(*, scope: OrgUnit | None, table: Table):
    areas = AreaCodes((row.cells.get("area_code", "") for row in table.rows), scope=scope)

    def check_row(row: Row) -> dict:
        cell = row.cells
        external_id = cell["external_id"]
        if not external_id:
            raise ApplicationError(
                "external_id_required", _("警情编号不能为空。"), field="external_id"
            )
        if len(external_id) > 64:
            raise ApplicationError(
                "external_id_too_long", _("警情编号不能超过 64 个字符。"), field="external_id"
            )
        area = areas.get(cell["area_code"])
        lng = _coordinate(cell.get("lng", ""), column="lng")
        lat = _coordinate(cell.get("lat", ""), column="lat")
        location_check(lng, lat)
        return {
            "source": FILE_SOURCE,
            "external_id": external_id,
            "category": category_parse(cell["category"]),
            "occurred_at": cell_datetime(cell["occurred_at"], column="occurred_at"),
            "area": area.code,
            "lng": lng,
            "lat": lat,
        }

    return check_row


def incidents_import(
    *, actor, table: Table, progress: Progress | None = None, now=None
) -> ImportReport:
    """Import the incidents of `table` within the actor's subtree, all or nothing (a row
    already stored is a duplicate, not an error)."""
    if not actor.is_superuser and actor.unit_id is None:
        raise PermissionDenied()
    scope = None if actor.is_superuser else orgunit_root_for(actor)

    def store(checked):
        return ingest_rows(
            table,
            checked,
            ingest=lambda items: incidents_ingest(items=items, scope_unit=scope, now=now),
            chunk=MAX_BATCH,
            columns=INGEST_COLUMNS,
        )

    return rows_import(
        table=table,
        check_row=incident_checker(scope=scope, table=table),
        store=store,
        progress=progress,
    )


# --- Reads -------------------------------------------------------------------------------------


def _area_incidents_q(area: GridArea) -> Q:
    if area.level == AreaLevel.COMMUNITY:
        return Q(community=area)
    return Q(area=area) | Q(area__parent=area)


def incidents_visible_to(user) -> QuerySet[Incident]:
    return Incident.objects.filter(area_scope_q(user, "area__"))


def incident_counts(user, area: GridArea, *, last_month: date) -> dict:
    """Counts by month and category over the 12 months ending with `last_month`, for an area
    `user` sees (the caller got it from `area_get_visible_to`).

    Below community level a month and a category in one building, road segment or resident
    group come close to naming an incident (place, month, kind): without INCIDENT_LOCATION
    the counts are the area's community's instead (`counted` says whose, `folded` that they
    were folded up); with it, the area's own."""
    folded = area.level != AreaLevel.COMMUNITY and not has_perm(user, INCIDENT_LOCATION)
    if folded:
        area = area.community
    first = month_add(month_start(last_month), -11)
    end = month_add(month_start(last_month), 1)
    tz = timezone.get_current_timezone()
    rows = (
        incidents_visible_to(user)
        .filter(
            _area_incidents_q(area),
            occurred_at__gte=timezone.make_aware(datetime(first.year, first.month, 1)),
            occurred_at__lt=timezone.make_aware(datetime(end.year, end.month, 1)),
        )
        .annotate(month=TruncMonth("occurred_at", tzinfo=tz))
        .values("month", "category")
        .annotate(n=Count("id"))
    )
    months = [month_add(first, i) for i in range(12)]
    table = {m: {c: 0 for c in IncidentCategory.values} for m in months}
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, datetime) else month
        if month in table:
            table[month][row["category"]] += row["n"]
    by_category = {c: sum(table[m][c] for m in months) for c in IncidentCategory.values}
    return {
        "months": [
            {
                "month": m,
                "cells": [table[m][c] for c in IncidentCategory.values],
                "total": sum(table[m].values()),
            }
            for m in months
        ],
        "categories": [(c.value, c.label) for c in IncidentCategory],
        "by_category": [by_category[c] for c in IncidentCategory.values],
        "total": sum(by_category.values()),
        "counted": area,
        "folded": folded,
    }


def incident_points_visible_to(user, area: GridArea) -> QuerySet[Incident]:
    """The exact incidents of an area (times, places): INCIDENT_LOCATION only."""
    if not user.is_superuser and not has_perm(user, INCIDENT_LOCATION):
        return Incident.objects.none()
    return (
        incidents_visible_to(user)
        .filter(_area_incidents_q(area))
        .select_related("area")
        .order_by("-occurred_at", "-pk")
    )
