"""Volunteers' services: consent, the registry's rules, sign-ups, attendance and hours, the
recognition figures, erasure, and volunteers' patrols counted as patrol passes."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from minyi.community.models import AreaLevel, PassSource, PatrolCheckin, PatrolPass
from minyi.community.patrol import passes_compute, patrol_overview
from minyi.community.tests.factories import make_area, make_grid
from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction, AuditEvent
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.orgs.choices import Role
from minyi.volunteers.models import (
    ActivityKind,
    ActivityStatus,
    Volunteer,
    VolunteerStatus,
)
from minyi.volunteers.selectors import (
    mask_name,
    public_recognition,
    recognition_for,
    volunteer_list_visible_to,
)
from minyi.volunteers.services import (
    CONSENT_VERSION,
    activity_move,
    activity_save,
    attendance_record,
    signup_add,
    volunteer_erase,
    volunteer_register,
    volunteer_reveal_mobile,
    volunteer_withdraw,
)
from minyi.volunteers.tests.factories import make_activity, make_signup, make_volunteer

pytestmark = pytest.mark.django_db

# A fixed moment at 10:00 local, so nothing depends on the hour the tests run.
NOW = timezone.make_aware(datetime(2026, 11, 10, 10, 0))


def _manager(world, key="a2"):
    return world.user(key, Role.SUPERVISOR)


def _register(world, **extra):
    values = {
        "actor": _manager(world),
        "unit": world.station_a2,
        "name": "王小明",
        "mobile": "13900001111",
        "consent": True,
        "skills": ["patrol", "first_aid"],
        "availability": ["weekend"],
        "now": NOW,
    }
    values.update(extra)
    return volunteer_register(**values)


def test_register_keeps_the_consent_and_encrypts_the_person(world):
    volunteer = _register(world)
    assert volunteer.consent_at == NOW
    assert volunteer.consent_version == CONSENT_VERSION
    assert volunteer.mobile_hash == lookup_hash("mobile", "13900001111")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, mobile FROM volunteers_volunteer WHERE id = %s", [volunteer.pk]
        )
        raw = cursor.fetchone()
    assert "王小明" not in raw[0] and "13900001111" not in raw[1]
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(volunteer.pk))


def test_register_without_consent_is_refused(world):
    with pytest.raises(ApplicationError) as exc:
        _register(world, consent=False)
    assert exc.value.code == "consent_required"
    assert exc.value.field == "consent"
    assert "同意" in str(exc.value.message)
    assert not Volunteer.objects.exists()


def test_register_refuses_a_second_active_registration_and_reactivates_a_withdrawn(world):
    volunteer = _register(world)
    with pytest.raises(ApplicationError) as exc:
        _register(world, name="另一人")
    assert exc.value.code == "already_registered"
    volunteer_withdraw(actor=_manager(world), volunteer=volunteer, now=NOW)
    again = _register(world, name="王小明", now=NOW + timedelta(days=3))
    assert again.pk == volunteer.pk
    assert again.status == VolunteerStatus.ACTIVE
    assert again.consent_at == NOW + timedelta(days=3)


def test_register_refuses_a_community_of_another_station_and_a_sibling_station(world):
    grid = make_grid(world)
    with pytest.raises(ApplicationError) as exc:
        _register(world, community=grid["a1"])
    assert exc.value.code == "invalid_community"
    with pytest.raises(ApplicationError):
        _register(world, actor=_manager(world), unit=world.station_a1)


def test_withdraw_removes_future_signups_and_keeps_the_hours(world):
    volunteer = make_volunteer(world.station_a2)
    past = make_activity(world.station_a2, starts_at=NOW - timedelta(days=2))
    future = make_activity(world.station_a2, starts_at=NOW + timedelta(days=2))
    make_signup(past, volunteer, attended=True, hours=Decimal("2"))
    make_signup(future, volunteer)
    volunteer_withdraw(actor=_manager(world), volunteer=volunteer, now=NOW)
    assert list(volunteer.signups.values_list("activity", flat=True)) == [past.pk]


def test_erase_clears_the_person_and_keeps_anonymous_hours(world):
    volunteer = make_volunteer(world.station_a2, name="李四", public_name=True)
    activity = make_activity(world.station_a2, starts_at=NOW - timedelta(days=2))
    make_signup(activity, volunteer, attended=True, hours=Decimal("2"))
    with pytest.raises(ApplicationError) as exc:  # still active: withdraw first
        volunteer_erase(actor=_manager(world), volunteer=volunteer, now=NOW)
    assert exc.value.code == "not_withdrawn"
    volunteer_withdraw(actor=_manager(world), volunteer=volunteer, now=NOW)
    volunteer_erase(actor=_manager(world), volunteer=volunteer, now=NOW)
    volunteer.refresh_from_db()
    assert (volunteer.name, volunteer.mobile, volunteer.mobile_hash) == ("", "", "")
    assert volunteer.erased_at == NOW and not volunteer.public_name
    assert Volunteer.objects.filter(pk=volunteer.pk).values_list("mobile", flat=True).get() == ""
    figures = recognition_for(_manager(world), first=date(2026, 11, 1), last=date(2026, 11, 30))
    assert figures["hours"] == Decimal("2")
    rows = public_recognition(world.station_a2, first=date(2026, 11, 1), last=date(2026, 11, 30))
    assert rows == [{"name": "**", "hours": Decimal("2.0"), "activities": 1}]
    with pytest.raises(ApplicationError):  # never twice
        volunteer_erase(actor=_manager(world), volunteer=volunteer, now=NOW)
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_id=str(volunteer.pk))


def test_reveal_is_audited_and_scoped(world):
    volunteer = make_volunteer(world.station_a2, mobile="13900002222")
    assert volunteer_reveal_mobile(actor=_manager(world), volunteer=volunteer) == "13900002222"
    assert AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).count() == 1
    with pytest.raises(ApplicationError):
        volunteer_reveal_mobile(actor=_manager(world, "a1"), volunteer=volunteer)
    assert AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).count() == 2


def test_sibling_station_lists_nothing(world):
    make_volunteer(world.station_a2)
    assert volunteer_list_visible_to(_manager(world, "a1")).count() == 0
    assert volunteer_list_visible_to(world.user("a", Role.SUPERVISOR)).count() == 1


def test_signup_rules(world):
    activity = make_activity(world.station_a2, starts_at=NOW + timedelta(days=1), capacity=1)
    first, second = make_volunteer(world.station_a2), make_volunteer(world.station_a2)
    other_station = make_volunteer(world.station_a1)
    signup_add(activity=activity, volunteer=first, source="self", now=NOW)
    for volunteer, code in (
        (first, "already_signed_up"),
        (second, "full"),
        (other_station, "not_a_volunteer"),
    ):
        with pytest.raises(ApplicationError) as exc:
            signup_add(activity=activity, volunteer=volunteer, source="self", now=NOW)
        assert exc.value.code == code
    begun = make_activity(world.station_a2, starts_at=NOW - timedelta(minutes=5))
    with pytest.raises(ApplicationError) as exc:
        signup_add(activity=begun, volunteer=second, source="self", now=NOW)
    assert exc.value.code == "started"
    signup_add(activity=begun, volunteer=second, actor=_manager(world), now=NOW)  # staff may


def test_attendance_hours_default_to_the_activity_and_are_checked(world):
    activity = make_activity(world.station_a2, starts_at=NOW - timedelta(hours=3), hours=2.5)
    a, b, c = (make_signup(activity, make_volunteer(world.station_a2)) for _ in range(3))
    present = attendance_record(
        actor=_manager(world),
        activity=activity,
        marks={a.pk: (True, ""), b.pk: (True, "1.5"), c.pk: (False, "")},
        now=NOW,
    )
    assert present == 2
    hours = dict(activity.signups.values_list("pk", "hours"))
    assert hours == {a.pk: Decimal("2.5"), b.pk: Decimal("1.5"), c.pk: Decimal("0")}
    for marks, code in (
        ({c.pk: (False, "1")}, "hours_without_attendance"),
        ({a.pk: (True, "3.5")}, "invalid_hours"),
        ({a.pk: (True, "abc")}, "invalid_hours"),
        ({a.pk: (True, "-1")}, "invalid_hours"),
    ):
        with pytest.raises(ApplicationError) as exc:
            attendance_record(actor=_manager(world), activity=activity, marks=marks, now=NOW)
        assert exc.value.code == code
    # Refused as a whole: what was recorded stays.
    assert dict(activity.signups.values_list("pk", "hours")) == hours
    future = make_activity(world.station_a2, starts_at=NOW + timedelta(hours=1))
    with pytest.raises(ApplicationError) as exc:
        attendance_record(actor=_manager(world), activity=future, marks={}, now=NOW)
    assert exc.value.code == "not_started"


def test_recognition_figures_per_volunteer_and_unit(world):
    zhang = make_volunteer(world.station_a2, name="张三丰", public_name=False)
    li = make_volunteer(world.station_a2, name="李白", public_name=True)
    wang = make_volunteer(world.station_a1, name="王五")
    november = make_activity(world.station_a2, starts_at=NOW - timedelta(days=1), hours=3)
    october = make_activity(world.station_a2, starts_at=NOW - timedelta(days=30), hours=2)
    a1_activity = make_activity(world.station_a1, starts_at=NOW - timedelta(days=1), hours=4)
    make_signup(november, zhang, attended=True, hours=Decimal("3"))
    make_signup(october, zhang, attended=True, hours=Decimal("2"))
    make_signup(november, li, attended=True, hours=Decimal("1.5"))
    make_signup(october, li)  # signed up, never came: no hours, no activity
    make_signup(a1_activity, wang, attended=True, hours=Decimal("4"))

    district = world.user("a", Role.SUPERVISOR)
    year = recognition_for(district, first=date(2026, 1, 1), last=date(2026, 12, 31))
    assert [(r.volunteer.pk, r.hours, r.activities) for r in year["rows"]] == [
        (zhang.pk, Decimal("5"), 2),
        (wang.pk, Decimal("4"), 1),
        (li.pk, Decimal("1.5"), 1),
    ]
    units = {u["unit"].pk: (u["volunteers"], u["hours"], u["activities"]) for u in year["units"]}
    assert units == {
        world.station_a2.pk: (2, Decimal("6.5"), 3),
        world.station_a1.pk: (1, Decimal("4"), 1),
    }
    month = recognition_for(_manager(world), first=date(2026, 11, 1), last=date(2026, 11, 30))
    assert [(r.volunteer.pk, r.hours) for r in month["rows"]] == [
        (zhang.pk, Decimal("3")),
        (li.pk, Decimal("1.5")),
    ]
    public = public_recognition(world.station_a2, first=date(2026, 1, 1), last=date(2026, 12, 31))
    assert [r["name"] for r in public] == ["张**", "李白"]
    assert mask_name("欧阳修") == "欧**"


def test_cancelling_texts_the_signed_up_volunteers(world):
    activity = make_activity(world.station_a2, starts_at=NOW + timedelta(days=1))
    make_signup(activity, make_volunteer(world.station_a2, mobile="13900003333"))
    activity_move(actor=_manager(world), activity=activity, to=ActivityStatus.CANCELLED, now=NOW)
    sms = OutboundSms.objects.get(purpose=SmsPurpose.VOLUNTEER)
    assert activity.title in sms.body
    with pytest.raises(ApplicationError):
        activity_move(actor=_manager(world), activity=activity, to=ActivityStatus.DONE, now=NOW)


def test_activity_save_rules(world):
    grid = make_grid(world)
    values = {
        "actor": _manager(world),
        "unit": world.station_a2,
        "title": "夜间巡逻",
        "kind": ActivityKind.PATROL,
        "starts_at": NOW,
        "ends_at": NOW + timedelta(hours=2),
        "capacity": 5,
    }
    for extra, code in (
        ({}, "area_required"),
        ({"area": grid["a1"]}, "invalid_area"),
        ({"area": grid["a2"], "ends_at": NOW}, "invalid_span"),
        ({"area": grid["a2"], "capacity": 0}, "invalid_capacity"),
    ):
        with pytest.raises(ApplicationError) as exc:
            activity_save(**{**values, **extra})
        assert exc.value.code == code
    assert activity_save(**values, area=grid["a2"]).area == grid["a2"]


def test_a_volunteer_patrol_of_a_key_area_counts_as_passes(world):
    """Given a key segment of station a1 and a volunteers' patrol of it, when attendance is
    recorded, then its check-ins are written and the community's pass computation counts
    them (unit "志愿者巡逻-<id>"), and the patrol page's compliance sees them."""
    grid = make_grid(world)
    segment = grid["segment"]
    day = date(2026, 11, 9)
    starts = timezone.make_aware(datetime(2026, 11, 9, 17, 0))
    activity = make_activity(
        world.station_a1, starts_at=starts, hours=1, kind=ActivityKind.PATROL, area=segment
    )
    volunteers = [make_volunteer(world.station_a1) for _ in range(2)]
    signups = [make_signup(activity, v) for v in volunteers]
    actor = _manager(world, "a1")
    attendance_record(
        actor=actor,
        activity=activity,
        marks={signups[0].pk: (True, ""), signups[1].pk: (False, "")},
        now=NOW,
    )
    unit_code = f"志愿者巡逻-{activity.pk}"
    checkins = PatrolCheckin.objects.filter(area=segment, unit_code=unit_code)
    assert sorted(checkins.values_list("at", flat=True)) == [
        starts,
        starts + timedelta(minutes=30),
    ]
    assert set(checkins.values_list("source", flat=True)) == {"volunteer"}

    # Recorded again (a correction): idempotent. The community's computation counts them.
    attendance_record(actor=actor, activity=activity, marks={signups[0].pk: (True, "1")}, now=NOW)
    assert checkins.count() == 2
    PatrolPass.objects.all().delete()
    assert passes_compute(world.station_a1, day, now=NOW) == 2
    passes = PatrolPass.objects.filter(area=segment, unit_code=unit_code)
    assert passes.count() == 2
    assert set(passes.values_list("source", flat=True)) == {PassSource.CHECKIN}
    overview = patrol_overview(actor, first=day, last=day, now=NOW)
    mine = next(c for c in overview["compliance"] if c.area.pk == segment.pk)
    assert mine.passes == 2
    assert mine.met == 1  # the 17:00 key hour had the two passes it needs

    # Nobody came after all: the check-ins and their passes go.
    attendance_record(actor=actor, activity=activity, marks={}, now=NOW)
    assert not checkins.exists()
    assert not PatrolPass.objects.filter(unit_code=unit_code).exists()


def test_a_patrol_of_an_ordinary_area_leaves_no_checkins(world):
    grid = make_grid(world)
    group = make_area(world.station_a2, level=AreaLevel.GROUP, parent=grid["a2"])
    activity = make_activity(
        world.station_a2,
        starts_at=NOW - timedelta(hours=2),
        kind=ActivityKind.PATROL,
        area=group,
    )
    signup = make_signup(activity, make_volunteer(world.station_a2))
    attendance_record(
        actor=_manager(world), activity=activity, marks={signup.pk: (True, "")}, now=NOW
    )
    assert not PatrolCheckin.objects.exists()


def _patrol_under_way(world, area):
    """A patrol of `area` (station a1) on 2026-11-09 17:00-19:00 with one volunteer present."""
    starts = timezone.make_aware(datetime(2026, 11, 9, 17, 0))
    activity = make_activity(
        world.station_a1, starts_at=starts, hours=2, kind=ActivityKind.PATROL, area=area
    )
    signup = make_signup(activity, make_volunteer(world.station_a1))
    return activity, signup, starts


def test_a_patrol_under_way_has_checkins_only_up_to_now_and_the_rest_when_done(world):
    """Given a patrol 17:00-19:00 of a key segment, when attendance is recorded at 17:40, then
    only 17:00 and 17:30 are check-ins (none for times still to come); recorded again at 18:10,
    18:00 is added; ended (已结束) at 19:30, all four are there and counted as passes."""
    segment = make_grid(world)["segment"]
    activity, signup, starts = _patrol_under_way(world, segment)
    actor = _manager(world, "a1")
    checkins = PatrolCheckin.objects.filter(unit_code=activity.patrol_unit_code)
    mark = {signup.pk: (True, "")}

    attendance_record(
        actor=actor, activity=activity, marks=mark, now=starts + timedelta(minutes=40)
    )
    assert sorted(checkins.values_list("at", flat=True)) == [
        starts,
        starts + timedelta(minutes=30),
    ]
    attendance_record(
        actor=actor, activity=activity, marks=mark, now=starts + timedelta(minutes=70)
    )
    assert checkins.count() == 3
    assert not checkins.filter(at__gt=starts + timedelta(minutes=70)).exists()

    activity_move(
        actor=actor, activity=activity, to=ActivityStatus.DONE, now=starts + timedelta(hours=2.5)
    )
    assert sorted(checkins.values_list("at", flat=True)) == [
        starts + timedelta(minutes=30 * k) for k in range(4)
    ]
    passes = PatrolPass.objects.filter(area=segment, unit_code=activity.patrol_unit_code)
    assert passes.count() == 4


def test_a_patrol_ended_early_has_no_checkins_after_it_ended(world):
    segment = make_grid(world)["segment"]
    activity, signup, starts = _patrol_under_way(world, segment)
    actor = _manager(world, "a1")
    now = starts + timedelta(minutes=50)
    attendance_record(actor=actor, activity=activity, marks={signup.pk: (True, "")}, now=now)
    activity_move(actor=actor, activity=activity, to=ActivityStatus.DONE, now=now)
    checkins = PatrolCheckin.objects.filter(unit_code=activity.patrol_unit_code)
    assert checkins.count() == 2
    assert not checkins.filter(at__gt=now).exists()


def test_editing_a_patrol_after_attendance_moves_its_checkins_and_passes(world):
    """Given a patrol with check-ins on one key segment, when it is changed to another key
    area and a later start, then the old area's check-ins and passes go (they are found by the
    patrol's unit, in any area) and the new area's are written; changed to an ordinary area,
    it has none left."""
    grid = make_grid(world)
    segment = grid["segment"]
    square_area = make_area(world.station_a1, level=AreaLevel.GROUP, parent=grid["a1"], is_key=True)
    activity, signup, starts = _patrol_under_way(world, segment)
    actor = _manager(world, "a1")
    now = starts + timedelta(hours=3)
    attendance_record(actor=actor, activity=activity, marks={signup.pk: (True, "")}, now=now)
    unit_code = activity.patrol_unit_code
    assert PatrolCheckin.objects.filter(area=segment, unit_code=unit_code).count() == 4
    assert PatrolPass.objects.filter(area=segment, unit_code=unit_code).exists()

    values = {
        "actor": actor,
        "unit": world.station_a1,
        "title": activity.title,
        "kind": ActivityKind.PATROL,
        "capacity": 5,
        "activity": activity,
        "now": now,
    }
    later = starts + timedelta(hours=1)
    activity_save(**values, area=square_area, starts_at=later, ends_at=later + timedelta(hours=1))
    assert not PatrolCheckin.objects.filter(area=segment, unit_code=unit_code).exists()
    assert not PatrolPass.objects.filter(area=segment, unit_code=unit_code).exists()
    moved = PatrolCheckin.objects.filter(area=square_area, unit_code=unit_code)
    assert sorted(moved.values_list("at", flat=True)) == [later, later + timedelta(minutes=30)]
    assert PatrolPass.objects.filter(area=square_area, unit_code=unit_code).count() == 2

    activity_save(**values, area=grid["group"], starts_at=later, ends_at=later + timedelta(hours=1))
    assert not PatrolCheckin.objects.filter(unit_code=unit_code).exists()
    assert not PatrolPass.objects.filter(unit_code=unit_code).exists()


def test_a_registration_racing_another_of_the_same_mobile_answers_already_registered(world):
    """Two registrations of one number at once: both look, find none, both insert; the second
    insert breaks the unique (unit, mobile_hash). It answers `already_registered` (not a
    server error) and the transaction goes on."""
    from minyi.volunteers.services import _volunteer_save

    first = _register(world)
    twin = Volunteer(
        unit=world.station_a2,
        name="王小明",
        mobile="13900001111",
        mobile_hash=first.mobile_hash,
        consent_at=NOW,
        consent_version=CONSENT_VERSION,
    )
    with pytest.raises(ApplicationError) as exc:
        _volunteer_save(twin)
    assert exc.value.code == "already_registered"
    assert exc.value.field == "mobile"
    assert Volunteer.objects.filter(mobile_hash=first.mobile_hash).count() == 1
