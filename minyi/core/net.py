"""Where a request comes from, without trusting what the client says about itself."""

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: the socket peer, or, behind N trusted proxies, the address the
    outermost trusted proxy saw (the N-th entry from the right of X-Forwarded-For).

    Entries further left are written by the client and can be anything, so they are ignored.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
