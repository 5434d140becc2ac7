"""Rows of personal data, made the way the apps make them and then back-dated."""

from datetime import timedelta

from minyi.core.pii import mobile_hash
from minyi.dashboards.tests.factories import survey
from minyi.integrations.sms.models import InboundSms, OutboundSms, OutboundStatus, SmsPurpose
from minyi.integrations.sms.services import inbound_receive
from minyi.opinions.models import Opinion, OpinionPhoto
from minyi.opinions.tests.factories import make_opinion, png_upload
from minyi.perception.models import ServiceEvent, Survey

PERIOD = 30  # days, for every category the law lets us shorten, in the purge tests
CITIZEN = "13900001111"
OTHER = "13900002222"


def aged_survey(unit, business_type, *, now, days: int, mobile=CITIZEN, rating=2, comment=""):
    """An answered survey (and its event) received `days` before `now`."""
    moment = now - timedelta(days=days)
    s = survey(
        unit, business_type, rating=rating, occurred_at=moment, mobile=mobile, comment=comment
    )
    Survey.objects.filter(pk=s.pk).update(created_at=moment)
    ServiceEvent.objects.filter(pk=s.event_id).update(received_at=moment)
    return s


def aged_inbound(*, now, days: int, mobile=CITIZEN, text="民警态度很好", unit=None):
    moment = now - timedelta(days=days)
    inbound, _ = inbound_receive(
        gateway="t", gateway_message_id=f"m{mobile}{days}", sender=mobile, text=text
    )
    InboundSms.objects.filter(pk=inbound.pk).update(received_at=moment, unit=unit)
    return InboundSms.objects.get(pk=inbound.pk)


def aged_outbound(*, now, days: int, mobile=CITIZEN, body="张三您好", status=OutboundStatus.SENT):
    return OutboundSms.objects.create(
        to_mobile=mobile,
        to_mobile_hash=mobile_hash(mobile),
        body=body,
        purpose=SmsPurpose.ACKNOWLEDGEMENT,
        status=status,
        created_at=now - timedelta(days=days),
    )


def aged_opinion(world, *, now, days: int, mobile=CITIZEN, content="路灯不亮", photo=False):
    """An opinion (with a photo) closed, and its photo uploaded, `days` before `now`."""
    opinion = make_opinion(
        world, mobile=mobile, content=content, photos=[png_upload()] if photo else ()
    )
    Opinion.objects.filter(pk=opinion.pk).update(closed_at=now - timedelta(days=days))
    OpinionPhoto.objects.filter(opinion=opinion).update(created_at=now - timedelta(days=days))
    return Opinion.objects.get(pk=opinion.pk)
