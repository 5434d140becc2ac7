"""The WSGI application: Django's handler, except for the SMS gateway's callbacks.

Kannel calls Minyi once per incoming SMS and once per delivery report, thousands of times a
minute in a morning burst. Those calls carry no session, no user, no language and no page;
going through the whole middleware stack (sessions, CSRF, authentication, second factor,
axes, messages, htmx, idle timeout, CSP) made storing a reply cost a third more CPU than
storing it. Paths under `settings.GATEWAY_PATH_PREFIXES` are therefore served by a second
Django handler built with `settings.GATEWAY_MIDDLEWARE`; everything else by the usual one.
Both share the URLconf, the database connections and the request signals, so connection
handling and error pages are Django's own.
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings


class GatewayHandler(WSGIHandler):
    """Django's WSGI handler whose middleware chain is `settings.GATEWAY_MIDDLEWARE`."""

    def load_middleware(self, is_async=False):
        # Django builds the chain from settings.MIDDLEWARE only; this runs once, at start-up,
        # before any request, so overriding the setting for the build is safe.
        with override_settings(MIDDLEWARE=settings.GATEWAY_MIDDLEWARE):
            super().load_middleware(is_async)


def application_with_gateway(main: WSGIHandler):
    """A WSGI callable sending gateway paths to a GatewayHandler and the rest to `main`."""
    gateway = GatewayHandler()
    prefixes = tuple(settings.GATEWAY_PATH_PREFIXES)

    def application(environ, start_response):
        handler = gateway if environ.get("PATH_INFO", "").startswith(prefixes) else main
        return handler(environ, start_response)

    application.gateway = gateway
    application.main = main
    return application
