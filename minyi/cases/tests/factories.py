"""Test data for cases: valid ID numbers (checksum right) and a case of station a2."""

import re
from datetime import timedelta

from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from minyi.cases.models import Case
from minyi.cases.services import case_upsert
from minyi.core.pii import id_number_checksum
from minyi.integrations.sms.models import OutboundSms

# A party whose numbers the PII scans look for.
PARTY_ID = "33060219850615003X"
PARTY_MOBILE = "13812345678"


def valid_id(seq: int, born: str = "19900101") -> str:
    first17 = f"330602{born}{seq:03d}"
    return first17 + id_number_checksum(first17)


def bad_checksum(id_number: str) -> str:
    last = "0" if id_number[-1] != "0" else "1"
    return id_number[:-1] + last


def case_data(world, number="A2026110001", *, unit=None, **extra) -> dict:
    """A theft reported at station a2 two days ago and filed yesterday."""
    now = timezone.now()
    data = {
        "number": number,
        "case_type": "盗窃",
        "unit_code": (unit or world.station_a2).code,
        "confidential": False,
        "private": False,
        "parties": [
            {
                "role": "victim",
                "name": "王小明",
                "id_number": PARTY_ID,
                "mobile": PARTY_MOBILE,
                "notify": True,
            }
        ],
        "progress": [
            {
                "stage": "received",
                "occurred_at": (now - timedelta(days=2)).isoformat(),
                "note": "",
                "external_id": f"{number}-1",
            },
            {
                "stage": "filed",
                "occurred_at": (now - timedelta(days=1)).isoformat(),
                "note": "已立案侦查",
                "external_id": f"{number}-2",
            },
        ],
    }
    data.update(extra)
    return data


def make_case(world, number="A2026110001", **extra) -> Case:
    case, _created = case_upsert(
        scope=None, unrestricted=True, data=case_data(world, number, **extra), source="test"
    )
    return case


def otp_code() -> str:
    """The code of the newest one-time-code SMS in the outbox."""
    body = OutboundSms.objects.filter(purpose="otp").latest("id").body
    return re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)


def login(client, user):
    """Log a staff user in, second factor included for administrators."""
    client.force_login(user)
    if user.needs_second_factor:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    return client
