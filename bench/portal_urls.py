"""The bench URLconf (bench/portal_settings.py): every Minyi URL, plus the hello-world view
that bench/portal.py measures beside the citizen pages on the same server, through the same
middleware."""

from django.http import HttpResponse
from django.urls import include, path

HELLO_PATH = "/bench/hello"


def hello(request):
    return HttpResponse("hello")


urlpatterns = [
    path(HELLO_PATH.lstrip("/"), hello),
    path("", include("minyi.urls")),
]
