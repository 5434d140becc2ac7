"""One interface for every SMS gateway. A backend sends one message and says what happened;
the outbox (minyi.integrations.sms.services) decides what to do about it.

To add a cloud provider (阿里云短信, 腾讯云短信 …): write a class with `name` and
`send(message) -> SendResult` next to `kannel.py`, map its answers onto the four outcomes
(an unclear answer after the request left us is UNKNOWN, never RETRY), add its name to
`get_backend` and to MINYI_SMS_BACKEND's check in settings, and route its delivery reports and
incoming messages to `dlr_record` and `inbound_receive`. docs/integration-sms.md has details.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.utils.module_loading import import_string


class SendOutcome(StrEnum):
    ACCEPTED = "accepted"  # the gateway took it
    DELIVERED = "delivered"  # the gateway took it and it is as good as delivered (console)
    RETRY = "retry"  # certainly not sent (gateway down, refused connection): send again later
    UNKNOWN = "unknown"  # the request may have reached the gateway: never resend blindly
    REJECTED = "rejected"  # the gateway refused this message for good


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    detail: str = ""


# The gateways this build can talk to, by the name MINYI_SMS_BACKEND uses (each backend module
# imports SendResult from here, so they are looked up by path, as Django does EMAIL_BACKEND).
BACKENDS = {
    "console": "minyi.integrations.sms.backends.console.ConsoleBackend",
    "kannel": "minyi.integrations.sms.backends.kannel.KannelBackend",
}


def get_backend(name: str | None = None):
    name = name or settings.SMS_BACKEND
    if name not in BACKENDS:
        raise ValueError(f"unknown SMS backend {name!r}")
    return import_string(BACKENDS[name])()
