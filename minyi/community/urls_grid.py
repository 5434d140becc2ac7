"""The grid (网格): its tree and map, an area's page, the map's GeoJSON, and the grid and
population imports (see grid_views.py)."""

from django.urls import path

from minyi.community import grid_views

urlpatterns = [
    path("", grid_views.area_list, name="area_list"),
    path("areas/<int:pk>/", grid_views.area_detail, name="area_detail"),
    path("grid.geojson", grid_views.grid_geojson, name="grid_geojson"),
    path("imports/grid/", grid_views.grid_import, name="grid_import"),
    path("imports/population/", grid_views.population_import, name="population_import"),
    path("imports/<int:pk>/", grid_views.grid_import_detail, name="grid_import_detail"),
    path("imports/<int:pk>/confirm/", grid_views.grid_import_confirm, name="grid_import_confirm"),
]
