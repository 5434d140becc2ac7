"""Demo: the evaluators, units and supervisors of the demo city work the callbacks that
`demo_history` opened, through the real services with `now=` the simulated moment: calls
(some unanswered), reasons and tags, attributions, work orders that are accepted, fed back,
rated again (追评), returned or closed, a few late and a few appealed."""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from minyi.callbacks.models import Attribution, Callback, CallbackKind, CallbackStatus, CallOutcome
from minyi.callbacks.services import callback_claim, callback_record
from minyi.core.errors import ApplicationError
from minyi.demo.city import closest_account
from minyi.demo.corpus import corpus_texts
from minyi.orgs.choices import Role
from minyi.orgs.models import User
from minyi.perception.models import SATISFIED_RATINGS
from minyi.workorders.models import WorkOrder, WorkOrderStatus
from minyi.workorders.services import (
    appeal_decide,
    appeal_file,
    workorder_accept,
    workorder_close,
    workorder_feedback,
)

FEEDBACK_TEXTS = (
    "已约谈当事民警，责令其向群众当面道歉，并在所务会上通报，纳入月度考核。",
    "已组织窗口民警开展规范服务培训，调整午间值班安排，确保中午有人办理业务。",
    "已向群众当面解释办理流程，补办手续已于当日完成，群众表示理解。",
    "已重新梳理出警流程，明确接警后 5 分钟内出发，由值班领导每日抽查。",
    "已调取执法记录仪复核，对不规范用语进行批评教育，整改情况已报督察。",
)
APPEAL_TEXTS = (
    "经调取执法记录仪，民警全程规范执法，群众因被处罚而不满，申请复核责任认定。",
    "该事项属于社区物业纠纷，非公安职责范围，民警已告知群众相关部门联系方式。",
)
# The stations of the demo accounts `fushan_leader` and `tashan_leader`: their recent
# unsatisfied contacts are found at fault, and their newest orders are left at each step, so
# the leaders' and the supervisors' home pages have work to do when the demo opens.
# Each station's newest orders, newest first, are left at these steps.
DEMO_STATIONS = {
    "330602001": ("dispatched", "appeal", "audit", "accepted"),
    "330602002": ("accepted", "audit", "dispatched", "appeal"),
}
RECENT = timedelta(days=10)

ATTRIBUTIONS = (
    (Attribution.AT_FAULT, 0.35),
    (Attribution.EXPLAINED, 0.40),
    (Attribution.UNREASONABLE, 0.15),
    (Attribution.OUTSIDE_DUTY, 0.10),
)


def _pick(rng, weighted):
    x, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if x < total:
            return value
    return weighted[-1][0]


class _Staff:
    def __init__(self):
        users = list(User.objects.filter(is_active=True).exclude(unit=None).select_related("unit"))
        self.by_role = {r: [u for u in users if u.role == r] for r in Role.values}

    def closest(self, role, unit):
        return closest_account(self.by_role[role], unit)


def _reasons(rng):
    """An evaluator's note of what the citizen said, with the tags confirmed (the demo
    corpus: third-person notes and quoted words, typos, dialect)."""
    return lambda: corpus_texts(rng, "callback", 1)[0]


def work_callbacks(*, now=None, seed: int = 1) -> dict:
    """Work every open callback created before `now` − 2 hours, and move the orders on as
    their age allows. Returns counts by what happened."""
    now = now or timezone.now()
    rng = random.Random(f"{seed}:work")  # noqa: S311 (demo data, not secrets)
    staff = _Staff()
    reason = _reasons(rng)
    counts = {"callbacks": 0, "orders": 0, "closed": 0, "appeals": 0}
    pending = (
        Callback.objects.filter(
            kind=CallbackKind.FIRST,
            status=CallbackStatus.OPEN,
            created_at__lt=now - timedelta(hours=2),
        )
        .select_related("centre", "unit", "survey__event")
        .order_by("created_at")
    )
    for callback in pending:
        evaluator = staff.closest(Role.EVALUATOR, callback.centre)
        if evaluator is None:
            continue
        # Most calls within the day; a few late, so the on-time rate is not 100%.
        at = callback.created_at + timedelta(hours=rng.choice((1, 2, 3, 5, 8, 20, 30)))
        if at > now:
            continue
        at_fault = callback.unit.code in DEMO_STATIONS and at > now - RECENT
        _work_first(rng, callback, evaluator, at, reason, at_fault=at_fault)
        counts["callbacks"] += 1
    staged = _staged_orders()
    for order in WorkOrder.objects.filter(status=WorkOrderStatus.DISPATCHED).select_related(
        "unit", "centre", "survey"
    ):
        if order.pk in staged:
            _stage_order(staff, order, staged[order.pk], now)
            continue
        done = _work_order(rng, staff, order, now)
        counts["orders"] += 1
        counts["closed"] += done == "closed"
        counts["appeals"] += done == "appeal"
    return counts


def _staged_orders() -> dict[int, str]:
    """The newest dispatched orders of each demo station, each to be left at one step."""
    staged = {}
    for code, stages in DEMO_STATIONS.items():
        newest = WorkOrder.objects.filter(
            unit__code=code, status=WorkOrderStatus.DISPATCHED
        ).order_by("-dispatched_at")[: len(stages)]
        staged.update({order.pk: stage for order, stage in zip(newest, stages, strict=False)})
    return staged


def _stage_order(staff, order, stage, now):
    """Take `order` to `stage` and leave it there for a demo user to continue."""
    leader = staff.closest(Role.UNIT_LEADER, order.unit)
    evaluator = staff.closest(Role.EVALUATOR, order.centre)
    if leader is None or evaluator is None or stage == "dispatched":
        return
    t = min(order.dispatched_at + timedelta(hours=1), now)
    try:
        with transaction.atomic():
            if stage == "appeal":
                appeal_file(actor=leader, order=order, reason=APPEAL_TEXTS[0], now=t)
                return
            workorder_accept(actor=leader, order=order, now=t)
            if stage == "accepted":
                return
            workorder_feedback(actor=leader, order=order, text=FEEDBACK_TEXTS[0], now=t)
            follow_up = Callback.objects.get(work_order=order, status=CallbackStatus.OPEN)
            callback_claim(actor=evaluator, callback=follow_up, now=t)
            callback_record(
                actor=evaluator,
                callback=follow_up,
                outcome=CallOutcome.REACHED,
                follow_up_rating=2,
                reason_text="群众表示已看到整改。",
                now=t,
            )
    except ApplicationError:
        pass  # left where it stands


def _work_first(rng, callback, evaluator, at, reason, *, at_fault=False):
    try:
        with transaction.atomic():
            callback_claim(actor=evaluator, callback=callback, now=at)
            if rng.random() < 0.1:  # unanswered, and again later, and a third time
                for attempt in range(3):
                    moment = at + timedelta(hours=3 * attempt)
                    if attempt:
                        callback_claim(actor=evaluator, callback=callback, now=moment)
                    callback_record(
                        actor=evaluator,
                        callback=callback,
                        outcome=CallOutcome.NO_ANSWER,
                        now=moment,
                    )
                return
            text, tags = reason()
            attribution = Attribution.AT_FAULT if at_fault else _pick(rng, ATTRIBUTIONS)
            officers = list(callback.survey.event.officers.all()[:1])
            callback_record(
                actor=evaluator,
                callback=callback,
                outcome=CallOutcome.REACHED,
                reason_text=text,
                tags=tags,
                attribution=attribution,
                officer=officers[0] if officers and attribution == Attribution.AT_FAULT else None,
                now=at,
            )
    except ApplicationError:
        pass  # a simulated evaluator who could not proceed leaves the task in the queue


def _work_order(rng, staff, order, now):
    """Move an order on by as many steps as its age allows."""
    leader = staff.closest(Role.UNIT_LEADER, order.unit)
    supervisor = staff.closest(Role.SUPERVISOR, order.centre)
    evaluator = staff.closest(Role.EVALUATOR, order.centre)
    if leader is None or supervisor is None or evaluator is None:
        return ""
    t = order.dispatched_at + timedelta(hours=rng.choice((2, 4, 20, 26)))
    try:
        with transaction.atomic():
            if t > now:
                return ""
            if rng.random() < 0.06:
                appeal = appeal_file(
                    actor=leader, order=order, reason=rng.choice(APPEAL_TEXTS), now=t
                )
                decider = closest_account(
                    [s for s in staff.by_role[Role.SUPERVISOR] if s.unit.depth < order.unit.depth],
                    order.unit,
                )
                if decider and t + timedelta(days=1) < now:
                    appeal_decide(
                        actor=decider,
                        appeal=appeal,
                        uphold=rng.random() < 0.5,
                        note="经复核执法记录仪及当事人陈述作出决定。",
                        now=t + timedelta(days=1),
                    )
                return "appeal"
            workorder_accept(actor=leader, order=order, now=t)
            # Most units feed back within the deadline; some are late and get escalated.
            t += timedelta(days=rng.choice((1, 2, 3, 4, 9)))
            if t > now:
                return "accepted"
            workorder_feedback(actor=leader, order=order, text=rng.choice(FEEDBACK_TEXTS), now=t)
            for _round in range(2):
                follow_up = Callback.objects.get(work_order=order, status=CallbackStatus.OPEN)
                t += timedelta(hours=rng.choice((3, 6, 20)))
                if t > now:
                    return "feedback"
                callback_claim(actor=evaluator, callback=follow_up, now=t)
                rating = rng.choice((1, 2, 2, 3, 3, 4)) if _round == 0 else rng.choice((1, 2, 3))
                callback_record(
                    actor=evaluator,
                    callback=follow_up,
                    outcome=CallOutcome.REACHED,
                    follow_up_rating=rating,
                    reason_text="群众表示已看到整改。"
                    if rating in SATISFIED_RATINGS
                    else "群众认为问题仍未解决。",
                    now=t,
                )
                order.refresh_from_db()
                if order.status != WorkOrderStatus.RETURNED:
                    break
                t += timedelta(days=1)
                if t > now:
                    return "returned"
                workorder_feedback(
                    actor=leader, order=order, text=rng.choice(FEEDBACK_TEXTS), now=t
                )
            t += timedelta(hours=rng.choice((2, 5, 24)))
            order.refresh_from_db()
            if t > now or order.status != WorkOrderStatus.AUDIT:
                return "audit"
            workorder_close(actor=supervisor, order=order, now=t)
            return "closed"
    except ApplicationError:
        return ""
