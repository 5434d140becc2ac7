"""Test data for volunteers: rows written straight to the tables (the services are tested on
their own)."""

from datetime import datetime, timedelta

from django.utils import timezone

from minyi.core.pii import lookup_hash
from minyi.volunteers.models import (
    Activity,
    ActivityKind,
    PartnerKind,
    PartnerOrganisation,
    Signup,
    Volunteer,
)
from minyi.volunteers.services import CONSENT_VERSION

_counter = iter(range(1, 10**9))


def make_volunteer(unit, *, name=None, mobile=None, **extra) -> Volunteer:
    n = next(_counter)
    mobile = mobile or f"137{n:08d}"
    return Volunteer.objects.create(
        unit=unit,
        name=name or f"志愿者{n}",
        mobile=mobile,
        mobile_hash=lookup_hash("mobile", mobile),
        consent_at=timezone.now(),
        consent_version=CONSENT_VERSION,
        **extra,
    )


def make_organisation(unit, *, name=None, kind=PartnerKind.SECURITY, **extra):
    return PartnerOrganisation.objects.create(
        unit=unit, name=name or f"合作单位{next(_counter)}", kind=kind, **extra
    )


def make_activity(
    unit, *, starts_at: datetime, hours: float = 2, kind=ActivityKind.PUBLICITY, **extra
) -> Activity:
    return Activity.objects.create(
        unit=unit,
        title=extra.pop("title", f"志愿活动{next(_counter)}"),
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        capacity=extra.pop("capacity", 10),
        **extra,
    )


def make_signup(activity, volunteer, **extra) -> Signup:
    return Signup.objects.create(activity=activity, volunteer=volunteer, **extra)
