"""Demo: volunteers and partner organisations (群防群治, issue 17 item 5) in the demo city, made
by the real services of `minyi.volunteers`.

In the showcase station (府山派出所) and two more stations of the demo city (those with a grid
first, from demo_community):
- partner organisations (合作单位): a security company, a taxi company, a delivery station, an
  enterprise (Boss义警) and a "4+X" partner, one of them no longer active;
- about 60 volunteers (20 a station) registered over the last year with their consent, a few
  by themselves on the citizen pages, some in a partner organisation, about half agreeing to
  be named on the recognition list; two withdrawn, one of them erased on request;
- activities of the last 8 weeks: a weekly evening patrol (17:00–19:00) of a key segment or
  key area (重点路段/区域) when the station has one, publicity and traffic persuasion, with
  sign-ups, attendance and hours recorded (so the patrols' check-ins count in patrol
  visibility), and the next 2 weeks' activities open for sign-up (one cancelled).

Every time is relative to `now`, so the demo reads right at any hour. `load` writes it once
(idempotent: it does nothing when the demo city's stations already have volunteers).
"""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from minyi.community.models import AreaLevel, GridArea
from minyi.demo.city_plan import DEFAULT_SEED, ROOT_CODE, synthetic_names
from minyi.demo.contacts import new_mobile
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.volunteers.models import (
    ActivityKind,
    ActivityStatus,
    Availability,
    PartnerKind,
    Skill,
    Volunteer,
    VolunteerSource,
)
from minyi.volunteers.services import (
    activity_move,
    activity_save,
    attendance_record,
    organisation_save,
    signup_add,
    volunteer_erase,
    volunteer_register,
    volunteer_withdraw,
)

SHOWCASE = "330602001"
STATIONS = 3
PER_STATION = 20
WEEKS = 8
PARTNERS = (
    ("{stem}平安保安服务有限公司", PartnerKind.SECURITY, True),
    ("绍兴出租汽车有限公司{stem}车队", PartnerKind.TAXI, True),
    ("{stem}快递外卖骑手驿站", PartnerKind.DELIVERY, True),
    ("{stem}商会（Boss义警）", PartnerKind.ENTERPRISE, True),
    ("{stem}物业联防队", PartnerKind.OTHER, False),
)
SKILL_WEIGHTS = (
    (Skill.PATROL, 5),
    (Skill.PUBLICITY, 3),
    (Skill.TRAFFIC, 3),
    (Skill.MEDIATION, 2),
    (Skill.FIRST_AID, 2),
    (Skill.DRIVING, 2),
    (Skill.LANGUAGE, 1),
)


def _stem(unit: OrgUnit) -> str:
    return unit.name.removesuffix("派出所")


def _stations(root: OrgUnit) -> list[OrgUnit]:
    stations = OrgUnit.objects.filter(
        path__startswith=root.path, kind=UnitKind.POLICE_STATION
    ).order_by("path")
    with_grid = set(GridArea.objects.filter(station__in=stations).values_list("station", flat=True))
    return sorted(stations, key=lambda s: (s.code != SHOWCASE, s.pk not in with_grid, s.path))[
        :STATIONS
    ]


def _local(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def _backdate(row, at: datetime) -> None:
    """Stamp a row written by a service with the demo's time (its registration or posting),
    not the real time the demo ran."""
    type(row).objects.filter(pk=row.pk).update(created_at=at, updated_at=at)
    row.created_at = row.updated_at = at


def _volunteers(station, organisations, names, rng, now) -> list[Volunteer]:
    communities = list(GridArea.objects.filter(station=station, level=AreaLevel.COMMUNITY))
    skills, weights = zip(*SKILL_WEIGHTS, strict=True)
    volunteers = []
    for name in names:
        joined = now - timedelta(days=rng.randint(60, 365), minutes=rng.randint(0, 600))
        volunteer = volunteer_register(
            actor=None,
            unit=station,
            name=name,
            mobile=new_mobile(rng),
            consent=True,
            community=rng.choice(communities) if communities else None,
            organisation=rng.choice(organisations) if rng.random() < 0.4 else None,
            skills=set(rng.choices(skills, weights, k=rng.randint(1, 3))),
            availability=rng.sample(Availability.values, rng.randint(1, 2)),
            public_name=rng.random() < 0.5,
            source=VolunteerSource.SELF if rng.random() < 0.25 else VolunteerSource.STAFF,
            now=joined,
        )
        _backdate(volunteer, joined)
        volunteers.append(volunteer)
    return volunteers


def _activity(station, *, title, kind, starts, hours, capacity, now, area=None, place=""):
    """Posted a week before it starts (before its sign-ups), or a week ago when sooner."""
    activity = activity_save(
        actor=None,
        unit=station,
        title=title,
        kind=kind,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        capacity=capacity,
        area=area,
        place=place,
        description=f"{title}。请穿着志愿者马甲，提前 10 分钟到集合地点签到。",
        now=now,
    )
    _backdate(activity, min(now, starts) - timedelta(days=7))
    return activity


def _sign_up(activity, volunteers, rng, count, now):
    for volunteer in rng.sample(volunteers, min(count, len(volunteers), activity.capacity)):
        signup_add(
            activity=activity, volunteer=volunteer, now=min(now, activity.starts_at), actor=None
        )


def _past(station, volunteers, rng, now, key_area, place):
    today = timezone.localdate(now)
    for week in range(WEEKS, 0, -1):
        day = today - timedelta(days=7 * week - rng.randint(0, 2))
        plans = [
            (f"{_stem(station)}宣传进社区（反诈）", ActivityKind.PUBLICITY, _local(day, 9), 3, 8),
            (f"{_stem(station)}路口交通劝导", ActivityKind.TRAFFIC, _local(day, 7), 2, 6),
        ]
        if key_area is not None:
            plans.append(
                (
                    f"{key_area.name}平安巡逻",
                    ActivityKind.PATROL,
                    _local(day + timedelta(days=1), 17),
                    2,
                    8,
                )
            )
        for title, kind, starts, hours, capacity in plans:
            activity = _activity(
                station,
                title=title,
                kind=kind,
                starts=starts,
                hours=hours,
                capacity=capacity,
                now=now,
                area=key_area if kind == ActivityKind.PATROL else None,
                place=place,
            )
            _sign_up(activity, volunteers, rng, rng.randint(capacity - 3, capacity), now)
            marks = {}
            for signup in activity.signups.order_by("pk"):
                came = rng.random() < 0.85
                marks[signup.pk] = (came, hours - 0.5 if came and rng.random() < 0.2 else "")
            attendance_record(actor=None, activity=activity, marks=marks, now=now)
            activity_move(actor=None, activity=activity, to=ActivityStatus.DONE, now=now)


def _upcoming(station, volunteers, rng, now, key_area, place):
    today = timezone.localdate(now)
    plans = [
        (3, f"{_stem(station)}周末夜间巡逻", ActivityKind.PATROL, 19, 2, 10),
        (5, f"{_stem(station)}校园周边交通劝导", ActivityKind.TRAFFIC, 7, 2, 6),
        (9, f"{_stem(station)}社区文化节活动安保", ActivityKind.EVENT_SECURITY, 14, 4, 12),
        (12, f"{_stem(station)}防范电信诈骗宣传", ActivityKind.PUBLICITY, 9, 3, 8),
    ]
    for days, title, kind, hour, hours, capacity in plans:
        area = key_area if kind == ActivityKind.PATROL else None
        if kind == ActivityKind.PATROL and area is None:
            kind = ActivityKind.OTHER
        activity = _activity(
            station,
            title=title,
            kind=kind,
            starts=_local(today + timedelta(days=days), hour),
            hours=hours,
            capacity=capacity,
            now=now,
            area=area,
            place=place,
        )
        _sign_up(activity, volunteers, rng, rng.randint(1, capacity - 2), now)


def _cancelled(station, now, place):
    """One activity called off before anyone signed up (so no SMS is written)."""
    activity = _activity(
        station,
        title=f"{_stem(station)}夜市活动安保（因天气取消）",
        kind=ActivityKind.EVENT_SECURITY,
        starts=_local(timezone.localdate(now) + timedelta(days=6), 18),
        hours=3,
        capacity=6,
        now=now,
        place=place,
    )
    activity_move(actor=None, activity=activity, to=ActivityStatus.CANCELLED, now=now)


def load(now=None, *, seed: int = DEFAULT_SEED) -> int:
    """Write the volunteers demo once; returns the number of volunteers written (0 when it was
    there already or the demo city is missing)."""
    now = now or timezone.now()
    root = OrgUnit.objects.filter(code=ROOT_CODE).first()
    if root is None:
        return 0
    if Volunteer.objects.filter(unit__path__startswith=root.path).exists():
        return 0
    rng = random.Random(f"{seed}:volunteers")  # noqa: S311
    stations = _stations(root)
    names = synthetic_names(PER_STATION * len(stations) + 50, seed=seed)[50:]
    written = 0
    with transaction.atomic():
        for index, station in enumerate(stations):
            organisations = [
                organisation_save(
                    actor=None,
                    unit=station,
                    name=name.format(stem=_stem(station)),
                    kind=kind,
                    contact_name=names[index * PER_STATION][0] + "经理",
                    contact_mobile=new_mobile(rng),
                    active=active,
                )
                for name, kind, active in PARTNERS
            ]
            for organisation in organisations:
                _backdate(organisation, now - timedelta(days=400))
            active = [o for o in organisations if o.active]
            volunteers = _volunteers(
                station,
                active,
                names[index * PER_STATION : (index + 1) * PER_STATION],
                rng,
                now,
            )
            key_area = (
                GridArea.objects.filter(station=station, is_key=True).order_by("level", "code")
            ).first()
            place = f"{_stem(station)}派出所警务室"
            # Two leave; one of them asks for their information to be erased.
            _past(station, volunteers[:-2], rng, now, key_area, place)
            for volunteer in volunteers[-2:]:
                volunteer_withdraw(actor=None, volunteer=volunteer, now=now)
            volunteer_erase(actor=None, volunteer=volunteers[-1], now=now)
            _upcoming(station, volunteers[:-2], rng, now, key_area, place)
            if index == 0:
                _cancelled(station, now, place)
            written += len(volunteers)
    return written
