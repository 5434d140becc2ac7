"""跑多次 into rectification (流转整改, issue 17 part 6): a detected repeat contact (DOMAIN.md
step 6: the same citizen, the same business, several trips within 30 days) is not only a
figure. Configurable rules (RepeatRule) refer a citizen's trips once per rule window
(RepeatReferral): to the perception centre for a 跑多次回访 ("why did you have to come
back?"), or to the unit of the latest trip as a work order, as Shaoxing did.

A referral needs a way to reach the citizen: the callback (and the work order, which hangs on
a callback and ends in a 追评) is opened on the newest survey among the counted trips. When
none of them has one (survey disabled for the business, a trip within the survey cool-off
only) or the number has opted out, nobody phones: the referral records why, and a
work-order rule tells the unit's leader in the console instead.

The sweep reads RepeatContact rows (dashboards.rollups fills them) after a cursor kept in
FillState, under that row's lock, so two sweeps never refer the same rows; the unique key of
RepeatReferral is the last guard."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.services import callback_repeat_open
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.dashboards import conf
from minyi.dashboards.models import (
    FillState,
    NoRoute,
    RepeatAction,
    RepeatContact,
    RepeatReferral,
    RepeatRule,
)
from minyi.integrations.sms.models import OptOut
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import notify_unit
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import BusinessType, ServiceEvent, Survey
from minyi.workorders.services import workorder_dispatch_repeat

CURSOR = "repeat_referrals"
RULE_FIELDS = ("unit", "business_type", "min_trips", "window_days", "action", "active")


# --- rules ------------------------------------------------------------------------------------


def repeat_rules_visible_to(user) -> QuerySet[RepeatRule]:
    """The rules set for units of the user's subtree (the ones they may change)."""
    return (
        RepeatRule.objects.filter(scope_q(user, "unit__"))
        .select_related("unit", "business_type", "updated_by")
        .order_by("unit__path", "business_type__name", "id")
    )


def repeat_rule_get_visible(user, pk) -> RepeatRule:
    rule = repeat_rules_visible_to(user).filter(pk=pk).first()
    if rule is None:
        raise NotFound()
    return rule


def _check_rule(*, actor, unit: OrgUnit, business_type, min_trips: int, window_days: int, action):
    if not has_perm(actor, Perm.REPEAT_RULE_MANAGE):
        raise PermissionDenied()
    if not OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk).exists():
        raise ApplicationError(
            "unit_out_of_scope", _("只能为本单位及下级单位设置规则。"), field="unit"
        )
    if business_type is not None and business_type.is_sensitive:
        raise ApplicationError(
            "sensitive_business",
            _("敏感业务不统计跑多次，不能设置规则。"),
            field="business_type",
        )
    if min_trips is None or min_trips < 2:
        raise ApplicationError("min_trips", _("办理次数至少为 2 次。"), field="min_trips")
    if min_trips > 50:
        raise ApplicationError("min_trips", _("办理次数不能超过 50 次。"), field="min_trips")
    most = conf.repeat_window().days
    if window_days is None or not 1 <= window_days <= most:
        raise ApplicationError(
            "window_days",
            _("统计天数须在 1 到 %(days)d 天之间（跑多次统计窗口）。") % {"days": most},
            field="window_days",
        )
    if action not in RepeatAction.values:
        raise ApplicationError("action", _("请选择处置方式。"), field="action")


@transaction.atomic
def repeat_rule_save(
    *,
    actor,
    rule: RepeatRule | None = None,
    unit: OrgUnit,
    business_type: BusinessType | None,
    min_trips: int,
    window_days: int,
    action: str,
    active: bool = True,
    now=None,
) -> RepeatRule:
    """Create a rule, or change one (its version goes up: a referral records the version
    that made it). Changes apply to repeat contacts the sweep reads from now on."""
    now = now or timezone.now()
    _check_rule(
        actor=actor,
        unit=unit,
        business_type=business_type,
        min_trips=min_trips,
        window_days=window_days,
        action=action,
    )
    values = {
        "unit": unit,
        "business_type": business_type,
        "min_trips": min_trips,
        "window_days": window_days,
        "action": action,
        "active": active,
    }
    if rule is None:
        rule = RepeatRule.objects.create(**values, created_at=now, updated_at=now, updated_by=actor)
        audit_record(action=AuditAction.CREATE, actor=actor, obj=rule, detail=_rule_detail(rule))
        return rule
    current = RepeatRule.objects.select_for_update().filter(pk=rule.pk).first()
    if (
        current is None
        or not OrgUnit.objects.filter(scope_q(actor, ""), pk=current.unit_id).exists()
    ):
        raise NotFound()
    for name, value in values.items():
        setattr(current, name, value)
    current.version += 1
    current.updated_at, current.updated_by = now, actor
    current.save()
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=current, detail=_rule_detail(current))
    return current


def _rule_detail(rule: RepeatRule) -> dict:
    return {
        "unit": rule.unit_id,
        "business_type": rule.business_type_id,
        "min_trips": rule.min_trips,
        "window_days": rule.window_days,
        "action": rule.action,
        "active": rule.active,
        "version": rule.version,
    }


# --- referrals --------------------------------------------------------------------------------


def repeat_referrals_visible_to(user, *, route: str = "") -> QuerySet[RepeatReferral]:
    """Referrals of contacts at units of the user's subtree, newest first. `route`: callback,
    work_order or no_route narrows them."""
    qs = RepeatReferral.objects.filter(scope_q(user, "unit__"))
    if route == "no_route":
        qs = qs.exclude(no_route="")
    elif route in RepeatAction.values:
        qs = qs.filter(action=route, no_route="")
    return qs.select_related("unit", "business_type", "callback", "work_order", "rule").order_by(
        "-created_at", "-id"
    )


def _locked_cursor() -> FillState:
    FillState.objects.get_or_create(name=CURSOR)
    return FillState.objects.select_for_update().get(name=CURSOR)


def repeat_referrals_sweep(now=None, *, batch: int = 2000, max_batches: int = 100) -> int:
    """Refer the repeat contacts found since the last pass by the active rules; returns how
    many referrals were made. One transaction per batch of contacts."""
    now = now or timezone.now()
    made = 0
    for _i in range(max_batches):
        read, n = _sweep_batch(now=now, batch=batch)
        made += n
        if read < batch:
            break
    return made


@transaction.atomic
def _sweep_batch(*, now, batch: int) -> tuple[int, int]:
    state = _locked_cursor()
    rows = list(
        RepeatContact.objects.filter(id__gt=state.last_id or 0)
        .order_by("id")
        .values(
            "id", "event_id", "pair", "business_type_id", "unit_id", "occurred_at", "mobile_masked"
        )[:batch]
    )
    if not rows:
        return 0, 0
    rules = list(RepeatRule.objects.filter(active=True).select_related("unit"))
    made = _refer(rows, rules, now) if rules else 0
    state.last_id = rows[-1]["id"]
    state.save()
    return len(rows), made


def _matches(rules: list[RepeatRule], rows: list[dict], now) -> list[tuple[RepeatRule, dict]]:
    """(rule, contact) for every active rule a contact falls under: its business type, a unit
    of the rule's subtree, and recent enough that asking about it still makes sense (a first
    sweep over years of history must not phone about trips of last year)."""
    paths = dict(
        OrgUnit.objects.filter(id__in={r["unit_id"] for r in rows}).values_list("id", "path")
    )
    found = []
    for row in rows:
        path = paths.get(row["unit_id"], "")
        for rule in rules:
            if rule.business_type_id not in (None, row["business_type_id"]):
                continue
            if not path.startswith(rule.unit.path):
                continue
            if row["occurred_at"] < now - timedelta(days=rule.window_days):
                continue
            found.append((rule, row))
    found.sort(key=lambda m: (m[1]["occurred_at"], m[1]["id"], m[0].pk))
    return found


def _trips_of(rows: list[dict], span: timedelta) -> dict[int, list[dict]]:
    """pair → the pair's service events (id, occurred_at, unit) around the contacts, by time."""
    hashes = dict(
        ServiceEvent.objects.filter(id__in=[r["event_id"] for r in rows]).values_list(
            "id", "citizen_mobile_hash"
        )
    )
    wanted = {(r["business_type_id"], hashes[r["event_id"]]): r["pair"] for r in rows}
    low = min(r["occurred_at"] for r in rows) - span
    high = max(r["occurred_at"] for r in rows)
    trips: dict[int, list[dict]] = defaultdict(list)
    keys = sorted({h for _bt, h in wanted})
    for i in range(0, len(keys), 500):
        for e in ServiceEvent.objects.filter(
            citizen_mobile_hash__in=keys[i : i + 500],
            business_type_id__in={bt for bt, _h in wanted},
            occurred_at__gte=low,
            occurred_at__lte=high,
        ).values("id", "business_type_id", "citizen_mobile_hash", "occurred_at"):
            pair = wanted.get((e["business_type_id"], e["citizen_mobile_hash"]))
            if pair is not None:
                trips[pair].append(e)
    for events in trips.values():
        events.sort(key=lambda e: (e["occurred_at"], e["id"]))
    return trips


def _refer(rows: list[dict], rules: list[RepeatRule], now) -> int:
    matches = _matches(rules, rows, now)
    if not matches:
        return 0
    rows = [row for _rule, row in matches]
    trips = _trips_of(rows, timedelta(days=max(rule.window_days for rule, _row in matches)))
    # What each (rule, pair) was referred for already: trips up to `latest_at` are spent.
    spent: dict[tuple, list[tuple]] = defaultdict(list)
    for r in RepeatReferral.objects.filter(
        rule_id__in={rule.pk for rule, _row in matches}, pair__in={row["pair"] for row in rows}
    ).values("rule_id", "pair", "window_start", "latest_at"):
        spent[(r["rule_id"], r["pair"])].append((r["window_start"], r["latest_at"]))
    found = []
    for rule, row in matches:
        t = row["occurred_at"]
        done = spent[(rule.pk, row["pair"])]
        if any(start <= t <= end for start, end in done):
            continue  # a trip inside a window already referred
        after = max((end for _start, end in done if end < t), default=None)
        since = t - timedelta(days=rule.window_days)
        counted = [
            e
            for e in trips.get(row["pair"], [])
            if since <= e["occurred_at"] <= t and (after is None or e["occurred_at"] > after)
        ]
        if len(counted) < rule.min_trips:
            continue
        done.append((counted[0]["occurred_at"], t))
        found.append((rule, row, counted))
    if not found:
        return 0
    surveys = _newest_surveys(found)
    opted = set(
        OptOut.objects.filter(
            mobile_hash__in={s.mobile_hash for s in surveys if s is not None}
        ).values_list("mobile_hash", flat=True)
    )
    units = OrgUnit.objects.in_bulk({row["unit_id"] for _rule, row, _c in found})
    types = dict(
        BusinessType.objects.filter(
            id__in={row["business_type_id"] for _rule, row, _c in found}
        ).values_list("id", "name")
    )
    made = 0
    for (rule, row, counted), survey in zip(found, surveys, strict=True):
        route = Route(
            unit=units[row["unit_id"]],
            survey=None if survey is not None and survey.mobile_hash in opted else survey,
            no_route=_no_route(survey, opted),
            problem=_problem(rule, len(counted), types[row["business_type_id"]]),
        )
        made += _referral_make(rule, row, counted, route, now=now)
    return made


def _no_route(survey: Survey | None, opted: set) -> str:
    if survey is None:
        return NoRoute.NO_SURVEY
    return NoRoute.OPTED_OUT if survey.mobile_hash in opted else ""


def _newest_surveys(found) -> list[Survey | None]:
    """For each referral being made, the survey of its newest trip that has one."""
    event_ids = {e["id"] for _rule, _row, counted in found for e in counted}
    by_event = {
        s.event_id: s
        for s in Survey.objects.filter(event_id__in=event_ids).select_related("business_type")
    }
    newest = []
    for _rule, _row, counted in found:
        survey = None
        for e in reversed(counted):
            survey = by_event.get(e["id"])
            if survey is not None:
                break
        newest.append(survey)
    return newest


def _problem(rule: RepeatRule, trips: int, type_name: str) -> str:
    return _(
        "群众 %(days)d 天内第 %(n)d 次办理“%(type)s”（跑多次），请核查群众为何多次往返并整改。"
    ) % {"days": rule.window_days, "n": trips, "type": type_name}


@dataclass(frozen=True)
class Route:
    """How a referral reaches the citizen: through `survey`, or not at all (`no_route`)."""

    unit: OrgUnit  # of the latest trip
    survey: Survey | None
    no_route: str
    problem: str


def _referral_make(rule, row, counted, route: Route, *, now) -> int:
    """Write one referral and open what its rule says; 0 if it existed already."""
    try:
        with transaction.atomic():
            referral = RepeatReferral.objects.create(
                rule=rule,
                rule_version=rule.version,
                action=rule.action,
                pair=row["pair"],
                window_start=counted[0]["occurred_at"],
                latest_at=row["occurred_at"],
                latest_event_id=row["event_id"],
                unit_id=row["unit_id"],
                business_type_id=row["business_type_id"],
                mobile_masked=row["mobile_masked"],
                trips=len(counted),
                no_route=route.no_route,
                created_at=now,
            )
    except IntegrityError:
        return 0
    if route.survey is None:
        if rule.action == RepeatAction.WORK_ORDER:
            # No callback can carry an order or its 追评: the unit hears of it all the same.
            notified = notify_unit(
                unit=route.unit,
                kind=NotificationKind.WARNING,
                text=route.problem + _("（无法联系群众，未派发工单）"),
                url=reverse("dashboards:repeat_referrals"),
                sms=False,
                now=now,
            )
            referral.unit_notified = notified > 0
            referral.save(update_fields=["unit_notified"])
        return 1
    note = _("跑多次：%(days)d 天内第 %(n)d 次办理") % {"days": rule.window_days, "n": len(counted)}
    if rule.action == RepeatAction.CALLBACK:
        referral.callback = callback_repeat_open(
            survey=route.survey, unit=route.unit, note=note, now=now
        )
    else:
        referral.callback = callback_repeat_open(
            survey=route.survey,
            unit=route.unit,
            note=note,
            problem=route.problem,
            routed=True,
            now=now,
        )
        referral.work_order = workorder_dispatch_repeat(callback=referral.callback, now=now)
    referral.save(update_fields=["callback", "work_order"])
    return 1
