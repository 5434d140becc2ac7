"""What operators and their tools ask of a running instance: is the process alive (/healthz),
may it take traffic (/readyz), and the figures to watch (/metrics). Documented in
docs/deployment.md, "Health, metrics and logs"; docs/runbook.md says what to do when they turn.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from minyi.core.net import client_ip
from minyi.ops.metrics import metrics_text
from minyi.ops.readiness import readiness_problems


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. It reads nothing, so a database outage does not make a
    supervisor restart every web process; /readyz is the check that looks further."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: every database reachable, no migration unapplied, every cache reachable.
    503 with what failed otherwise, so a load balancer sends traffic elsewhere."""
    problems = readiness_problems()
    if problems:
        return JsonResponse({"status": "unavailable", "failed": problems}, status=503)
    return JsonResponse({"status": "ok"})


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _refusal(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="minyi-metrics"'
    return response


@never_cache
@require_GET
def metrics(request):
    """Prometheus metrics. With MINYI_METRICS_TOKEN set, a scrape must send it as
    `Authorization: Bearer <token>` (401 otherwise). Without it, only a scraper on the same
    machine talking to the web process directly (a loopback address and no X-Forwarded-For,
    i.e. not through nginx) is answered (403 otherwise)."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return _refusal(401, "Metrics need credentials: send Authorization: Bearer <token>.")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return _refusal(401, "Metrics refused: the bearer token is wrong.")
    elif "X-Forwarded-For" in request.headers or not _is_loopback(client_ip(request)):
        return _refusal(
            403,
            "Metrics are served only to a scraper on this machine unless MINYI_METRICS_TOKEN "
            "is set; set it and scrape with Authorization: Bearer <token>.",
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
