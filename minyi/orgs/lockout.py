"""Sign-in lockout: failures counted per account whatever the spelling, and per address.

django-axes counts failures per username. Sign-in ignores letter case and surrounding spaces
(`StaffUserManager.get_by_natural_key`), so axes must see the same normalised name, or every
spelling of an account would get its own five guesses. Per address, a much larger limit stops
one client from guessing across many accounts (password spraying) without letting one
person's typos lock out a whole station behind its NAT.
"""

import math
from datetime import datetime, timedelta

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from minyi.core.models import AuditAction, AuditEvent
from minyi.core.net import client_ip


def normalize_username(value) -> str:
    return str(value or "").strip().lower()


def lockout_username(request, credentials=None) -> str:
    """AXES_USERNAME_CALLABLE: the account a sign-in attempt is about."""
    if credentials and credentials.get("username") is not None:
        return normalize_username(credentials["username"])
    data = getattr(request, "POST", None) or {}
    return normalize_username(data.get("username"))


def account_locked_until(username: str, now: datetime | None = None) -> datetime | None:
    """When the lock on this account ends, or None when it is not locked."""
    cool_off = get_cool_off()
    now = now or timezone.now()
    attempt = (
        AccessAttempt.objects.filter(
            username=normalize_username(username),
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        )
        .order_by("-attempt_time")
        .first()
    )
    if attempt is None or cool_off is None:
        return None
    until = attempt.attempt_time + cool_off
    return until if until > now else None


def address_locked_until(ip: str, now: datetime | None = None) -> datetime | None:
    """When the block on this address ends: it has failed MINYI_LOGIN_ADDRESS_FAILURE_LIMIT
    times (any accounts) within MINYI_LOGIN_ADDRESS_WINDOW_MINUTES."""
    if not ip:
        return None
    now = now or timezone.now()
    window = timedelta(minutes=settings.LOGIN_ADDRESS_WINDOW_MINUTES)
    failures = list(
        AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, ip=ip, at__gt=now - window)
        .order_by("-at")
        .values_list("at", flat=True)[: settings.LOGIN_ADDRESS_FAILURE_LIMIT]
    )
    if len(failures) < settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        return None
    # Unblocked once the oldest of the counted failures leaves the window.
    return failures[-1] + window


def _minutes_left(until: datetime | None, now: datetime) -> int:
    if until is None:
        return 0
    return max(1, math.ceil((until - now).total_seconds() / 60))


def locked_response(request, *, until: datetime | None, by_address: bool = False):
    now = timezone.now()
    context = {
        "minutes_left": _minutes_left(until, now),
        "until": timezone.localtime(until) if until else None,
        "by_address": by_address,
    }
    response = render(request, "orgs/locked_out.html", context, status=403)
    response["Cache-Control"] = "no-store"
    return response


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: what a locked account is told, with how long the lock lasts."""
    username = lockout_username(request, credentials)
    return locked_response(request, until=account_locked_until(username))


def address_check(request):
    """A response refusing the sign-in when the client's address is blocked, else None."""
    until = address_locked_until(client_ip(request))
    if until is None:
        return None
    return locked_response(request, until=until, by_address=True)
