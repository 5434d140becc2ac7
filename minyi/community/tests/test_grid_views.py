"""Grid pages: the tree and map (area_list), the map's GeoJSON, an area's page, and the import
pages' upload → preview → confirm, each scoped to the user's subtree (b1 sees none of a's)."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from minyi.community.models import AreaColour, Colour, GridArea
from minyi.community.tests.factories import make_grid, make_population
from minyi.core.models import ImportFile, ImportStatus
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def _colour(area, month, colour):
    return AreaColour.objects.create(
        area=area, month=month, signal=colour, colour=colour, rule_version="test-1"
    )


def test_the_tree_shows_the_visible_grid_only(client, world):
    make_grid(world)
    client.force_login(world.user("a1", Role.SUPERVISOR))
    page = client.get(reverse("community:area_list")).content.decode()
    for code in ("C-A1", "C-A1-G1", "C-A1-G1-B1", "C-A1-R1"):
        assert f'data-code="{code}"' in page
    assert "C-A2" not in page and "C-B1" not in page
    assert "1 个居民小组" in page and "1 幢楼栋" in page and "1 条路段" in page
    client.force_login(world.user("b1", Role.SUPERVISOR))
    page = client.get(reverse("community:area_list")).content.decode()
    assert "C-B1" in page and "C-A1" not in page and "C-A2" not in page


def test_the_geojson_is_scoped_and_coloured(client, world):
    grid = make_grid(world)
    _colour(grid["a1"], date(2026, 4, 1), Colour.GREEN)
    _colour(grid["a1"], date(2026, 5, 1), Colour.RED)  # the latest counts
    client.force_login(world.user("a", Role.UNIT_LEADER))  # district a: a1 and a2
    data = client.get(reverse("community:grid_geojson")).json()
    assert data["type"] == "FeatureCollection"
    by_code = {f["properties"]["code"]: f for f in data["features"]}
    assert set(by_code) == {"C-A1", "C-A1-G1", "C-A1-G1-B1", "C-A1-R1", "C-A2"}
    assert by_code["C-A1"]["properties"]["fill"] == "#d9363e"
    assert by_code["C-A2"]["properties"]["fill"] == ""
    assert by_code["C-A1-R1"]["geometry"]["type"] == "LineString"
    assert by_code["C-A1-R1"]["properties"]["is_key"] is True
    assert by_code["C-A1"]["properties"]["url"] == reverse(
        "community:area_detail", args=[grid["a1"].pk]
    )
    # Communities first: drawn under their children.
    assert [f["properties"]["level"] for f in data["features"]][:2] == ["community", "community"]
    client.force_login(world.user("b1", Role.SUPERVISOR))
    codes = [
        f["properties"]["code"]
        for f in client.get(reverse("community:grid_geojson")).json()["features"]
    ]
    assert codes == ["C-B1"]


def test_an_areas_page_shows_hierarchy_population_children_and_colours(client, world):
    grid = make_grid(world)
    make_population(grid["group"], date(2026, 5, 1), registered=120, floating=30)
    _colour(grid["a1"], date(2026, 5, 1), Colour.ORANGE)
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    page = client.get(reverse("community:area_detail", args=[grid["group"].pk])).content.decode()
    assert "甲一社区" in page  # its community, in the hierarchy
    assert "1 幢" in page  # its child
    assert "2026-05" in page and "150" in page  # population by month with the total
    assert 'data-testid="area-map"' in page and 'id="area-map-data"' in page
    page = client.get(reverse("community:area_detail", args=[grid["a1"].pk])).content.decode()
    assert 'data-testid="area-colours"' in page and 'data-colour="orange"' in page
    assert "test-1" in page


def test_a_sibling_station_cannot_open_an_area(client, world):
    grid = make_grid(world)
    client.force_login(world.user("b1", Role.SUPERVISOR))
    assert client.get(reverse("community:area_detail", args=[grid["a1"].pk])).status_code == 404
    client.force_login(world.user("a2", Role.SUPERVISOR))
    assert client.get(reverse("community:area_detail", args=[grid["a1"].pk])).status_code == 404


GRID_CSV = (
    "网格编码,名称,层级,上级编码,派出所代码,户数\n"
    "N-C,新社区,社区,,TA01,200\n"
    "N-G,新一组,居民小组,N-C,TA01,50\n"
)


def test_import_pages_upload_preview_confirm(client, world):
    user = world.user("a1", Role.SUPERVISOR)
    client.force_login(user)
    assert client.get(reverse("community:grid_import")).status_code == 200
    response = client.post(
        reverse("community:grid_import"),
        {"file": SimpleUploadedFile("新网格.csv", GRID_CSV.encode())},
    )
    record = ImportFile.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("community:grid_import_detail", args=[record.pk])
    page = client.get(response.url).content.decode()
    assert 'data-testid="import-preview"' in page and "新一组" in page
    assert not GridArea.objects.exists()
    response = client.post(reverse("community:grid_import_confirm", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == ImportStatus.DONE
    assert GridArea.objects.get(code="N-G").parent.code == "N-C"
    page = client.get(reverse("community:grid_import_detail", args=[record.pk])).content.decode()
    assert "已导入 2 行" in page
    # The list of files on the import page
    assert "新网格.csv" in client.get(reverse("community:grid_import")).content.decode()
    # A sibling neither lists nor opens it
    client.force_login(world.user("a2", Role.SUPERVISOR))
    assert "新网格.csv" not in client.get(reverse("community:grid_import")).content.decode()
    url = reverse("community:grid_import_detail", args=[record.pk])
    assert client.get(url).status_code == 404


def test_a_refused_import_lists_its_errors(client, world):
    client.force_login(world.user("a1", Role.SUPERVISOR))
    bad = GRID_CSV + "N-X,孤儿组,居民小组,NOPE,TA01,1\n"
    client.post(
        reverse("community:grid_import"), {"file": SimpleUploadedFile("g.csv", bad.encode())}
    )
    record = ImportFile.objects.get()
    client.post(reverse("community:grid_import_confirm", args=[record.pk]))
    page = client.get(reverse("community:grid_import_detail", args=[record.pk])).content.decode()
    assert 'data-code="unknown_parent"' in page and "整个文件都没有导入" in page
    assert not GridArea.objects.exists()


def test_an_empty_upload_is_refused_on_the_page(client, world):
    client.force_login(world.user("a1", Role.SUPERVISOR))
    response = client.post(
        reverse("community:population_import"), {"file": SimpleUploadedFile("p.csv", b"")}
    )
    assert response.status_code == 400


def test_the_import_pages_are_for_grid_managers(client, world):
    client.force_login(world.user("a1", Role.UNIT_LEADER))  # sees the grid, cannot import
    assert client.get(reverse("community:area_list")).status_code == 200
    assert client.get(reverse("community:grid_import")).status_code == 403
    assert client.get(reverse("community:population_import")).status_code == 403
    client.force_login(world.user("a1", Role.EVALUATOR))
    assert client.get(reverse("community:area_list")).status_code == 403
