"""Kannel's HTTP interface (sendsms), with delivery reports back to Minyi's dlr endpoint."""

from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.urls import reverse

from minyi.integrations.sms.backends import SendOutcome, SendResult


def dlr_url(message_id: int) -> str:
    query = urlencode({"token": settings.SMS_CALLBACK_TOKEN, "id": message_id})
    # %d is Kannel's escape for the report type; it must stay unescaped in the URL.
    return f"{settings.PUBLIC_BASE_URL}{reverse('sms:kannel_dlr')}?{query}&type=%d"


class KannelBackend:
    name = "kannel"

    def __init__(self):
        self.concurrency = settings.KANNEL_CONCURRENCY
        self.timeout = settings.KANNEL_TIMEOUT
        self.client = httpx.Client(
            timeout=settings.KANNEL_TIMEOUT,
            limits=httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            ),
        )

    def send(self, message) -> SendResult:
        params = {
            "username": settings.KANNEL_USERNAME,
            "password": settings.KANNEL_PASSWORD,
            "from": settings.KANNEL_SENDER,
            "to": message.to_mobile,
            "text": message.body,
            "coding": 2,  # UCS-2: Chinese
            "charset": "UTF-8",
            "dlr-mask": settings.KANNEL_DLR_MASK,
            "dlr-url": dlr_url(message.pk),
        }
        try:
            response = self.client.get(settings.KANNEL_SENDSMS_URL, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Nothing reached Kannel: safe to send again later.
            return SendResult(SendOutcome.RETRY, f"connect: {exc}"[:300])
        except httpx.HTTPError as exc:
            # The request may have been accepted before the answer was lost.
            return SendResult(SendOutcome.UNKNOWN, f"{type(exc).__name__}: {exc}"[:300])
        body = response.text.strip()[:200]
        if response.status_code in (200, 202) and body[:2] in ("0:", "3:"):
            return SendResult(SendOutcome.ACCEPTED, body)  # 0 accepted, 3 queued
        if response.status_code in (403, 503) or response.status_code >= 500:
            # Wrong credentials or Kannel not ready: the message waits for the fix.
            return SendResult(SendOutcome.RETRY, f"{response.status_code} {body}")
        return SendResult(SendOutcome.REJECTED, f"{response.status_code} {body}")
