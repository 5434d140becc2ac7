"""Test data: a small city with sibling units, and staff of every role in each station."""

from dataclasses import dataclass, field

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from minyi.core.pii import lookup_hash
from minyi.orgs.choices import Position, Role, UnitKind
from minyi.orgs.models import Officer, OrgUnit, User

PASSWORD = "Correct-Horse-42"


class OfficerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Officer

    police_number = factory.Sequence(lambda n: f"{900000 + n}")
    name = factory.Sequence(lambda n: f"测试民警{n}")
    position = Position.COMMUNITY
    duty_phone = "0575-88880000"
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    mobile_hash = factory.LazyAttribute(lambda o: lookup_hash("mobile", o.mobile))
    id_number = "330602199001011233"
    id_number_hash = factory.LazyAttribute(lambda o: lookup_hash("id", o.id_number))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.UNIT_LEADER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def add_totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def unit(parent: OrgUnit | None, name: str, code: str, kind: str, **extra) -> OrgUnit:
    fields = dict(name=name, code=code, kind=kind, **extra)
    if parent is None:
        return OrgUnit.objects.add_root(fields)
    return OrgUnit.objects.add_child(parent, fields)


@dataclass
class World:
    city: OrgUnit
    district_a: OrgUnit
    district_b: OrgUnit
    station_a1: OrgUnit
    station_a2: OrgUnit
    station_b1: OrgUnit
    officers: dict[str, Officer] = field(default_factory=dict)
    users: dict[tuple[str, str], User] = field(default_factory=dict)

    def user(self, unit_key: str, role: str) -> User:
        return self.users[(unit_key, role)]


def make_world() -> World:
    """城市局 → 甲区局 (甲一所, 甲二所) and 乙区局 (乙一所); an officer in each station and an
    account of every role in every unit."""
    city = unit(None, "测试市公安局", "T000", UnitKind.CITY_BUREAU, has_perception_centre=True)
    district_a = unit(city, "甲区分局", "TA00", UnitKind.DISTRICT_BUREAU)
    district_b = unit(city, "乙区分局", "TB00", UnitKind.DISTRICT_BUREAU)
    station_a1 = unit(district_a, "甲一派出所", "TA01", UnitKind.POLICE_STATION)
    station_a2 = unit(district_a, "甲二派出所", "TA02", UnitKind.POLICE_STATION)
    station_b1 = unit(district_b, "乙一派出所", "TB01", UnitKind.POLICE_STATION)
    world = World(city, district_a, district_b, station_a1, station_a2, station_b1)
    units = {
        "city": city,
        "a": district_a,
        "b": district_b,
        "a1": station_a1,
        "a2": station_a2,
        "b1": station_b1,
    }
    for key, org_unit in units.items():
        if org_unit.kind == UnitKind.POLICE_STATION:
            world.officers[key] = OfficerFactory(unit=org_unit, name=f"{org_unit.name}民警")
        for role in Role.values:
            user = UserFactory(username=f"{key}_{role}", role=role, unit=org_unit)
            if role == Role.ADMIN:
                add_totp_device(user)
            world.users[(key, role)] = user
    return world
