"""The citizen hears that the problem was rectified (您反映的问题已整改) when the centre closes
the order: through the outbox, in the closing transaction, with quiet hours and opt-outs kept.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from minyi.callbacks.models import CallOutcome
from minyi.callbacks.services import callback_claim, callback_record
from minyi.integrations.sms.models import OptOut, OutboundSms, SmsPurpose
from minyi.integrations.sms.services import outbox_claim
from minyi.workorders.services import workorder_close, workorder_feedback
from minyi.workorders.tests.factories import follow_up_of, open_centres

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEEDBACK = "已约谈当事民警并责令其当面道歉，组织全所开展规范服务培训。"


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


def _at_audit(order, accepted, leader, evaluator):
    workorder_feedback(actor=leader, order=accepted, text=FEEDBACK)
    callback = callback_claim(actor=evaluator, callback=follow_up_of(accepted))
    callback_record(
        actor=evaluator, callback=callback, outcome=CallOutcome.REACHED, follow_up_rating=2
    )
    order.refresh_from_db()
    return order


def _rectified(order):
    return OutboundSms.objects.filter(
        purpose=SmsPurpose.ACKNOWLEDGEMENT,
        to_mobile_hash=order.survey.mobile_hash,
        body__contains="已整改",
    )


def test_closing_the_order_tells_the_citizen_it_was_rectified(
    order, accepted, leader, evaluator, auditor, daytime
):
    # Given an order at audit after a satisfied 追评
    order = _at_audit(order, accepted, leader, evaluator)
    assert not _rectified(order).exists()
    # When the centre closes it
    workorder_close(actor=auditor, order=order)
    # Then one SMS says so, neutrally (no business named), ready to go now
    [sms] = _rectified(order)
    assert "您反映的问题已整改" in sms.body and "110" not in sms.body
    assert sms.to_mobile == order.survey.event.citizen_mobile
    assert sms.pk in outbox_claim()


def test_closed_at_night_the_message_waits_for_the_morning(
    order, accepted, leader, evaluator, auditor
):
    order = _at_audit(order, accepted, leader, evaluator)
    night = datetime(2026, 12, 3, 23, 30, tzinfo=SHANGHAI)
    workorder_close(actor=auditor, order=order, now=night)
    [sms] = _rectified(order)
    assert sms.not_before == datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)
    assert sms.pk not in outbox_claim(now=night + timedelta(minutes=1))


def test_no_message_to_a_number_that_opted_out(
    order, accepted, leader, evaluator, auditor, daytime
):
    order = _at_audit(order, accepted, leader, evaluator)
    OptOut.objects.create(mobile_hash=order.survey.mobile_hash, source="sms")
    workorder_close(actor=auditor, order=order)
    assert not _rectified(order).exists()


def test_no_message_for_a_sensitive_business_type(
    order, accepted, leader, evaluator, auditor, daytime
):
    order = _at_audit(order, accepted, leader, evaluator)
    type_ = order.survey.business_type
    # (reclassified after the contact: a sensitive type is never surveyed from then on)
    type_.is_sensitive, type_.survey_enabled = True, False
    type_.save()
    workorder_close(actor=auditor, order=order)
    assert not _rectified(order).exists()
