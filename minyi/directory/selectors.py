"""Reads for the officer directory (民警公开信息卡, capability 5 of DOMAIN.md).

Citizen reads show only what is published: officers who are public and in post, in active
units, and never a personal mobile or ID number. Staff reads (print sheets, scan counts) are
scoped to the user's subtree like every other staff read.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import NotFound
from minyi.directory.models import CardScanDaily, OfficerCard
from minyi.orgs.choices import Position, UnitKind
from minyi.orgs.models import Officer, OrgUnit
from minyi.orgs.selectors import orgunit_get_visible, scope_q

QUERY_MIN = 2
QUERY_MAX = 30
MAX_STATIONS = 20  # a search for "派出所" should not list the whole city
SCAN_PERIODS = (30, 90)
# Units a citizen looks for: stations and brigades, not the bureaus above them.
BUREAU_KINDS = (UnitKind.CITY_BUREAU, UnitKind.DISTRICT_BUREAU)
# Who a citizen is shown first on a station's card.
_POSITION_ORDER = {Position.CHIEF: 0, Position.INSTRUCTOR: 1, Position.COMMUNITY: 2}


def public_officers() -> QuerySet[Officer]:
    """Officers whose card citizens may see."""
    return Officer.objects.filter(is_public=True, is_active=True, unit__is_active=True)


def public_stations() -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(is_active=True).exclude(kind__in=BUREAU_KINDS)


def card_for(officer: Officer) -> OfficerCard:
    """The officer's card, made on first need so that its code (printed in the QR) is stable
    from then on."""
    card, _created = OfficerCard.objects.get_or_create(officer=officer)
    return card


def cards_attach(officers) -> list[Officer]:
    """Make sure each officer has a card (`officer.card`), in a fixed number of queries.
    Expects officers fetched with select_related("card")."""
    officers = list(officers)
    missing = [o for o in officers if not hasattr(o, "card")]
    if missing:
        # ignore_conflicts: another request may have made some of these cards meanwhile.
        OfficerCard.objects.bulk_create(
            [OfficerCard(officer=o) for o in missing], ignore_conflicts=True
        )
        made = OfficerCard.objects.in_bulk([o.pk for o in missing], field_name="officer_id")
        for officer in missing:
            officer.card = made[officer.pk]
    return officers


def _position_key(officer: Officer):
    return (_POSITION_ORDER.get(officer.position, 9), officer.police_number)


def clean_query(q: str) -> str:
    return " ".join(q.replace("\x00", "").split())  # PostgreSQL text cannot hold NUL


@dataclass
class StationResult:
    unit: OrgUnit
    chiefs: list[Officer] = field(default_factory=list)
    officers: list[Officer] = field(default_factory=list)  # serving the community searched for


def directory_search(q: str) -> list[StationResult]:
    """Stations serving community `q` (an officer's communities contain it) or named like it,
    each with its chief(s) and the officers serving that community (for a station found by
    name: its community officers)."""
    q = clean_query(q)
    serving = Q(communities__contains=q)
    by_community = set(public_officers().filter(serving).values_list("unit_id", flat=True))
    by_name = set(
        public_stations()
        .filter(Q(name__contains=q) | Q(short_name__contains=q))
        .values_list("pk", flat=True)[: MAX_STATIONS + 1]
    )
    units = list(
        OrgUnit.objects.filter(pk__in=by_community | by_name, is_active=True).order_by("path")[
            :MAX_STATIONS
        ]
    )
    if not units:
        return []
    wanted = (
        Q(position=Position.CHIEF)
        | (Q(unit_id__in=by_community) & serving)
        | (Q(unit_id__in=by_name) & Q(position=Position.COMMUNITY))
    )
    officers = cards_attach(
        public_officers()
        .filter(wanted, unit__in=units)
        .select_related("unit", "card")
        .order_by("police_number")
    )
    results = {u.pk: StationResult(unit=u) for u in units}
    for officer in sorted(officers, key=_position_key):
        result = results[officer.unit_id]
        if officer.position == Position.CHIEF:
            result.chiefs.append(officer)
        else:
            result.officers.append(officer)
    return list(results.values())


@dataclass
class DistrictStations:
    name: str
    stations: list[OrgUnit]


def directory_districts() -> list[DistrictStations]:
    """Active stations grouped under their district bureau, for browsing without a search."""
    districts = list(
        OrgUnit.objects.filter(is_active=True, kind=UnitKind.DISTRICT_BUREAU).order_by("path")
    )
    groups = {d.path: DistrictStations(d.display_name, []) for d in districts}
    direct = DistrictStations(_("市局直属"), [])
    for station in public_stations().order_by("path"):
        owner = next((g for path, g in groups.items() if station.path.startswith(path)), direct)
        owner.stations.append(station)
    return [g for g in [*groups.values(), direct] if g.stations]


def officer_card_public(code: str) -> OfficerCard:
    card = (
        OfficerCard.objects.filter(
            code=code,
            officer__is_public=True,
            officer__is_active=True,
            officer__unit__is_active=True,
        )
        .select_related("officer__unit")
        .first()
    )
    if card is None:
        raise NotFound(_("没有找到该民警的公开信息。"))
    return card


def unit_public(code: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(code=code, is_active=True).first()
    if unit is None:
        raise NotFound(_("没有找到该单位。"))
    return unit


def unit_people(unit: OrgUnit) -> tuple[list[Officer], list[Officer]]:
    """(chiefs, community officers) of a unit, public ones only, each with a card."""
    officers = cards_attach(
        public_officers()
        .filter(unit=unit, position__in=[Position.CHIEF, Position.COMMUNITY])
        .select_related("unit", "card")
    )
    officers.sort(key=_position_key)
    chiefs = [o for o in officers if o.position == Position.CHIEF]
    return chiefs, [o for o in officers if o.position != Position.CHIEF]


# --- Staff ---------------------------------------------------------------------------------


def card_sheet_for(user, unit_pk=None) -> tuple[OrgUnit, list[Officer]]:
    """The unit to print (default: the user's own) and its public officers, each with a card.
    A unit outside the user's subtree is NotFound."""
    if unit_pk in (None, ""):
        unit = user.unit or OrgUnit.objects.get_root_nodes().first()
        if unit is None:
            raise NotFound()
    else:
        try:
            unit = orgunit_get_visible(user, int(unit_pk))
        except (TypeError, ValueError) as exc:
            raise NotFound() from exc
    officers = cards_attach(
        Officer.objects.filter(scope_q(user), unit=unit, is_public=True, is_active=True)
        .select_related("unit", "card")
        .order_by("police_number")
    )
    officers.sort(key=_position_key)
    return unit, officers


def _since(days: int, today: datetime.date | None = None) -> datetime.date:
    return (today or timezone.localdate()) - datetime.timedelta(days=days - 1)


def _scans_sum(group: str, **filters):
    """Sum of scans matching `filters` (which tie them to the outer row), grouped by `group`."""
    rows = (
        CardScanDaily.objects.filter(**filters)
        .order_by()
        .values(group)
        .annotate(n=Sum("scans"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def officer_scans_visible_to(
    user, *, days: int, ascending: bool = False, today=None
) -> QuerySet[Officer]:
    """Public officers in post in the user's subtree, each with `scans` over the last `days`
    days, zeros included (an officer nobody scans is what 知晓率 work looks for)."""
    since = _since(days, today)
    order = "scans" if ascending else "-scans"
    return (
        Officer.objects.filter(scope_q(user), is_public=True, is_active=True)
        .select_related("unit")
        .annotate(scans=_scans_sum("officer", officer=OuterRef("pk"), day__gte=since))
        .order_by(order, "unit__path", "police_number")
    )


def station_scans_visible_to(
    user, *, days: int, ascending: bool = False, today=None
) -> QuerySet[OrgUnit]:
    """Active stations in the user's subtree with `card_scans` (the station's own card) and
    `officer_scans` (its officers' cards) over the last `days` days."""
    since = _since(days, today)
    order = "total_scans" if ascending else "-total_scans"
    return (
        public_stations()
        .filter(scope_q(user, ""))
        .annotate(
            card_scans=_scans_sum(
                "unit", unit=OuterRef("pk"), officer__isnull=True, day__gte=since
            ),
            officer_scans=_scans_sum(
                "unit", unit=OuterRef("pk"), officer__isnull=False, day__gte=since
            ),
        )
        .annotate(total_scans=F("card_scans") + F("officer_scans"))
        .order_by(order, "path")
    )
