"""The demo city: deterministic, the right shape and size, safe personal data, idempotent,
and its printed accounts log in."""

from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import TextField
from django.db.models.functions import Cast
from django.test import RequestFactory

from minyi.core.pii import lookup_hash, normalize_id_number, normalize_mobile
from minyi.demo.city import DEMO_PASSWORD, TOTP_NOTE, build_demo_city
from minyi.demo.city_plan import (
    DEMO_USERNAMES,
    ROOT_CODE,
    DemoCityError,
    plan_city,
    synthetic_names,
)
from minyi.orgs.choices import Position, Role, UnitKind
from minyi.orgs.models import Officer, OrgUnit, User
from minyi.perception.models import BusinessType

DISTRICTS = {
    "330602": "越城区公安分局",
    "330603": "柯桥区公安分局",
    "330604": "上虞区公安分局",
    "330681": "诸暨市公安局",
    "330683": "嵊州市公安局",
    "330624": "新昌县公安局",
}
FIELD_UNITS = (UnitKind.POLICE_STATION, UnitKind.TRAFFIC_BRIGADE, UnitKind.CRIMINAL_BRIGADE)
SENSITIVE = {"家庭暴力", "性侵案件", "拘留逮捕", "犯罪嫌疑人", "死亡案件处置"}


@pytest.fixture
def demo_mode(settings):
    settings.DEMO_MODE = True
    return settings


def _people(plan):
    return [(o.police_number, o.name, o.mobile, o.id_number) for o in plan.officers]


# --- The plan: pure, no database ---------------------------------------------------------


def test_same_seed_gives_the_same_city():
    first, second = plan_city(), plan_city()
    assert _people(first) == _people(second)
    assert first.units == second.units
    assert first.accounts == second.accounts
    assert synthetic_names(50) == synthetic_names(50)


def test_another_seed_gives_other_people():
    first, other = plan_city(seed=1), plan_city(seed=2)
    assert [o.name for o in first.officers] != [o.name for o in other.officers]
    assert [o.police_number for o in first.officers] != [o.police_number for o in other.officers]
    # The organisation itself is the same real-world city.
    assert [u.name for u in first.units] == [u.name for u in other.units]


def test_scale_one_has_the_shape_of_shaoxing():
    plan = plan_city()
    kinds = Counter(u.kind for u in plan.units)
    assert kinds[UnitKind.CITY_BUREAU] == 1
    root = plan.units[0]
    assert (root.code, root.name, root.has_perception_centre) == (ROOT_CODE, "绍兴市公安局", True)
    districts = {u.code: u.name for u in plan.units if u.kind == UnitKind.DISTRICT_BUREAU}
    assert districts == DISTRICTS
    assert 50 <= sum(kinds[k] for k in FIELD_UNITS) <= 70
    assert 2 <= sum(1 for u in plan.units if u.parent_code == ROOT_CODE) - 6 <= 4
    names = [u.name for u in plan.units]
    codes = [u.code for u in plan.units]
    assert len(set(names)) == len(names)
    assert len(set(codes)) == len(codes)
    assert {"府山派出所", "塔山派出所", "柯桥派出所", "越城交警大队", "越城刑侦大队"} <= set(names)
    for code in DISTRICTS:
        children = [u for u in plan.units if u.parent_code == code]
        assert Counter(u.kind for u in children)[UnitKind.TRAFFIC_BRIGADE] == 1
        assert Counter(u.kind for u in children)[UnitKind.CRIMINAL_BRIGADE] == 1
        assert sum(u.has_perception_centre for u in children) == 1
    assert 1800 <= len(plan.officers) <= 2200


def test_every_station_is_staffed_like_a_station():
    plan = plan_city()
    by_unit = {}
    for officer in plan.officers:
        by_unit.setdefault(officer.unit_code, []).append(officer)
    for unit in plan.units:
        positions = Counter(o.position for o in by_unit[unit.code])
        if unit.kind == UnitKind.POLICE_STATION:
            assert positions[Position.CHIEF] == 1
            assert positions[Position.INSTRUCTOR] == 1
            assert 1 <= positions[Position.DEPUTY] <= 2
            for position in (Position.COMMUNITY, Position.PATROL, Position.CASE, Position.WINDOW):
                assert positions[position] >= 3
            community = [o for o in by_unit[unit.code] if o.position == Position.COMMUNITY]
            assert all(o.communities and o.duty_phone and o.is_public for o in community)
        elif unit.kind == UnitKind.TRAFFIC_BRIGADE:
            assert positions.most_common(1)[0][0] == Position.TRAFFIC
        elif unit.kind == UnitKind.CRIMINAL_BRIGADE:
            assert positions.most_common(1)[0][0] == Position.DETECTIVE
        elif unit.kind in (UnitKind.CITY_BUREAU, UnitKind.DISTRICT_BUREAU):
            assert set(positions) == {Position.STAFF}
    assert sum(o.is_public for o in plan.officers) / len(plan.officers) > 0.85


def test_synthetic_numbers_are_unique_and_valid():
    plan = plan_city()
    numbers = [o.police_number for o in plan.officers]
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 6 and n.isdigit() for n in numbers)
    mobiles = [o.mobile for o in plan.officers]
    ids = [o.id_number for o in plan.officers]
    assert len(set(mobiles)) == len(mobiles)
    assert len(set(ids)) == len(ids)
    for mobile, id_number in zip(mobiles, ids, strict=True):
        assert normalize_mobile(mobile) == mobile
        assert mobile[:2] in ("13", "15", "18", "19")
        assert normalize_id_number(id_number) == id_number  # checksum and birth date
        assert id_number.startswith("3306")
        assert 1965 <= int(id_number[6:10]) <= 2000


def test_scale_multiplies_stations_and_officers():
    one, three = plan_city(scale=1), plan_city(scale=3)
    stations = Counter(u.kind for u in three.units)[UnitKind.POLICE_STATION]
    assert stations == 3 * Counter(u.kind for u in one.units)[UnitKind.POLICE_STATION]
    assert "府山第三派出所" in {u.name for u in three.units}
    assert len({u.name for u in three.units}) == len(three.units)
    assert len({u.code for u in three.units}) == len(three.units)
    assert 2.7 <= len(three.officers) / len(one.officers) <= 3.3
    with pytest.raises(DemoCityError):
        plan_city(scale=0)


# --- The build ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_build_writes_the_plan():
    plan = plan_city()
    city = build_demo_city()
    assert city.created
    assert city.units == len(plan.units) == OrgUnit.objects.count()
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    root = OrgUnit.objects.get(code=ROOT_CODE)
    assert root.is_root()
    assert {
        u.code for u in OrgUnit.objects.get_children(root) if u.kind == UnitKind.DISTRICT_BUREAU
    } == set(DISTRICTS)
    fushan = OrgUnit.objects.get(name="府山派出所")
    assert OrgUnit.objects.get_parent(fushan).code == "330602"
    assert root.contains(fushan)
    assert 50 <= city.stations_and_brigades <= 70

    stored = sorted(Officer.objects.values_list("police_number", "name", "unit__code"))
    assert stored == sorted((o.police_number, o.name, o.unit_code) for o in plan.officers)
    assert 1800 <= city.officers <= 2200


@pytest.mark.django_db
def test_personal_data_is_encrypted_and_hashed():
    plan = plan_city()
    build_demo_city()
    expected = plan.officers[0]
    officer = Officer.objects.get(police_number=expected.police_number)
    assert (officer.mobile, officer.id_number) == (expected.mobile, expected.id_number)
    assert officer.mobile_hash == lookup_hash("mobile", expected.mobile)
    assert officer.id_number_hash == lookup_hash("id", expected.id_number)
    # Read the columns as plain text, past the field's decryption.
    raw_mobile, raw_id = Officer.objects.filter(pk=officer.pk).values_list(
        Cast("mobile", TextField()), Cast("id_number", TextField())
    )[0]
    assert expected.mobile not in raw_mobile and raw_mobile.startswith("gAAAAA")
    assert expected.id_number not in raw_id and raw_id.startswith("gAAAAA")


@pytest.mark.django_db
def test_sensitive_business_types_are_never_surveyed():
    build_demo_city()
    sensitive = BusinessType.objects.filter(is_sensitive=True)
    assert set(sensitive.values_list("name", flat=True)) == SENSITIVE
    assert not sensitive.filter(survey_enabled=True).exists()
    assert not BusinessType.objects.filter(is_sensitive=False, survey_enabled=False).exists()
    names = set(BusinessType.objects.values_list("name", flat=True))
    assert {"户籍办理", "110接处警", "刑事现场勘查", "交通事故处理", "涉警投诉", "求助"} <= names
    assert BusinessType.objects.get(name="交通违法处理").is_enforcement
    assert BusinessType.objects.get(name="治安案件办理").is_enforcement


@pytest.mark.django_db
def test_command_is_idempotent(demo_mode):
    first = StringIO()
    call_command("demo_city", stdout=first)
    counts = (
        OrgUnit.objects.count(),
        Officer.objects.count(),
        User.objects.count(),
        BusinessType.objects.count(),
    )
    second = StringIO()
    call_command("demo_city", "--scale", "2", stdout=second)
    assert "exists already" in second.getvalue()
    assert counts == (
        OrgUnit.objects.count(),
        Officer.objects.count(),
        User.objects.count(),
        BusinessType.objects.count(),
    )
    assert "fushan_leader" in second.getvalue()
    with pytest.raises(DemoCityError):
        build_demo_city()


@pytest.mark.django_db
def test_command_refuses_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError):
        call_command("demo_city", stdout=StringIO())
    assert not OrgUnit.objects.exists()


def _printed_accounts(output: str) -> dict[str, tuple[str, str]]:
    """username → (password, whole line), read from the printed table."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] in DEMO_USERNAMES:
            rows[cells[0]] = (cells[1], line)
    return rows


@pytest.mark.django_db
def test_printed_demo_accounts_log_in(demo_mode):
    # A fast hasher: the point here is the printed password, not PBKDF2.
    demo_mode.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    call_command("demo_city", stdout=out)
    printed = _printed_accounts(out.getvalue())
    assert set(printed) == set(DEMO_USERNAMES)

    tiers = {"city": ROOT_CODE, "yuecheng": "330602", "fushan": "330602001"}
    slugs = {"admin": Role.ADMIN, "evaluator": Role.EVALUATOR, "leader": Role.UNIT_LEADER,
             "supervisor": Role.SUPERVISOR}  # fmt: skip
    expected = {f"{t}_{s}": (code, role) for t, code in tiers.items() for s, role in slugs.items()}
    expected["tashan_leader"] = ("330602002", Role.UNIT_LEADER)

    request = RequestFactory().post("/accounts/login/")
    for username, (unit_code, role) in expected.items():
        password, line = printed[username]
        assert password == DEMO_PASSWORD
        user = authenticate(request, username=username, password=password)
        assert user is not None, username
        assert (user.unit.code, user.role) == (unit_code, role)
        assert user.full_name
        assert (TOTP_NOTE in line) == (role == Role.ADMIN)
        assert user.needs_second_factor == (role == Role.ADMIN)

    leader = User.objects.get(username="tashan_leader")
    assert leader.unit.name == "塔山派出所"
    assert leader.officer.position == Position.CHIEF
    assert leader.officer.unit == leader.unit
    assert leader.full_name == leader.officer.name
