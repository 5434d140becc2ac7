"""Grid imports (导入网格, 人口导入): CSV/Excel and GeoJSON, every bad-input rule refused with
its Chinese message naming the row, all or nothing, re-import idempotent, population upserted."""

import csv
import io
import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from minyi.community.grid import (
    GRID_COLUMNS,
    KIND_GRID,
    KIND_POPULATION,
    POPULATION_COLUMNS,
    geometry_check,
    grid_file_confirm,
    grid_file_preview,
    grid_file_upload,
    grid_import,
    grid_table_read,
    key_hours_parse,
    population_import,
)
from minyi.community.models import AreaLevel, AreaPopulation, GridArea
from minyi.community.tests.factories import BASE_LAT, BASE_LNG, line, make_area, square
from minyi.core.errors import ApplicationError
from minyi.core.imports import table_read
from minyi.core.models import ImportStatus
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db

HEADER = ["网格编码", "名称", "层级", "上级编码", "派出所代码", "户数", "重点", "重点时段", "边界"]
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [
            [BASE_LNG, BASE_LAT],
            [BASE_LNG + 0.004, BASE_LAT + 0.004],
            [BASE_LNG + 0.004, BASE_LAT],
            [BASE_LNG, BASE_LAT + 0.004],
            [BASE_LNG, BASE_LAT],
        ]
    ],
}


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def _row(code, name, level, parent="", station="TA02", households="", key="", hours="", geo=None):
    return [
        code,
        name,
        level,
        parent,
        station,
        households,
        key,
        hours,
        json.dumps(geo) if geo else "",
    ]


GOOD_ROWS = [
    # A child before its parent: resolved within the file.
    _row("S-G1", "一组", "居民小组", "S-C", households="40", geo=square(BASE_LNG, BASE_LAT, 0.002)),
    _row("S-C", "幸福社区", "社区", households="300", geo=square(BASE_LNG, BASE_LAT)),
    _row(
        "S-B1",
        "1 幢",
        "楼栋",
        "S-G1",
        households="12",
        geo={"type": "Point", "coordinates": [BASE_LNG + 0.001, BASE_LAT + 0.001]},
    ),
    _row(
        "S-R1",
        "解放路",
        "segment",
        "S-C",
        key="是",
        hours="7-9，17-19",
        geo=line((BASE_LNG, BASE_LAT + 0.002), (BASE_LNG + 0.004, BASE_LAT + 0.002)),
    ),
]


def _import(world, rows, *, actor=None, data=None):
    actor = actor or world.user("a2", Role.SUPERVISOR)
    table = grid_table_read(data or csv_bytes(rows), kind=KIND_GRID)
    return grid_import(actor=actor, table=table)


def _errors(report):
    return [(e.row, e.column, e.code, e.message) for e in report.errors]


def _only_error(report):
    assert len(report.errors) == 1, _errors(report)
    return report.errors[0]


# --- The happy paths -------------------------------------------------------------------------


def test_a_csv_grid_is_stored_with_its_tree_bbox_and_community(world):
    report = _import(world, GOOD_ROWS)
    assert report.stored, _errors(report)
    areas = {a.code: a for a in GridArea.objects.all()}
    community, group = areas["S-C"], areas["S-G1"]
    building, segment = areas["S-B1"], areas["S-R1"]
    assert community.level == AreaLevel.COMMUNITY and community.parent is None
    assert community.community == community
    assert group.parent == community and group.community == community
    assert building.parent == group and building.community == community
    assert segment.level == AreaLevel.SEGMENT and segment.is_key
    assert segment.key_hours == "7-9,17-19"
    assert community.households == 300 and community.station == world.station_a2
    assert community.min_lng == pytest.approx(BASE_LNG)
    assert community.max_lat == pytest.approx(BASE_LAT + 0.004)
    assert building.min_lng == building.max_lng == pytest.approx(BASE_LNG + 0.001)
    assert segment.geometry["type"] == "LineString"


def test_a_geojson_feature_collection_is_stored(world):
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": "J-C",
                "name": "和平社区",
                "level": "社区",
                "派出所代码": "TA02",
            },
            "geometry": square(BASE_LNG, BASE_LAT),
        },
        {
            "type": "Feature",
            "properties": {
                "网格编码": "J-R",
                "名称": "和平路",
                "层级": "路段",
                "上级编码": "J-C",
                "station_code": "TA02",
                "重点": True,
                "户数": 0,
            },
            "geometry": line((BASE_LNG, BASE_LAT), (BASE_LNG + 0.003, BASE_LAT)),
        },
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    report = _import(world, None, data=data)
    assert report.stored, _errors(report)
    road = GridArea.objects.get(code="J-R")
    assert road.parent.code == "J-C" and road.is_key and road.community.code == "J-C"
    assert road.geometry["type"] == "LineString"


def test_a_geojson_bow_tie_is_refused_naming_the_feature(world):
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": "J-C",
                "name": "和平社区",
                "level": "社区",
                "派出所代码": "TA02",
            },
            "geometry": BOW_TIE,
        }
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    report = _import(world, None, data=data)
    error = _only_error(report)
    assert (error.row, error.code) == (1, "invalid_polygon")
    assert "J-C" in error.message and "自相交" in error.message
    assert not GridArea.objects.exists()


def test_a_file_imported_twice_changes_nothing_and_an_edit_updates_the_area(world):
    assert _import(world, GOOD_ROWS).stored
    before = {a.code: (a.pk, a.parent_id, a.community_id) for a in GridArea.objects.all()}
    assert _import(world, GOOD_ROWS).stored
    after = {a.code: (a.pk, a.parent_id, a.community_id) for a in GridArea.objects.all()}
    assert before == after and GridArea.objects.count() == 4
    edited = [*GOOD_ROWS[:2], _row("S-B1", "1 幢（新）", "楼栋", "S-G1", households="14")]
    assert _import(world, edited).stored
    building = GridArea.objects.get(code="S-B1")
    assert (building.name, building.households, building.geometry) == ("1 幢（新）", 14, None)


def test_codes_match_whatever_their_case_and_a_moved_group_takes_its_buildings(world):
    assert _import(world, GOOD_ROWS).stored
    rows = [
        _row("s-c2", "新社区", "社区"),
        _row("s-g1", "一组", "居民小组", "S-C2", households="40"),
    ]
    assert _import(world, rows).stored
    group = GridArea.objects.get(code="S-G1")  # the stored spelling stays
    new_community = GridArea.objects.get(code="s-c2")
    assert group.parent == new_community and group.community == new_community
    assert GridArea.objects.get(code="S-B1").community == new_community
    assert GridArea.objects.filter(code__iexact="s-g1").count() == 1


def test_the_same_file_as_excel_is_read(world):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in GOOD_ROWS:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    assert _import(world, None, data=out.getvalue()).stored
    assert GridArea.objects.count() == 4


# --- Bad input: each rule, with its message ----------------------------------------------------


def test_a_self_intersecting_polygon_is_refused_with_its_row(world):
    report = _import(world, [_row("S-C", "幸福社区", "社区", geo=BOW_TIE)])
    error = _only_error(report)
    assert (error.row, error.column, error.code) == (2, "geometry", "invalid_polygon")
    assert "网格“S-C”的边界无效：边界自相交" in error.message
    assert "位置约 120.58200, 30.00200" in error.message
    assert not GridArea.objects.exists()


def test_an_unknown_parent_is_refused(world):
    report = _import(world, [_row("S-G1", "一组", "居民小组", "NOPE")])
    error = _only_error(report)
    assert (error.row, error.code) == (2, "unknown_parent")
    assert "上级编码“NOPE”不存在" in error.message


def test_a_parent_of_the_wrong_level_is_refused(world):
    rows = [
        _row("S-C", "幸福社区", "社区"),
        _row("S-B1", "1 幢", "楼栋", "S-C"),
        _row("S-G1", "一组", "居民小组", "S-B1"),
    ]
    report = _import(world, rows)
    error = _only_error(report)
    assert (error.row, error.code) == (4, "parent_level")
    assert "是居民小组，不能挂在楼栋“S-B1”之下" in error.message
    assert not GridArea.objects.exists()  # all or nothing


def test_a_community_with_a_parent_or_a_group_without_one_is_refused(world):
    report = _import(world, [_row("S-C", "社区", "社区", "X"), _row("S-G", "组", "居民小组")])
    assert [e.code for e in report.errors] == ["community_with_parent", "parent_required"]


def test_a_segment_given_a_polygon_is_refused(world):
    rows = [
        _row("S-C", "幸福社区", "社区"),
        _row("S-R1", "解放路", "路段", "S-C", geo=square(BASE_LNG, BASE_LAT)),
    ]
    error = _only_error(_import(world, rows))
    assert (error.row, error.code) == (3, "geometry_type")
    assert "是路段，边界应为 LineString / MultiLineString，文件中是 Polygon" in error.message


def test_coordinates_outside_china_are_refused(world):
    swapped = {"type": "Point", "coordinates": [BASE_LAT, BASE_LNG]}  # lat, lng: swapped
    rows = [
        _row("S-C", "幸福社区", "社区", geo=square(2.35, 48.85)),  # Paris
        _row("S-G", "一组", "居民小组", "S-C"),
        _row("S-B", "1 幢", "楼栋", "S-G", geo=swapped),
    ]
    report = _import(world, rows)
    assert [(e.row, e.code) for e in report.errors] == [(2, "outside_china"), (4, "outside_china")]
    assert "不在中国境内" in report.errors[0].message
    assert "经度在前、纬度在后" in report.errors[1].message


def test_a_duplicate_code_in_the_file_is_refused(world):
    rows = [_row("S-C", "幸福社区", "社区"), _row("s-c", "又一个社区", "社区")]
    error = _only_error(_import(world, rows))
    assert (error.row, error.code) == (3, "duplicate_code")
    assert "与第 2 行重复" in error.message


def test_a_station_outside_the_importers_subtree_is_refused(world):
    report = _import(world, [_row("S-C", "幸福社区", "社区", station="TB01")])
    error = _only_error(report)
    assert (error.column, error.code) == ("station_code", "station_out_of_scope")
    assert "乙一派出所（TB01）”不在您的管辖范围内" in error.message
    # Not a police station at all:
    error = _only_error(_import(world, [_row("S-C", "幸福社区", "社区", station="TA00")]))
    assert error.code == "unknown_station"


def test_a_child_must_belong_to_its_parents_station(world):
    district = world.user("a", Role.SUPERVISOR)  # both stations are in its subtree
    rows = [
        _row("S-C", "幸福社区", "社区", station="TA02"),
        _row("S-G", "一组", "居民小组", "S-C", station="TA01"),
    ]
    error = _only_error(_import(world, rows, actor=district))
    assert error.code == "station_differs_from_parent"
    assert "下级网格必须与上级网格属于同一派出所" in error.message


def test_a_code_of_another_stations_area_is_not_overwritten(world):
    make_area(world.station_a1, code="S-C", name="甲一的社区")
    error = _only_error(_import(world, [_row("S-C", "幸福社区", "社区")]))
    assert error.code == "code_out_of_scope"
    assert GridArea.objects.get(code="S-C").name == "甲一的社区"


def test_an_existing_parent_in_the_importers_scope_is_used(world):
    community = make_area(world.station_a2, code="OLD-C")
    assert _import(world, [_row("N-G", "新组", "居民小组", "OLD-C")]).stored
    assert GridArea.objects.get(code="N-G").community == community
    # Another station's community is "unknown" to a2's importer.
    make_area(world.station_a1, code="A1-C")
    assert _only_error(_import(world, [_row("N-G2", "组", "居民小组", "A1-C")])).code == (
        "unknown_parent"
    )


def test_an_area_with_children_keeps_its_level(world):
    assert _import(world, GOOD_ROWS).stored
    error = _only_error(_import(world, [_row("S-G1", "一组", "楼栋", "S-C")]))
    assert error.code == "area_has_children"


def test_other_bad_cells_are_refused(world):
    rows = [
        _row("S-C", "幸福社区", "街道"),
        _row("S-D", "社区", "社区", households="十"),
        _row("S-E", "社区", "社区", key="也许"),
        _row("S-F", "社区", "社区", hours="9-7"),
        [*_row("S-H", "社区", "社区", geo=None)[:-1], "{not json"],
        _row("", "社区", "社区"),
    ]
    report = _import(world, rows)
    codes = [e.code for e in report.errors]
    assert codes == [
        "invalid_level",
        "invalid_number",
        "invalid_is_key",
        "invalid_key_hours",
        "invalid_geometry",
        "code_required",
    ]


def test_a_child_of_a_refused_row_is_not_reported_twice(world):
    rows = [
        _row("S-C", "幸福社区", "社区", geo=BOW_TIE),
        _row("S-G1", "一组", "居民小组", "S-C"),
    ]
    report = _import(world, rows)
    assert [e.code for e in report.errors] == ["invalid_polygon"]


def test_a_missing_column_refuses_the_file():
    with pytest.raises(ApplicationError) as exc:
        table_read(csv_bytes([], header=["网格编码", "名称"]), columns=GRID_COLUMNS)
    assert exc.value.code == "missing_columns"
    with pytest.raises(ApplicationError) as exc:
        grid_table_read(b'{"type": "Feature"}', kind=KIND_GRID)
    assert exc.value.code == "invalid_geojson"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", ""), ("7-9,17-19", "7-9,17-19"), ("17-19、7-9", "7-9,17-19"), ("20~24", "20-24")],
)
def test_key_hours_are_normalised(text, expected):
    assert key_hours_parse(text) == expected


@pytest.mark.parametrize("text", ["7", "9-7", "7-25", "7-9,8-10", "早高峰"])
def test_bad_key_hours_are_refused(text):
    with pytest.raises(ApplicationError) as exc:
        key_hours_parse(text)
    assert exc.value.code == "invalid_key_hours"


def test_an_unclosed_ring_is_refused():
    ring = square(BASE_LNG, BASE_LAT)["coordinates"][0][:-1]
    with pytest.raises(ApplicationError) as exc:
        geometry_check(
            json.dumps({"type": "Polygon", "coordinates": [ring]}), level="community", code="X"
        )
    assert exc.value.code == "invalid_polygon"


# --- Population (人口导入) ----------------------------------------------------------------------


def _population(world, rows, *, actor=None):
    actor = actor or world.user("a2", Role.SUPERVISOR)
    data = csv_bytes(rows, header=["网格编码", "月份", "户籍人口", "流动人口"])
    table = table_read(data, columns=POPULATION_COLUMNS)
    return population_import(actor=actor, table=table)


def test_population_is_upserted_per_area_and_month(world):
    area = make_area(world.station_a2, code="P-C")
    assert _population(
        world, [["P-C", "2026-05", "3000", "1,200"], ["P-C", "2026年6月", "3010", "1190"]]
    ).stored
    assert _population(world, [["P-C", "2026/05", "3100", "1000"]]).stored
    rows = {p.month: (p.registered, p.floating) for p in AreaPopulation.objects.filter(area=area)}
    assert rows == {date(2026, 5, 1): (3100, 1000), date(2026, 6, 1): (3010, 1190)}


def test_bad_population_rows_are_refused_and_nothing_stored(world):
    make_area(world.station_a2, code="P-C")
    make_area(world.station_b1, code="B-C")
    report = _population(
        world,
        [
            ["P-C", "2026-05", "3000", "1000"],
            ["P-C", "2026-05", "3000", "1000"],
            ["B-C", "2026-05", "1", "1"],
            ["P-C", "2026-13", "1", "1"],
            ["P-C", "2026-07", "-1", "1"],
        ],
    )
    assert [(e.row, e.code) for e in report.errors] == [
        (3, "duplicate_month"),
        (4, "unknown_area"),
        (5, "invalid_month"),
        (6, "invalid_number"),
    ]
    assert "不在您的管辖范围内" in report.errors[1].message
    assert not AreaPopulation.objects.exists()


# --- The stored file: upload, preview, confirm --------------------------------------------------


def test_a_file_is_kept_previewed_and_imported_on_confirm(world):
    actor = world.user("a2", Role.SUPERVISOR)
    upload = SimpleUploadedFile("网格.csv", csv_bytes(GOOD_ROWS), content_type="text/csv")
    record = grid_file_upload(actor=actor, kind=KIND_GRID, upload=upload)
    assert record.status == ImportStatus.UPLOADED and record.unit == world.station_a2
    preview = grid_file_preview(record=record)
    assert preview.row_count == 4 and not preview.errors
    assert not GridArea.objects.exists()
    record = grid_file_confirm(actor=actor, record=record)
    assert record.status == ImportStatus.DONE
    assert record.result["rows"] == 4 and record.result["created"] == 4
    with pytest.raises(ApplicationError):  # once only
        grid_file_confirm(actor=actor, record=record)


def test_a_refused_file_keeps_its_errors(world):
    actor = world.user("a2", Role.SUPERVISOR)
    data = csv_bytes([_row("S-C", "幸福社区", "社区", geo=BOW_TIE)])
    record = grid_file_upload(actor=actor, kind=KIND_GRID, upload=SimpleUploadedFile("g.csv", data))
    assert [e.code for e in grid_file_preview(record=record).errors] == ["invalid_polygon"]
    record = grid_file_confirm(actor=actor, record=record)
    assert record.status == ImportStatus.REFUSED
    assert record.errors[0]["code"] == "invalid_polygon" and record.errors[0]["row"] == 2


def test_a_population_file_is_imported_on_confirm(world):
    make_area(world.station_a2, code="P-C")
    actor = world.user("a2", Role.SUPERVISOR)
    data = csv_bytes(
        [["P-C", "2026-05", "10", "2"]], header=["code", "month", "registered", "floating"]
    )
    record = grid_file_upload(
        actor=actor, kind=KIND_POPULATION, upload=SimpleUploadedFile("p.csv", data)
    )
    assert grid_file_confirm(actor=actor, record=record).status == ImportStatus.DONE
    assert AreaPopulation.objects.get().total == 12
