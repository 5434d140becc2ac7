"""The volunteers demo (minyi/demo/volunteers.py) on the showcase station's grid: volunteers
with consent, partners, past activities with hours and patrols counted as passes, upcoming
activities open for sign-up; written once."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings

from minyi.community.models import PatrolCheckin, PatrolPass
from minyi.demo.city import build_demo_city
from minyi.demo.community import SHOWCASE, build_community_demo
from minyi.demo.volunteers import load
from minyi.volunteers.models import (
    Activity,
    ActivityStatus,
    PartnerOrganisation,
    Signup,
    Volunteer,
    VolunteerStatus,
)

NOW = datetime(2026, 5, 20, 15, 40, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(DEMO_MODE=True),
        transaction.atomic(),
    ):
        build_demo_city()
        build_community_demo(now=NOW, stations=[SHOWCASE])
        written = load(now=NOW)
        yield written
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_demo_has_volunteers_partners_and_activities(demo):
    assert demo == 60
    assert Volunteer.objects.count() == 60
    assert Volunteer.objects.filter(status=VolunteerStatus.WITHDRAWN).count() == 6
    assert Volunteer.objects.filter(erased_at__isnull=False, mobile_hash="").count() == 3
    assert all(v.consent_version for v in Volunteer.objects.all())
    assert PartnerOrganisation.objects.count() == 15
    assert Activity.objects.filter(starts_at__gt=NOW, status=ActivityStatus.OPEN).count() == 12
    assert not Activity.objects.filter(starts_at__lte=NOW, status=ActivityStatus.OPEN).exists()
    assert Signup.objects.filter(attended=True, hours__gt=0).count() > 100
    assert not Signup.objects.filter(activity__starts_at__gt=NOW, attended=True).exists()


@pytest.mark.django_db
def test_the_demo_patrols_count_as_passes(demo):
    checkins = PatrolCheckin.objects.filter(source="volunteer")
    assert checkins.exists()
    codes = set(checkins.values_list("unit_code", flat=True))
    assert PatrolPass.objects.filter(unit_code__in=codes).exists()
    assert not checkins.filter(at__gt=NOW).exists()


@pytest.mark.django_db
def test_the_demo_is_written_once(demo):
    assert load(now=NOW) == 0
    assert Volunteer.objects.count() == 60


@pytest.mark.django_db
def test_the_demo_has_the_cancelled_activity(demo):
    cancelled = Activity.objects.filter(status=ActivityStatus.CANCELLED)
    assert cancelled.count() == 1
    assert cancelled.get().starts_at > NOW


@pytest.mark.django_db
def test_the_demo_rows_carry_the_demo_time_not_the_real_one(demo):
    """Volunteers are stamped with their registration (created = consent), activities posted
    before they start and before their sign-ups, partners before the first volunteer."""
    for volunteer in Volunteer.objects.all():
        assert volunteer.created_at == volunteer.consent_at < NOW
    for activity in Activity.objects.all():
        assert activity.created_at < min(NOW, activity.starts_at)
        assert not activity.signups.filter(created_at__lt=activity.created_at).exists()
    first = Volunteer.objects.order_by("created_at").first().created_at
    assert not PartnerOrganisation.objects.filter(created_at__gt=first).exists()
