"""The appointments demo (minyi/demo/appointments.py): every state, surveys answered for past
visits, idempotent, and right at any hour of the day."""

import pytest
from django.utils import timezone

from minyi.appointments.models import Appointment, AppointmentStatus, ServiceSlot
from minyi.appointments.tests.factories import at
from minyi.integrations.sms.models import OutboundSms, OutboundStatus, SmsPurpose
from minyi.perception.models import Survey, SurveyStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("hour", [3, 15, 22])
def test_the_demo_has_every_state_and_runs_once(world, hour):
    from minyi.demo.appointments import load

    now = at(timezone.localdate(), hour)
    counts = load(now=now)
    assert counts and ServiceSlot.objects.exists()
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert statuses == set(AppointmentStatus.values)
    answered = Survey.objects.filter(event__source="appointments", status=SurveyStatus.ANSWERED)
    assert answered.exists()
    # Nothing a past day queued is left for the worker to text today
    past = OutboundSms.objects.filter(purpose=SmsPurpose.SURVEY)
    assert not past.filter(status=OutboundStatus.QUEUED).exists()
    assert all(s.booked <= s.capacity for s in ServiceSlot.objects.all())
    total = Appointment.objects.count()
    assert load(now=now) == {} and Appointment.objects.count() == total
