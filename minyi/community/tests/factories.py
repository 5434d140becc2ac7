"""Test data for community safety: small grids written straight to the tables (the imports are
tested on their own). Coordinates are near Shaoxing (120.58 E, 30.00 N): 0.001° of latitude is
about 111 m, 0.001° of longitude about 96 m there."""

from datetime import date

from minyi.community.models import AreaLevel, AreaPopulation, GridArea

BASE_LNG, BASE_LAT = 120.58, 30.00
_counter = iter(range(1, 10**9))


def square(lng: float, lat: float, size: float = 0.004) -> dict:
    """A GeoJSON Polygon: a square with its south-west corner at (lng, lat)."""
    ring = [
        [lng, lat],
        [lng + size, lat],
        [lng + size, lat + size],
        [lng, lat + size],
        [lng, lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def line(*points: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def _bbox(geometry: dict | None) -> dict:
    if not geometry:
        return {}
    coords = geometry["coordinates"]
    if geometry["type"] == "Point":
        coords = [coords]
    while isinstance(coords[0][0], list):
        coords = [point for ring in coords for point in ring]
    lngs, lats = [c[0] for c in coords], [c[1] for c in coords]
    return {"min_lng": min(lngs), "min_lat": min(lats), "max_lng": max(lngs), "max_lat": max(lats)}


def make_area(
    station,
    *,
    level=AreaLevel.COMMUNITY,
    parent=None,
    name=None,
    code=None,
    households=100,
    geometry=None,
    **extra,
) -> GridArea:
    n = next(_counter)
    area = GridArea.objects.create(
        station=station,
        parent=parent,
        level=level,
        code=code or f"G{n:05d}",
        name=name or f"测试网格{n}",
        households=households,
        geometry=geometry,
        **_bbox(geometry),
        **extra,
    )
    area.community = parent.community if parent is not None else area
    area.save(update_fields=["community"])
    return area


def make_population(area, month: date, registered=3000, floating=1000) -> AreaPopulation:
    return AreaPopulation.objects.create(
        area=area, month=month, registered=registered, floating=floating
    )


def make_grid(world):
    """One community in each of stations a1, a2 and b1; a1's has a resident group with a
    building and a key road segment running east from (BASE_LNG, BASE_LAT + 0.002)."""
    a1 = make_area(
        world.station_a1, name="甲一社区", code="C-A1", geometry=square(BASE_LNG, BASE_LAT)
    )
    group = make_area(
        world.station_a1,
        level=AreaLevel.GROUP,
        parent=a1,
        name="甲一社区第一居民小组",
        code="C-A1-G1",
        households=40,
        geometry=square(BASE_LNG, BASE_LAT, 0.002),
    )
    building = make_area(
        world.station_a1,
        level=AreaLevel.BUILDING,
        parent=group,
        name="1 幢",
        code="C-A1-G1-B1",
        households=6,
        geometry={"type": "Point", "coordinates": [BASE_LNG + 0.001, BASE_LAT + 0.001]},
    )
    segment = make_area(
        world.station_a1,
        level=AreaLevel.SEGMENT,
        parent=a1,
        name="解放路（甲一段）",
        code="C-A1-R1",
        households=0,
        geometry=line((BASE_LNG, BASE_LAT + 0.002), (BASE_LNG + 0.004, BASE_LAT + 0.002)),
        is_key=True,
    )
    a2 = make_area(
        world.station_a2, name="甲二社区", code="C-A2", geometry=square(BASE_LNG + 0.01, BASE_LAT)
    )
    b1 = make_area(
        world.station_b1, name="乙一社区", code="C-B1", geometry=square(BASE_LNG + 0.02, BASE_LAT)
    )
    return {"a1": a1, "group": group, "building": building, "segment": segment, "a2": a2, "b1": b1}
