from datetime import timedelta

from django.utils import timezone

from minyi.perception.models import BusinessCategory, BusinessType, CallbackTier, ServiceEvent
from minyi.perception.services.ingest import events_ingest


def business_types() -> dict[str, BusinessType]:
    specs = [
        ("hukou", "户籍办理", BusinessCategory.WINDOW, False, CallbackTier.STATION),
        ("jcj_110", "110接处警", BusinessCategory.DISPATCH, False, CallbackTier.DISTRICT),
        ("traffic_ticket", "交通违法处理", BusinessCategory.TRAFFIC, False, CallbackTier.CITY),
        ("domestic_violence", "家庭暴力", BusinessCategory.DISPATCH, True, CallbackTier.DISTRICT),
    ]
    return {
        code: BusinessType.objects.create(
            code=code,
            name=name,
            category=category,
            is_sensitive=sensitive,
            survey_enabled=not sensitive,
            callback_tier=tier,
            survey_delay_minutes=30,
        )
        for code, name, category, sensitive, tier in specs
    }


_counter = iter(range(1, 10**9))


def make_event(
    unit,
    business_type="hukou",
    *,
    mobile="13800001111",
    occurred_at=None,
    officers=(),
    source="test",
) -> ServiceEvent:
    occurred_at = occurred_at or timezone.now() - timedelta(hours=1)
    [result] = events_ingest(
        items=[
            {
                "source": source,
                "external_id": f"E{next(_counter)}",
                "business_type": business_type,
                "unit": unit.code,
                "officers": list(officers),
                "citizen_mobile": mobile,
                "occurred_at": occurred_at,
            }
        ],
        scope_unit=None,
    )
    assert result.status == "accepted", result
    return ServiceEvent.objects.get(pk=result.id)
