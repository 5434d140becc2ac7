"""Step 4, callbacks (不满意回访): the evaluator's workbench. A task per unsatisfied rating, in the
queue of the right perception centre; claimed, called (up to three times), recorded all or
nothing. What a finished callback means for work orders is the workorders app's business:
`callback_recorded` (minyi.callbacks.hooks) hands it over."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.hooks import callback_recorded, reason_tags_suggest
from minyi.callbacks.models import (
    CALLBACK_LIFECYCLE,
    Attribution,
    Callback,
    CallbackAttempt,
    CallbackKind,
    CallbackStatus,
    CallOutcome,
)
from minyi.callbacks.selectors import callback_action_refusal, callback_action_require
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditOutcome
from minyi.orgs.models import Officer, OrgUnit, User
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import CallbackTier, ReasonTag, Survey
from minyi.perception.services.surveys import citizen_acknowledge


def perception_centre_for(unit: OrgUnit, tier: str) -> OrgUnit:
    """The perception centre that calls back about a contact at `unit`: the one at the
    business type's tier, or the nearest above it when that tier has none."""
    steplen = OrgUnit.steplen
    target_depth = {CallbackTier.CITY: 1, CallbackTier.DISTRICT: 2}.get(tier, unit.depth)
    target_depth = min(target_depth, unit.depth)
    paths = [unit.path[: steplen * d] for d in range(1, target_depth + 1)]
    centre = (
        OrgUnit.objects.filter(path__in=paths, has_perception_centre=True)
        .order_by("-depth")
        .first()
    )
    return centre or OrgUnit.objects.get(path=unit.path[:steplen])


def callback_open(*, survey: Survey, note: str = "不满意评价", now=None) -> Callback:
    now = now or timezone.now()
    centre = perception_centre_for(survey.unit, survey.business_type.callback_tier)
    callback, created = Callback.objects.get_or_create(
        survey=survey,
        kind=CallbackKind.FIRST,
        defaults={
            "centre": centre,
            "unit_id": survey.unit_id,
            "created_at": now,
            "due_at": now + timedelta(hours=settings.CALLBACK_DUE_HOURS),
        },
    )
    if created:
        CALLBACK_LIFECYCLE.record(
            callback, actor=None, to_status=CallbackStatus.OPEN, note=note, now=now
        )
        citizen_acknowledge(
            survey,
            _("%(sig)s您的评价已收到，我们将在%(hours)d小时内与您联系，感谢您的反馈。")
            % {"sig": settings.SMS_SIGNATURE, "hours": settings.CALLBACK_DUE_HOURS},
            now=now,
        )
    return callback


def callback_follow_up_open(*, order, now=None) -> Callback:
    """The second callback (追评) once a unit has reported its rectification: the citizen is
    asked once more, by the centre that made the first call."""
    now = now or timezone.now()
    callback = Callback.objects.create(
        survey_id=order.survey_id,
        kind=CallbackKind.FOLLOW_UP,
        work_order=order,
        centre_id=order.centre_id,
        unit_id=order.unit_id,
        created_at=now,
        due_at=now + timedelta(hours=settings.CALLBACK_DUE_HOURS),
    )
    CALLBACK_LIFECYCLE.record(
        callback, actor=None, to_status=CallbackStatus.OPEN, note="整改反馈后追评", now=now
    )
    return callback


def callback_repeat_open(
    *, survey: Survey, unit: OrgUnit, note: str, problem: str = "", routed: bool = False, now=None
) -> Callback:
    """跑多次回访: a repeat-contact rule asks the centre to phone the citizen ("why did you
    have to come back?"), about the contacts at `unit` (the unit of the latest trip), reached
    through `survey` (the newest survey of those trips). No SMS acknowledgement: the citizen
    asked for nothing. An open task about the same survey (a 跑多次回访, or the 不满意回访
    of its rating) is joined, not doubled: the citizen gets one call, and the task's history
    says that they also came back several times.

    `routed=True`: the rule sends the matter straight to the unit (流转整改) instead, so
    nobody phones first; the task is recorded done at once, with the rule's words as the
    problem, to carry the work order and its 追评. It has no `completed_at` (no person
    completed a call), which keeps it out of the callback figures and evaluators' counts."""
    now = now or timezone.now()
    if not routed:
        current = (
            Callback.objects.filter(
                survey=survey,
                kind__in=[CallbackKind.REPEAT, CallbackKind.FIRST],
                status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS],
            )
            .order_by("id")
            .first()
        )
        if current is not None:
            CALLBACK_LIFECYCLE.record(
                current,
                actor=None,
                from_status=current.status,
                to_status=current.status,
                note=note[:200],
                now=now,
            )
            return current
    centre = perception_centre_for(unit, survey.business_type.callback_tier)
    callback = Callback.objects.create(
        survey=survey,
        kind=CallbackKind.REPEAT,
        centre=centre,
        unit=unit,
        status=CallbackStatus.DONE if routed else CallbackStatus.OPEN,
        created_at=now,
        due_at=now + timedelta(hours=settings.CALLBACK_DUE_HOURS),
        reason_text=problem[:2000],
        tags=[ReasonTag.MULTIPLE_TRIPS] if routed else [],
        suggested_tags=[ReasonTag.MULTIPLE_TRIPS],
    )
    CALLBACK_LIFECYCLE.record(
        callback, actor=None, to_status=callback.status, note=note[:200], now=now
    )
    return callback


def _available(now) -> Q:
    """Tasks an evaluator may take: open and not waiting for a later attempt, or claimed by
    someone whose claim has lapsed."""
    lapsed = now - timedelta(minutes=settings.CALLBACK_CLAIM_MINUTES)
    return Q(status=CallbackStatus.OPEN) & (
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    ) | Q(status=CallbackStatus.IN_PROGRESS, claimed_at__lt=lapsed)


def _require_work(actor) -> None:
    if not has_perm(actor, Perm.CALLBACK_WORK):
        raise PermissionDenied()


def _callback_event(callback, *, actor, from_status, to_status, note="", now=None):
    CALLBACK_LIFECYCLE.record(
        callback,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        note=note[:200],
        now=now,
    )


def _claim(actor, pk, now) -> bool:
    """Take task `pk` if it is still available; True when this call won it. The caller has
    checked that the task is in the actor's queue: the UPDATE must not join another table,
    or Django moves its conditions into a subquery that PostgreSQL does not re-check against
    a claim committed meanwhile, and both claims win."""
    with transaction.atomic():
        current = Callback.objects.filter(pk=pk).values_list("status", flat=True).first()
        won = (
            Callback.objects.filter(pk=pk)
            .filter(_available(now))
            .update(
                status=CallbackStatus.IN_PROGRESS,
                assignee=actor,
                claimed_at=now,
                not_before=None,
            )
        )
        if won:
            callback = Callback(pk=pk)
            _callback_event(
                callback,
                actor=actor,
                from_status=current or "",
                to_status=CallbackStatus.IN_PROGRESS,
                note="领取",
                now=now,
            )
        return bool(won)


def callback_claim_next(*, actor, now=None) -> Callback | None:
    """ "Take the next one" (领取下一条): the task already held by `actor`, else the open task
    of their centres due soonest. Two evaluators never get the same task: the claim is an
    UPDATE that succeeds only while the task is still available, and on PostgreSQL candidates
    another transaction is claiming are skipped (SKIP LOCKED) rather than waited for."""
    _require_work(actor)
    now = now or timezone.now()
    with transaction.atomic():
        # One claim at a time per evaluator: a double click waits here for the first click to
        # commit, then finds the task it took, instead of taking a second one.
        list(User.objects.select_for_update().filter(pk=actor.pk).values("pk"))
        held = (
            Callback.objects.filter(status=CallbackStatus.IN_PROGRESS, assignee=actor)
            .order_by("due_at", "id")
            .first()
        )
        if held is not None:
            return held
        return _claim_first_available(actor, now)


def _claim_first_available(actor, now) -> Callback | None:
    queue = scope_q(actor, "centre__")
    candidates = Callback.objects.filter(queue).filter(_available(now)).order_by("due_at", "id")
    for _attempt in range(20):
        with transaction.atomic():
            # Lock the task row only: locking the joined centre row too would make every
            # other evaluator of the centre skip the whole queue while one claim is running.
            pk = (
                candidates.select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)
                .first()
            )
            if pk is None:
                return None
            if _claim(actor, pk, now):
                return Callback.objects.get(pk=pk)
    return None  # lost twenty races in a row: the caller shows "try again"


def callback_claim(*, actor, callback: Callback, now=None) -> Callback:
    """Take a particular task from the list; refused while another evaluator holds it."""
    _require_work(actor)
    now = now or timezone.now()
    queue = scope_q(actor, "centre__")
    if not Callback.objects.filter(queue, pk=callback.pk).exists():
        raise NotFound()
    callback.refresh_from_db()
    if callback.status == CallbackStatus.IN_PROGRESS and callback.assignee_id == actor.pk:
        return callback
    callback_action_require(actor, callback, "claim", now=now)
    if not _claim(actor, callback.pk, now):
        # Someone was quicker: say what happened, by the same rule the page follows.
        callback.refresh_from_db()
        callback_action_require(actor, callback, "claim", now=now)
        raise ApplicationError("stale_state", _("任务状态已变化，请刷新后重试。"), status=409)
    return Callback.objects.get(pk=callback.pk)


def _held(actor, callback: Callback, action: str) -> Callback:
    """The task, locked, if `actor` may take `action` on it (they hold it); refused otherwise."""
    current = Callback.objects.select_for_update().filter(pk=callback.pk).first()
    if current is None:
        raise NotFound()
    callback_action_require(actor, current, action)
    return current


def _move(callback: Callback, *, actor, to: str, note: str, now, **fields) -> None:
    CALLBACK_LIFECYCLE.move(callback, actor=actor, to=to, note=note[:200], now=now, **fields)


@transaction.atomic
def callback_release(*, actor, callback: Callback, now=None) -> None:
    """Put a held task back in the queue untouched (放回)."""
    _require_work(actor)
    now = now or timezone.now()
    current = _held(actor, callback, "release")
    _move(current, actor=actor, to=CallbackStatus.OPEN, note="放回", now=now, assignee=None)


def callback_reveal_mobile(*, actor, callback: Callback, request=None) -> str:
    """The citizen's number in full, for the call. Every reveal is audited, refusals too."""
    if callback_action_refusal(actor, callback, "reveal") is not None:
        audit_record(
            action=AuditAction.PII_REVEAL,
            actor=actor,
            request=request,
            obj=callback,
            outcome=AuditOutcome.DENIED,
            detail={"field": "citizen_mobile"},
        )
        raise PermissionDenied()
    if not Callback.objects.filter(scope_q(actor, "centre__"), pk=callback.pk).exists():
        raise NotFound()
    mobile = callback.survey.event.citizen_mobile
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=callback,
        detail={"field": "citizen_mobile", "survey": callback.survey_id},
    )
    return mobile


def _clean_tags(tags) -> list[str]:
    cleaned = sorted(set(tags or []))
    unknown = set(cleaned) - set(ReasonTag.values)
    if unknown:
        raise ApplicationError("invalid_tag", _("未知的原因标签。"), field="tags")
    return cleaned


@transaction.atomic
def callback_record(
    *,
    actor,
    callback: Callback,
    outcome: str,
    note: str = "",
    reason_text: str = "",
    tags=(),
    attribution: str = "",
    officer: Officer | None = None,
    follow_up_rating: int | None = None,
    now=None,
) -> Callback:
    """Record one phone call of a held task, all or nothing.

    Not reached: the attempt is counted; after an unanswered call the task goes back to the
    queue and waits CALLBACK_RETRY_MINUTES (another time of day); after CALLBACK_MAX_ATTEMPTS,
    or on a refusal or a wrong number, the citizen counts as unreachable and the task is done.
    Reached, first callback: reason, confirmed tags and attribution are required; police at
    fault dispatches a work order. Reached, 追评: the citizen's second rating is required and
    moves the work order on.
    """
    now = now or timezone.now()
    _require_work(actor)
    current = _held(actor, callback, "record")
    if outcome not in CallOutcome.values:
        raise ApplicationError("invalid_outcome", _("请选择拨打结果。"), field="outcome")
    note = (note or "").strip()[:200]
    CallbackAttempt.objects.create(
        callback=current, evaluator=actor, outcome=outcome, note=note, created_at=now
    )
    attempts = current.attempts + 1
    if outcome != CallOutcome.REACHED:
        retry = outcome == CallOutcome.NO_ANSWER and attempts < settings.CALLBACK_MAX_ATTEMPTS
        if retry:
            _move(
                current,
                actor=actor,
                to=CallbackStatus.OPEN,
                note=f"第{attempts}次拨打：{CallOutcome(outcome).label}",
                now=now,
                attempts=attempts,
                outcome=outcome,
                assignee=None,
                not_before=now + timedelta(minutes=settings.CALLBACK_RETRY_MINUTES),
            )
            return Callback.objects.get(pk=current.pk)
        _move(
            current,
            actor=actor,
            to=CallbackStatus.DONE,
            note=f"第{attempts}次拨打：{CallOutcome(outcome).label}，无法联系",
            now=now,
            attempts=attempts,
            outcome=outcome,
            attribution=Attribution.UNREACHABLE,
            completed_at=now,
            completed_by=actor,
        )
        done = Callback.objects.get(pk=current.pk)
        callback_recorded(actor=actor, callback=done, now=now)
        return done

    if current.kind == CallbackKind.FOLLOW_UP:
        if follow_up_rating not in range(1, 6):
            raise ApplicationError(
                "invalid_rating", _("请记录群众的追评（1 到 5）。"), field="follow_up_rating"
            )
        _move(
            current,
            actor=actor,
            to=CallbackStatus.DONE,
            note=f"追评：{follow_up_rating}",
            now=now,
            attempts=attempts,
            outcome=outcome,
            reason_text=reason_text.strip()[:2000],
            follow_up_rating=follow_up_rating,
            completed_at=now,
            completed_by=actor,
        )
        done = Callback.objects.get(pk=current.pk)
        callback_recorded(actor=actor, callback=done, now=now)
        return done

    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise ApplicationError("reason_required", _("请填写不满意原因。"), field="reason_text")
    if len(reason_text) > 2000:
        raise ApplicationError("reason_too_long", _("原因不能超过2000字。"), field="reason_text")
    tags = _clean_tags(tags)
    if not tags:
        raise ApplicationError("tags_required", _("请至少确认一个原因标签。"), field="tags")
    reached = set(Attribution.values) - {Attribution.UNREACHABLE}
    if attribution not in reached:
        raise ApplicationError("attribution_required", _("请选择责任认定。"), field="attribution")
    if officer is not None and not current.survey.event.officers.filter(pk=officer.pk).exists():
        raise ApplicationError(
            "officer_not_on_event", _("责任民警须为该事件的经办民警。"), field="officer"
        )
    _move(
        current,
        actor=actor,
        to=CallbackStatus.DONE,
        note=Attribution(attribution).label,
        now=now,
        attempts=attempts,
        outcome=outcome,
        reason_text=reason_text,
        tags=tags,
        # What the tagger proposed, beside what the evaluator confirmed: its quality figures.
        suggested_tags=reason_tags_suggest(reason_text),
        attribution=attribution,
        officer=officer,
        completed_at=now,
        completed_by=actor,
    )
    current.refresh_from_db()
    callback_recorded(actor=actor, callback=current, now=now)
    return current


def callback_close_follow_ups(*, actor, order, note: str, now=None) -> None:
    """An order cancelled by an upheld appeal needs no 追评: its open follow-up is closed."""
    now = now or timezone.now()
    for callback in Callback.objects.filter(
        work_order=order, status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS]
    ):
        _move(
            callback,
            actor=actor,
            to=CallbackStatus.DONE,
            note=note,
            now=now,
            assignee=None,
            completed_at=now,
            completed_by=actor,
        )
