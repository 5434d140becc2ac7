"""The demo city in the database: `build_demo_city` writes the plan of `minyi.demo.city_plan`
in one transaction, together with the business types and one demo staff account per role and
tier; `demo_accounts` lists the accounts that `manage.py demo_city` prints."""

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from minyi.core.pii import lookup_hash
from minyi.demo.city_plan import (
    DEFAULT_SEED,
    DEMO_USERNAMES,
    ROOT_CODE,
    AccountPlan,
    DemoCityError,
    OfficerPlan,
    UnitPlan,
    check_scale,
    plan_city,
)
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import Officer, OrgUnit, User
from minyi.perception.models import BusinessCategory, BusinessType, CallbackTier

# Published in the README and printed by `manage.py demo_city`: demo databases only.
DEMO_PASSWORD = "Minyi-Demo-2026"  # noqa: S105
TOTP_NOTE = "首次登录需绑定动态验证码 (TOTP)"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    role_label: str
    unit_name: str
    full_name: str
    note: str


@dataclass(frozen=True)
class DemoCity:
    created: bool
    scale: int
    seed: int
    units: int
    stations_and_brigades: int
    officers: int
    business_types_created: int
    accounts: list[DemoAccount]


# --- Business types ----------------------------------------------------------------------

_C, _T = BusinessCategory, CallbackTier
# (code, name, category, is_enforcement, is_sensitive, rectification_days, callback_tier)
BUSINESS_TYPES = (
    ("hukou_registration", "户籍办理", _C.WINDOW, False, False, 3, _T.STATION),
    ("id_card", "身份证办理", _C.WINDOW, False, False, 3, _T.STATION),
    ("exit_entry_permit", "出入境证件办理", _C.WINDOW, False, False, 5, _T.STATION),
    ("driving_licence", "驾驶证业务", _C.WINDOW, False, False, 3, _T.STATION),
    ("vehicle_registration", "车辆登记", _C.WINDOW, False, False, 3, _T.STATION),
    ("emergency_call_110", "110接处警", _C.DISPATCH, False, False, 5, _T.DISTRICT),
    ("help_request", "求助", _C.DISPATCH, False, False, 5, _T.DISTRICT),
    ("dispute_mediation", "纠纷调解", _C.DISPATCH, False, False, 5, _T.DISTRICT),
    ("crime_scene_investigation", "刑事现场勘查", _C.CRIMINAL, False, False, 10, _T.DISTRICT),
    ("traffic_accident", "交通事故处理", _C.TRAFFIC, False, False, 10, _T.DISTRICT),
    ("traffic_violation", "交通违法处理", _C.TRAFFIC, True, False, 5, _T.DISTRICT),
    ("public_order_case", "治安案件办理", _C.ENFORCEMENT, True, False, 10, _T.DISTRICT),
    ("police_complaint", "涉警投诉", _C.COMPLAINT, False, False, 10, _T.CITY),
    # Sensitive: never surveyed (DOMAIN.md, capability 1.2).
    ("domestic_violence", "家庭暴力", _C.DISPATCH, False, True, 5, _T.DISTRICT),
    ("sexual_offence", "性侵案件", _C.CRIMINAL, False, True, 5, _T.DISTRICT),
    ("detention_arrest", "拘留逮捕", _C.ENFORCEMENT, True, True, 5, _T.DISTRICT),
    ("criminal_suspect", "犯罪嫌疑人", _C.CRIMINAL, True, True, 5, _T.DISTRICT),
    ("death_handling", "死亡案件处置", _C.CRIMINAL, False, True, 5, _T.DISTRICT),
)  # fmt: skip


def _create_business_types() -> int:
    """Create the business types that do not exist yet; an administrator's edits are kept."""
    existing = set(BusinessType.objects.values_list("code", flat=True))
    rows = [
        BusinessType(
            code=code, name=name, category=category, is_enforcement=enforcement,
            is_sensitive=sensitive, survey_enabled=not sensitive,
            rectification_days=days, callback_tier=tier,
        )
        for code, name, category, enforcement, sensitive, days, tier in BUSINESS_TYPES
        if code not in existing
    ]  # fmt: skip
    BusinessType.objects.bulk_create(rows)
    return len(rows)


# --- Writing -----------------------------------------------------------------------------


def demo_city_exists() -> bool:
    return OrgUnit.objects.filter(code=ROOT_CODE).exists()


def _unit_kwargs(plan: UnitPlan) -> dict:
    return dict(
        code=plan.code, name=plan.name, short_name=plan.short_name, kind=plan.kind,
        duty_phone=plan.duty_phone, address=plan.address,
        has_perception_centre=plan.has_perception_centre,
    )  # fmt: skip


def _create_units(plans: list[UnitPlan]) -> dict[str, OrgUnit]:
    """The root through treebeard; each lower level in one bulk insert, its materialised
    paths computed as treebeard's add_child would (checked by OrgUnit.find_problems in the
    tests)."""
    root_plan, *rest = plans
    children: dict[str, list[UnitPlan]] = {}
    for p in rest:
        children.setdefault(p.parent_code, []).append(p)
    root = OrgUnit.objects.add_root(
        instance=OrgUnit(**_unit_kwargs(root_plan), numchild=len(children.get(root_plan.code, [])))
    )
    by_code = {root.code: root}
    level = [root]
    while level:
        rows = [
            OrgUnit(
                **_unit_kwargs(child),
                depth=parent.depth + 1,
                path=OrgUnit._get_path(parent.path, parent.depth + 1, position),
                numchild=len(children.get(child.code, [])),
            )
            for parent in level
            for position, child in enumerate(children.get(parent.code, []), start=1)
        ]
        OrgUnit.objects.bulk_create(rows)
        level = list(OrgUnit.objects.filter(code__in=[r.code for r in rows]).order_by("path"))
        by_code.update((u.code, u) for u in level)
    return by_code


def _create_officers(plans: list[OfficerPlan], units: dict[str, OrgUnit]) -> None:
    rows = [
        Officer(
            police_number=o.police_number, name=o.name, unit=units[o.unit_code],
            position=o.position, is_public=o.is_public, duty_phone=o.duty_phone,
            communities=o.communities,
            mobile=o.mobile, mobile_hash=lookup_hash("mobile", o.mobile),
            id_number=o.id_number, id_number_hash=lookup_hash("id", o.id_number),
        )
        for o in plans
    ]  # fmt: skip
    Officer.objects.bulk_create(rows, batch_size=500)


def _create_accounts(plans: list[AccountPlan], units: dict[str, OrgUnit]) -> None:
    # One hash for all: the demo password is the same and published anyway, and hashing it
    # thirteen times would be most of the build time.
    encoded = make_password(DEMO_PASSWORD)
    officers = dict(
        Officer.objects.filter(
            police_number__in=[a.officer_police_number for a in plans if a.officer_police_number]
        ).values_list("police_number", "pk")
    )
    for account in plans:
        user = User(
            username=account.username,
            role=account.role,
            unit=units[account.unit_code],
            full_name=account.full_name,
            officer_id=officers.get(account.officer_police_number),
            password=encoded,
        )
        validate_password(DEMO_PASSWORD, user)
        user.save()


def demo_accounts() -> list[DemoAccount]:
    """The demo accounts present in the database, in table order."""
    users = {
        u.username: u
        for u in User.objects.filter(username__in=DEMO_USERNAMES).select_related("unit")
    }
    return [
        DemoAccount(
            username=u.username,
            password=DEMO_PASSWORD,
            role=u.role,
            role_label=str(Role(u.role).label) if u.role in Role.values else u.role,
            unit_name=u.unit.name if u.unit else "",
            full_name=u.full_name,
            note=TOTP_NOTE if u.role == Role.ADMIN else "",
        )
        for name in DEMO_USERNAMES
        if (u := users.get(name)) is not None
    ]


def closest_account(users, unit):
    """The deepest of `users` whose unit contains `unit`: who at or above `unit` acts on it."""
    best = None
    for user in users:
        if unit.path.startswith(user.unit.path) and (
            best is None or user.unit.depth > best.unit.depth
        ):
            best = user
    return best


def _summary(created: bool, scale: int, seed: int) -> DemoCity:
    root = OrgUnit.objects.get(code=ROOT_CODE)
    subtree = OrgUnit.objects.filter(path__startswith=root.path)
    return DemoCity(
        created=created,
        scale=scale,
        seed=seed,
        units=subtree.count(),
        stations_and_brigades=subtree.filter(
            kind__in=[UnitKind.POLICE_STATION, UnitKind.TRAFFIC_BRIGADE, UnitKind.CRIMINAL_BRIGADE]
        ).count(),
        officers=Officer.objects.filter(unit__path__startswith=root.path).count(),
        business_types_created=0,
        accounts=demo_accounts(),
    )


def existing_demo_city() -> DemoCity:
    """Summary of a demo city that is already in the database (nothing is written)."""
    return _summary(False, 0, 0)


def build_demo_city(*, scale: int = 1, seed: int = DEFAULT_SEED) -> DemoCity:
    """Write the demo city, its business types and demo accounts in one transaction.

    Raises DemoCityError if the city (root unit 330600) exists already, or if a demo
    username or police number is already taken.
    """
    check_scale(scale)
    plan = plan_city(scale=scale, seed=seed)
    with transaction.atomic():
        if demo_city_exists():
            raise DemoCityError(f"the demo city (unit {ROOT_CODE}) exists already")
        taken = list(
            User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True)
        )
        if taken:
            raise DemoCityError(f"demo usernames already taken: {taken}")
        numbers = {o.police_number for o in plan.officers}
        clashes = [
            n for n in Officer.objects.values_list("police_number", flat=True) if n in numbers
        ]
        if clashes:
            raise DemoCityError(f"police numbers already taken: {clashes[:10]}")
        units = _create_units(plan.units)
        _create_officers(plan.officers, units)
        business_types = _create_business_types()
        _create_accounts(plan.accounts, units)
        summary = _summary(True, scale, seed)
    return DemoCity(**{**summary.__dict__, "business_types_created": business_types})
