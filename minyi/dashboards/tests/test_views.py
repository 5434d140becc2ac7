import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from minyi.core.models import AuditAction, AuditEvent
from minyi.dashboards.rollups import repeat_contacts_fill
from minyi.dashboards.tests.factories import (
    at,
    callback,
    daily,
    days_ago,
    event,
    satisfied,
    survey,
    work_order,
)
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.tests.factories import unit

pytestmark = pytest.mark.django_db

MOBILE = "13912345678"


def _login(client, world, key="city", role=Role.SUPERVISOR):
    client.force_login(world.user(key, role))
    return client


def _some_data(world, btypes, units=None):
    hukou = btypes["hukou"]
    for i, u in enumerate(units or [world.station_a1, world.station_a2, world.station_b1]):
        daily(u, hukou, days_ago(2), ratings=satisfied(40 + i, 5))
        daily(u, btypes["jcj_110"], days_ago(3), ratings=satisfied(2, 1))
        due = at(days_ago(4))
        callback(u, hukou, due_at=due, completed_at=due, tags=["attitude"], mobile=MOBILE)
        callback(u, hukou, due_at=at(days_ago(2)))  # open and overdue
        work_order(u, hukou, dispatched_at=at(days_ago(5)), deadline=days_ago(1))
        event(u, hukou, mobile=MOBILE, occurred_at=at(days_ago(20)))
        event(u, hukou, mobile=MOBILE, occurred_at=at(days_ago(10)))


# --- The dashboard ---------------------------------------------------------------------------


def test_index_shows_every_figure(client, world, btypes):
    _some_data(world, btypes)
    response = _login(client, world).get(reverse("dashboards:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for testid in ("tile-satisfaction", "tile-callbacks", "tile-workorders", "tile-repeats"):
        assert f'data-testid="{testid}"' in html
    for table in ("trend", "ranking", "types", "callbacks", "workorders", "reasons", "repeats"):
        assert f'data-table="{table}"' in html
    assert 'id="chart-trend"' in html and "<script>" not in html  # CSP: no inline script
    assert "<5" in html.replace("&lt;", "<")  # the 110 cells are about 3 people each
    assert MOBILE not in html


def test_index_for_a_station_shows_its_officers_and_no_sibling(client, world, btypes):
    _some_data(world, btypes)
    response = _login(client, world, "a1", Role.UNIT_LEADER).get(reverse("dashboards:index"))
    html = response.content.decode()
    assert response.status_code == 200
    assert world.station_a1.name in html
    assert world.station_a2.name not in html
    assert 'data-table="officers"' in html


def test_index_of_a_unit_outside_the_subtree_does_not_exist(client, world):
    _login(client, world, "a1", Role.UNIT_LEADER)
    response = client.get(reverse("dashboards:index"), {"unit": world.station_a2.pk})
    assert response.status_code == 404


def test_index_ignores_a_bad_period_and_type(client, world, btypes):
    _login(client, world)
    response = client.get(reverse("dashboards:index"), {"period": "2099-01", "type": "x"})
    assert response.status_code == 200
    assert response.context["period"].key == "30"


def test_index_query_count_does_not_grow_with_units(
    client, world, btypes, django_assert_max_num_queries
):
    # Given the three stations of the world, measured
    _some_data(world, btypes)
    _login(client, world)

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("dashboards:index"))
    # When twenty more stations (and a brigade) have data too
    more = [
        unit(world.district_b, f"乙{i}派出所", f"TQ{i:02d}", UnitKind.POLICE_STATION)
        for i in range(20)
    ]
    more.append(unit(world.district_a, "甲区交警中队", "TQJJ", UnitKind.TRAFFIC_BRIGADE))
    _some_data(world, btypes, units=more)
    # Then the page needs no more queries than before
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("dashboards:index"))
    assert response.status_code == 200
    assert len(few.captured_queries) <= 25


# --- Drill-down ------------------------------------------------------------------------------


def test_drill_lists_the_rows_behind_a_figure_masked_and_paginated(client, world, btypes):
    for i in range(51):
        survey(world.station_a2, btypes["hukou"], rating=2, mobile=MOBILE,
               occurred_at=timezone.now() - timedelta(hours=i + 1),
               comment=f"联系我 {MOBILE}")  # fmt: skip
    _login(client, world, "a", Role.SUPERVISOR)
    url = reverse("dashboards:drill")
    response = client.get(url, {"figure": "satisfaction", "unit": world.district_a.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("139****5678") >= 50 * 2  # the number and the one in the comment
    assert MOBILE not in html
    # Answers page by a cursor in the link (keyset on contact time), not by OFFSET.
    next_url = _link_to(html, "下一页")
    assert "after=" in next_url and "page=2" in next_url
    second = client.get(next_url).content.decode()
    assert second.count("<tr>") == 2  # header + the 51st row
    assert "下一页" not in second
    back = client.get(_link_to(second, "上一页")).content.decode()
    assert back.count("<tr>") == 51
    assert "上一页" not in back  # the first page again


def _link_to(html: str, label: str) -> str:
    match = re.search(r'<a href="([^"]+)">[‹ ]*' + label, html)
    assert match, label
    return match[1].replace("&amp;", "&")


def test_drill_bad_or_old_page_links_show_the_first_page_with_a_notice(client, world, btypes):
    for i in range(3):
        survey(world.station_a2, btypes["hukou"], rating=2,
               occurred_at=timezone.now() - timedelta(hours=i + 1))  # fmt: skip
    _login(client, world, "a", Role.SUPERVISOR)
    url = reverse("dashboards:drill")
    base = {"figure": "satisfaction", "unit": world.district_a.pk}
    for extra in ({"after": "junk"}, {"before": "1.2.3"}, {"after": "9" * 17 + ".1"},
                  {"after": "1." + "9" * 19}, {"page": 7}):  # fmt: skip
        response = client.get(url, {**base, **extra})
        html = response.content.decode()
        assert response.status_code == 200, extra
        assert 'data-testid="drill-notice"' in html, extra
        assert html.count("<tr>") == 4, extra  # header + the three answers


def test_ten_years_is_capped_with_a_notice_and_unknown_units_are_not_found(client, world):
    _login(client, world, "a", Role.SUPERVISOR)
    url = reverse("dashboards:index")
    for period in ("3650", "2016-01-01_2026-01-01"):
        html = client.get(url, {"period": period}).content.decode()
        assert 'data-testid="period-notice"' in html, period
        assert "366" in html
    assert 'data-testid="period-notice"' not in client.get(url).content.decode()
    # A digit str.isdigit() accepts but int() does not: not understood, never an error
    html = client.get(url, {"period": "²"}).content.decode()
    assert 'data-testid="period-notice"' in html
    for pk in ("999999", "x"):
        assert client.get(url, {"unit": pk}).status_code == 404
        response = client.get(reverse("dashboards:drill"), {"figure": "satisfaction", "unit": pk})
        assert response.status_code == 404


def test_drill_into_another_units_subtree_is_not_found(client, world, btypes):
    survey(world.station_a2, btypes["hukou"], rating=4)
    _login(client, world, "a1", Role.SUPERVISOR)
    for figure in ("satisfaction", "callbacks", "reasons", "workorders", "repeats"):
        response = client.get(
            reverse("dashboards:drill"), {"figure": figure, "unit": world.station_a2.pk}
        )
        assert response.status_code == 404, figure


def test_drill_without_a_unit_is_the_users_own_subtree(client, world, btypes):
    survey(world.station_a2, btypes["hukou"], rating=4)
    survey(world.station_a1, btypes["jcj_110"], rating=4)
    _login(client, world, "a1", Role.SUPERVISOR)
    response = client.get(reverse("dashboards:drill"), {"figure": "satisfaction"})
    html = response.content.decode()
    assert "110接处警" in html and "户籍办理" not in html


def test_drill_of_every_figure_renders(client, world, btypes):
    _some_data(world, btypes)
    repeat_contacts_fill(now=timezone.now() + timedelta(minutes=10))
    _login(client, world)
    for figure, extra in (
        ("satisfaction", {"status": "unsatisfied"}),
        ("callbacks", {"status": "on_time"}),
        ("callbacks", {"status": "overdue"}),
        ("reasons", {"tag": "attitude"}),
        ("workorders", {"status": "late"}),
        ("workorders", {"status": "overdue"}),
        ("repeats", {}),
    ):
        response = client.get(reverse("dashboards:drill"), {"figure": figure, **extra})
        assert response.status_code == 200, figure
        html = response.content.decode()
        assert world.station_a1.name in html, figure
        assert MOBILE not in html, figure
    response = client.get(reverse("dashboards:drill"), {"figure": "bogus"})
    assert response.status_code == 404


# --- Export ----------------------------------------------------------------------------------


def _sheet(response):
    content = b"".join(response.streaming_content)
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_export_of_a_drill_table_is_audited_masked_and_readable(client, world, btypes):
    for _i in range(3):
        survey(world.station_a2, btypes["hukou"], rating=4, mobile=MOBILE, comment="=HYPERLINK(1)")
    user = world.user("a", Role.SUPERVISOR)
    client.force_login(user)
    response = client.get(
        reverse("dashboards:export"),
        {"table": "drill", "figure": "satisfaction", "unit": world.station_a2.pk, "period": "90"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _sheet(response)
    assert rows[0][0] == "服务时间" and "群众手机" in rows[0]
    assert len(rows) == 4
    assert all("139****5678" in row for row in rows[1:])
    assert MOBILE not in repr(rows)
    assert rows[1][-1] == "=HYPERLINK(1)"  # stays text, never a formula
    audit = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert audit.actor == user
    assert audit.detail["figure"] == "satisfaction" and audit.detail["rows"] == 3
    assert audit.detail["filters"]["unit"] == world.station_a2.pk
    assert audit.detail["filters"]["period"] == "90"
    assert audit.object_id == str(world.station_a2.pk)


def test_export_of_a_figure_table_keeps_small_cells_hidden(client, world, btypes):
    daily(world.station_a1, btypes["hukou"], days_ago(2), ratings=satisfied(30))
    daily(world.station_a1, btypes["jcj_110"], days_ago(2), ratings=satisfied(2, 1))
    _login(client, world, "a1", Role.UNIT_LEADER)
    response = client.get(reverse("dashboards:export"), {"table": "types"})
    rows = _sheet(response)
    by_name = {row[0]: row for row in rows[1:] if row and row[0]}
    assert by_name["110接处警"][2] == "<5" and by_name["110接处警"][3] == "<5"
    assert by_name["户籍办理"][2] == 30
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, detail__table="types").exists()


@pytest.mark.parametrize(
    "table",
    ["trend", "ranking", "types", "callbacks", "workorders", "reasons", "repeats",
     "repeat_types", "officers"],
)  # fmt: skip
def test_every_table_exports(client, world, btypes, table):
    _some_data(world, btypes)
    _login(client, world, "a1", Role.UNIT_LEADER)
    response = client.get(reverse("dashboards:export"), {"table": table, "period": "90"})
    assert response.status_code == 200
    assert _sheet(response)[0]


def test_export_needs_the_export_permission_and_a_known_table(client, world):
    _login(client, world, "a1", Role.EVALUATOR)
    assert client.get(reverse("dashboards:export"), {"table": "types"}).status_code == 403
    _login(client, world, "a1", Role.SUPERVISOR)
    assert client.get(reverse("dashboards:export"), {"table": "nope"}).status_code == 404
    _login(client, world, "city", Role.SUPERVISOR)
    response = client.get(reverse("dashboards:export"), {"table": "officers"})
    assert response.status_code == 404  # the city has sub-units: no officer table
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
