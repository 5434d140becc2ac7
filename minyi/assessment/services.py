"""Writes of the annual assessment's rules, peer groups and approvals (年度综合考评, DOMAIN.md
capability 2). Business figures are written in `figures.py`, runs in `compute.py`.

A rule is versioned per owner bureau and year: a version that has produced an assessment is
never edited, so saving it makes the next version (a copy with the changes). Public opinion's
weight (the poll indicators' weights together) may not go below 51%: `rule_weights_check`
refuses it here and in the form, and the database refuses it with a check constraint.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.assessment.access import can_approve, can_manage
from minyi.assessment.models import (
    PUBLIC_WEIGHT_FLOOR,
    Assessment,
    AssessmentRule,
    AssessmentStatus,
    BusinessCode,
    Direction,
    IndicatorSource,
    RuleIndicator,
    RuleStatus,
)
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditAction
from minyi.orgs.models import OrgUnit, PeerGroup, PeerGroupMember
from minyi.polls.models import Indicator

WEIGHT_TOLERANCE = Decimal("0.001")


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of a rule as a person chose it."""

    code: str
    weight: Decimal
    direction: str = Direction.HIGHER


def indicator_source(code: str) -> str:
    if code in Indicator.values:
        return IndicatorSource.POLL
    if code in BusinessCode.values:
        return IndicatorSource.BUSINESS
    raise ApplicationError(
        "unknown_indicator", _("未知指标：%(code)s。") % {"code": code}, field="indicators"
    )


def indicator_label(code: str) -> str:
    if code in Indicator.values:
        return str(Indicator(code).label)
    if code in BusinessCode.values:
        return str(BusinessCode(code).label)
    return code


def rule_weights_check(indicators: list[IndicatorSpec]) -> Decimal:
    """The public weight of `indicators` (the poll indicators' weights together), or
    ApplicationError: no indicator, an unknown or repeated one, a weight outside (0, 1],
    weights not adding up to 1 (±0.001), or public opinion below 51%."""
    if not indicators:
        raise ApplicationError("no_indicators", _("请至少选择一个指标。"), field="indicators")
    seen: set[str] = set()
    public = Decimal(0)
    for spec in indicators:
        source = indicator_source(spec.code)
        if spec.code in seen:
            raise ApplicationError(
                "duplicate_indicator",
                _("指标“%(name)s”重复。") % {"name": indicator_label(spec.code)},
                field="indicators",
            )
        seen.add(spec.code)
        if spec.direction not in Direction.values:
            raise ApplicationError("invalid_direction", _("指标方向不正确。"), field="indicators")
        if not Decimal(0) < spec.weight <= Decimal(1):
            raise ApplicationError(
                "weight_out_of_range",
                _("指标“%(name)s”的权重须大于 0 且不超过 1。")
                % {"name": indicator_label(spec.code)},
                field="indicators",
            )
        if source == IndicatorSource.POLL:
            public += spec.weight
    total = sum((spec.weight for spec in indicators), Decimal(0))
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise ApplicationError(
            "weights_not_one",
            _("各指标权重之和须为 1（当前为 %(total)s）。") % {"total": f"{total:.3f}"},
            field="indicators",
        )
    if public < PUBLIC_WEIGHT_FLOOR:
        raise ApplicationError(
            "public_weight_below_floor",
            _("民意测评指标权重合计 %(public)s，低于规定的下限 %(floor)s（51%%）。")
            % {"public": f"{public:.3f}", "floor": PUBLIC_WEIGHT_FLOOR},
            field="indicators",
        )
    return public


def _check_manager(actor, owner: OrgUnit) -> None:
    if not can_manage(actor):
        raise PermissionDenied()
    if not actor.is_superuser and (actor.unit is None or not actor.unit.contains(owner)):
        raise PermissionDenied(_("只能管理本单位及下级单位的考评。"))


def _check_groups(owner: OrgUnit, peer_groups) -> list[PeerGroup]:
    groups = list(peer_groups)
    if not groups:
        raise ApplicationError(
            "no_peer_groups", _("请至少选择一个同类单位组。"), field="peer_groups"
        )
    if any(group.owner_id != owner.pk for group in groups):
        raise ApplicationError(
            "peer_group_not_owned",
            _("只能选择本局定义的同类单位组。"),
            field="peer_groups",
        )
    return groups


@transaction.atomic
def rule_save(
    *,
    actor,
    owner: OrgUnit,
    year: int,
    indicators: list[IndicatorSpec],
    peer_groups,
    min_n_eff: int = 300,
    p_bottom3_gate: float = 0.8,
    z_gate: float = 3.09,
    note: str = "",
    rule: AssessmentRule | None = None,
) -> AssessmentRule:
    """Save a rule: a new one (the owner's next version for the year), `rule` itself while it
    has produced no assessment, or else a new version copied from it with the changes."""
    _check_manager(actor, owner)
    public = rule_weights_check(indicators)
    groups = _check_groups(owner, peer_groups)
    if rule is not None and rule.owner_id != owner.pk:
        raise PermissionDenied()
    if not 0.5 < p_bottom3_gate <= 1 or z_gate < 1.96:
        raise ApplicationError(
            "gate_too_lax",
            _("末位认定门槛过松：末三位概率须大于 0.5，调整 z 门槛不得低于 1.96。"),
            field="p_bottom3_gate",
        )
    in_place = rule is not None and not rule.assessments.exists() and rule.year == year
    if not in_place:
        last = AssessmentRule.objects.select_for_update().filter(owner=owner, year=year)
        version = (last.aggregate(v=Max("version"))["v"] or 0) + 1
        rule = AssessmentRule(owner=owner, year=year, version=version, created_by=actor)
    rule.public_weight = public
    rule.min_n_eff = min_n_eff
    rule.p_bottom3_gate = p_bottom3_gate
    rule.z_gate = z_gate
    rule.note = note
    rule.save()
    rule.peer_groups.set(groups)
    rule.indicators.all().delete()
    RuleIndicator.objects.bulk_create(
        RuleIndicator(
            rule=rule,
            source=indicator_source(spec.code),
            code=spec.code,
            direction=spec.direction,
            weight=spec.weight,
        )
        for spec in indicators
    )
    if rule.status == RuleStatus.ACTIVE:
        # Still unused: its snapshot follows the groups as saved now.
        rule.peer_snapshot = peer_snapshot(groups)
        rule.save(update_fields=["peer_snapshot", "updated_at"])
    audit_record(
        action=AuditAction.CHANGE if in_place else AuditAction.CREATE,
        actor=actor,
        obj=rule,
        detail={"rule_version": rule.rule_version, "public_weight": str(public)},
    )
    return rule


def peer_snapshot(groups) -> dict:
    """{group id: [unit ids]} of `groups` as they are now."""
    members: dict[str, list[int]] = {str(group.pk): [] for group in groups}
    for group_id, unit_id in (
        PeerGroupMember.objects.filter(group__in=groups)
        .order_by("unit__path")
        .values_list("group_id", "unit_id")
    ):
        members[str(group_id)].append(unit_id)
    return members


@transaction.atomic
def rule_activate(*, actor, rule: AssessmentRule) -> AssessmentRule:
    """Make `rule` the year's rule of its owner: its peer groups' membership is taken as it
    is now (`peer_snapshot`) and the owner's other active rule of that year retires."""
    rule = AssessmentRule.objects.select_for_update().get(pk=rule.pk)
    _check_manager(actor, rule.owner)
    if rule.status != RuleStatus.DRAFT:
        raise ApplicationError("rule_not_draft", _("只有草稿状态的规则可以启用。"))
    specs = [
        IndicatorSpec(code=i.code, weight=i.weight, direction=i.direction)
        for i in rule.indicators.all()
    ]
    rule_weights_check(specs)
    groups = list(rule.peer_groups.all())
    snapshot = peer_snapshot(groups)
    if not groups or not any(len(units) >= 2 for units in snapshot.values()):
        raise ApplicationError("peer_groups_empty", _("同类单位组至少要有两个成员单位才能排名。"))
    AssessmentRule.objects.filter(
        owner=rule.owner, year=rule.year, status=RuleStatus.ACTIVE
    ).exclude(pk=rule.pk).update(status=RuleStatus.RETIRED, updated_at=timezone.now())
    rule.status = RuleStatus.ACTIVE
    rule.peer_snapshot = snapshot
    rule.activated_by = actor
    rule.activated_at = timezone.now()
    rule.save()
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=rule,
        detail={"status": RuleStatus.ACTIVE, "peer_snapshot": snapshot},
    )
    return rule


# --- Peer groups (同类单位组) -------------------------------------------------------------


@transaction.atomic
def peer_group_save(
    *, actor, owner: OrgUnit, name: str, members, group: PeerGroup | None = None
) -> PeerGroup:
    """Create or change a peer group of `owner`: its members are units below the owner, each
    in one group only. Rules already active keep the membership they snapshotted."""
    _check_manager(actor, owner)
    name = name.strip()
    if not name:
        raise ApplicationError("name_required", _("请填写同类组名称。"), field="name")
    units = list(members)
    if len(units) < 2:
        raise ApplicationError(
            "too_few_members", _("同类组至少要有两个成员单位。"), field="members"
        )
    outside = [u for u in units if u.pk == owner.pk or not owner.contains(u)]
    if outside:
        raise ApplicationError(
            "member_outside_owner",
            _("%(names)s 不是本局的下级单位。") % {"names": "、".join(u.name for u in outside)},
            field="members",
        )
    if group is not None and group.owner_id != owner.pk:
        raise PermissionDenied()
    taken = PeerGroupMember.objects.filter(unit__in=units).select_related("unit", "group")
    if group is not None:
        taken = taken.exclude(group=group)
    if taken:
        raise ApplicationError(
            "member_in_other_group",
            _("%(names)s 已在其他同类组中，每个单位只能属于一个同类组。")
            % {"names": "、".join(f"{m.unit.name}（{m.group.name}）" for m in taken)},
            field="members",
        )
    created = group is None
    if created:
        group = PeerGroup.objects.create(owner=owner, name=name)
    else:
        group.name = name
        group.save()
        group.memberships.exclude(unit__in=units).delete()
    existing = set(group.memberships.values_list("unit_id", flat=True))
    PeerGroupMember.objects.bulk_create(
        PeerGroupMember(group=group, unit=u) for u in units if u.pk not in existing
    )
    audit_record(
        action=AuditAction.CREATE if created else AuditAction.CHANGE,
        actor=actor,
        obj=group,
        detail={"members": [u.pk for u in units]},
    )
    return group


# --- Approval and publication ---------------------------------------------------------------


def _move(*, actor, assessment: Assessment, old: str, new: str, **fields) -> Assessment:
    if not can_approve(actor):
        raise PermissionDenied()
    owner = assessment.rule.owner
    if not actor.is_superuser and (actor.unit is None or not actor.unit.contains(owner)):
        raise PermissionDenied(_("只有考评所属局或上级的督察/局领导可以审定和公布。"))
    moved = Assessment.objects.filter(pk=assessment.pk, status=old).update(
        status=new, updated_at=timezone.now(), **fields
    )
    if not moved:
        raise ApplicationError(
            "assessment_status_changed",
            _("该考评当前状态为“%(status)s”，不能执行此操作。")
            % {"status": assessment.get_status_display()},
            status=409,
        )
    assessment.refresh_from_db()
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=assessment, detail={"status": new})
    return assessment


@transaction.atomic
def assessment_approve(*, actor, assessment: Assessment) -> Assessment:
    """A supervisor of the owner bureau (or above) approves the computed ranking (审定)."""
    return _move(
        actor=actor,
        assessment=assessment,
        old=AssessmentStatus.COMPUTED,
        new=AssessmentStatus.APPROVED,
        approved_by=actor,
        approved_at=timezone.now(),
    )


@transaction.atomic
def assessment_publish(*, actor, assessment: Assessment) -> Assessment:
    """Publish an approved ranking: citizens can then see it."""
    return _move(
        actor=actor,
        assessment=assessment,
        old=AssessmentStatus.APPROVED,
        new=AssessmentStatus.PUBLISHED,
        published_at=timezone.now(),
    )
