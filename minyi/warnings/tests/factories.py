"""Test data for three-colour warnings, written straight to the tables in bulk: rated
contacts with their callbacks for officers, rollup rows for units, and ready-made warnings.

The perception services would build the same rows one SMS at a time; these tests are about
what the warning rules make of the rows, so they skip the round trip.
"""

import itertools
from collections import Counter
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from minyi.callbacks.models import Attribution, Callback, CallbackKind, CallbackStatus, CallOutcome
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.tests.factories import unit as make_unit
from minyi.perception.models import (
    BusinessCategory,
    BusinessType,
    SatisfactionDaily,
    ServiceEvent,
    Survey,
    SurveyDecision,
    SurveyStatus,
)
from minyi.warnings.models import Warning, WarningColour, WarningSubject
from minyi.warnings.services import RULE_VERSION

_serial = itertools.count(1)

# One letter per rated contact:
#   s  satisfied (rating 2)
#   u  unsatisfied, the callback found a misunderstanding (rating 4, not at fault)
#   f  unsatisfied, police at fault, the callback names the officer given as `blame`
#   n  unsatisfied, police at fault, the callback names nobody (all officers of the contact)
RATING = {"s": 2, "u": 4, "f": 5, "n": 5}


def business_type(code="hukou", name="户籍办理") -> BusinessType:
    bt, _ = BusinessType.objects.get_or_create(
        code=code, defaults={"name": name, "category": BusinessCategory.WINDOW}
    )
    return bt


def make_ratings(
    unit: OrgUnit,
    outcomes: str,
    *,
    officers=(),
    blame=None,
    bt: BusinessType | None = None,
    start=None,
    step=timedelta(hours=3),
    tags=("attitude",),
) -> list[Survey]:
    """Rated contacts of `unit` handled by `officers`, one per letter of `outcomes` (see
    RATING), answered `step` apart from `start` (default: ending an hour ago). Keeps the
    SatisfactionDaily rollup in step, as the perception services do."""
    bt = bt or business_type()
    n = len(outcomes)
    start = start or timezone.now() - timedelta(hours=1) - step * n
    events = ServiceEvent.objects.bulk_create(
        [
            ServiceEvent(
                source="ew-test",
                external_id=f"EW{next(_serial)}",
                business_type=bt,
                unit=unit,
                occurred_at=start + step * i - timedelta(minutes=40),
                survey_decision=SurveyDecision.SCHEDULED,
            )
            for i in range(n)
        ]
    )
    through = ServiceEvent.officers.through
    through.objects.bulk_create(
        [through(serviceevent_id=e.pk, officer_id=o.pk) for e in events for o in officers]
    )
    surveys = Survey.objects.bulk_create(
        [
            Survey(
                event=e,
                mobile_hash=f"ew-{e.pk}",
                unit=unit,
                business_type=bt,
                contact_at=e.occurred_at,
                token=f"ew{next(_serial):030d}",
                status=SurveyStatus.ANSWERED,
                send_at=e.occurred_at,
                sent_at=e.occurred_at,
                rating=RATING[letter],
                answered_at=start + step * i,
                answered_via="sms",
            )
            for i, (e, letter) in enumerate(zip(events, outcomes, strict=True))
        ]
    )
    callbacks = []
    for survey, letter in zip(surveys, outcomes, strict=True):
        if letter == "s":
            continue
        callbacks.append(
            Callback(
                survey=survey,
                kind=CallbackKind.FIRST,
                centre=unit,
                unit=unit,
                status=CallbackStatus.DONE,
                created_at=survey.answered_at,
                due_at=survey.answered_at + timedelta(hours=24),
                attempts=1,
                outcome=CallOutcome.REACHED,
                reason_text="群众原话，不得出现在预警依据中",
                tags=list(tags),
                attribution=Attribution.EXPLAINED if letter == "u" else Attribution.AT_FAULT,
                officer=blame if letter == "f" else None,
                completed_at=survey.answered_at + timedelta(hours=2),
            )
        )
    Callback.objects.bulk_create(callbacks)
    counts = Counter(
        (timezone.localtime(e.occurred_at).date(), RATING[letter])
        for e, letter in zip(events, outcomes, strict=True)
    )
    for (day, rating), k in counts.items():
        row, _ = SatisfactionDaily.objects.get_or_create(day=day, unit=unit, business_type=bt)
        SatisfactionDaily.objects.filter(pk=row.pk).update(
            events=F("events") + k,
            surveys_sent=F("surveys_sent") + k,
            replies=F("replies") + k,
            **{f"rating_{rating}": F(f"rating_{rating}") + k},
        )
    return surveys


def make_rollup(unit: OrgUnit, *, satisfied: int, unsatisfied: int, bt=None, days_ago=3):
    """A unit's answered ratings as the rollup holds them (all on one day)."""
    day = timezone.localdate() - timedelta(days=days_ago)
    bt = bt or business_type()
    row, _ = SatisfactionDaily.objects.get_or_create(day=day, unit=unit, business_type=bt)
    SatisfactionDaily.objects.filter(pk=row.pk).update(
        replies=F("replies") + satisfied + unsatisfied,
        surveys_sent=F("surveys_sent") + satisfied + unsatisfied,
        rating_2=F("rating_2") + satisfied,
        rating_4=F("rating_4") + unsatisfied,
    )


def make_stations(parent: OrgUnit, count: int, *, kind=UnitKind.POLICE_STATION, prefix="站"):
    return [make_unit(parent, f"{prefix}{i}", f"EW{next(_serial):04d}", kind) for i in range(count)]


def make_warning(
    *, officer=None, unit=None, colour=WarningColour.RED, is_current=True, **fields
) -> Warning:
    """A stored warning, as the nightly computation would leave it."""
    now = timezone.now()
    if officer is not None:
        evidence = {
            "ratings": 80,
            "at_fault": 9,
            "rate": 0.1125,
            "p0": 0.02,
            "h": 4.5,
            "orange_from": 2.25,
            "odds_ratio": 2.0,
            "false_alarm_rate": 0.05,
            "officers_monitored": 40,
            "horizon": 120,
            "peak": 5.1,
            "since": (now - timedelta(days=180)).date().isoformat(),
            "until": now.date().isoformat(),
            "callbacks": [
                {
                    "id": 4242,
                    "date": now.date().isoformat(),
                    "business_type": "户籍办理",
                    "tags": ["attitude"],
                }
            ],
            "path": [["2026-01-01 10:00", 0.0], ["2026-01-02 10:00", 0.69]],
        }
        defaults = dict(subject=WarningSubject.OFFICER, unit=officer.unit, statistic=5.1)
        defaults["threshold"] = 4.5
    else:
        evidence = {"evaluated": False, "answered": 3, "satisfied": 2, "min_answers": 5}
        evidence |= {"min_peers": 5, "z_alert": 1.96, "z_alarm": 3.09}
        defaults = dict(subject=WarningSubject.UNIT, unit=unit, statistic=-3.5, threshold=3.09)
    values = {
        **defaults,
        "officer": officer,
        "colour": colour,
        "rule_version": RULE_VERSION,
        "window_days": 180,
        "evidence": evidence,
        "started_at": now - timedelta(days=2),
        "computed_at": now,
        "is_current": is_current,
        "ended_at": None if is_current else now,
        **fields,
    }
    return Warning.objects.create(**values)
