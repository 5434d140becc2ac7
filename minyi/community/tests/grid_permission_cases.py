"""Permission-matrix cases: the grid pages of community safety (网格). The owner is station
a2's community (code C-A2, from factories.make_grid) and a2's import files; a sibling
station's staff must neither list nor open them."""

from django.urls import reverse

from minyi.community.access import GRID_MANAGE, GRID_VIEW
from minyi.console.tests.matrix import Case

A2_CODE = "C-A2"
GRID_FILE = "甲二所网格.csv"
POPULATION_FILE = "甲二所人口.csv"


def _community(world):
    from minyi.community.models import GridArea
    from minyi.community.tests.factories import make_grid

    return GridArea.objects.filter(code=A2_CODE).first() or make_grid(world)["a2"]


def _marker(world):
    _community(world)
    return A2_CODE


def _import_file(world, name=GRID_FILE):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from minyi.community.grid import KIND_GRID, KIND_POPULATION, grid_file_upload
    from minyi.core.models import ImportFile
    from minyi.orgs.choices import Role

    record = ImportFile.objects.filter(filename=name).first()
    if record is None:
        _community(world)
        if name == GRID_FILE:
            kind, text = (
                KIND_GRID,
                "网格编码,名称,层级,上级编码,派出所代码\nC-A2-G9,九组,居民小组,C-A2,TA02\n",
            )
        else:
            kind, text = KIND_POPULATION, "网格编码,月份,户籍人口,流动人口\nC-A2,2026-05,3000,800\n"
        record = grid_file_upload(
            actor=world.user("a2", Role.SUPERVISOR),
            kind=kind,
            upload=SimpleUploadedFile(name, text.encode()),
        )
    return record


def _file_marker(name):
    def marker(world):
        _import_file(world, name)
        return name

    return marker


GRID_CASES = {
    "community:area_list": Case(GRID_VIEW, lambda w: reverse("community:area_list"), _marker),
    "community:grid_geojson": Case(GRID_VIEW, lambda w: reverse("community:grid_geojson"), _marker),
    "community:area_detail": Case(
        GRID_VIEW,
        lambda w: reverse("community:area_detail", args=[_community(w).pk]),
        _marker,
        detail=True,
    ),
    "community:grid_import": Case(
        GRID_MANAGE, lambda w: reverse("community:grid_import"), _file_marker(GRID_FILE)
    ),
    "community:population_import": Case(
        GRID_MANAGE,
        lambda w: reverse("community:population_import"),
        _file_marker(POPULATION_FILE),
    ),
    "community:grid_import_detail": Case(
        GRID_MANAGE,
        lambda w: reverse("community:grid_import_detail", args=[_import_file(w).pk]),
        _file_marker(GRID_FILE),
        detail=True,
    ),
    # Confirming runs the import at once and goes back to the file's page.
    "community:grid_import_confirm": Case(
        GRID_MANAGE,
        lambda w: reverse("community:grid_import_confirm", args=[_import_file(w).pk]),
        _file_marker(GRID_FILE),
        method="post",
        detail=True,
        owner_status=302,
    ),
}
