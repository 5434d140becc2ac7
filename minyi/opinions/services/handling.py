"""Handling (办理): the unit accepts an opinion, or the centre transfers it (转办); the unit
answers (答复) and the citizen rates the answer, which closes it; a tip is verified (线索核实);
the centre moderates the public wall (民意墙); a named author's contact is revealed to the
staff who must call back, audited."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditOutcome
from minyi.core.pii import lookup_hash
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import notify_supervisors_above, notify_unit
from minyi.opinions.models import Opinion, OpinionKind, TipVerdict
from minyi.opinions.selectors import opinion_action_require
from minyi.opinions.services.shared import (
    S,
    checked_text,
    opinion_locked,
    opinion_move,
    opinion_note,
    staff_url,
    tell_citizen,
    track_url,
)
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import UNSATISFIED_RATINGS, Rating

ANSWER_MIN, ANSWER_MAX = 10, 5000


@transaction.atomic
def opinion_accept(*, actor, opinion: Opinion, now=None) -> Opinion:
    now = now or timezone.now()
    current = opinion_locked(actor, opinion, Perm.OPINION_HANDLE)
    opinion_action_require(actor, current, "accept")
    return opinion_move(
        current, actor=actor, to=S.ACCEPTED, note=_("签收"), now=now, accepted_at=now
    )


@transaction.atomic
def opinion_transfer(*, actor, opinion: Opinion, unit: OrgUnit, note: str, now=None) -> Opinion:
    """转办: to another unit of the actor's subtree. The citizen's deadline does not restart."""
    now = now or timezone.now()
    current = opinion_locked(actor, opinion, Perm.OPINION_ROUTE)
    note = checked_text(note, field="note", label=_("转办说明"), low=2, high=500)
    target = OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk, is_active=True).first()
    if target is None:
        raise ApplicationError("invalid_unit", _("只能转办给本单位及下级单位。"), field="unit")
    if target.pk == current.unit_id:
        raise ApplicationError("same_unit", _("该留言已在此单位办理。"), field="unit")
    opinion_action_require(actor, current, "transfer")
    order = opinion_move(
        current,
        actor=actor,
        to=S.RECEIVED,
        note=note,
        now=now,
        unit_id=target.pk,
        accepted_at=None,
        # The "due tomorrow" reminder is for whoever holds it now.
        reminded_at=None,
    )
    notify_unit(
        unit=target,
        kind=NotificationKind.OPINION_ARRIVED,
        text=_("转办%(kind)s %(no)s，请于 %(day)s 前答复。")
        % {
            "kind": order.get_kind_display(),
            "no": order.number,
            "day": f"{order.deadline:%m月%d日}",
        },
        url=staff_url(order),
    )
    return order


@transaction.atomic
def opinion_answer(*, actor, opinion: Opinion, text: str, now=None) -> Opinion:
    """The unit's answer (答复); the citizen is told by SMS and asked to rate it."""
    now = now or timezone.now()
    current = opinion_locked(actor, opinion, Perm.OPINION_HANDLE)
    text = checked_text(text, field="answer", label=_("答复内容"), low=ANSWER_MIN, high=ANSWER_MAX)
    opinion_action_require(actor, current, "answer")
    if current.status == S.RECEIVED:
        current = opinion_move(
            current, actor=actor, to=S.ACCEPTED, note=_("签收"), now=now, accepted_at=now
        )
    answered = opinion_move(
        current,
        actor=actor,
        to=S.ANSWERED,
        note=text,
        now=now,
        answer=text,
        answered_at=now,
        answered_by=actor,
        answered_on_time=timezone.localtime(now).date() <= current.deadline,
    )
    if answered.kind == OpinionKind.TIP:
        sms = _("您的事项（编号 %(no)s）有新消息，请查询：%(url)s")
    else:
        sms = _("您的%(kind)s（编号 %(no)s）已答复，请查看并评价：%(url)s")
    tell_citizen(
        answered,
        sms
        % {
            "kind": answered.get_kind_display(),
            "no": answered.number,
            "url": track_url(answered.number),
        },
        now,
    )
    return answered


def opinion_rate(*, opinion: Opinion, mobile: str, rating: int, comment: str = "", now=None):
    """The citizen rates the answer; the opinion is then closed. An unsatisfied rating goes
    to the supervisors above the unit."""
    now = now or timezone.now()
    if rating not in Rating.values:
        raise ApplicationError("invalid_rating", _("请选择评价等级。"), field="rating")
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ApplicationError(
            "comment_too_long", _("评价意见不能超过 500 个字。"), field="comment"
        )
    with transaction.atomic():
        current = Opinion.objects.select_for_update().filter(pk=opinion.pk).first()
        # An opinion without a mobile (a letter, an unsigned note) is rated by no one.
        if (
            current is None
            or not current.mobile_hash
            or current.mobile_hash != lookup_hash("mobile", mobile)
        ):
            raise NotFound()
        if current.status == S.CLOSED and current.rated_at:
            raise ApplicationError("already_rated", _("您已评价过该答复。"), status=409)
        closed = opinion_move(
            current,
            actor=None,
            to=S.CLOSED,
            note=Rating(rating).label,
            now=now,
            rating=rating,
            rating_comment=comment,
            rated_at=now,
            closed_at=now,
        )
        if rating in UNSATISFIED_RATINGS:
            notify_supervisors_above(
                unit=closed.unit,
                kind=NotificationKind.OPINION_UNSATISFIED,
                text=_("群众对%(kind)s %(no)s 的答复不满意。")
                % {"kind": closed.get_kind_display(), "no": closed.number},
                url=staff_url(closed),
            )
    return closed


@transaction.atomic
def opinion_tip_verdict(*, actor, opinion: Opinion, verdict: str, note: str, now=None) -> Opinion:
    """The unit's finding on a tip (线索核实): true or unfounded, with what it found."""
    now = now or timezone.now()
    current = opinion_locked(actor, opinion, Perm.OPINION_HANDLE)
    opinion_action_require(actor, current, "verdict")
    if verdict not in (TipVerdict.VERIFIED, TipVerdict.UNFOUNDED):
        raise ApplicationError("invalid_verdict", _("请选择核实结果。"), field="verdict")
    note = checked_text(note, field="note", label=_("核实情况"), low=5, high=2000)
    Opinion.objects.filter(pk=current.pk).update(
        tip_verdict=verdict, tip_verdict_note=note, tip_verified_at=now
    )
    opinion_note(current, actor=actor, note=f"{TipVerdict(verdict).label}：{note}", now=now)
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=current, detail={"tip": verdict})
    current.refresh_from_db()
    return current


@transaction.atomic
def opinion_wall_hide(
    *, actor, opinion: Opinion, reason: str = "", hidden: bool = True, now=None
) -> Opinion:
    """Take a suggestion off the public wall (民意墙), or put it back. The perception centre
    moderates; the citizen's consent stays as given. The history says who did it and why;
    the audit log records the change."""
    now = now or timezone.now()
    current = opinion_locked(actor, opinion, Perm.OPINION_ROUTE)
    opinion_action_require(actor, current, "wall")
    if current.wall_hidden == hidden:
        raise ApplicationError(
            "wall_unchanged",
            _("该留言已从民意墙撤下。") if hidden else _("该留言已在民意墙展示。"),
            status=409,
        )
    reason = (reason or "").strip()
    if hidden:
        reason = checked_text(reason, field="reason", label=_("撤下理由"), low=2, high=200)
        note = _("民意墙：撤下 %(reason)s") % {"reason": reason}
    else:
        if len(reason) > 200:
            raise ApplicationError("reason_too_long", _("说明不能超过 200 个字。"), field="reason")
        note = _("民意墙：恢复") + (f" {reason}" if reason else "")
    Opinion.objects.filter(pk=current.pk).update(wall_hidden=hidden)
    opinion_note(current, actor=actor, note=note, now=now)
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=current,
        detail={"wall_hidden": hidden},
    )
    current.refresh_from_db()
    return current


def opinion_contact_reveal(*, actor, opinion: Opinion, request=None) -> dict:
    """A named author's name and mobile, for the staff who must call back. Never an anonymous
    author's; a tipster's only for roles that may see tipsters. Every reveal is audited,
    refusals included."""
    current = Opinion.objects.filter(scope_q(actor, "unit__"), pk=opinion.pk).first()
    if current is None:
        raise NotFound()
    # The kind as stored, not as the caller's copy says: the stricter rule must not be
    # skipped by a stale or hand-made object.
    is_tip = current.kind == OpinionKind.TIP
    needed = Perm.TIP_IDENTITY_VIEW if is_tip else Perm.OPINION_REVEAL_CONTACT
    refusal = None
    if not has_perm(actor, needed):
        refusal = PermissionDenied(_("线索举报人身份仅限督察/局领导查看。") if is_tip else None)
    elif current.anonymous:
        refusal = ApplicationError("anonymous", _("匿名留言不提供联系人信息。"), status=403)
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=current,
        outcome=AuditOutcome.DENIED if refusal else AuditOutcome.SUCCESS,
        detail={"field": "contact", "kind": current.kind},
    )
    if refusal:
        raise refusal
    return {
        "name": current.contact_name,
        "mobile": current.mobile,
        "address": current.postal_address,
    }
