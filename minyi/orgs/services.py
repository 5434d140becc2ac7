"""Writes to units, officers and accounts. Each checks the actor's scope and is audited."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditAction, AuditOutcome
from minyi.core.pii import lookup_hash, normalize_id_number, normalize_mobile
from minyi.orgs.choices import Position, Role, UnitKind
from minyi.orgs.models import ApiKey, Officer, OrgUnit, User
from minyi.orgs.roles import Perm, has_perm


def _require_in_scope(actor, unit: OrgUnit | None) -> None:
    if actor.is_superuser:
        return
    if unit is None or actor.unit is None or not actor.unit.contains(unit):
        raise ApplicationError(
            "unit_out_of_scope", _("该单位不在您的管辖范围内。"), field="unit", status=403
        )


def _choice(value: str, choices, code: str, field: str) -> str:
    if value not in choices.values:
        raise ApplicationError(code, _("取值无效：%(value)s") % {"value": value}, field=field)
    return value


@transaction.atomic
def orgunit_create(
    *,
    actor,
    parent: OrgUnit | None,
    name: str,
    code: str,
    kind: str,
    short_name: str = "",
    duty_phone: str = "",
    address: str = "",
    has_perception_centre: bool = False,
) -> OrgUnit:
    name, code = name.strip(), code.strip()
    if not name or not code:
        raise ApplicationError("required", _("单位名称和单位代码不能为空。"))
    _choice(kind, UnitKind, "invalid_unit_kind", "kind")
    if OrgUnit.objects.filter(code=code).exists():
        raise ApplicationError(
            "duplicate_unit_code", _("单位代码 %(code)s 已被使用。") % {"code": code}, field="code"
        )
    fields = dict(
        name=name,
        code=code,
        kind=kind,
        short_name=short_name.strip(),
        duty_phone=duty_phone.strip(),
        address=address.strip(),
        has_perception_centre=has_perception_centre,
    )
    if parent is None:
        if not actor.is_superuser:
            raise PermissionDenied(_("只有系统运维账号可以新建顶级单位。"))
        unit = OrgUnit.objects.add_root(fields)
    else:
        _require_in_scope(actor, parent)
        unit = OrgUnit.objects.add_child(parent, fields)
    audit_record(action=AuditAction.CREATE, actor=actor, obj=unit)
    return unit


@transaction.atomic
def orgunit_move(*, actor, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    new_parent = OrgUnit.objects.get(pk=new_parent.pk)
    _require_in_scope(actor, unit)
    _require_in_scope(actor, new_parent)
    if unit.contains(new_parent):
        raise ApplicationError(
            "unit_move_into_own_subtree",
            _("不能把单位移动到它自己或它的下级单位之下。"),
            field="parent",
        )
    if OrgUnit.objects.get_parent(unit) == new_parent:
        return unit
    old_parent = OrgUnit.objects.get_parent(unit)
    OrgUnit.objects.move(unit, new_parent, "last-child")
    unit = OrgUnit.objects.get(pk=unit.pk)
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=unit,
        detail={"moved_from": old_parent.pk if old_parent else None, "moved_to": new_parent.pk},
    )
    return unit


@transaction.atomic
def officer_create(
    *,
    actor,
    unit: OrgUnit,
    police_number: str,
    name: str,
    position: str,
    is_public: bool = True,
    duty_phone: str = "",
    communities: str = "",
    mobile: str = "",
    id_number: str = "",
) -> Officer:
    _require_in_scope(actor, unit)
    police_number, name = police_number.strip(), name.strip()
    if not police_number or not name:
        raise ApplicationError("required", _("警号和姓名不能为空。"))
    _choice(position, Position, "invalid_position", "position")
    if Officer.objects.filter(police_number=police_number).exists():
        raise ApplicationError(
            "duplicate_police_number",
            _("警号 %(number)s 已存在。") % {"number": police_number},
            field="police_number",
        )
    mobile = normalize_mobile(mobile) if mobile else ""
    id_number = normalize_id_number(id_number) if id_number else ""
    officer = Officer.objects.create(
        unit=unit,
        police_number=police_number,
        name=name,
        position=position,
        is_public=is_public,
        duty_phone=duty_phone.strip(),
        communities=communities.strip(),
        mobile=mobile,
        mobile_hash=lookup_hash("mobile", mobile),
        id_number=id_number,
        id_number_hash=lookup_hash("id", id_number),
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=officer)
    return officer


def officer_reveal_pii(*, actor, officer: Officer, field: str, request=None) -> str:
    """The plaintext of one personal-data field, for a role that needs it; always audited,
    refusals too."""
    if field not in ("mobile", "id_number"):
        raise ApplicationError("invalid_field", _("无法查看该字段。"), field="field")
    if not has_perm(actor, Perm.OFFICER_REVEAL_PII):
        audit_record(
            action=AuditAction.PII_REVEAL,
            actor=actor,
            request=request,
            obj=officer,
            outcome=AuditOutcome.DENIED,
            detail={"field": field},
        )
        raise PermissionDenied(_("您的角色无权查看完整个人信息。"))
    _require_in_scope(actor, officer.unit)
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=officer,
        detail={"field": field},
    )
    return getattr(officer, field)


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    password: str,
    role: str,
    unit: OrgUnit,
    full_name: str = "",
    mobile: str = "",
) -> User:
    if not (actor.is_superuser or actor.role == Role.ADMIN):
        raise PermissionDenied()
    _require_in_scope(actor, unit)
    username = username.strip()
    if not username:
        raise ApplicationError("required", _("用户名不能为空。"), field="username")
    _choice(role, Role, "invalid_role", "role")
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(
            "duplicate_username",
            _("用户名 %(username)s 已被使用（不区分大小写）。") % {"username": username},
            field="username",
        )
    user = User(username=username, role=role, unit=unit, full_name=full_name.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError("weak_password", " ".join(exc.messages), field="password") from exc
    if mobile:
        user.mobile = normalize_mobile(mobile)
        user.mobile_hash = lookup_hash("mobile", user.mobile)
    user.set_password(password)
    user.save()
    audit_record(action=AuditAction.CREATE, actor=actor, obj=user)
    return user


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def apikey_create(*, actor, name: str, unit: OrgUnit) -> tuple[ApiKey, str]:
    """A new integration key; the plaintext is returned once and never stored."""
    if not (actor.is_superuser or actor.role == Role.ADMIN):
        raise PermissionDenied()
    _require_in_scope(actor, unit)
    if not name.strip():
        raise ApplicationError("required", _("请填写接入系统名称。"), field="name")
    prefix = secrets.token_hex(4)
    key = f"mk_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name.strip(),
        unit=unit,
        prefix=prefix,
        key_hash=_key_digest(key),
        created_by=actor if actor.pk else None,
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=api_key)
    return api_key, key


def apikey_authenticate(key: str) -> ApiKey | None:
    """The active key matching `key`, or None. Constant-time comparison of the hash."""
    parts = (key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != "mk":
        return None
    api_key = (
        ApiKey.objects.select_related("unit")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _key_digest(key)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


@transaction.atomic
def apikey_revoke(*, actor, api_key: ApiKey) -> bool:
    """Revoke for good (a revoked key is never reactivated: issue a new one). Audited."""
    _require_in_scope(actor, api_key.unit)
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit_record(action=AuditAction.CHANGE, actor=actor, obj=api_key, detail={"revoked": True})
    return bool(revoked)
