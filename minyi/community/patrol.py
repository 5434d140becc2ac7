"""Patrol visibility (巡逻见警率), DOMAIN.md capability 6, issue 16 item 4: GPS pings (定位点)
and check-ins (巡逻打卡) of patrol units turned into passes (巡逻经过) of key road segments
(重点路段) and key town areas (重点区域), and the compliance of each against the bureau's rules
(Jiaxing: ≥ 2 passes an hour on key segments at key hours, ≥ 5 a day in key areas).

- Ingest (`pings_ingest`, `checkins_ingest`): a repeat of (station, unit, time) is a duplicate,
  stored once (unit names such as "1号车" repeat from station to station, so every read is the
  station's own); a ping implying an impossible speed from the unit's previous good ping is
  kept with the flag "speed"; one outside the city (the bbox of the city's grid padded by
  `CITY_PAD_M`, or China when there is no grid) with the flag "outside". Flagged pings are
  shown, never used.
- Passes (`passes_compute`): per unit, the track is the good pings in time order joined by
  straight lines where consecutive pings are at most `no_data_minutes` apart. A visit is a
  piece of track within `buffer_m` of a key segment's line (segment-to-segment distance, so a
  drive-through is caught with no ping inside the buffer) or touching a key area's polygon;
  visits less than `min_gap_minutes` apart are one pass (a parked car with GPS jitter is one
  pass); dwell is the time inside. Check-ins are passes too, the same pass when within
  `min_gap_minutes` of one of the unit's. Geometry: local metres (equirectangular around the
  city), shapely's STRtree to find the track pieces near each target, then sampled times.
- Coverage (`PatrolCoverage`): per station-hour the good pings and the units reporting
  steadily (pings in the hour and no gap longer than `no_data_minutes` touching it). An hour
  with no steady unit and no check-in is "no data" (无数据): not judged, not a failure.
"""

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import shapely
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.community.access import GRID_VIEW
from minyi.community.models import (
    AreaLevel,
    GridArea,
    PassSource,
    PatrolCheckin,
    PatrolCoverage,
    PatrolPass,
    PatrolPing,
    PatrolRule,
    PingFlag,
)
from minyi.community.selectors import area_scope_q
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.imports import (
    Column,
    ImportReport,
    Row,
    RowError,
    Table,
    cell_datetime,
    rows_import,
)
from minyi.core.models import AuditAction
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import scope_q
from minyi.polls.models import Indicator
from minyi.polls.selectors import poll_estimates, poll_list_visible_to

MAX_BATCH = 5000
CITY_PAD_M = 2000
# China's extent (with Hainan and the islands of the South China Sea), for a city with no grid.
CHINA_BBOX = (73.4, 3.8, 135.1, 53.6)
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LNG_EQUATOR = 111_320.0
# Points sampled along each track piece near a target, to time the entry and exit.
SAMPLES = 21
UNIT_CODE_MAX = 40


# --- Rules ------------------------------------------------------------------------------------


def key_hours_parse(text: str) -> list[int]:
    """Hours of "7-9,17-19" (hours starting 7, 8, 17, 18); "22-2" wraps past midnight; "20"
    alone is the hour starting 20. ApplicationError on anything else."""
    hours: set[int] = set()
    for part in (p.strip() for p in (text or "").replace("，", ",").split(",")):
        if not part:
            continue
        try:
            if "-" in part:
                first, last = (int(x) for x in part.split("-", 1))
                if not (0 <= first <= 23 and 0 <= last <= 24) or first == last:
                    raise ValueError
                span = (last - first) % 24 or 24
                hours.update((first + k) % 24 for k in range(span))
            else:
                hour = int(part)
                if not 0 <= hour <= 23:
                    raise ValueError
                hours.add(hour)
        except ValueError:
            raise ApplicationError(
                "invalid_key_hours",
                _("重点时段“%(text)s”格式不正确，应如 7-9,17-19（小时 0–24）。") % {"text": part},
                field="key_hours",
            ) from None
    return sorted(hours)


def _ancestor_paths(unit: OrgUnit) -> list[str]:
    return [unit.path[:end] for end in range(OrgUnit.steplen, len(unit.path) + 1, OrgUnit.steplen)]


def patrol_rule_for(unit: OrgUnit) -> PatrolRule:
    """The rules that apply to `unit`: those of the nearest unit above it (itself included)
    that has its own, else the defaults (an unsaved PatrolRule)."""
    rule = (
        PatrolRule.objects.filter(bureau__path__in=_ancestor_paths(unit))
        .order_by("-bureau__depth")
        .first()
    )
    return rule or PatrolRule()


RULE_FIELDS = (
    "buffer_m",
    "min_gap_minutes",
    "max_speed_kmh",
    "no_data_minutes",
    "segment_passes_per_hour",
    "area_passes_per_day",
    "dwell_minutes",
    "key_hours",
)


@transaction.atomic
def patrol_rule_save(*, actor, unit: OrgUnit, **values) -> PatrolRule:
    """Set `unit`'s own patrol rules (it and the units below it without their own use them)."""
    key_hours_parse(values.get("key_hours", ""))
    if not values.get("buffer_m") or not values.get("max_speed_kmh"):
        raise ApplicationError("invalid_rule", _("缓冲距离和速度上限须大于 0。"))
    rule, _created = PatrolRule.objects.get_or_create(bureau=unit)
    for name in RULE_FIELDS:
        setattr(rule, name, values[name])
    rule.updated_by = actor
    rule.save()
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=rule,
        detail={name: values[name] for name in RULE_FIELDS},
    )
    return rule


# --- Geometry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection to metres around (lng0, lat0): exact enough over a city."""

    lng0: float
    lat0: float

    @property
    def kx(self) -> float:
        return M_PER_DEG_LNG_EQUATOR * math.cos(math.radians(self.lat0))

    def xy(self, lng, lat):
        return (
            (np.asarray(lng, dtype=float) - self.lng0) * self.kx,
            (np.asarray(lat, dtype=float) - self.lat0) * M_PER_DEG_LAT,
        )

    def geometry(self, geojson: dict):
        geom = shapely.geometry.shape(geojson)
        geom = shapely.transform(geom, lambda c: np.column_stack(self.xy(c[:, 0], c[:, 1])))
        if geom.geom_type in ("Polygon", "MultiPolygon") and not geom.is_valid:
            geom = shapely.make_valid(geom)
        return geom


def _distance_m(lng1, lat1, lng2, lat2) -> float:
    kx = M_PER_DEG_LNG_EQUATOR * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lng2 - lng1) * kx, (lat2 - lat1) * M_PER_DEG_LAT)


def _city_of(station: OrgUnit) -> OrgUnit:
    """The city bureau above `station` (else the top of its tree)."""
    units = list(OrgUnit.objects.filter(path__in=_ancestor_paths(station)).order_by("depth"))
    for unit in units:
        if unit.kind == UnitKind.CITY_BUREAU:
            return unit
    return units[0] if units else station


def city_bbox(station: OrgUnit) -> tuple[float, float, float, float]:
    """(min_lng, min_lat, max_lng, max_lat) of the city's grid padded by CITY_PAD_M, or
    China's when the city has no grid yet."""
    city = _city_of(station)
    box = GridArea.objects.filter(station__path__startswith=city.path).aggregate(
        a=Min("min_lng"), b=Min("min_lat"), c=Max("max_lng"), d=Max("max_lat")
    )
    if None in box.values():
        return CHINA_BBOX
    pad_lat = CITY_PAD_M / M_PER_DEG_LAT
    pad_lng = CITY_PAD_M / (M_PER_DEG_LNG_EQUATOR * math.cos(math.radians(box["d"])))
    return (box["a"] - pad_lng, box["b"] - pad_lat, box["c"] + pad_lng, box["d"] + pad_lat)


# --- Ingest -----------------------------------------------------------------------------------


@dataclass
class ItemResult:
    index: int
    unit_code: str
    status: str  # accepted / duplicate / rejected
    flag: str = ""  # "", "speed" or "outside" (accepted and kept, never used for passes)
    code: str = ""
    message: str = ""


def _as_aware(moment) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime):
        raise ValueError
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _station_check(station: OrgUnit | None, scope_unit: OrgUnit | None) -> OrgUnit:
    if (
        station is None
        or station.kind != UnitKind.POLICE_STATION
        or (scope_unit is not None and not scope_unit.contains(station))
    ):
        raise ApplicationError(
            "station_out_of_scope",
            _("派出所代码不存在，或不在本接入密钥的范围内。"),
            field="station",
            status=403,
        )
    return station


def _ping_check(index: int, raw) -> tuple[ItemResult | None, dict | None]:
    """(rejection, None) or (None, the ping as unit_code / at / lng / lat)."""
    unit_code = (
        str(raw.get("unit_code", "")).strip()[:UNIT_CODE_MAX] if isinstance(raw, dict) else ""
    )
    try:
        if not isinstance(raw, dict):
            raise ValueError("item")
        if not unit_code or len(str(raw.get("unit_code")).strip()) > UNIT_CODE_MAX:
            raise ValueError("unit_code")
        try:
            at = _as_aware(raw.get("at"))
        except (TypeError, ValueError):
            raise ValueError("at") from None
        try:
            lng, lat = float(raw.get("lng")), float(raw.get("lat"))
        except (TypeError, ValueError):
            raise ValueError("lng") from None
        if not (
            math.isfinite(lng) and math.isfinite(lat) and -180 <= lng <= 180 and -90 <= lat <= 90
        ):
            raise ValueError("lng")
    except ValueError as exc:
        what = str(exc)
        messages = {
            "item": _("每条定位应为 JSON 对象。"),
            "unit_code": _("巡逻单元编码不能为空，且不超过 %(n)d 个字符。") % {"n": UNIT_CODE_MAX},
            "at": _("时间格式不正确，应为 ISO 8601，如 2026-11-24T09:30:00+08:00。"),
            "lng": _("经纬度不正确。"),
        }
        codes = {"item": "invalid_item", "unit_code": "invalid_unit_code", "at": "invalid_time"}
        return ItemResult(
            index, unit_code, "rejected", code=codes.get(what, "invalid_position"),
            message=messages[what],
        ), None  # fmt: skip
    return None, {"unit_code": unit_code, "at": at, "lng": lng, "lat": lat}


def _previous_good(station: OrgUnit, unit_codes: set[str], before: datetime) -> dict[str, tuple]:
    """Per unit of `station`, its last good ping before `before` (within a day): (at, lng,
    lat). Unit names repeat from station to station: another station's "1号车" is another car."""
    mine = PatrolPing.objects.filter(station=station)
    latest = (
        mine.filter(
            unit_code__in=unit_codes, flag="", at__lt=before, at__gte=before - timedelta(days=1)
        )
        .values("unit_code")
        .annotate(last=Max("at"))
    )
    pairs = {(row["unit_code"], row["last"]) for row in latest}
    if not pairs:
        return {}
    rows = mine.filter(
        unit_code__in={u for u, _at in pairs}, at__in={at for _u, at in pairs}
    ).values_list("unit_code", "at", "lng", "lat")
    return {u: (at, lng, lat) for u, at, lng, lat in rows if (u, at) in pairs}


def pings_ingest(
    *, station: OrgUnit | None, items: list, scope_unit: OrgUnit | None
) -> list[ItemResult]:
    """Store a batch of a station's pings in one INSERT. Each item is accepted (perhaps with a
    flag), a duplicate (the same unit and time is already stored for this station, or earlier
    in the batch) or rejected with a code; the others are kept whatever one is. Every read is
    the station's own: unit names ("1号车") repeat from station to station."""
    station = _station_check(station, scope_unit)
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            "batch_too_large", _("一批最多 %(max)d 条定位。") % {"max": MAX_BATCH}, status=413
        )
    rule = patrol_rule_for(station)
    min_lng, min_lat, max_lng, max_lat = city_bbox(station)
    results: list[ItemResult | None] = [None] * len(items)
    valid: list[tuple[int, dict]] = []
    for index, raw in enumerate(items):
        rejected, ping = _ping_check(index, raw)
        if rejected is not None:
            results[index] = rejected
        else:
            valid.append((index, ping))
    if valid:
        ats = [p["at"] for _i, p in valid]
        units = {p["unit_code"] for _i, p in valid}
        stored = {
            (u, at): (lng, lat, flag)
            for u, at, lng, lat, flag in PatrolPing.objects.filter(
                station=station, unit_code__in=units, at__gte=min(ats), at__lte=max(ats)
            ).values_list("unit_code", "at", "lng", "lat", "flag")
        }
        previous = _previous_good(station, units, min(ats))
    else:
        stored, previous = {}, {}
    # Duplicates first (in the batch or stored), then the speed walk per unit in time order
    # through the stored good pings and the new ones.
    seen: set[tuple[str, datetime]] = set()
    new: list[tuple[int, dict]] = []
    for index, ping in valid:
        key = (ping["unit_code"], ping["at"])
        if key in stored or key in seen:
            results[index] = ItemResult(
                index, ping["unit_code"], "duplicate", code="duplicate",
                message=_("该巡逻单元同一时间的定位已存在。"),
            )  # fmt: skip
            continue
        seen.add(key)
        if not (min_lng <= ping["lng"] <= max_lng and min_lat <= ping["lat"] <= max_lat):
            ping["flag"] = PingFlag.OUTSIDE
        new.append((index, ping))
    timeline: dict[str, list[tuple[datetime, int, float, float, int | None]]] = defaultdict(list)
    for (unit, at), (lng, lat, flag) in stored.items():
        if not flag:
            timeline[unit].append((at, 0, lng, lat, None))
    for unit, (at, lng, lat) in previous.items():
        timeline[unit].append((at, 0, lng, lat, None))
    for position, (_index, ping) in enumerate(new):
        if not ping.get("flag"):
            timeline[ping["unit_code"]].append((ping["at"], 1, ping["lng"], ping["lat"], position))
    for events in timeline.values():
        events.sort(key=lambda e: (e[0], e[1]))
        last = None
        for at, _order, lng, lat, position in events:
            if last is not None and position is not None:
                seconds = (at - last[0]).total_seconds()
                speed = _distance_m(last[1], last[2], lng, lat) / max(seconds, 1) * 3.6
                if speed > rule.max_speed_kmh:
                    new[position][1]["flag"] = PingFlag.SPEED
                    continue
            last = (at, lng, lat)
    now = timezone.now()
    PatrolPing.objects.bulk_create(
        [
            PatrolPing(
                station=station,
                unit_code=p["unit_code"],
                at=p["at"],
                lng=p["lng"],
                lat=p["lat"],
                flag=p.get("flag", ""),
                created_at=now,
            )
            for _i, p in new
        ],
        ignore_conflicts=True,
    )
    flag_messages = {
        PingFlag.SPEED: _(
            "与该单元上一个正常定位之间的速度超过 %(v)d 公里/小时，已标记，不计入巡逻。"
        )
        % {"v": rule.max_speed_kmh},
        PingFlag.OUTSIDE: _("定位在本市网格范围之外，已标记，不计入巡逻。"),
    }
    for index, ping in new:
        flag = ping.get("flag", "")
        results[index] = ItemResult(
            index, ping["unit_code"], "accepted", flag=flag,
            code=flag or "", message=flag_messages.get(flag, ""),
        )  # fmt: skip
    return results  # type: ignore[return-value]


@dataclass
class CheckinResult:
    index: int
    area: str
    unit_code: str
    status: str
    code: str = ""
    message: str = ""


def checkins_ingest(
    *, items: list, scope_unit: OrgUnit | None, source: str = "app"
) -> list[CheckinResult]:
    """Store check-ins at key segments and areas; an area outside the key's subtree answers
    like an unknown one."""
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            "batch_too_large", _("一批最多 %(max)d 条打卡。") % {"max": MAX_BATCH}, status=413
        )
    codes = {str(i.get("area", "")) for i in items if isinstance(i, dict)}
    areas = GridArea.objects.filter(code__in=codes).select_related("station")
    if scope_unit is not None:
        areas = areas.filter(station__path__startswith=scope_unit.path)
    by_code = {a.code: a for a in areas}
    results: list[CheckinResult] = []
    new: list[tuple[CheckinResult, PatrolCheckin]] = []
    seen: set = set()
    for index, raw in enumerate(items):
        raw = raw if isinstance(raw, dict) else {}
        code, unit_code = str(raw.get("area", "")), str(raw.get("unit_code", "")).strip()
        result = CheckinResult(index, code, unit_code[:UNIT_CODE_MAX], "rejected")
        results.append(result)
        area = by_code.get(code)
        if area is None:
            result.code, result.message = (
                "unknown_area",
                _("网格编码不存在，或不在本接入密钥的范围内。"),
            )
            continue
        if not area.is_key:
            result.code, result.message = "not_key_area", _("该网格不是重点路段或重点区域。")
            continue
        if not unit_code or len(unit_code) > UNIT_CODE_MAX:
            result.code, result.message = "invalid_unit_code", _("巡逻单元编码不能为空。")
            continue
        try:
            at = _as_aware(raw.get("at"))
        except (TypeError, ValueError):
            result.code, result.message = "invalid_time", _("时间格式不正确。")
            continue
        key = (area.pk, unit_code, at)
        if key in seen:
            result.status, result.code = "duplicate", "duplicate"
            continue
        seen.add(key)
        new.append((result, PatrolCheckin(area=area, unit_code=unit_code, at=at, source=source)))
    if new:
        existing = set(
            PatrolCheckin.objects.filter(
                area__in={c.area_id for _r, c in new},
                at__in={c.at for _r, c in new},
            ).values_list("area_id", "unit_code", "at")
        )
        fresh = []
        for result, checkin in new:
            if (checkin.area_id, checkin.unit_code, checkin.at) in existing:
                result.status, result.code = "duplicate", "duplicate"
            else:
                result.status = "accepted"
                fresh.append(checkin)
        PatrolCheckin.objects.bulk_create(fresh, ignore_conflicts=True)
    return results


# --- Passes -----------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def key_areas(station: OrgUnit):
    """The station's key segments and areas, with or without a boundary: check-ins count for
    all of them; only those with geometry are matched against GPS tracks."""
    return GridArea.objects.filter(station=station, is_key=True)


@dataclass
class Target:
    area_id: int
    geom: object
    threshold: float  # metres: the buffer for a line or a point, 0 for a polygon


def _targets(areas, projection: Projection, rule: PatrolRule) -> list[Target]:
    targets = []
    for area in areas:
        try:
            geom = projection.geometry(area.geometry)
        except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException):
            continue  # a broken geometry is the grid import's to refuse; nothing to judge here
        polygon = geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection")
        targets.append(Target(area.pk, geom, 0.0 if polygon else float(rule.buffer_m)))
    return targets


@dataclass
class Visit:
    area_id: int
    unit_code: str
    start: float  # epoch seconds
    end: float
    dwell: float
    source: str = PassSource.GPS


def _unit_visits(unit_code, t, x, y, targets: list[Target], rule: PatrolRule) -> list[Visit]:
    """The visits of one unit's track (times `t` ascending, positions x/y in metres)."""
    n = len(t)
    if n == 0:
        return []
    linked = np.diff(t) <= rule.no_data_minutes * 60
    a = np.flatnonzero(linked)
    b = a + 1
    touched = np.zeros(n, dtype=bool)
    touched[a] = True
    touched[b] = True
    lone = np.flatnonzero(~touched)
    starts = np.concatenate([a, lone])
    ends = np.concatenate([b, lone])
    pieces = np.empty(len(starts), dtype=object)
    if len(a):
        coords = np.stack([np.column_stack([x[a], y[a]]), np.column_stack([x[b], y[b]])], axis=1)
        pieces[: len(a)] = shapely.linestrings(coords)
    if len(lone):
        pieces[len(a) :] = shapely.points(x[lone], y[lone])
    tree = shapely.STRtree(pieces)
    fractions = np.linspace(0.0, 1.0, SAMPLES)
    visits: list[Visit] = []
    for target in targets:
        idx = tree.query(target.geom, predicate="dwithin", distance=target.threshold + 1e-6)
        if len(idx) == 0:
            continue
        idx = np.sort(idx)
        s, e = starts[idx], ends[idx]
        # Sample each piece to time the entry, the exit and the time inside.
        px = x[s][:, None] + (x[e] - x[s])[:, None] * fractions
        py = y[s][:, None] + (y[e] - y[s])[:, None] * fractions
        dist = shapely.distance(target.geom, shapely.points(px, py))
        inside = dist <= target.threshold + 1e-6
        t0, dt = t[s], t[e] - t[s]
        any_inside = inside.any(axis=1)
        first = np.where(any_inside, inside.argmax(axis=1), dist.argmin(axis=1))
        last = np.where(
            any_inside, SAMPLES - 1 - inside[:, ::-1].argmax(axis=1), dist.argmin(axis=1)
        )
        enter = t0 + fractions[first] * dt
        leave = t0 + fractions[last] * dt
        # The time inside: samples at the ends count half (trapezoid rule).
        weights = np.full(SAMPLES, 1.0 / (SAMPLES - 1))
        weights[[0, -1]] /= 2
        dwell = (inside * weights).sum(axis=1) * dt
        for i in np.argsort(enter, kind="stable"):
            visits.append(Visit(target.area_id, unit_code, enter[i], leave[i], dwell[i]))
    return visits


def _merge(visits: list[Visit], gap_seconds: float) -> list[Visit]:
    """Visits of one (area, unit) less than `gap_seconds` apart become one pass."""
    merged: list[Visit] = []
    for visit in sorted(visits, key=lambda v: (v.area_id, v.unit_code, v.start)):
        last = merged[-1] if merged else None
        if (
            last is not None
            and (last.area_id, last.unit_code) == (visit.area_id, visit.unit_code)
            and visit.start - last.end < gap_seconds
        ):
            last.end = max(last.end, visit.end)
            last.dwell += visit.dwell
        else:
            merged.append(
                Visit(visit.area_id, visit.unit_code, visit.start, visit.end, visit.dwell)
            )
    return merged


def _with_checkins(passes: list[Visit], checkins, gap_seconds: float) -> list[Visit]:
    """A check-in within `gap_seconds` of a pass of the same unit and area is that pass;
    otherwise it is a pass of its own."""
    by_key: dict[tuple[int, str], list[Visit]] = defaultdict(list)
    for visit in passes:
        by_key[(visit.area_id, visit.unit_code)].append(visit)
    for area_id, unit_code, at in sorted(checkins, key=lambda c: c[2]):
        moment = at.timestamp()
        same = by_key[(area_id, unit_code)]
        if any(v.start - gap_seconds <= moment <= v.end + gap_seconds for v in same):
            continue
        visit = Visit(area_id, unit_code, moment, moment, 0.0, PassSource.CHECKIN)
        same.append(visit)
        passes.append(visit)
    return passes


def _ping_rows(station: OrgUnit, start: datetime, end: datetime) -> list[tuple]:
    """The station's good pings in [start, end) as (unit_code, epoch seconds, lng, lat),
    ordered by unit and time. On PostgreSQL the database turns the times into seconds: the
    ORM's per-row datetime conversion was most of the computation's time (bench/patrol.py)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT unit_code, EXTRACT(EPOCH FROM at)::float8, lng, lat FROM {PING_TABLE} "  # noqa: S608 - the model's table name
                "WHERE station_id = %s AND flag = '' AND at >= %s AND at < %s "
                "ORDER BY unit_code, at",
                [station.pk, start, end],
            )
            return cursor.fetchall()
    return [
        (unit_code, at.timestamp(), lng, lat)
        for unit_code, at, lng, lat in PatrolPing.objects.filter(
            station=station, flag="", at__gte=start, at__lt=end
        )
        .order_by("unit_code", "at")
        .values_list("unit_code", "at", "lng", "lat")
    ]


PING_TABLE = PatrolPing._meta.db_table


def _track_arrays(rows):
    """rows (unit_code, epoch seconds, lng, lat) ordered by unit then time → per unit
    (t, lng, lat)."""
    if not rows:
        return {}
    units = [r[0] for r in rows]
    t = np.fromiter((r[1] for r in rows), dtype=float, count=len(rows))
    lng = np.fromiter((r[2] for r in rows), dtype=float, count=len(rows))
    lat = np.fromiter((r[3] for r in rows), dtype=float, count=len(rows))
    cuts = [0] + [i for i in range(1, len(units)) if units[i] != units[i - 1]] + [len(units)]
    tracks = {}
    for lo, hi in itertools.pairwise(cuts):
        order = np.argsort(t[lo:hi], kind="stable") + lo  # out-of-order pings sorted here
        tracks[units[lo]] = (t[order], lng[order], lat[order])
    return tracks


def _coverage(tracks, day_start: float, rule: PatrolRule) -> tuple[list[int], list[int]]:
    """Per hour of the day: units reporting steadily, good pings."""
    units = [0] * 24
    pings = [0] * 24
    gap = rule.no_data_minutes * 60
    for t, _lng, _lat in tracks.values():
        hours = np.floor((t - day_start) / 3600).astype(int)
        counts = np.bincount(hours[(hours >= 0) & (hours < 24)], minlength=24)
        gapped = np.zeros(24, dtype=bool)
        long_gaps = np.flatnonzero(np.diff(t) > gap)
        for i in long_gaps:
            # Hours overlapping the open interval (t[i], t[i+1]).
            first = int((t[i] - day_start) // 3600)
            last = math.ceil((t[i + 1] - day_start) / 3600) - 1
            gapped[max(first, 0) : min(last, 23) + 1] = True
        for hour in range(24):
            pings[hour] += int(counts[hour])
            if counts[hour] and not gapped[hour]:
                units[hour] += 1
    return units, pings


def passes_compute(station: OrgUnit, day: date, now: datetime | None = None) -> int:
    """Recompute `station`'s passes and hourly coverage for `day` (local) from its good pings
    and check-ins, replacing what was there in one transaction. Returns the passes written."""
    start, end = day_bounds(day)
    rule = patrol_rule_for(station)
    areas = list(key_areas(station))
    tracks = _track_arrays(_ping_rows(station, start, end))
    lng0 = np.mean([(a.min_lng + a.max_lng) / 2 for a in areas if a.min_lng is not None] or [0])
    lat0 = np.mean([(a.min_lat + a.max_lat) / 2 for a in areas if a.min_lat is not None] or [0])
    projection = Projection(float(lng0), float(lat0))
    targets = _targets([a for a in areas if a.geometry], projection, rule)
    visits: list[Visit] = []
    if targets:
        for unit_code, (t, lng, lat) in tracks.items():
            x, y = projection.xy(lng, lat)
            visits.extend(_unit_visits(unit_code, t, x, y, targets, rule))
    gap_seconds = rule.min_gap_minutes * 60
    passes = _merge(visits, gap_seconds)
    checkins = list(
        PatrolCheckin.objects.filter(
            area__in=[a.pk for a in areas], at__gte=start, at__lt=end
        ).values_list("area_id", "unit_code", "at")
    )
    passes = _with_checkins(passes, checkins, gap_seconds)
    units, pings = _coverage(tracks, start.timestamp(), rule)
    # Hours not begun yet get no coverage row: they are not "no data", they are to come.
    hours = [h for h in range(24) if start + timedelta(hours=h) < (now or timezone.now())]
    zone = timezone.get_current_timezone()
    with transaction.atomic():
        PatrolPass.objects.filter(
            area__station=station, entered_at__gte=start, entered_at__lt=end
        ).delete()
        PatrolPass.objects.bulk_create(
            [
                PatrolPass(
                    area_id=p.area_id,
                    unit_code=p.unit_code,
                    entered_at=datetime.fromtimestamp(p.start, tz=zone),
                    left_at=datetime.fromtimestamp(p.end, tz=zone),
                    dwell_seconds=round(p.dwell),
                    source=p.source,
                )
                for p in passes
            ]
        )
        PatrolCoverage.objects.filter(station=station, hour__gte=start, hour__lt=end).delete()
        PatrolCoverage.objects.bulk_create(
            [
                PatrolCoverage(
                    station=station,
                    hour=start + timedelta(hours=h),
                    units=units[h],
                    pings=pings[h],
                )
                for h in hours
            ]
        )
    return len(passes)


def passes_recompute(*, actor, stations, first: date, last: date) -> int:
    """Recompute the passes of `stations` for the days first..last (the page's button)."""
    total = 0
    day = first
    while day <= last:
        for station in stations:
            total += passes_compute(station, day)
        day += timedelta(days=1)
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        detail={
            "patrol_recompute": [s.code for s in stations],
            "from": first.isoformat(),
            "to": last.isoformat(),
            "passes": total,
        },
    )
    return total


# --- Compliance -------------------------------------------------------------------------------


@dataclass
class AreaCompliance:
    area: GridArea
    kind: str  # "segment" (judged per key hour) or "area" (per day)
    need: int
    met: int = 0
    failed: int = 0
    no_data: int = 0
    in_progress: int = 0  # 进行中: the current key hour (day for areas), not judged yet
    passes: int = 0
    hours: list[int] = field(default_factory=list)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)

    @property
    def judged(self) -> int:
        return self.met + self.failed

    @property
    def rate(self) -> float | None:
        return self.met / self.judged if self.judged else None


def compliance_compute(
    *,
    areas,
    rules: dict[int, PatrolRule],
    passes,
    coverage,
    checkin_hours,
    first: date,
    last: date,
    now: datetime,
) -> list[AreaCompliance]:
    """Compliance of key `areas` over first..last (local days), from plain rows:
    `passes` (area_id, entered_at), `coverage` {(station_id, local hour start): units},
    `checkin_hours` {(station_id, local hour start)}. A key segment needs
    `segment_passes_per_hour` passes in each key hour; a key area `area_passes_per_day` a
    day. A key hour (a day for areas) that falls short with no steady unit and no check-in is
    "no data", not a failure. Only hours (days) that have ended by `now` are judged: the
    current one is "in progress" (进行中), counted apart like no data; later ones not at all."""
    counts: dict[tuple[int, datetime], int] = defaultdict(int)
    zone = timezone.get_current_timezone()
    results = {}
    for area in areas:
        rule = rules[area.station_id]
        is_segment = area.level == AreaLevel.SEGMENT
        need = rule.segment_passes_per_hour if is_segment else rule.area_passes_per_day
        hours = key_hours_parse(area.key_hours or rule.key_hours) if is_segment else []
        results[area.pk] = AreaCompliance(
            area, "segment" if is_segment else "area", need, hours=hours
        )
    for area_id, entered_at in passes:
        local = timezone.localtime(entered_at, zone)
        counts[(area_id, local.replace(minute=0, second=0, microsecond=0))] += 1
        if area_id in results:
            results[area_id].passes += 1
            results[area_id].by_hour[local.hour] += 1
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    for result in results.values():
        station_id = result.area.station_id
        for day in days:
            day_start = day_bounds(day)[0]
            hour_starts = [
                timezone.localtime(day_start + timedelta(hours=h), zone) for h in range(24)
            ]
            if result.kind == "segment":
                for hour in result.hours:
                    moment = hour_starts[hour]
                    if moment + timedelta(hours=1) > now:
                        result.in_progress += int(moment <= now)
                        continue
                    got = counts.get((result.area.pk, moment), 0)
                    covered = coverage.get((station_id, moment), 0) > 0 or (
                        (station_id, moment) in checkin_hours
                    )
                    _judge(result, got, covered)
            else:
                if day_bounds(day)[1] > now:
                    result.in_progress += int(day_start <= now)
                    continue
                got = sum(counts.get((result.area.pk, m), 0) for m in hour_starts)
                covered = any(
                    coverage.get((station_id, m), 0) > 0 or (station_id, m) in checkin_hours
                    for m in hour_starts
                )
                _judge(result, got, covered)
    return list(results.values())


def _judge(result: AreaCompliance, got: int, covered: bool) -> None:
    if got >= result.need:
        result.met += 1
    elif covered:
        result.failed += 1
    else:
        result.no_data += 1


# --- File import (导入定位) -------------------------------------------------------------------

PING_COLUMNS = [
    Column("unit_code", "巡逻单元", ("巡逻单元编码", "车辆编号", "设备编号")),
    Column("at", "时间", ("定位时间", "GPS时间")),
    Column("lng", "经度", ("longitude",)),
    Column("lat", "纬度", ("latitude",)),
]


def _ping_row(row: Row) -> dict:
    cells = row.cells
    if not cells["unit_code"] or len(cells["unit_code"]) > UNIT_CODE_MAX:
        raise ApplicationError(
            "invalid_unit_code", _("巡逻单元编码不能为空，且不超过 40 个字符。"), field="unit_code"
        )
    at = cell_datetime(cells["at"], column="at")
    values = {}
    for name in ("lng", "lat"):
        try:
            values[name] = float(cells[name])
        except ValueError:
            raise ApplicationError("invalid_position", _("经纬度应为数字。"), field=name) from None
        if not math.isfinite(values[name]) or abs(values[name]) > (180 if name == "lng" else 90):
            raise ApplicationError("invalid_position", _("经纬度超出范围。"), field=name)
    return {"unit_code": cells["unit_code"], "at": at, **values}


def pings_import(*, actor, station: OrgUnit, table: Table) -> ImportReport:
    """Store the pings of an uploaded file for `station`, all or nothing: the same rules as the
    API (duplicates counted, not refused; impossible speeds and places outside the city kept
    flagged)."""
    scope_unit = None if actor.is_superuser else actor.unit
    _station_check(station, scope_unit)

    def store(checked):
        for lo in range(0, len(checked), MAX_BATCH):
            chunk = checked[lo : lo + MAX_BATCH]
            results = pings_ingest(
                station=station, items=[data for _row, data in chunk], scope_unit=scope_unit
            )
            for (row, _data), result in zip(chunk, results, strict=True):
                if result.status == "rejected":
                    yield row, RowError(row.number, "", result.code, result.message)
                else:
                    yield row, {"line": row.number, "status": result.status, "flag": result.flag}

    report = rows_import(table=table, check_row=_ping_row, store=store)
    if report.stored:
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=station,
            detail={"patrol_pings": len(report.results)},
        )
    return report


# --- Reads (scoped) -------------------------------------------------------------------------


def stations_visible_to(user):
    """Police stations of the user's subtree (none without GRID_VIEW)."""
    if not (user.is_superuser or has_perm(user, GRID_VIEW)):
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(scope_q(user, ""), kind=UnitKind.POLICE_STATION).order_by("path")


def flagged_pings_visible_to(user, *, first: date, last: date, station=None):
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    rows = PatrolPing.objects.filter(area_scope_q(user), at__gte=start, at__lt=end).exclude(flag="")
    if station is not None:
        rows = rows.filter(station=station)
    return rows.select_related("station").order_by("-at", "unit_code")


def _saw_police_latest(user, station_ids: set[int]) -> dict[int, tuple]:
    """Per station, the latest poll's 见警率 estimate the user may read: (poll, estimate)."""
    found: dict[int, tuple] = {}
    for poll in poll_list_visible_to(user)[:POLLS_LOOKED_AT]:
        for estimate in poll_estimates(user, poll, indicator=Indicator.SAW_POLICE):
            if estimate.unit_id in station_ids and estimate.unit_id not in found:
                found[estimate.unit_id] = (poll, estimate)
        if set(found) >= station_ids:
            break
    return found


POLLS_LOOKED_AT = 8


def patrol_overview(
    user, *, first: date, last: date, station=None, now: datetime | None = None
) -> dict:
    """What the patrol page shows for first..last: compliance per key segment and area, the
    segment × hour heatmap, dwell stops, flagged pings and the polls' 见警率 beside. Hours and
    days not over by `now` are shown in progress, not judged."""
    now = now or timezone.now()
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    areas_qs = GridArea.objects.filter(area_scope_q(user), is_key=True).select_related("station")
    if station is not None:
        areas_qs = areas_qs.filter(station=station)
    areas = list(areas_qs.order_by("station__path", "level", "code"))
    station_ids = {a.station_id for a in areas}
    stations = {a.station_id: a.station for a in areas}
    rules = {sid: patrol_rule_for(unit) for sid, unit in stations.items()}
    passes = list(
        PatrolPass.objects.filter(
            area__in=[a.pk for a in areas], entered_at__gte=start, entered_at__lt=end
        ).values_list("area_id", "entered_at")
    )
    coverage = {
        (sid, hour): units
        for sid, hour, units in PatrolCoverage.objects.filter(
            station_id__in=station_ids, hour__gte=start, hour__lt=end
        ).values_list("station_id", "hour", "units")
    }
    checkin_hours = {
        (sid, timezone.localtime(at).replace(minute=0, second=0, microsecond=0))
        for sid, at in PatrolCheckin.objects.filter(
            area__station_id__in=station_ids, at__gte=start, at__lt=end
        ).values_list("area__station_id", "at")
    }
    compliance = compliance_compute(
        areas=areas,
        rules=rules,
        passes=passes,
        coverage=coverage,
        checkin_hours=checkin_hours,
        first=first,
        last=last,
        now=now,
    )
    dwell_stops = [
        stop
        for stop in PatrolPass.objects.filter(
            area__in=[a.pk for a in areas],
            entered_at__gte=start,
            entered_at__lt=end,
            source=PassSource.GPS,
        )
        .select_related("area")
        .order_by("-dwell_seconds", "entered_at")
        if stop.dwell_seconds >= rules[stop.area.station_id].dwell_minutes * 60
    ][:DWELL_SHOWN]
    segments = [c for c in compliance if c.kind == "segment"]
    heatmap = {
        "segments": [c.area.name for c in segments],
        "hours": [f"{h:02d}" for h in range(24)],
        "cells": [[h, i, c.by_hour[h]] for i, c in enumerate(segments) for h in range(24)],
        "key": [[h, i] for i, c in enumerate(segments) for h in c.hours],
        "max": max([max(c.by_hour) for c in segments] or [0]),
    }
    polls = _saw_police_latest(user, station_ids)
    by_station = []
    for sid, unit in sorted(stations.items(), key=lambda kv: kv[1].path):
        mine = [c for c in compliance if c.area.station_id == sid]
        met = sum(c.met for c in mine)
        judged = sum(c.judged for c in mine)
        poll, estimate = polls.get(sid, (None, None))
        by_station.append(
            {
                "station": unit,
                "rule": rules[sid],
                "met": met,
                "judged": judged,
                "no_data": sum(c.no_data for c in mine),
                "in_progress": sum(c.in_progress for c in mine),
                "rate": met / judged if judged else None,
                "poll": poll,
                "saw_police": estimate,
            }
        )
    flagged = flagged_pings_visible_to(user, first=first, last=last, station=station).count()
    return {
        "compliance": compliance,
        "stations": by_station,
        "heatmap": heatmap,
        "dwell_stops": dwell_stops,
        "flagged": flagged,
    }


DWELL_SHOWN = 100
