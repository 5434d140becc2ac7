"""Confirmed callbacks (done, with a reason and evaluator-confirmed tags) for training."""

from datetime import timedelta
from itertools import count

from django.utils import timezone

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.perception.models import (
    BusinessCategory,
    BusinessType,
    ServiceEvent,
    Survey,
    SurveyStatus,
)

_serial = count(1)


def confirmed_callbacks(unit, reasons, *, status=CallbackStatus.DONE) -> list[Callback]:
    """One answered survey and one callback per (reason text, tags), written in bulk."""
    business_type, _ = BusinessType.objects.get_or_create(
        code="insight_window", defaults={"name": "窗口办证", "category": BusinessCategory.WINDOW}
    )
    now = timezone.now()
    serials = [next(_serial) for _ in reasons]
    events = ServiceEvent.objects.bulk_create(
        ServiceEvent(
            source="insight-test",
            external_id=f"R{n}",
            business_type=business_type,
            unit=unit,
            occurred_at=now - timedelta(days=2),
        )
        for n in serials
    )
    surveys = Survey.objects.bulk_create(
        Survey(
            event=event,
            mobile_hash=f"hash{n}",
            unit=unit,
            business_type=business_type,
            contact_at=event.occurred_at,
            token=f"insight{n}",
            status=SurveyStatus.ANSWERED,
            send_at=now - timedelta(days=1),
            rating=5,
        )
        for event, n in zip(events, serials, strict=True)
    )
    return Callback.objects.bulk_create(
        Callback(
            survey=survey,
            centre=unit,
            unit=unit,
            due_at=now,
            status=status,
            reason_text=text,
            tags=list(tags),
            completed_at=now if status == CallbackStatus.DONE else None,
        )
        for survey, (text, tags) in zip(surveys, reasons, strict=True)
    )
