"""The grid (网格) of community safety: importing its areas (导入网格) and their monthly
population (人口导入), and the reads its pages draw (the tree, the map's GeoJSON).

Files follow minyi.core.imports (CSV or .xlsx, headers by field or Chinese name, every bad row
reported, all or nothing, the file kept as a core.ImportFile, preview, then confirm). A grid
may also come as a GeoJSON FeatureCollection: each feature's `properties` hold the same
columns and its `geometry` the boundary; a feature's "row" is its number in the file (from 1).

What makes a grid row bad (each refused with a Chinese message naming the area's code):
- a code twice in the file, or already used by an area outside the importer's subtree;
- a level that is not 社区/居民小组/楼栋/路段; a community with a parent, any other level
  without one; a parent neither in the file nor among the importer's areas; a parent of a
  level the child may not hang under (models.PARENT_LEVELS);
- a station (派出所代码) that is not a police station of the importer's subtree, or that
  differs from the parent's: an area and everything under it belong to ONE station;
- a geometry of the wrong type for the level (community, group: Polygon/MultiPolygon;
  building: those or a Point; segment: LineString/MultiLineString), with coordinates outside
  China (lng 73–136, lat 3–54), or an invalid polygon (self-intersecting "bow-tie", unclosed
  ring…), as shapely (GEOS) judges it;
- households not a whole number, 重点 not 是/否, 重点时段 not like "7-9,17-19".

A code already stored (and in the importer's subtree) is updated: importing a file twice
changes nothing the second time. An area that already has children keeps its level and its
station (changing them would strand the children).

Who: `GRID_MANAGE` (access.py); the station must lie in the importer's subtree.
"""

import itertools
import json
import math
import re
from collections import defaultdict
from datetime import date, datetime

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.validation import explain_validity

from minyi.community.access import GRID_MANAGE
from minyi.community.models import (
    PARENT_LEVELS,
    AreaColour,
    AreaLevel,
    AreaPopulation,
    GridArea,
)
from minyi.community.selectors import areas_visible_to
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.imports import (
    MAX_ROWS,
    UTF8,
    Column,
    ImportReport,
    Preview,
    Progress,
    Row,
    RowError,
    Table,
    import_file_run,
    import_file_start,
    import_file_store,
    import_preview,
    rows_import,
    table_read,
)
from minyi.core.masking import mask_text
from minyi.core.models import ImportFile
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import (
    import_file_get_visible,
    import_files_visible_to,
    orgunit_root_for,
)

KIND_GRID = "community_grid"
KIND_POPULATION = "community_population"
IMPORT_KINDS = (KIND_GRID, KIND_POPULATION)
# Boundaries make GeoJSON files large: a city's grid with building outlines is ~10 MB.
MAX_BYTES = 20 * 2**20
PREVIEW_ROWS = 20

# China's extent (WGS84), generous: a coordinate outside it is a typo or swapped lng/lat.
LNG_MIN, LNG_MAX = 73.0, 136.0
LAT_MIN, LAT_MAX = 3.0, 54.0

GRID_COLUMNS = [
    Column("code", "网格编码", ("编码", "网格代码", "网格编号")),
    Column("name", "名称", ("网格名称",)),
    Column("level", "层级", ("网格层级", "类型")),
    Column("parent_code", "上级编码", ("上级网格编码", "上级网格"), required=False),
    Column("station_code", "派出所代码", ("派出所编码", "所属派出所代码", "单位代码")),
    Column("households", "户数", ("住户数",), required=False),
    Column("is_key", "重点", ("是否重点", "重点路段"), required=False),
    Column("key_hours", "重点时段", ("重点时间",), required=False),
    Column("geometry", "边界", ("几何", "GeoJSON", "坐标"), required=False),
]
POPULATION_COLUMNS = [
    Column("code", "网格编码", ("编码", "网格代码", "网格编号")),
    Column("month", "月份", ("统计月份",)),
    Column("registered", "户籍人口", ("户籍",)),
    Column("floating", "流动人口", ("流动",)),
]
COLUMNS = {KIND_GRID: GRID_COLUMNS, KIND_POPULATION: POPULATION_COLUMNS}


def _key(text) -> str:
    return "".join(str(text or "").split()).lstrip("*").lower()


LEVELS = {_key(v): v for v in AreaLevel.values}
LEVELS |= {_key(str(label)): value for value, label in AreaLevel.choices}
LEVELS |= {"小组": AreaLevel.GROUP, "楼宇": AreaLevel.BUILDING, "道路": AreaLevel.SEGMENT}
# Ranks: a parent always ranks lower, so storing by rank stores every parent first.
LEVEL_RANK = {
    AreaLevel.COMMUNITY: 0,
    AreaLevel.GROUP: 1,
    AreaLevel.BUILDING: 2,
    AreaLevel.SEGMENT: 2,
}
GEOMETRY_TYPES = {
    AreaLevel.COMMUNITY: ("Polygon", "MultiPolygon"),
    AreaLevel.GROUP: ("Polygon", "MultiPolygon"),
    AreaLevel.BUILDING: ("Polygon", "MultiPolygon", "Point"),
    AreaLevel.SEGMENT: ("LineString", "MultiLineString"),
}
YES = {"是", "1", "y", "yes", "true", "重点"}
NO = {"否", "0", "n", "no", "false", "", "非重点"}
# What GEOS says of an invalid geometry (explain_validity), in Chinese.
VALIDITY_REASONS = {
    "Self-intersection": gettext_lazy("边界自相交（如“蝴蝶结”形）"),
    "Ring Self-intersection": gettext_lazy("边界环自相交"),
    "Too few points": gettext_lazy("点数不足"),
    "Hole lies outside shell": gettext_lazy("内环位于外环之外"),
    "Nested holes": gettext_lazy("内环相互嵌套"),
    "Interior is disconnected": gettext_lazy("多边形内部不连通"),
    "Nested shells": gettext_lazy("多边形相互嵌套"),
    "Duplicate Rings": gettext_lazy("存在重复的环"),
    "Invalid Coordinate": gettext_lazy("坐标无效"),
}
KEY_HOURS_SPLIT = re.compile(r"[,，、;；\s]+")
KEY_HOURS_PART = re.compile(r"^(\d{1,2})[-~～－—至](\d{1,2})$")
MONTH_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.]0?1$"),
)


# --- Reading a file: CSV/Excel, or GeoJSON -----------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


def is_geojson(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def geojson_table_read(data: bytes, *, columns: list[Column]) -> Table:
    """The rows of a GeoJSON FeatureCollection: each feature's properties as cells (matched
    to `columns` as headers are), its geometry as the `geometry` cell; row = feature number."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ApplicationError(
            "invalid_geojson", _("无法读取该 GeoJSON 文件：不是有效的 UTF-8 JSON。"), field="file"
        ) from None
    features = document.get("features") if isinstance(document, dict) else None
    if document.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise ApplicationError(
            "invalid_geojson",
            _("GeoJSON 文件应为 FeatureCollection（要素集合），每个要素一个网格。"),
            field="file",
        )
    if len(features) > MAX_ROWS:
        raise ApplicationError(
            "too_many_rows",
            _("文件不能超过 %(n)d 个要素，请分成几个文件导入。") % {"n": MAX_ROWS},
            field="file",
        )
    by_key = {key: c for c in columns for key in c.header_keys()}
    headers: dict[str, str] = {}
    rows = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            rows.append(
                Row(
                    number=number,
                    cells={},
                    error=RowError(
                        row=number,
                        column="",
                        code="not_a_feature",
                        message=_("第 %(n)d 个要素不是 GeoJSON Feature。") % {"n": number},
                    ),
                )
            )
            continue
        cells: dict[str, str] = {}
        for name, value in (feature.get("properties") or {}).items():
            column = by_key.get(_key(name))
            if column is None or column.name == "geometry":
                continue
            headers.setdefault(column.name, str(name))
            cells[column.name] = _cell(value)
        if feature.get("geometry") is not None:
            headers.setdefault("geometry", "geometry")
            cells["geometry"] = json.dumps(feature["geometry"])
        rows.append(Row(number=number, cells=cells))
    missing = [str(c) for c in columns if c.required and c.name not in headers]
    if missing:
        raise ApplicationError(
            "missing_columns",
            _("要素属性（properties）中缺少：%(cols)s") % {"cols": ", ".join(missing)},
            field="file",
        )
    for row in rows:  # every row has every column the file has, as a CSV would
        for name in headers:
            row.cells.setdefault(name, "")
    return Table(rows=rows, encoding=UTF8, headers=headers)


def grid_table_read(data: bytes, *, kind: str) -> Table:
    """The table of an uploaded grid or population file (GeoJSON for the grid only)."""
    columns = COLUMNS[kind]
    if kind == KIND_GRID and is_geojson(data):
        if len(data) > MAX_BYTES:
            raise ApplicationError(
                "file_too_large",
                _("文件不能超过 %(mb)d MB。") % {"mb": MAX_BYTES // 2**20},
                field="file",
            )
        return geojson_table_read(data, columns=columns)
    return table_read(data, columns=columns, max_bytes=MAX_BYTES)


# --- Checking cells ----------------------------------------------------------------------------


def _whole(text: str, *, column: str, label: str) -> int:
    text = text.replace(",", "").strip()
    if text == "":
        return 0
    if not text.isdigit():
        raise ApplicationError(
            "invalid_number",
            _("%(label)s“%(text)s”应为非负整数。") % {"label": label, "text": text[:20]},
            field=column,
        )
    return int(text)


def key_hours_parse(text: str, *, column: str = "key_hours") -> str:
    """Key hours (重点时段) as "7-9,17-19" (hours starting 7, 8, 17 and 18), normalised; ""
    when blank. Each range runs from a whole hour to a later one within 0–24."""
    text = text.strip()
    if not text:
        return ""
    parts = []
    for part in KEY_HOURS_SPLIT.split(text):
        if not part:
            continue
        match = KEY_HOURS_PART.match(part)
        start, end = (int(match[1]), int(match[2])) if match else (-1, -1)
        if not 0 <= start < end <= 24:
            raise ApplicationError(
                "invalid_key_hours",
                _("重点时段“%(text)s”格式不正确，应如 7-9,17-19（起止为 0–24 点的整点）。")
                % {"text": text[:30]},
                field=column,
            )
        parts.append((start, end))
    parts.sort()
    for (_s1, e1), (s2, _e2) in itertools.pairwise(parts):
        if s2 < e1:
            raise ApplicationError(
                "invalid_key_hours",
                _("重点时段“%(text)s”中的时段相互重叠。") % {"text": text[:30]},
                field=column,
            )
    return ",".join(f"{s}-{e}" for s, e in parts)


def _positions(coordinates, depth: int):
    """Every position of a GeoJSON coordinates array nested `depth` deep (0: a position)."""
    if depth == 0:
        yield coordinates
        return
    if not isinstance(coordinates, list):
        raise TypeError
    for item in coordinates:
        yield from _positions(item, depth - 1)


POSITION_DEPTH = {
    "Point": 0,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def geometry_check(text: str, *, level: str, code: str, column: str = "geometry"):
    """The GeoJSON geometry of `text` for an area of `level` and its bounding box
    (min_lng, min_lat, max_lng, max_lat), or ApplicationError; (None, None) when blank."""
    if not text.strip():
        return None, None

    def refuse(error_code, message, **values):
        values["code"] = code[:40]
        raise ApplicationError(error_code, message % values, field=column)

    try:
        geometry = json.loads(text)
    except ValueError:
        refuse("invalid_geometry", _("网格“%(code)s”的边界不是有效的 GeoJSON（JSON 格式错误）。"))
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    allowed = GEOMETRY_TYPES[level]
    if kind not in POSITION_DEPTH:
        refuse(
            "invalid_geometry",
            _("网格“%(code)s”的边界不是 GeoJSON 几何对象（应有 type 与 coordinates）。"),
        )
    if kind not in allowed:
        refuse(
            "geometry_type",
            _("网格“%(code)s”是%(level)s，边界应为 %(allowed)s，文件中是 %(kind)s。"),
            level=AreaLevel(level).label,
            allowed=" / ".join(allowed),
            kind=kind,
        )
    try:
        positions = list(_positions(geometry.get("coordinates"), POSITION_DEPTH[kind]))
        for position in positions:
            if not (
                isinstance(position, list)
                and len(position) in (2, 3)
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
                and all(math.isfinite(v) for v in position)
            ):
                raise TypeError
    except TypeError:
        refuse("invalid_geometry", _("网格“%(code)s”的边界坐标格式不正确：应为 [经度, 纬度]。"))
    if not positions:
        refuse("empty_geometry", _("网格“%(code)s”的边界没有坐标。"))
    for lng, lat, *_z in positions:
        if not (LNG_MIN <= lng <= LNG_MAX and LAT_MIN <= lat <= LAT_MAX):
            refuse(
                "outside_china",
                _(
                    "网格“%(code)s”的边界坐标 (%(lng)s, %(lat)s) 不在中国境内（经度 73–136，"
                    "纬度 3–54）：请确认坐标为 WGS84 经纬度，且经度在前、纬度在后。"
                ),
                lng=f"{lng:g}",
                lat=f"{lat:g}",
            )
    if kind in ("Polygon", "MultiPolygon"):
        rings = (
            geometry["coordinates"]
            if kind == "Polygon"
            else [r for polygon in geometry["coordinates"] for r in polygon]
        )
        for ring in rings:
            if len(ring) < 4 or ring[0][:2] != ring[-1][:2]:
                refuse(
                    "invalid_polygon",
                    _("网格“%(code)s”的边界多边形无效：每个环至少 4 个点，且首尾坐标相同。"),
                )
    try:
        shaped = shape(geometry)
    except (ShapelyError, ValueError, TypeError, IndexError):
        refuse("invalid_geometry", _("网格“%(code)s”的边界几何无法识别。"))
    if shaped.is_empty:
        refuse("empty_geometry", _("网格“%(code)s”的边界没有坐标。"))
    if not shaped.is_valid:
        explained = explain_validity(shaped)
        reason, _bracket, where = explained.partition("[")
        place = where.rstrip("]").split()
        near = ""
        if len(place) >= 2:
            near = _("（位置约 %(lng)s, %(lat)s）") % {
                "lng": f"{float(place[0]):.5f}",
                "lat": f"{float(place[1]):.5f}",
            }
        refuse(
            "invalid_polygon",
            _("网格“%(code)s”的边界无效：%(reason)s%(near)s，请修正后重新导入。"),
            reason=str(VALIDITY_REASONS.get(reason.strip(), reason.strip())),
            near=near,
        )
    clean = {"type": kind, "coordinates": geometry["coordinates"]}
    return clean, shaped.bounds


# --- Grid import (导入网格) ---------------------------------------------------------------------


class Stations:
    """Police stations by code, and whether each lies in the importer's subtree."""

    def __init__(self, *, actor):
        if not actor.is_superuser and actor.unit_id is None:
            raise PermissionDenied()
        self.scope = orgunit_root_for(actor) if not actor.is_superuser else None
        self.units = {
            u.code.lower(): u
            for u in OrgUnit.objects.filter(kind=UnitKind.POLICE_STATION).only(
                "pk", "code", "path", "depth", "name"
            )
        }
        self.by_pk = {u.pk: u for u in self.units.values()}

    def get(self, code: str, *, column: str = "station_code") -> OrgUnit:
        if not code:
            raise ApplicationError("station_required", _("派出所代码不能为空。"), field=column)
        unit = self.units.get(code.lower())
        if unit is None:
            raise ApplicationError(
                "unknown_station",
                _("派出所代码“%(code)s”不存在，或不是派出所。") % {"code": code[:20]},
                field=column,
            )
        if self.scope is not None and not self.scope.contains(unit):
            raise ApplicationError(
                "station_out_of_scope",
                _("派出所“%(unit)s（%(code)s）”不在您的管辖范围内。")
                % {"unit": unit.name, "code": unit.code},
                field=column,
            )
        return unit

    def in_scope(self, unit_id: int) -> bool:
        if self.scope is None:
            return True
        unit = self.by_pk.get(unit_id)
        return unit is not None and self.scope.contains(unit)


def grid_checker(*, actor):
    """The `check_row` of a grid file: what each row says on its own (the rows' relations,
    parents and codes stored, are checked by `grid_import` when storing)."""
    stations = Stations(actor=actor)

    def check_row(row: Row) -> dict:
        cell = row.cells
        code = cell.get("code", "")
        if not code:
            raise ApplicationError("code_required", _("网格编码不能为空。"), field="code")
        if len(code) > 40:
            raise ApplicationError("code_too_long", _("网格编码不能超过 40 个字符。"), field="code")
        name = cell.get("name", "")
        if not name:
            raise ApplicationError("name_required", _("名称不能为空。"), field="name")
        if len(name) > 100:
            raise ApplicationError("name_too_long", _("名称不能超过 100 个字符。"), field="name")
        level = LEVELS.get(_key(cell.get("level", "")))
        if level is None:
            raise ApplicationError(
                "invalid_level",
                _("层级“%(text)s”无效，应填：社区、居民小组、楼栋、路段。")
                % {"text": cell.get("level", "")[:20]},
                field="level",
            )
        parent_code = cell.get("parent_code", "")
        if level == AreaLevel.COMMUNITY and parent_code:
            raise ApplicationError(
                "community_with_parent",
                _("网格“%(code)s”是社区，社区是网格的最上级，上级编码应留空。") % {"code": code},
                field="parent_code",
            )
        if level != AreaLevel.COMMUNITY and not parent_code:
            raise ApplicationError(
                "parent_required",
                _("网格“%(code)s”是%(level)s，须填写上级编码（所属社区或居民小组）。")
                % {"code": code, "level": AreaLevel(level).label},
                field="parent_code",
            )
        station = stations.get(cell.get("station_code", ""))
        is_key_text = _key(cell.get("is_key", ""))
        if is_key_text not in YES | NO:
            raise ApplicationError(
                "invalid_is_key",
                _("重点“%(text)s”无效，应填 是 或 否。") % {"text": cell.get("is_key", "")[:20]},
                field="is_key",
            )
        geometry, bounds = geometry_check(cell.get("geometry", ""), level=level, code=code)
        bbox = dict(
            zip(("min_lng", "min_lat", "max_lng", "max_lat"), bounds or (None,) * 4, strict=True)
        )
        return {
            "code": code,
            "name": name,
            "level": level,
            "parent_code": parent_code,
            "station": station,
            "households": _whole(cell.get("households", ""), column="households", label=_("户数")),
            "is_key": is_key_text in YES,
            "key_hours": key_hours_parse(cell.get("key_hours", "")),
            "geometry": geometry,
            **bbox,
        }

    check_row.stations = stations
    return check_row


AREA_FIELDS = (
    "name",
    "level",
    "station",
    "households",
    "is_key",
    "key_hours",
    "geometry",
    "min_lng",
    "min_lat",
    "max_lng",
    "max_lat",
)


def grid_import(*, actor, table: Table, progress: Progress | None = None) -> ImportReport:
    """Store the areas of `table` (created, or updated by code), all or nothing."""
    check_row = grid_checker(actor=actor)
    stations = check_row.stations
    codes_in_file = {row.cells.get("code", "").lower() for row in table.rows}

    def refusal(row: Row, column: str, code: str, message: str) -> RowError:
        return RowError(
            row=row.number,
            column=column,
            code=code,
            message=mask_text(message),
            header=table.headers.get(column, ""),
        )

    def store(checked):
        first_of: dict[str, int] = {}
        ordered = []
        for row, data in checked:
            key = data["code"].lower()
            if key in first_of:
                yield (
                    row,
                    refusal(
                        row,
                        "code",
                        "duplicate_code",
                        _("网格编码“%(code)s”与第 %(first)d 行重复。")
                        % {"code": data["code"], "first": first_of[key]},
                    ),
                )
                continue
            first_of[key] = row.number
            ordered.append((row, data))
        # Codes match whatever their case, as in the file; the stored spelling is kept.
        wanted = {d["code"].lower() for _r, d in ordered}
        wanted |= {d["parent_code"].lower() for _r, d in ordered if d["parent_code"]}
        ids = [
            pk for pk, code in GridArea.objects.values_list("pk", "code") if code.lower() in wanted
        ]
        stored = {}
        for start in range(0, len(ids), 2000):  # within any database's limit of parameters
            chunk = ids[start : start + 2000]
            for area in GridArea.objects.filter(pk__in=chunk).select_related("station"):
                stored[area.code.lower()] = area
        with_children = set(
            GridArea.objects.exclude(parent=None).values_list("parent_id", flat=True).distinct()
        )
        # Parents first: storing by level rank stores every parent before its children.
        ordered.sort(key=lambda item: (LEVEL_RANK[item[1]["level"]], item[0].number))
        written: dict[str, GridArea] = {}  # code (lower) → area stored by this file
        of_row = {d["code"].lower(): d for _r, d in ordered}
        for row, data in ordered:
            key = data["code"].lower()
            existing = stored.get(key)
            if existing is not None:
                if not stations.in_scope(existing.station_id):
                    yield (
                        row,
                        refusal(
                            row,
                            "code",
                            "code_out_of_scope",
                            _("网格编码“%(code)s”已被您管辖范围以外的单位使用。")
                            % {"code": data["code"]},
                        ),
                    )
                    continue
                if existing.pk in with_children and (
                    existing.level != data["level"] or existing.station_id != data["station"].pk
                ):
                    yield (
                        row,
                        refusal(
                            row,
                            "level",
                            "area_has_children",
                            _("网格“%(code)s”已有下级网格，不能更改其层级或所属派出所。")
                            % {"code": data["code"]},
                        ),
                    )
                    continue
            parent = None
            if data["parent_code"]:
                parent_key = data["parent_code"].lower()
                parent_data = of_row.get(parent_key)
                if parent_key == key:
                    parent_data, parent = None, None
                    error = refusal(
                        row,
                        "parent_code",
                        "parent_is_self",
                        _("网格“%(code)s”的上级编码不能是它自己。") % {"code": data["code"]},
                    )
                    yield row, error
                    continue
                if parent_data is not None:
                    p_level, p_station = parent_data["level"], parent_data["station"]
                elif parent_key in stored and stations.in_scope(stored[parent_key].station_id):
                    p_level, p_station = stored[parent_key].level, stored[parent_key].station
                elif parent_key in codes_in_file:
                    # The parent's own row was refused: its error says why; nothing to add.
                    yield row, None
                    continue
                else:
                    yield (
                        row,
                        refusal(
                            row,
                            "parent_code",
                            "unknown_parent",
                            _(
                                "网格“%(code)s”的上级编码“%(parent)s”不存在：既不在本文件中，"
                                "也不是您管辖范围内已有的网格。"
                            )
                            % {"code": data["code"], "parent": data["parent_code"]},
                        ),
                    )
                    continue
                if p_level not in PARENT_LEVELS[data["level"]]:
                    allowed = "、".join(
                        str(AreaLevel(v).label) for v in PARENT_LEVELS[data["level"]]
                    )
                    yield (
                        row,
                        refusal(
                            row,
                            "parent_code",
                            "parent_level",
                            _(
                                "网格“%(code)s”是%(level)s，不能挂在%(parent_level)s“%(parent)s”"
                                "之下：%(level)s的上级应为%(allowed)s。"
                            )
                            % {
                                "code": data["code"],
                                "level": AreaLevel(data["level"]).label,
                                "parent_level": AreaLevel(p_level).label,
                                "parent": data["parent_code"],
                                "allowed": allowed,
                            },
                        ),
                    )
                    continue
                if p_station.pk != data["station"].pk:
                    yield (
                        row,
                        refusal(
                            row,
                            "station_code",
                            "station_differs_from_parent",
                            _(
                                "网格“%(code)s”的派出所（%(station)s）与上级网格“%(parent)s”的"
                                "派出所（%(parent_station)s）不同：下级网格必须与上级网格属于同一"
                                "派出所。"
                            )
                            % {
                                "code": data["code"],
                                "station": data["station"].code,
                                "parent": data["parent_code"],
                                "parent_station": p_station.code,
                            },
                        ),
                    )
                    continue
                parent = written.get(parent_key) if parent_data is not None else stored[parent_key]
                if parent is None:
                    yield row, None  # its parent's row was refused above: its error says why
                    continue
            values = {field: data[field] for field in AREA_FIELDS}
            community_id = parent.community_id if parent is not None else None
            if existing is None:
                area = GridArea(code=data["code"], parent=parent, **values)
                area.community_id = community_id
                area.save()
            else:
                area = existing
                moved = area.community_id != (community_id or area.pk)
                for field, value in values.items():
                    setattr(area, field, value)
                area.parent = parent
                area.community_id = community_id or area.pk
                area.save()
                if moved:
                    _descendants_recommunity(area)
            if area.community_id is None:  # a new community is its own community
                area.community_id = area.pk
                GridArea.objects.filter(pk=area.pk).update(community=area.pk)
            written[key] = area
            yield row, {"code": area.code, "created": existing is None}

    return rows_import(table=table, check_row=check_row, store=store, progress=progress)


def _descendants_recommunity(area: GridArea) -> None:
    """An area moved under another community takes its descendants along."""
    children = list(GridArea.objects.filter(parent=area).exclude(pk=area.pk))
    for child in children:
        if child.community_id != area.community_id:
            GridArea.objects.filter(pk=child.pk).update(community=area.community_id)
            child.community_id = area.community_id
            _descendants_recommunity(child)


# --- Population import (人口导入) --------------------------------------------------------------


def month_parse(text: str, *, column: str = "month") -> date:
    text = text.strip().split(" ")[0]
    for pattern in MONTH_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month = int(match[1]), int(match[2])
            if 2000 <= year <= 2100 and 1 <= month <= 12:
                return date(year, month, 1)
    raise ApplicationError(
        "invalid_month",
        _("月份“%(text)s”格式不正确，应如 2026-05。") % {"text": text[:20]},
        field=column,
    )


def population_checker(*, actor):
    areas = {code.lower(): pk for pk, code in areas_visible_to(actor).values_list("pk", "code")}

    def check_row(row: Row) -> dict:
        cell = row.cells
        code = cell.get("code", "")
        if not code:
            raise ApplicationError("code_required", _("网格编码不能为空。"), field="code")
        area_id = areas.get(code.lower())
        if area_id is None:
            raise ApplicationError(
                "unknown_area",
                _("网格编码“%(code)s”不存在，或不在您的管辖范围内：请先导入网格。")
                % {"code": code[:40]},
                field="code",
            )
        return {
            "code": code,
            "area_id": area_id,
            "month": month_parse(cell.get("month", "")),
            "registered": _whole(cell["registered"], column="registered", label=_("户籍人口")),
            "floating": _whole(cell["floating"], column="floating", label=_("流动人口")),
        }

    return check_row


def population_import(*, actor, table: Table, progress: Progress | None = None) -> ImportReport:
    """Store each area's population per month (replacing what that month had), all or
    nothing."""

    def store(checked):
        first_of: dict[tuple, int] = {}
        for row, data in checked:
            key = (data["area_id"], data["month"])
            if key in first_of:
                yield (
                    row,
                    RowError(
                        row=row.number,
                        column="month",
                        code="duplicate_month",
                        message=_("网格“%(code)s”%(month)s 的人口与第 %(first)d 行重复。")
                        % {
                            "code": data["code"],
                            "month": f"{data['month']:%Y-%m}",
                            "first": first_of[key],
                        },
                        header=table.headers.get("month", ""),
                    ),
                )
                continue
            first_of[key] = row.number
            AreaPopulation.objects.update_or_create(
                area_id=data["area_id"],
                month=data["month"],
                defaults={"registered": data["registered"], "floating": data["floating"]},
            )
            yield row, {"code": data["code"], "month": f"{data['month']:%Y-%m}"}

    return rows_import(
        table=table, check_row=population_checker(actor=actor), store=store, progress=progress
    )


IMPORTERS = {
    KIND_GRID: (grid_checker, grid_import),
    KIND_POPULATION: (population_checker, population_import),
}


# --- Stored imports: upload, preview, confirm (run synchronously) ------------------------------


def _require_manager(actor) -> OrgUnit:
    root = orgunit_root_for(actor)
    if root is None or not has_perm(actor, GRID_MANAGE):
        raise PermissionDenied()
    return root


def grid_file_upload(*, actor, kind: str, upload) -> ImportFile:
    """Keep an uploaded grid or population file (待确认), to preview and then confirm."""
    root = _require_manager(actor)
    return import_file_store(actor=actor, kind=kind, unit=root, upload=upload, max_bytes=MAX_BYTES)


def _stored_table(record: ImportFile) -> Table:
    with record.file.open("rb") as stored:
        data = stored.read(MAX_BYTES + 1)
    return grid_table_read(data, kind=record.kind)


def grid_file_preview(*, record: ImportFile) -> Preview:
    """What a stored file holds (the first rows checked on their own), before it is
    confirmed; a file that cannot be read at all ends "refused" and the error is raised."""
    checker, _run = IMPORTERS[record.kind]
    return import_preview(
        record,
        columns=COLUMNS[record.kind],
        check_row=checker(actor=record.uploaded_by),
        read=_stored_table,
    )


def grid_file_confirm(*, actor, record: ImportFile) -> ImportFile:
    """Confirm a previewed file and run its import at once (synchronously: a grid or a
    population file of a few thousand rows takes seconds). Ends "done" or "refused"."""
    _require_manager(actor)
    import_file_start(record=record, actor=actor)
    _checker, run = IMPORTERS[record.kind]

    def run_file(record, table, progress) -> ImportReport:
        report = run(actor=record.uploaded_by, table=table, progress=progress)
        if report.stored and record.kind == KIND_GRID:
            report.summary["created"] = sum(1 for r in report.results if r and r.get("created"))
        return report

    return import_file_run(
        record.pk, columns=COLUMNS[record.kind], run=run_file, read=_stored_table
    )


# --- Reads for the pages: the tree, the map --------------------------------------------------


COLOUR_HEX = {"red": "#d9363e", "orange": "#f08c00", "green": "#2f9e44", "grey": "#adb5bd"}


def latest_colours(area_ids) -> dict[int, str]:
    """Each area's latest colour (AreaColour.colour of its latest month), where it has one."""
    latest = AreaColour.objects.filter(area=OuterRef("pk")).order_by("-month")
    return {
        pk: colour
        for pk, colour in GridArea.objects.filter(pk__in=list(area_ids))
        .annotate(colour=Subquery(latest.values("colour")[:1]))
        .values_list("pk", "colour")
        if colour
    }


def grid_tree(user) -> list[dict]:
    """The visible grid as a tree: communities → groups → buildings and segments, each node
    {area, children, counts}. An area whose parent is not visible is a root."""
    areas = list(
        areas_visible_to(user)
        .select_related("station")
        .order_by("code")
        .only(
            "pk",
            "code",
            "name",
            "level",
            "parent_id",
            "households",
            "is_key",
            "station__name",
            "station__code",
        )
    )
    colours = latest_colours(a.pk for a in areas if a.level == AreaLevel.COMMUNITY)
    nodes = {
        a.pk: {
            "area": a,
            "children": [],
            "colour": colours.get(a.pk, ""),
            "fill": COLOUR_HEX.get(colours.get(a.pk, ""), ""),
        }
        for a in areas
    }
    roots = []
    for area in areas:
        parent = nodes.get(area.parent_id)
        (parent["children"] if parent else roots).append(nodes[area.pk])

    def count(node):
        counts = defaultdict(int)
        for child in node["children"]:
            counts[child["area"].level] += 1
            for level, n in count(child).items():
                counts[level] += n
        node["counts"] = dict(counts)
        return counts

    for root in roots:
        count(root)
    roots.sort(key=lambda n: (LEVEL_RANK[n["area"].level], n["area"].code))
    return roots


def area_feature(area: GridArea, *, colour: str = "", url: str = "") -> dict:
    return {
        "type": "Feature",
        "id": area.pk,
        "geometry": area.geometry,
        "properties": {
            "code": area.code,
            "name": area.name,
            "level": area.level,
            "level_label": str(area.get_level_display()),
            "is_key": area.is_key,
            "households": area.households,
            "colour": colour,
            "fill": COLOUR_HEX.get(colour, ""),
            "url": url,
        },
    }


def grid_feature_collection(areas, *, url_of) -> dict:
    """A FeatureCollection of `areas` that have a geometry, communities first (drawn under
    their children), communities coloured by their latest colour."""
    areas = [a for a in areas if a.geometry]
    colours = latest_colours(a.pk for a in areas if a.level == AreaLevel.COMMUNITY)
    areas.sort(key=lambda a: (LEVEL_RANK[a.level], a.code))
    return {
        "type": "FeatureCollection",
        "features": [area_feature(a, colour=colours.get(a.pk, ""), url=url_of(a)) for a in areas],
    }


def area_population(area: GridArea) -> list[AreaPopulation]:
    return list(area.populations.order_by("-month"))


def area_ancestors(area: GridArea) -> list[GridArea]:
    chain = []
    parent = area.parent
    while parent is not None and len(chain) < 5:
        chain.insert(0, parent)
        parent = parent.parent
    return chain


def month_label(day: date | datetime) -> str:
    return f"{day:%Y-%m}"


def grid_imports_visible_to(user, *, kind: str):
    """The audit trail of one kind of grid import, newest first (scoped by the file's unit)."""
    return import_files_visible_to(user, kind=kind, kinds=IMPORT_KINDS)


def grid_import_get_visible(user, pk) -> ImportFile:
    return import_file_get_visible(user, pk, kinds=IMPORT_KINDS)
