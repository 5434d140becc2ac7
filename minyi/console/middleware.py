"""Chinese error pages in the demo, even with DEBUG on.

`make run` runs with DEBUG (static files, reloads) and DEMO_MODE. Django then answers a
missing page or a crash with its technical pages, in English, listing URL patterns and
settings: not what a bureau trying the demo should see. With DEMO_MODE on, this middleware
puts the project's own 404.html and 500.html in their place (the crash is still logged with
its traceback). Outside the demo DEBUG behaves as Django's does; the API keeps its JSON."""

import logging

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.http import Http404, HttpResponseServerError, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template.loader import render_to_string

logger = logging.getLogger("django.request")

# Django's technical pages (technical_404.html, technical_500.html) carry this tag.
_TECHNICAL_MARK = b'<meta name="robots" content="NONE,NOARCHIVE">'


def _active(request) -> bool:
    return settings.DEBUG and settings.DEMO_MODE and not request.path.startswith("/api/")


class DemoErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            _active(request)
            and response.status_code in (404, 500)
            and not getattr(response, "streaming", False)
            and _TECHNICAL_MARK in response.content
        ):
            return self._page(request, response.status_code)
        return response

    def process_exception(self, request, exception):
        if not _active(request):
            return None
        if isinstance(exception, Http404):
            return self._page(request, 404)
        if isinstance(exception, Exception) and not _is_handled_by_django(exception):
            logger.error(
                "Internal Server Error: %s",
                request.path,
                exc_info=exception,
                extra={"request": request},
            )
            return self._page(request, 500)
        return None

    @staticmethod
    def _page(request, status: int):
        if status == 404:
            return render(request, "404.html", status=404)
        # Like Django's own server_error view: no context processors, nothing that may fail again.
        return HttpResponseServerError(render_to_string("500.html"))


def _is_handled_by_django(exception) -> bool:
    """Exceptions Django turns into a 400 or 403 page itself, DEBUG or not."""
    return isinstance(
        exception,
        (
            PermissionDenied,
            BadRequest,
            SuspiciousOperation,
            RequestDataTooBig,
            TooManyFieldsSent,
            MultiPartParserError,
            UnreadablePostError,
        ),
    )
