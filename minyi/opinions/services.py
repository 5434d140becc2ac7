"""Every write on opinions and tip rewards. Each status change goes through `_transition`,
which moves the row only while it is still in the old status and records the history row;
the citizen hears of each step by SMS."""

import re
import secrets
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.core.uploads import JPEG, PNG, check_uploads
from minyi.core.workdays import add_working_days
from minyi.integrations.sms.models import InboundSms, InboxAction, SmsPurpose
from minyi.integrations.sms.services import sms_enqueue
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import (
    notifications_resolve,
    notify_supervisors_above,
    notify_unit,
    notify_users,
)
from minyi.opinions.models import (
    OPINION_ALLOWED,
    REWARD_ALLOWED,
    Opinion,
    OpinionEvent,
    OpinionKind,
    OpinionPhoto,
    OpinionPolicy,
    OpinionStatus,
    RewardEvent,
    RewardStatus,
    TipReward,
    TipVerdict,
)
from minyi.opinions.selectors import reward_approver_above
from minyi.orgs.choices import Role
from minyi.orgs.models import Officer, OrgUnit, User
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import UNSATISFIED_RATINGS, Rating
from minyi.perception.services import inbox_locked, inbox_mark, inbox_mobile

S = OpinionStatus
K = NotificationKind
# Which notifications about an opinion stop being something to do once it reaches a status.
# A transfer (RECEIVED again, at another unit) answers the old unit's "new opinion"; the new
# unit's notice is written after the move.
_RESOLVED_BY = {
    S.RECEIVED: {K.OPINION_ARRIVED},
    S.ACCEPTED: {K.OPINION_ARRIVED},
    S.ANSWERED: {K.OPINION_ARRIVED, K.OPINION_DUE, K.OPINION_OVERDUE},
    S.CLOSED: {K.OPINION_ARRIVED, K.OPINION_DUE, K.OPINION_OVERDUE},
}
CONTENT_MIN, CONTENT_MAX = 5, 2000
ANSWER_MIN, ANSWER_MAX = 10, 5000
MAX_PHOTOS = 3
# Working days to answer when the bureau has not set its own (答复期限).
DEFAULT_ANSWER_DAYS = {
    OpinionKind.SUGGESTION: 5,
    OpinionKind.COMPLAINT: 5,
    OpinionKind.CONSULTATION: 3,
    OpinionKind.TIP: 5,
}


def answer_days(kind: str) -> int:
    policy = OpinionPolicy.objects.filter(kind=kind).first()
    return policy.answer_days if policy else DEFAULT_ANSWER_DAYS[kind]


def _text(value: str, *, field: str, label, low: int, high: int) -> str:
    value = (value or "").strip()
    if len(value) < low:
        raise ApplicationError(
            f"{field}_too_short",
            _("%(label)s至少 %(n)d 个字。") % {"label": label, "n": low},
            field=field,
        )
    if len(value) > high:
        raise ApplicationError(
            f"{field}_too_long",
            _("%(label)s不能超过 %(n)d 个字（现有 %(len)d 个字）。")
            % {"label": label, "n": high, "len": len(value)},
            field=field,
        )
    return value


# Separators between the community names an officer serves ("城东社区、城西社区；…").
_COMMUNITY_SEPARATORS = re.compile(r"[、,，;；\s]+")
# Shorter names ("社区", "东村") occur in too many addresses to route by.
COMMUNITY_MIN_CHARS = 3


def _unit_for_area(area: str):
    """The unit whose public, active officer serves the community named in `area`: the
    longest community name (of COMMUNITY_MIN_CHARS or more) that occurs in the text. None
    when no name occurs, or when the longest ones belong to two units (the centre decides).
    One query of two columns, whatever the number of officers."""
    best_len, best_units = 0, set()
    rows = (
        Officer.objects.filter(is_active=True, is_public=True, unit__is_active=True)
        .exclude(communities="")
        .values_list("communities", "unit_id")
    )
    for communities, unit_id in rows:
        for name in _COMMUNITY_SEPARATORS.split(communities):
            if len(name) < COMMUNITY_MIN_CHARS or len(name) < best_len or name not in area:
                continue
            if len(name) > best_len:
                best_len, best_units = len(name), set()
            best_units.add(unit_id)
    return best_units.pop() if len(best_units) == 1 else None


def opinion_route(*, unit_id=None, area: str = "") -> OrgUnit:
    """Where a new opinion goes: the unit the citizen chose; else the station whose community
    officer serves the community named in the area; else the city bureau's perception centre,
    which transfers it (转办)."""
    if unit_id:
        unit = OrgUnit.objects.filter(pk=unit_id, is_active=True).first()
        if unit is None:
            raise ApplicationError("invalid_unit", _("所选单位不存在，请重新选择。"), field="unit")
        return unit
    area = (area or "").strip()
    if len(area) >= COMMUNITY_MIN_CHARS:
        routed = _unit_for_area(area)
        if routed is not None:
            unit = OrgUnit.objects.filter(pk=routed, is_active=True).first()
            if unit is not None:
                return unit
    root = OrgUnit.objects.get_root_nodes().filter(is_active=True).first()
    if root is None:
        raise ApplicationError("no_unit", _("系统尚未配置受理单位。"), status=503)
    return root


def _new_number(now) -> str:
    return f"MY{timezone.localtime(now):%y%m%d}{secrets.randbelow(10**6):06d}"


def _tell_citizen(opinion: Opinion, text: str, now) -> None:
    """An SMS the citizen asked for by writing to us: sent at once, quiet hours or not."""
    sms_enqueue(
        mobile=opinion.mobile,
        body=f"{settings.SMS_SIGNATURE}{text}",
        purpose=SmsPurpose.NOTIFICATION,
        not_before=now,
    )


def _staff_url(opinion: Opinion) -> str:
    return reverse("opinions:opinion_detail", args=[opinion.pk])


def _track_url(number: str) -> str:
    """The look-up page with the tracking number filled in: the citizen adds the code."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('portal:opinion_track')}?number={number}"


@transaction.atomic
def opinion_submit(
    *,
    kind: str,
    content: str,
    mobile: str,
    anonymous: bool = False,
    contact_name: str = "",
    area: str = "",
    unit_id=None,
    wall_consent: bool = False,
    photos=(),
    case=None,
    channel: str = "h5",
    now=None,
) -> Opinion:
    """A citizen's opinion, from a mobile the caller has verified (手机验证), or from the SMS
    the citizen sent (`channel="sms"`, turned into an opinion from the SMS inbox)."""
    now = now or timezone.now()
    if kind not in OpinionKind.values:
        raise ApplicationError("invalid_kind", _("请选择留言类别。"), field="kind")
    content = _text(content, field="content", label=_("内容"), low=CONTENT_MIN, high=CONTENT_MAX)
    contact_name = (contact_name or "").strip()
    if not anonymous and not contact_name:
        raise ApplicationError(
            "name_required", _("实名留言请填写姓名，或选择匿名。"), field="contact_name"
        )
    if len(contact_name) > 30:
        raise ApplicationError("name_too_long", _("姓名不能超过 30 个字。"), field="contact_name")
    area = (area or "").strip()
    if len(area) > 100:
        raise ApplicationError("area_too_long", _("地点不能超过 100 个字。"), field="area")
    mobile = normalize_mobile(mobile)
    mobile_hash = lookup_hash("mobile", mobile)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if (
        Opinion.objects.filter(mobile_hash=mobile_hash, submitted_at__gte=today).count()
        >= settings.OPINIONS_PER_MOBILE_DAY
    ):
        raise ApplicationError(
            "too_many_opinions",
            _("同一手机号每天最多提交 %(n)d 条留言，请明天再试。")
            % {"n": settings.OPINIONS_PER_MOBILE_DAY},
            status=429,
        )
    checked = check_uploads(
        photos,
        kinds=(JPEG, PNG),
        max_files=MAX_PHOTOS,
        max_bytes=settings.OPINION_PHOTO_MAX_BYTES,
        field="photos",
        too_many=_("最多上传 %(n)d 张照片。"),
        wrong_type=_("文件“%(name)s”不是 JPG 或 PNG 照片。"),
    )
    unit = opinion_route(unit_id=unit_id, area=area)
    deadline, provisional = add_working_days(timezone.localtime(now).date(), answer_days(kind))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                opinion = Opinion.objects.create(
                    number=_new_number(now),
                    kind=kind,
                    content=content,
                    area=area,
                    requested_unit=unit if unit_id else None,
                    unit=unit,
                    case=case,
                    anonymous=anonymous,
                    contact_name="" if anonymous else contact_name,
                    mobile=mobile,
                    mobile_hash=mobile_hash,
                    wall_consent=wall_consent and kind == OpinionKind.SUGGESTION,
                    submitted_at=now,
                    deadline=deadline,
                    deadline_provisional=provisional,
                )
            break
        except IntegrityError:
            continue
    else:
        raise ApplicationError("number_failed", _("受理编号生成失败，请重试。"), status=503)
    for upload, content_type, suffix in checked:
        photo = OpinionPhoto(opinion=opinion, content_type=content_type, size=upload.size)
        photo.file.save(f"{opinion.pk}{suffix}", upload, save=False)
        photo.save()
    # No channel column yet (a migration of this app is another change's): the history says.
    received_note = _("群众短信，由短信收件箱转为留言") if channel == "sms" else _("群众提交")
    OpinionEvent.objects.create(
        opinion=opinion, to_status=S.RECEIVED, unit=unit, note=received_note, created_at=now
    )
    notify_unit(
        unit=unit,
        kind=NotificationKind.OPINION_ARRIVED,
        text=_("新%(kind)s %(no)s，请于 %(day)s 前答复。")
        % {"kind": opinion.get_kind_display(), "no": opinion.number, "day": f"{deadline:%m月%d日}"},
        url=_staff_url(opinion),
    )
    if kind == OpinionKind.TIP:
        # A phone is seen by others: a tipster's SMS must not say it is about a tip.
        received = _("您的事项（编号 %(no)s）已受理，我们将于 %(day)s 前答复。查询：%(url)s")
    else:
        received = _("您的%(kind)s已受理，编号 %(no)s，我们将于 %(day)s 前答复。查询：%(url)s")
    _tell_citizen(
        opinion,
        received
        % {
            "kind": opinion.get_kind_display(),
            "no": opinion.number,
            "day": f"{deadline:%m月%d日}",
            "url": _track_url(opinion.number),
        },
        now,
    )
    return opinion


def _transition(opinion: Opinion, *, actor, to: str, note: str = "", now=None, **fields):
    now = now or timezone.now()
    if to not in OPINION_ALLOWED[opinion.status]:
        raise ApplicationError(
            "invalid_transition",
            _("该留言当前状态为“%(status)s”，不能进行此操作。")
            % {"status": opinion.get_status_display()},
            status=409,
        )
    updated = Opinion.objects.filter(pk=opinion.pk, status=opinion.status).update(
        status=to, **fields
    )
    if not updated:
        raise ApplicationError("stale_state", _("留言状态已变化，请刷新后重试。"), status=409)
    OpinionEvent.objects.create(
        opinion=opinion,
        actor=actor,
        from_status=opinion.status,
        to_status=to,
        unit_id=fields.get("unit_id", opinion.unit_id),
        note=note,
        created_at=now,
    )
    if actor is not None:
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=opinion,
            detail={"from": opinion.status, "to": to},
        )
    if to in _RESOLVED_BY:
        notifications_resolve(url=_staff_url(opinion), kinds=_RESOLVED_BY[to], now=now)
    opinion.refresh_from_db()
    return opinion


def _locked(actor, opinion: Opinion, perm: str) -> Opinion:
    """The opinion, locked, if it is in the actor's subtree and the actor may do `perm`."""
    if not has_perm(actor, perm):
        raise PermissionDenied()
    current = (
        Opinion.objects.select_for_update(of=("self",))
        .filter(scope_q(actor, "unit__"), pk=opinion.pk)
        .first()
    )
    if current is None:
        raise NotFound()
    return current


@transaction.atomic
def opinion_accept(*, actor, opinion: Opinion, now=None) -> Opinion:
    now = now or timezone.now()
    current = _locked(actor, opinion, Perm.OPINION_HANDLE)
    return _transition(
        current, actor=actor, to=S.ACCEPTED, note=_("签收"), now=now, accepted_at=now
    )


@transaction.atomic
def opinion_transfer(*, actor, opinion: Opinion, unit: OrgUnit, note: str, now=None) -> Opinion:
    """转办: to another unit of the actor's subtree. The citizen's deadline does not restart."""
    now = now or timezone.now()
    current = _locked(actor, opinion, Perm.OPINION_ROUTE)
    note = _text(note, field="note", label=_("转办说明"), low=2, high=500)
    target = OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk, is_active=True).first()
    if target is None:
        raise ApplicationError("invalid_unit", _("只能转办给本单位及下级单位。"), field="unit")
    if target.pk == current.unit_id:
        raise ApplicationError("same_unit", _("该留言已在此单位办理。"), field="unit")
    order = _transition(
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
        url=_staff_url(order),
    )
    return order


@transaction.atomic
def opinion_answer(*, actor, opinion: Opinion, text: str, now=None) -> Opinion:
    """The unit's answer (答复); the citizen is told by SMS and asked to rate it."""
    now = now or timezone.now()
    current = _locked(actor, opinion, Perm.OPINION_HANDLE)
    text = _text(text, field="answer", label=_("答复内容"), low=ANSWER_MIN, high=ANSWER_MAX)
    if current.status == S.RECEIVED:
        current = _transition(
            current, actor=actor, to=S.ACCEPTED, note=_("签收"), now=now, accepted_at=now
        )
    answered = _transition(
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
    _tell_citizen(
        answered,
        sms
        % {
            "kind": answered.get_kind_display(),
            "no": answered.number,
            "url": _track_url(answered.number),
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
        if current is None or current.mobile_hash != lookup_hash("mobile", mobile):
            raise NotFound()
        if current.status == S.CLOSED and current.rated_at:
            raise ApplicationError("already_rated", _("您已评价过该答复。"), status=409)
        closed = _transition(
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
                url=_staff_url(closed),
            )
    return closed


@transaction.atomic
def opinion_tip_verdict(*, actor, opinion: Opinion, verdict: str, note: str, now=None) -> Opinion:
    """The unit's finding on a tip (线索核实): true or unfounded, with what it found."""
    now = now or timezone.now()
    current = _locked(actor, opinion, Perm.OPINION_HANDLE)
    if current.kind != OpinionKind.TIP:
        raise ApplicationError("not_a_tip", _("只有线索举报需要核实。"), status=409)
    if verdict not in (TipVerdict.VERIFIED, TipVerdict.UNFOUNDED):
        raise ApplicationError("invalid_verdict", _("请选择核实结果。"), field="verdict")
    if current.tip_verdict in (TipVerdict.VERIFIED, TipVerdict.UNFOUNDED):
        raise ApplicationError("already_verified", _("该线索已核实。"), status=409)
    note = _text(note, field="note", label=_("核实情况"), low=5, high=2000)
    Opinion.objects.filter(pk=current.pk).update(
        tip_verdict=verdict, tip_verdict_note=note, tip_verified_at=now
    )
    OpinionEvent.objects.create(
        opinion=current,
        actor=actor,
        from_status=current.status,
        to_status=current.status,
        unit_id=current.unit_id,
        note=f"{TipVerdict(verdict).label}：{note}",
        created_at=now,
    )
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
    current = _locked(actor, opinion, Perm.OPINION_ROUTE)
    if current.kind != OpinionKind.SUGGESTION or not current.wall_consent:
        raise ApplicationError("not_on_wall", _("该留言未同意公开，不在民意墙展示。"), status=409)
    if current.wall_hidden == hidden:
        raise ApplicationError(
            "wall_unchanged",
            _("该留言已从民意墙撤下。") if hidden else _("该留言已在民意墙展示。"),
            status=409,
        )
    reason = (reason or "").strip()
    if hidden:
        reason = _text(reason, field="reason", label=_("撤下理由"), low=2, high=200)
        note = _("民意墙：撤下 %(reason)s") % {"reason": reason}
    else:
        if len(reason) > 200:
            raise ApplicationError("reason_too_long", _("说明不能超过 200 个字。"), field="reason")
        note = _("民意墙：恢复") + (f" {reason}" if reason else "")
    Opinion.objects.filter(pk=current.pk).update(wall_hidden=hidden)
    OpinionEvent.objects.create(
        opinion=current,
        actor=actor,
        from_status=current.status,
        to_status=current.status,
        unit_id=current.unit_id,
        note=note,
        created_at=now,
    )
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
    from minyi.core.models import AuditOutcome

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
    return {"name": current.contact_name, "mobile": current.mobile}


# --- Tip rewards (线索奖励) ------------------------------------------------------------------


def _reward_transition(reward: TipReward, *, actor, to: str, note: str = "", now=None, **fields):
    now = now or timezone.now()
    if to not in REWARD_ALLOWED[reward.status]:
        raise ApplicationError(
            "invalid_transition",
            _("奖励当前状态为“%(status)s”，不能进行此操作。")
            % {"status": reward.get_status_display()},
            status=409,
        )
    if not TipReward.objects.filter(pk=reward.pk, status=reward.status).update(status=to, **fields):
        raise ApplicationError("stale_state", _("奖励状态已变化，请刷新后重试。"), status=409)
    RewardEvent.objects.create(
        reward=reward,
        actor=actor,
        from_status=reward.status,
        to_status=to,
        note=note,
        created_at=now,
    )
    audit_record(
        action=AuditAction.CHANGE, actor=actor, obj=reward, detail={"from": reward.status, "to": to}
    )
    reward.refresh_from_db()
    return reward


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or amount <= 0 or amount > Decimal("1000000"):
        raise ApplicationError(
            "invalid_amount", _("奖励金额应为 0.01 至 1,000,000 元。"), field="amount"
        )
    return amount


@transaction.atomic
def reward_propose(*, actor, opinion: Opinion, amount, reason: str, now=None) -> TipReward:
    now = now or timezone.now()
    current = _locked(actor, opinion, Perm.REWARD_MANAGE)
    if current.kind != OpinionKind.TIP or current.tip_verdict != TipVerdict.VERIFIED:
        raise ApplicationError(
            "tip_not_verified", _("只有核实属实的线索才能申请奖励。"), status=409
        )
    if TipReward.objects.filter(opinion=current).exists():
        raise ApplicationError("reward_exists", _("该线索已申请过奖励。"), status=409)
    reason = _text(reason, field="reason", label=_("奖励理由"), low=5, high=1000)
    reward = TipReward.objects.create(
        opinion=current,
        amount=_amount(amount),
        reason=reason,
        proposed_by=actor,
        proposed_at=now,
    )
    RewardEvent.objects.create(
        reward=reward, actor=actor, to_status=RewardStatus.PROPOSED, note=reason, created_at=now
    )
    audit_record(
        action=AuditAction.CREATE, actor=actor, obj=reward, detail={"amount": str(reward.amount)}
    )
    # The approvers are above the proposer's unit, which may be above the tip's.
    notify_supervisors_above(
        unit=actor.unit or current.unit,
        kind=NotificationKind.REWARD_PROPOSED,
        text=_("线索 %(no)s 申请奖励 %(amount)s 元，待审批。")
        % {"no": current.number, "amount": reward.amount},
        url=_staff_url(current),
    )
    return reward


def _reward_locked(actor, reward: TipReward, perm: str) -> TipReward:
    if not has_perm(actor, perm):
        raise PermissionDenied()
    current = (
        TipReward.objects.select_for_update(of=("self",))
        .select_related("opinion__unit", "proposed_by__unit")
        .filter(scope_q(actor, "opinion__unit__"), pk=reward.pk)
        .first()
    )
    if current is None:
        raise NotFound()
    return current


@transaction.atomic
def reward_decide(*, actor, reward: TipReward, approve: bool, note: str = "", now=None):
    """Approval by a supervisor of a strictly higher tier than the unit that proposed it."""
    now = now or timezone.now()
    current = _reward_locked(actor, reward, Perm.REWARD_APPROVE)
    if not reward_approver_above(actor, current):
        raise ApplicationError("higher_tier_required", _("奖励须由上级单位审批。"), status=403)
    note = (note or "").strip()
    if not approve and len(note) < 2:
        raise ApplicationError("note_required", _("不予批准请写明理由。"), field="note")
    to = RewardStatus.APPROVED if approve else RewardStatus.REJECTED
    decided = _reward_transition(
        current,
        actor=actor,
        to=to,
        note=note,
        now=now,
        decided_by=actor,
        decided_at=now,
        decision_note=note,
    )
    if approve:
        # Neither "tip" nor "reward" nor the amount: the unit tells the rest face to face.
        _tell_citizen(
            current.opinion,
            _("您的事项（编号 %(no)s）有新消息，请携带本人身份证件到%(unit)s咨询。")
            % {"no": current.opinion.number, "unit": current.opinion.unit.name},
            now,
        )
    notifications_resolve(url=_staff_url(current.opinion), kinds={K.REWARD_PROPOSED}, now=now)
    notify_unit(
        unit=current.opinion.unit,
        kind=NotificationKind.REWARD_DECIDED,
        text=_("线索 %(no)s 的奖励：%(status)s。")
        % {"no": current.opinion.number, "status": decided.get_status_display()},
        url=_staff_url(current.opinion),
    )
    return decided


@transaction.atomic
def reward_pay(*, actor, reward: TipReward, reference: str, now=None) -> TipReward:
    now = now or timezone.now()
    current = _reward_locked(actor, reward, Perm.REWARD_MANAGE)
    reference = (reference or "").strip()
    if not reference or len(reference) > 60:
        raise ApplicationError(
            "reference_required", _("请填写发放凭证号（60 字以内）。"), field="reference"
        )
    return _reward_transition(
        current,
        actor=actor,
        to=RewardStatus.PAID,
        note=reference,
        now=now,
        paid_by=actor,
        paid_at=now,
        payment_reference=reference,
    )


# --- The worker's sweep -------------------------------------------------------------------


def opinions_sweep(*, now=None) -> dict:
    """Remind the unit a working day before the deadline, escalate an overdue opinion once to
    the unit above, and close answers the citizen has not rated in time."""
    from datetime import timedelta

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    tomorrow, _provisional = add_working_days(today, 1)
    counts = {"reminded": 0, "escalated": 0, "closed": 0}
    due_soon = Opinion.objects.filter(
        status__in=(S.RECEIVED, S.ACCEPTED),
        reminded_at__isnull=True,
        deadline__lte=tomorrow,
        deadline__gte=today,
    ).select_related("unit")
    for opinion in due_soon:
        with transaction.atomic():
            if Opinion.objects.filter(pk=opinion.pk, reminded_at__isnull=True).update(
                reminded_at=now
            ):
                notify_unit(
                    unit=opinion.unit,
                    kind=NotificationKind.OPINION_DUE,
                    text=_("%(kind)s %(no)s 将于 %(day)s 到期，请及时答复。")
                    % {
                        "kind": opinion.get_kind_display(),
                        "no": opinion.number,
                        "day": f"{opinion.deadline:%m月%d日}",
                    },
                    url=_staff_url(opinion),
                )
                counts["reminded"] += 1
    overdue = Opinion.objects.filter(
        status__in=(S.RECEIVED, S.ACCEPTED), escalated_at__isnull=True, deadline__lt=today
    ).select_related("unit")
    for opinion in overdue:
        parent = OrgUnit.objects.get_parent(opinion.unit) if opinion.unit.depth > 1 else None
        with transaction.atomic():
            if not Opinion.objects.filter(pk=opinion.pk, escalated_at__isnull=True).update(
                escalated_at=now, escalated_to=parent
            ):
                continue
            text = _("%(kind)s %(no)s 已超期未答复（期限 %(day)s）。") % {
                "kind": opinion.get_kind_display(),
                "no": opinion.number,
                "day": f"{opinion.deadline:%m月%d日}",
            }
            notify_unit(
                unit=opinion.unit,
                kind=NotificationKind.OPINION_OVERDUE,
                text=text,
                url=_staff_url(opinion),
            )
            if parent is not None:
                users = User.objects.filter(
                    unit=parent, role__in=(Role.SUPERVISOR, Role.UNIT_LEADER), is_active=True
                )
                notify_users(
                    users=users,
                    kind=NotificationKind.OPINION_OVERDUE,
                    text=text,
                    url=_staff_url(opinion),
                )
            counts["escalated"] += 1
    stale = Opinion.objects.filter(
        status=S.ANSWERED, answered_at__lt=now - timedelta(days=settings.OPINION_RATING_DAYS)
    )
    for opinion in stale:
        with transaction.atomic():
            try:
                _transition(
                    opinion,
                    actor=None,
                    to=S.CLOSED,
                    note=_("群众未评价，自动办结"),
                    now=now,
                    closed_at=now,
                )
            except ApplicationError:
                continue
            counts["closed"] += 1
    return counts


@transaction.atomic
def opinion_from_inbound(
    *, actor, inbound: InboundSms, kind: str, unit: OrgUnit | None = None, now=None
):
    """A person turns the message into an opinion (诉求): routed to a unit of their subtree
    (the message's own by default), tracked and answered like one written on the portal,
    with the SMS text as its body. The citizen gave no name: it is anonymous."""
    now = now or timezone.now()
    current = inbox_locked(actor, inbound)
    mobile = inbox_mobile(current)
    unit = unit or current.unit
    if unit is None or not OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk).exists():
        raise ApplicationError(
            "unit_out_of_scope", _("请选择您管辖范围内的承办单位。"), field="unit"
        )
    opinion = opinion_submit(
        kind=kind,
        content=current.text.strip(),
        mobile=mobile,
        anonymous=True,
        unit_id=unit.pk,
        channel="sms",
        now=now,
    )
    inbox_mark(current, actor=actor, action=InboxAction.OPINION, ref=opinion.number, now=now)
    return opinion
