"""Staff pages of community safety (社区安全), under /community/: the grid and its colours,
patrol visibility, and community officers' work."""

from django.urls import include, path

app_name = "community"

urlpatterns = [
    path("", include("minyi.community.urls_grid")),
    path("colours/", include("minyi.community.urls_colours")),
    path("patrol/", include("minyi.community.urls_patrol")),
    path("work/", include("minyi.community.urls_work")),
]
