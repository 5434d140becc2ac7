"""Test data for the work-order pages: real orders made through the services, from an event at
station a2 to an unsatisfied rating, a callback by the city centre's evaluator and an at-fault
attribution (which dispatches the order)."""

from itertools import count

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from minyi.orgs.choices import Role
from minyi.workorders.models import WorkOrder

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PROBLEM = "窗口民警态度生硬，群众留下电话13812345678要求回复"
FEEDBACK = "已对窗口民警进行批评教育，并在全所通报整改情况。"
_mobiles = count(1)


def png(name="整改照片.png", size=None) -> SimpleUploadedFile:
    body = PNG if size is None else PNG + b"\x00" * max(0, size - len(PNG))
    return SimpleUploadedFile(name, body, content_type="image/png")


def _business_types():
    from minyi.perception.models import BusinessType
    from minyi.perception.tests.factories import business_types

    if not BusinessType.objects.filter(code="hukou").exists():
        business_types()


def at_fault_order(world, *, unit=None, problem: str = PROBLEM, tags=("attitude",)) -> WorkOrder:
    """A dispatched order for station a2 (or `unit`), found at fault by the city's evaluator
    for the station's own perception centre."""
    from minyi.callbacks.models import Callback
    from minyi.callbacks.services import callback_claim, callback_record
    from minyi.perception.services.replies import survey_answer
    from minyi.perception.tests.test_surveys import _sent_survey

    _business_types()
    # Station a2 has its own perception centre, which audits and closes its orders.
    target = unit or world.station_a2
    if not target.has_perception_centre:
        target.has_perception_centre = True
        target.save(update_fields=["has_perception_centre"])
    with override_settings(SURVEY_QUIET_START=24, SURVEY_QUIET_END=0):  # any time of day
        survey = _sent_survey(
            world, "hukou", unit=unit or world.station_a2, mobile=f"1370000{next(_mobiles):04d}"
        )
    survey_answer(survey=survey, rating=5, comment="", via="sms")
    evaluator = world.user("city", Role.EVALUATOR)
    callback = Callback.objects.get(survey=survey, kind="first")
    callback = callback_claim(actor=evaluator, callback=callback)
    callback = callback_record(
        actor=evaluator,
        callback=callback,
        outcome="reached",
        reason_text=problem,
        tags=list(tags),
        attribution="at_fault",
    )
    return WorkOrder.objects.get(callback=callback)


def fed_back_order(world, order=None, *, files=()) -> WorkOrder:
    """An order the a2 leader accepted and reported back on (now waiting for the 追评)."""
    from minyi.workorders.services import workorder_accept, workorder_feedback

    order = order or at_fault_order(world)
    leader = world.user("a2", Role.UNIT_LEADER)
    order = workorder_accept(actor=leader, order=order)
    return workorder_feedback(actor=leader, order=order, text=FEEDBACK, files=list(files))


def order_in_audit(world, order=None) -> WorkOrder:
    """An order whose citizen rated the rectification satisfied: the centre may close it."""
    from minyi.callbacks.models import Callback
    from minyi.callbacks.services import callback_claim, callback_record

    order = fed_back_order(world, order)
    evaluator = world.user("city", Role.EVALUATOR)
    follow_up = Callback.objects.get(work_order=order, kind="follow_up", status="open")
    follow_up = callback_claim(actor=evaluator, callback=follow_up)
    callback_record(actor=evaluator, callback=follow_up, outcome="reached", follow_up_rating=1)
    order.refresh_from_db()
    return order


def order_with_appeal(world, order=None, *, reason="群众所述与事实不符，有执法记录仪视频为证。"):
    from minyi.workorders.services import appeal_file

    order = order or at_fault_order(world)
    appeal_file(actor=world.user("a2", Role.UNIT_LEADER), order=order, reason=reason)
    order.refresh_from_db()
    return order
