from django.urls import path  # noqa: F401

app_name = "polls"

urlpatterns = [
    # Staff: polls, imports, weighting and estimates.
    # Collection in Minyi (平台短信测评).
]
