"""Citizen pages of community safety, under /c/community/: a community's colour, trend and
officers (aggregates only)."""

app_name = "community_public"

urlpatterns = []
