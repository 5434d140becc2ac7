"""Staff pages of volunteers: a registration without consent refused with nothing lost,
masked mobiles, attendance through the page, the export audited, the recognition page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.models import AuditAction, AuditEvent
from minyi.orgs.choices import Role
from minyi.volunteers.models import Signup, Volunteer
from minyi.volunteers.tests.factories import (
    make_activity,
    make_organisation,
    make_signup,
    make_volunteer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, world):
    client.force_login(world.user("a2", Role.SUPERVISOR))
    return client


def test_registration_without_consent_is_refused_and_keeps_the_form(manager, world):
    organisation = make_organisation(world.station_a2, name="越城保安公司")
    data = {
        "unit": world.station_a2.pk,
        "name": "赵志愿",
        "mobile": "13900004444",
        "organisation": organisation.pk,
        "skills": ["traffic"],
        "availability_note": "周末下午",
    }
    response = manager.post(reverse("volunteers:volunteer_new"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-consent"' in html and "未取得本人同意" in html
    assert "赵志愿" in html and "13900004444" in html and "周末下午" in html
    assert not Volunteer.objects.exists()

    response = manager.post(reverse("volunteers:volunteer_new"), {**data, "consent": "on"})
    assert response.status_code == 302
    volunteer = Volunteer.objects.get()
    assert volunteer.organisation == organisation and volunteer.skills == ["traffic"]


def test_the_list_masks_mobiles_and_filters(manager, world):
    make_volunteer(world.station_a2, name="钱一", mobile="13900005555", skills=["patrol"])
    make_volunteer(world.station_a2, name="孙二", mobile="13900006666", skills=["publicity"])
    html = manager.get(reverse("volunteers:volunteer_list")).content.decode()
    assert "139****5555" in html and "13900005555" not in html
    html = manager.get(reverse("volunteers:volunteer_list") + "?skill=patrol").content.decode()
    assert "钱一" in html and "孙二" not in html
    html = manager.get(
        reverse("volunteers:volunteer_list") + "?mobile=139-0000-6666"
    ).content.decode()
    assert "孙二" in html and "钱一" not in html


def test_the_list_pins_its_queries(manager, world, django_assert_max_num_queries):
    for _ in range(12):
        make_volunteer(world.station_a2, organisation=make_organisation(world.station_a2))
    with django_assert_max_num_queries(14):
        assert manager.get(reverse("volunteers:volunteer_list")).status_code == 200


def test_attendance_through_the_page(manager, world):
    activity = make_activity(world.station_a2, starts_at=timezone.now() - timedelta(hours=3))
    came, absent = (make_signup(activity, make_volunteer(world.station_a2)) for _ in range(2))
    url = reverse("volunteers:activity_attendance", args=[activity.pk])
    response = manager.post(url, {f"attended_{came.pk}": "on", f"hours_{absent.pk}": "2"})
    assert response.status_code == 400
    assert "未到场的志愿者不能记录服务时长" in response.content.decode()
    response = manager.post(url, {f"attended_{came.pk}": "on", f"hours_{came.pk}": "1.5"})
    assert response.status_code == 302
    assert Signup.objects.get(pk=came.pk).hours == Decimal("1.5")
    assert not Signup.objects.get(pk=absent.pk).attended


def test_staff_signs_a_volunteer_up(manager, world):
    activity = make_activity(world.station_a2, starts_at=timezone.now() + timedelta(days=1))
    volunteer = make_volunteer(world.station_a2)
    sibling = make_volunteer(world.station_a1)
    url = reverse("volunteers:activity_signup", args=[activity.pk])
    assert manager.post(url, {"volunteer": sibling.pk}).status_code == 400
    assert manager.post(url, {"volunteer": volunteer.pk}).status_code == 302
    assert list(activity.signups.values_list("volunteer", flat=True)) == [volunteer.pk]


def test_export_is_audited_and_masked(manager, world):
    make_volunteer(world.station_a2, name="周导出", mobile="13900007777")
    make_volunteer(world.station_a1, name="吴兄弟所")
    response = manager.get(reverse("volunteers:volunteer_export"))
    body = response.content.decode("utf-8-sig")
    assert "周导出" in body and "139****7777" in body
    assert "13900007777" not in body and "吴兄弟所" not in body
    xlsx = manager.get(reverse("volunteers:volunteer_export") + "?format=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert [e.detail["format"] for e in events.order_by("pk")] == ["csv", "xlsx"]


def test_reveal_and_erase_through_the_pages(manager, world):
    volunteer = make_volunteer(world.station_a2, mobile="13900008888")
    response = manager.post(reverse("volunteers:volunteer_reveal", args=[volunteer.pk]))
    assert "13900008888" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()
    manager.post(reverse("volunteers:volunteer_withdraw", args=[volunteer.pk]))
    manager.post(reverse("volunteers:volunteer_erase", args=[volunteer.pk]))
    volunteer.refresh_from_db()
    assert volunteer.erased_at and volunteer.mobile == ""
    html = manager.get(reverse("volunteers:volunteer_edit", args=[volunteer.pk])).content.decode()
    assert "（信息已删除）" in html


def test_recognition_page(manager, world):
    activity = make_activity(world.station_a2, starts_at=timezone.now() - timedelta(days=3))
    make_signup(
        activity,
        make_volunteer(world.station_a2, name="郑表彰"),
        attended=True,
        hours=Decimal("2.5"),
    )
    first = timezone.localdate() - timedelta(days=10)
    response = manager.get(reverse("volunteers:recognition") + f"?first={first.isoformat()}")
    html = response.content.decode()
    assert "郑表彰" in html and "2.5" in html


def test_post_an_activity_through_the_page(manager, world):
    from minyi.community.tests.factories import make_grid

    grid = make_grid(world)
    data = {
        "unit": world.station_a2.pk,
        "title": "甲二社区夜巡",
        "kind": "patrol",
        "starts_at": "2026-12-20T19:00",
        "ends_at": "2026-12-20T21:00",
        "capacity": "6",
        "place": "警务室",
    }
    response = manager.post(reverse("volunteers:activity_new"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "巡逻活动请选择巡逻的网格" in html and "甲二社区夜巡" in html
    response = manager.post(
        reverse("volunteers:activity_new"),
        {**data, "area": grid["a2"].pk},
    )
    assert response.status_code == 302
    assert response.url.startswith("/volunteers/activities/")


def test_no_module_level_gettext_in_the_app():
    """A string translated at import is fixed in the language of whoever imported the module
    first: module-level text must be gettext_lazy (or translated per request)."""
    import ast
    from pathlib import Path

    app = Path(__file__).resolve().parent.parent
    eager = {"_", "gettext", "ngettext", "pgettext"}
    for path in [*app.glob("*.py"), app.parent / "demo" / "volunteers.py"]:
        tree = ast.parse(path.read_text())
        lazy_alias = any(
            isinstance(node, ast.ImportFrom)
            and any(a.name.endswith("_lazy") and a.asname == "_" for a in node.names)
            for node in tree.body
        )
        names = eager - {"_"} if lazy_alias else eager
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) in names:
                    raise AssertionError(f"{path.name}:{call.lineno} gettext at import")
