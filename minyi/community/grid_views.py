"""Staff pages of the grid (网格): the tree and the map (area_list), an area's page
(area_detail), the map's GeoJSON, and the grid and population imports (upload → preview →
confirm; the import runs synchronously on confirm)."""

from django import forms
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.community.access import COMMUNITY_WORK, GRID_MANAGE, GRID_VIEW
from minyi.community.grid import (
    COLOUR_HEX,
    COLUMNS,
    KIND_GRID,
    KIND_POPULATION,
    area_ancestors,
    area_feature,
    area_population,
    grid_feature_collection,
    grid_file_confirm,
    grid_file_preview,
    grid_file_upload,
    grid_import_get_visible,
    grid_imports_visible_to,
    grid_tree,
    latest_colours,
)
from minyi.community.models import AreaColour, AreaLevel
from minyi.community.selectors import area_get_visible_to, areas_visible_to
from minyi.core.errors import ApplicationError
from minyi.core.models import ImportStatus
from minyi.orgs.access import staff_view
from minyi.orgs.roles import has_perm

KIND_LABELS = {KIND_GRID: gettext_lazy("网格"), KIND_POPULATION: gettext_lazy("人口")}
IMPORT_PAGES = {KIND_GRID: "community:grid_import", KIND_POPULATION: "community:population_import"}
RECENT_IMPORTS = 20


class GridUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV、Excel（.xlsx）或 GeoJSON 文件"))


class PopulationUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV 或 Excel（.xlsx）文件"))


FORMS = {KIND_GRID: GridUploadForm, KIND_POPULATION: PopulationUploadForm}


def _area_url(area) -> str:
    return reverse("community:area_detail", args=[area.pk])


@staff_view(GRID_VIEW)
def area_list(request):
    tree = grid_tree(request.user)
    return render(
        request,
        "community/grid_area_list.html",
        {
            "tree": tree,
            "geojson_url": reverse("community:grid_geojson"),
            "can_manage": has_perm(request.user, GRID_MANAGE),
            "colours": COLOUR_HEX,
        },
    )


@staff_view(GRID_VIEW)
def grid_geojson(request):
    """The visible areas with a boundary, as a GeoJSON FeatureCollection (WGS84), for the
    map: communities coloured by their latest colour."""
    areas = list(
        areas_visible_to(request.user).only(
            "pk", "code", "name", "level", "households", "is_key", "geometry"
        )
    )
    return JsonResponse(grid_feature_collection(areas, url_of=_area_url))


@staff_view(GRID_VIEW)
def area_detail(request, pk):
    area = area_get_visible_to(request.user, pk)
    children = list(
        areas_visible_to(request.user)
        .filter(parent=area)
        .order_by("level", "code")
        .only("pk", "code", "name", "level", "households", "is_key", "geometry", "key_hours")
    )
    colours = list(AreaColour.objects.filter(area=area).order_by("-month")[:24])
    for row in colours:
        row.hex = COLOUR_HEX.get(row.colour, "")
    colour = latest_colours([area.pk]).get(area.pk, "") if area.level == AreaLevel.COMMUNITY else ""
    features = [area_feature(area, colour=colour, url=_area_url(area))] if area.geometry else []
    features += grid_feature_collection(children, url_of=_area_url)["features"]
    return render(
        request,
        "community/grid_area_detail.html",
        {
            "area": area,
            "ancestors": area_ancestors(area),
            "children": children,
            "populations": area_population(area),
            "colours": colours,
            "colour": colour,
            "colour_fill": COLOUR_HEX.get(colour, ""),
            "can_work": has_perm(request.user, COMMUNITY_WORK),
            "map_data": {"type": "FeatureCollection", "features": features},
        },
    )


def _import_page(request, kind: str):
    form_class = FORMS[kind]
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, request.FILES)
        if form.is_valid():
            try:
                record = grid_file_upload(
                    actor=request.user, kind=kind, upload=form.cleaned_data["file"]
                )
            except ApplicationError as exc:
                form.add_error("file", str(exc.message))
            else:
                return redirect("community:grid_import_detail", pk=record.pk)
        status = 400
    else:
        form = form_class()
    return render(
        request,
        "community/grid_import.html",
        {
            "kind": kind,
            "kind_label": KIND_LABELS[kind],
            "form": form,
            "columns": COLUMNS[kind],
            "imports": grid_imports_visible_to(request.user, kind=kind)[:RECENT_IMPORTS],
        },
        status=status,
    )


@staff_view(GRID_MANAGE)
def grid_import(request):
    return _import_page(request, KIND_GRID)


@staff_view(GRID_MANAGE)
def population_import(request):
    return _import_page(request, KIND_POPULATION)


@staff_view(GRID_MANAGE)
def grid_import_detail(request, pk):
    record = grid_import_get_visible(request.user, pk)
    context = {
        "record": record,
        "kind_label": KIND_LABELS[record.kind],
        "back_url": reverse(IMPORT_PAGES[record.kind]),
        "progress_url": reverse("community:grid_import_detail", args=[record.pk]),
    }
    if record.status == ImportStatus.UPLOADED:
        try:
            context["preview"] = grid_file_preview(record=record)
            context["columns"] = COLUMNS[record.kind]
        except ApplicationError:
            record.refresh_from_db()  # refused as a whole: the status shows why
    return render(request, "community/grid_import_detail.html", context)


@staff_view(GRID_MANAGE)
@require_POST
def grid_import_confirm(request, pk):
    record = grid_import_get_visible(request.user, pk)
    grid_file_confirm(actor=request.user, record=record)
    return redirect("community:grid_import_detail", pk=record.pk)
