"""Step 1, ingest (事件接入): service events in from the police systems, checked item by item,
stored once (a repeated event is a duplicate, not an error), officers linked."""

from collections import Counter
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.batches import ItemResult
from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash, mask_text, normalize_mobile
from minyi.orgs.models import Officer, OrgUnit
from minyi.perception.models import BusinessType, ServiceEvent
from minyi.perception.services.daily import rollup_add, rollup_key

MAX_BATCH = 5000


def _reject(index, item, code, message) -> ItemResult:
    return ItemResult(
        index,
        str(item.get("external_id", "")),
        "rejected",
        code=code,
        message=mask_text(str(message)),  # it may quote the input
    )


def events_ingest(
    *, items: list[dict], scope_unit: OrgUnit | None, api_key=None
) -> list[ItemResult]:
    """Store a batch of service events. Idempotent on (source, external_id); each item is
    accepted, a duplicate, or rejected with a code; valid items are kept whatever the others
    are. `scope_unit` limits the units an integrating system may report for (None: all)."""
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            "batch_too_large", _("一批最多 %(max)d 条事件。") % {"max": MAX_BATCH}, status=413
        )
    now = timezone.now()
    business_types = {b.code: b for b in BusinessType.objects.all()}
    unit_codes = {str(item.get("unit", "")) for item in items}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=unit_codes)}
    numbers = {str(n) for item in items for n in item.get("officers") or ()}
    officers = {
        o["police_number"]: o
        for o in Officer.objects.filter(police_number__in=numbers).values(
            "id", "police_number", "unit__path"
        )
    }
    keys = {(str(i.get("source", "")), str(i.get("external_id", ""))) for i in items}
    existing = {
        (s, e): (pk, path)
        for s, e, pk, path in ServiceEvent.objects.filter(
            source__in={k[0] for k in keys}, external_id__in={k[1] for k in keys}
        ).values_list("source", "external_id", "id", "unit__path")
        if (s, e) in keys
    }

    results: list[ItemResult] = []
    new: list[tuple[ItemResult, ServiceEvent, list[int]]] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        key = (str(item.get("source", "")), str(item.get("external_id", "")))
        business_type = business_types.get(item.get("business_type"))
        unit = units.get(item.get("unit"))
        if unit is None:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_unit",
                    _("未知的单位代码：%(v)s") % {"v": item.get("unit")},
                )
            )
            continue
        # Scope first: a key must not learn whether another unit's event exists.
        if scope_unit is not None and not scope_unit.contains(unit):
            results.append(
                _reject(
                    index,
                    item,
                    "unit_out_of_scope",
                    _("单位 %(v)s 不在授权范围内。") % {"v": unit.code},
                )
            )
            continue
        if key in existing:
            stored_id, stored_path = existing[key]
            if scope_unit is not None and not stored_path.startswith(scope_unit.path):
                # Stored for a unit outside this key's scope: say nothing about it.
                results.append(
                    _reject(
                        index,
                        item,
                        "unit_out_of_scope",
                        _("单位 %(v)s 不在授权范围内。") % {"v": unit.code},
                    )
                )
            else:
                results.append(ItemResult(index, key[1], "duplicate", id=stored_id))
            continue
        if key in seen:
            results.append(ItemResult(index, key[1], "duplicate"))
            continue
        if business_type is None:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_business_type",
                    _("未知的业务类型：%(v)s") % {"v": item.get("business_type")},
                )
            )
            continue
        # Officers must serve in the event's county/district branch and inside the key's scope.
        branch = unit.path[: OrgUnit.steplen * min(unit.depth, 2)]
        officer_ids, missing = [], []
        for number in item.get("officers") or ():
            officer = officers.get(str(number))
            if (
                officer is None
                or not officer["unit__path"].startswith(branch)
                or (
                    scope_unit is not None and not officer["unit__path"].startswith(scope_unit.path)
                )
            ):
                missing.append(str(number))
            else:
                officer_ids.append(officer["id"])
        if missing:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_officer",
                    _("未知或不属于该单位的警号：%(v)s") % {"v": "、".join(missing)},
                )
            )
            continue
        mobile = ""
        if item.get("citizen_mobile"):
            try:
                mobile = normalize_mobile(str(item["citizen_mobile"]))
            except ApplicationError as exc:
                results.append(_reject(index, item, exc.code, exc.message))
                continue
        occurred_at = item["occurred_at"]
        if occurred_at > now + timedelta(minutes=10):
            results.append(_reject(index, item, "occurred_in_future", _("发生时间晚于当前时间。")))
            continue
        seen.add(key)
        result = ItemResult(index, key[1], "accepted")
        results.append(result)
        new.append(
            (
                result,
                ServiceEvent(
                    source=key[0],
                    external_id=key[1],
                    business_type=business_type,
                    unit=unit,
                    citizen_mobile=mobile,
                    citizen_mobile_hash=lookup_hash("mobile", mobile),
                    occurred_at=occurred_at,
                    received_at=now,
                    api_key=api_key,
                ),
                officer_ids,
            )
        )

    if new:
        _store_events(new)
    return results


def _store_events(new) -> None:
    try:
        with transaction.atomic():
            created = ServiceEvent.objects.bulk_create([event for _result, event, _ids in new])
            _link_officers(zip([ids for _result, _event, ids in new], created, strict=True))
            rollup_add(Counter(rollup_key(e) for e in created), "events")
    except IntegrityError:
        # Another request stored some of these keys a moment ago: one by one, so that the
        # rest are still kept and the late ones reported as duplicates.
        for result, event, officer_ids in new:
            try:
                with transaction.atomic():
                    event.save()
                    _link_officers([(officer_ids, event)])
                    rollup_add(Counter([rollup_key(event)]), "events")
            except IntegrityError:
                result.status = "duplicate"
                event.pk = ServiceEvent.objects.get(
                    source=event.source, external_id=event.external_id
                ).pk
        created = [event for _result, event, _ids in new]
    for (result, _event, _ids), event in zip(new, created, strict=True):
        result.id = event.pk


def _link_officers(pairs) -> None:
    through = ServiceEvent.officers.through
    through.objects.bulk_create(
        [through(serviceevent_id=event.pk, officer_id=o) for ids, event in pairs for o in ids]
    )
