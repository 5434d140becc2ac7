"""Live demo traffic for the demo city (capability 1, DOMAIN.md).

`traffic_tick` keeps the loop moving while the demo runs: a few new contacts "now", and a
few citizens answering their open surveys by SMS through the real gateway path.
Surveys are sent by the worker (`manage.py worker`), as in production.
"""

import random
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.contacts import (
    DEMO_SOURCES,
    GATEWAY,
    LIVE_SOURCE,
    OPT_OUTS,
    QUESTIONS,
    Citizens,
    DemoHistoryError,
    PlannedEvent,
    draw_event,
    draw_rating,
    load_catalogue,
    reply_text,
    unsatisfied_risk,
)
from minyi.integrations.sms.models import (
    OutboundStatus,
    SmsPurpose,
)
from minyi.integrations.sms.services import inbound_receive
from minyi.perception.models import ServiceEvent, Survey, SurveyStatus
from minyi.perception.services.ingest import events_ingest
from minyi.perception.services.replies import reply_record_sms

LIVE_UNPARSED_SHARE = 0.06
LIVE_OPT_OUT_SHARE = 0.012
LIVE_GATEWAY_REPEAT = 0.05  # the gateway delivers the same reply twice


def traffic_tick(*, rng: random.Random, now=None, seed: int = DEFAULT_SEED) -> dict:
    """One moment of a busy city: a few contacts "now" (source demo-live), and a few citizens
    answering the surveys they were sent, by SMS through the gateway path. Surveys are sent
    by the worker, as in production."""
    if not settings.DEMO_MODE:
        raise DemoHistoryError("demo traffic runs only in demo mode (DEMO_MODE)")
    now = now or timezone.now()
    cat = load_catalogue(seed=seed)
    done: Counter = Counter()

    hour = timezone.localtime(now).hour
    weights = [cat.specs[c].share * cat.specs[c].hours[hour] for c in cat.type_codes]
    citizens = Citizens()
    items = []
    stamp = f"{now:%Y%m%d%H%M%S}"
    for n in range(rng.randint(1, 3)):
        code = rng.choices(cat.type_codes, weights=weights)[0]
        moment = now - timedelta(seconds=rng.randrange(60, 25 * 60))
        event = draw_event(
            cat,
            rng,
            citizens,
            type_code=code,
            moment=moment,
            day=0,
            external_id=f"L{stamp}-{n + 1}-{rng.getrandbits(32):08x}",
        )
        spec = cat.specs[code]
        if event.mobile and rng.random() < spec.repeat:
            again = _recent_mobile(rng, event, now)
            if again:
                event = replace(event, mobile=again, repeat=True)
        items.append(event.item(LIVE_SOURCE))
    results = events_ingest(items=items, scope_unit=None)
    done["events"] = sum(r.status == "accepted" for r in results)

    open_ids = list(
        Survey.objects.filter(
            status=SurveyStatus.SENT,
            event__source__in=DEMO_SOURCES,
            messages__purpose=SmsPurpose.SURVEY,
            messages__status__in=[OutboundStatus.SENT, OutboundStatus.DELIVERED],
        )
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    )
    chosen = rng.sample(open_ids, min(len(open_ids), rng.randint(1, 3)))
    surveys = Survey.objects.select_related("event", "business_type").in_bulk(chosen)
    for survey_id in chosen:
        survey = surveys[survey_id]
        event = survey.event
        planned = PlannedEvent(
            external_id=event.external_id,
            type_code=survey.business_type.code,
            unit_id=survey.unit_id,
            unit_code="",
            officers=tuple(event.officers.values_list("police_number", flat=True)),
            mobile=event.citizen_mobile,
            occurred_at=event.occurred_at,
            repeat=False,
        )
        spec = cat.specs.get(planned.type_code)
        draw = rng.random()
        if draw < LIVE_OPT_OUT_SHARE:
            text = rng.choice(OPT_OUTS)
        elif draw < LIVE_OPT_OUT_SHARE + LIVE_UNPARSED_SHARE or spec is None:
            text = rng.choice(QUESTIONS)
        else:
            risk = unsatisfied_risk(cat, planned)
            rating = draw_rating(rng, risk, enforcement=spec.unsatisfied >= 2)
            text = reply_text(rng, rating, spec.comments)
        message_id = f"demo-live-{stamp}-{survey_id}-{rng.getrandbits(32):08x}"
        times = 2 if rng.random() < LIVE_GATEWAY_REPEAT else 1
        for _ in range(times):
            message, created = inbound_receive(
                gateway=GATEWAY, gateway_message_id=message_id, sender=planned.mobile, text=text
            )
            if created:
                done[reply_record_sms(inbound_id=message.pk)] += 1
            else:
                done["gateway_repeats"] += 1
    return dict(done)


def _recent_mobile(rng, event: PlannedEvent, now) -> str:
    """A citizen who came for the same business at the same unit lately (跑多次)."""
    recent = list(
        ServiceEvent.objects.filter(
            source__in=DEMO_SOURCES,
            unit_id=event.unit_id,
            business_type__code=event.type_code,
            occurred_at__gte=now - timedelta(days=20),
        )
        .exclude(citizen_mobile_hash="")
        .order_by("-occurred_at", "-id")[:20]
    )
    return rng.choice(recent).citizen_mobile if recent else ""
