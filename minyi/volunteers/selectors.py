"""Every read of volunteers, scoped: staff see the rows of the stations in their subtree;
the citizen pages see a station's open activities and its recognition list, names shown only
of volunteers who agreed (张** otherwise)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from minyi.community.models import AreaLevel, GridArea
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.volunteers.models import (
    Activity,
    ActivityStatus,
    PartnerOrganisation,
    Signup,
    Volunteer,
    VolunteerStatus,
)

PUBLIC_RECOGNITION_SHOWN = 50


def mask_name(name: str) -> str:
    """张** (the surname only, the length hidden)."""
    return f"{name[0]}**" if name else "**"


def stations_visible_to(user):
    return OrgUnit.objects.filter(scope_q(user, ""), kind=UnitKind.POLICE_STATION).order_by("path")


def communities_visible_to(user):
    return (
        GridArea.objects.filter(scope_q(user, "station__"), level=AreaLevel.COMMUNITY)
        .select_related("station")
        .order_by("station__path", "name")
    )


def areas_visible_to(user):
    """Areas an activity may cover: communities, groups and key segments and areas."""
    return (
        GridArea.objects.filter(scope_q(user, "station__"))
        .filter(Q(level__in=[AreaLevel.COMMUNITY, AreaLevel.GROUP]) | Q(is_key=True))
        .select_related("station")
        .order_by("station__path", "-is_key", "level", "name")
    )


# --- Volunteers -------------------------------------------------------------------------------


@dataclass
class VolunteerFilter:
    unit: OrgUnit | None = None
    status: str = VolunteerStatus.ACTIVE
    skill: str = ""
    organisation: PartnerOrganisation | None = None
    mobile: str = ""


def volunteer_list_visible_to(user, filters: VolunteerFilter | None = None):
    filters = filters or VolunteerFilter()
    rows = Volunteer.objects.filter(scope_q(user))
    if filters.unit is not None:
        rows = rows.filter(unit__path__startswith=filters.unit.path)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.skill:
        rows = rows.filter(skills__icontains=f'"{filters.skill}"')
    if filters.organisation is not None:
        rows = rows.filter(organisation=filters.organisation)
    if filters.mobile:
        try:
            mobile = normalize_mobile(filters.mobile)
        except ApplicationError:
            return rows.none()
        rows = rows.filter(mobile_hash=lookup_hash("mobile", mobile))
    return rows.select_related("unit", "community", "organisation").order_by("-created_at", "-pk")


def volunteer_get_visible_to(user, pk) -> Volunteer:
    volunteer = (
        Volunteer.objects.filter(scope_q(user), pk=pk)
        .select_related("unit", "community", "organisation")
        .first()
    )
    if volunteer is None:
        raise NotFound()
    return volunteer


def volunteer_hours(volunteer_ids) -> dict[int, tuple[Decimal, int]]:
    """Per volunteer: (hours, activities attended), all time."""
    return {
        row["volunteer"]: (row["hours"] or Decimal(0), row["n"])
        for row in Signup.objects.filter(volunteer__in=list(volunteer_ids), attended=True)
        .values("volunteer")
        .annotate(hours=Sum("hours"), n=Count("pk"))
    }


# --- Partner organisations ----------------------------------------------------------------------


def organisation_list_visible_to(user, *, unit: OrgUnit | None = None):
    rows = PartnerOrganisation.objects.filter(scope_q(user))
    if unit is not None:
        rows = rows.filter(unit__path__startswith=unit.path)
    return (
        rows.select_related("unit")
        .annotate(
            volunteer_count=Count("volunteers", filter=Q(volunteers__status=VolunteerStatus.ACTIVE))
        )
        .order_by("unit__path", "-active", "name")
    )


def organisation_get_visible_to(user, pk) -> PartnerOrganisation:
    organisation = PartnerOrganisation.objects.filter(scope_q(user), pk=pk).first()
    if organisation is None:
        raise NotFound()
    return organisation


# --- Activities ---------------------------------------------------------------------------------


def activity_list_visible_to(
    user, *, unit: OrgUnit | None = None, kind: str = "", when: str = "", now=None
):
    """`when`: "upcoming" (not ended), "past" (ended), or "" for all."""
    now = now or timezone.now()
    rows = Activity.objects.filter(scope_q(user))
    if unit is not None:
        rows = rows.filter(unit__path__startswith=unit.path)
    if kind:
        rows = rows.filter(kind=kind)
    if when == "upcoming":
        rows = rows.filter(ends_at__gt=now).order_by("starts_at", "pk")
    elif when == "past":
        rows = rows.filter(ends_at__lte=now).order_by("-starts_at", "-pk")
    else:
        rows = rows.order_by("-starts_at", "-pk")
    return rows.select_related("unit", "area").annotate(
        signed=Count("signups"), present=Count("signups", filter=Q(signups__attended=True))
    )


def activity_get_visible_to(user, pk) -> Activity:
    activity = Activity.objects.filter(scope_q(user), pk=pk).select_related("unit", "area").first()
    if activity is None:
        raise NotFound()
    return activity


def activity_signups(activity: Activity):
    return activity.signups.select_related("volunteer").order_by("created_at", "pk")


def volunteers_to_sign_up(activity: Activity):
    """The station's active volunteers not yet signed up for `activity`."""
    return (
        Volunteer.objects.filter(unit=activity.unit, status=VolunteerStatus.ACTIVE)
        .exclude(signups__activity=activity)
        .order_by("pk")
    )


# --- Recognition (表彰榜) -------------------------------------------------------------------------


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(first, time.min))
    return start, timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))


@dataclass
class RecognitionRow:
    volunteer: Volunteer
    hours: Decimal
    activities: int


def _recognition(signups, first: date, last: date) -> list[RecognitionRow]:
    start, end = period_bounds(first, last)
    totals = list(
        signups.filter(attended=True, activity__starts_at__gte=start, activity__starts_at__lt=end)
        .values("volunteer")
        .annotate(hours=Sum("hours"), n=Count("pk"))
        .order_by("-hours", "-n", "volunteer")
    )
    volunteers = Volunteer.objects.select_related("unit", "organisation").in_bulk(
        [t["volunteer"] for t in totals]
    )
    return [
        RecognitionRow(volunteers[t["volunteer"]], t["hours"] or Decimal(0), t["n"]) for t in totals
    ]


def recognition_for(user, *, first: date, last: date, unit: OrgUnit | None = None) -> dict:
    """Hours (服务时长) and activities attended per volunteer over first..last (by the
    activity's start), and per station, for the user's subtree."""
    signups = Signup.objects.filter(scope_q(user, "volunteer__unit__"))
    if unit is not None:
        signups = signups.filter(volunteer__unit__path__startswith=unit.path)
    rows = _recognition(signups, first, last)
    by_unit: dict[int, dict] = {}
    for row in rows:
        entry = by_unit.setdefault(
            row.volunteer.unit_id,
            {"unit": row.volunteer.unit, "volunteers": 0, "hours": Decimal(0), "activities": 0},
        )
        entry["volunteers"] += 1
        entry["hours"] += row.hours
        entry["activities"] += row.activities
    return {
        "rows": rows,
        "units": sorted(by_unit.values(), key=lambda e: (-e["hours"], e["unit"].path)),
        "hours": sum((r.hours for r in rows), Decimal(0)),
    }


# --- Citizen pages ------------------------------------------------------------------------------


def public_station_get(code: str) -> OrgUnit:
    station = OrgUnit.objects.filter(code=code, kind=UnitKind.POLICE_STATION).first()
    if station is None:
        raise NotFound()
    return station


def public_stations():
    """Stations with volunteers or activities, for the citizen index."""
    return OrgUnit.objects.filter(
        Q(pk__in=Activity.objects.values("unit")) | Q(pk__in=Volunteer.objects.values("unit")),
        kind=UnitKind.POLICE_STATION,
    ).order_by("path")


def public_open_activities(station: OrgUnit, *, now=None):
    now = now or timezone.now()
    return (
        Activity.objects.filter(unit=station, status=ActivityStatus.OPEN, starts_at__gt=now)
        .select_related("area")
        .annotate(signed=Count("signups"))
        .order_by("starts_at", "pk")
    )


def public_activity_get(pk) -> Activity:
    activity = Activity.objects.filter(pk=pk).select_related("unit", "area").first()
    if activity is None or activity.status == ActivityStatus.CANCELLED:
        raise NotFound()
    return activity


def public_volunteer_for(station: OrgUnit, mobile: str) -> Volunteer | None:
    return Volunteer.objects.filter(unit=station, mobile_hash=lookup_hash("mobile", mobile)).first()


def public_recognition(station: OrgUnit, *, first: date, last: date) -> list[dict]:
    """The station's public list: the name of a volunteer who agreed, else 张**; nothing
    else about the person."""
    rows = _recognition(Signup.objects.filter(volunteer__unit=station), first, last)
    return [
        {
            "name": (r.volunteer.name if r.volunteer.public_name else mask_name(r.volunteer.name)),
            "hours": r.hours,
            "activities": r.activities,
        }
        for r in rows[:PUBLIC_RECOGNITION_SHOWN]
    ]
