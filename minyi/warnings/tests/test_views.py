import pytest
from django.core.management import call_command
from django.urls import reverse

from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import OfficerFactory
from minyi.warnings.models import Warning, WarningColour, WarningReply
from minyi.warnings.services import warnings_compute
from minyi.warnings.tests.factories import make_ratings, make_rollup, make_warning
from minyi.warnings.tests.test_services import _normal_officers, _peer_stations

pytestmark = pytest.mark.django_db


def test_list_shows_current_red_and_orange_in_the_subtree_with_counts(client, world):
    red = make_warning(officer=world.officers["a2"])
    make_warning(
        officer=OfficerFactory(unit=world.station_a1, name="橙色民警"), colour=WarningColour.ORANGE
    )
    make_warning(officer=OfficerFactory(unit=world.station_a1, name="绿色民警"), colour="green")
    make_warning(officer=OfficerFactory(unit=world.station_a1, name="往日民警"), is_current=False)
    make_warning(unit=world.station_b1, colour=WarningColour.RED)
    client.force_login(world.user("a", Role.SUPERVISOR))
    page = client.get(reverse("warnings:warning_list")).content.decode()
    assert red.officer.name in page and "橙色民警" in page
    assert "绿色民警" not in page and "往日民警" not in page
    assert world.station_b1.name not in page  # another district
    assert 'data-testid="count-red"><span class="value">1<' in page
    # Filter by colour and by kind
    only_orange = client.get(reverse("warnings:warning_list"), {"colour": "orange"})
    assert "橙色民警" in only_orange.content.decode()
    assert red.officer.name not in only_orange.content.decode()
    units = client.get(reverse("warnings:warning_list"), {"kind": "unit"}).content.decode()
    assert "橙色民警" not in units and "当前没有红色或橙色预警" in units


def test_list_queries_do_not_grow_with_rows(client, world, django_assert_max_num_queries):
    for i in range(30):
        make_warning(officer=OfficerFactory(unit=world.station_a2, name=f"民警{i}"))
    client.force_login(world.user("city", Role.SUPERVISOR))
    # 10, and two counts of who is monitored so that green is a number too
    with django_assert_max_num_queries(12):
        response = client.get(reverse("warnings:warning_list"))
    assert response.content.decode().count('class="ew-badge ew-red"') == 30


def test_officer_detail_shows_rule_evidence_chart_and_history(client, world):
    # Given an officer turned red by the real computation
    _normal_officers(world)
    officer = world.officers["a2"]
    make_ratings(world.station_a2, "s" * 60 + "f" * 15, officers=[officer], blame=officer)
    warnings_compute()
    warning = Warning.objects.get(officer=officer)
    # When a supervisor of the district opens it
    client.force_login(world.user("a", Role.SUPERVISOR))
    page = client.get(reverse("warnings:warning_detail", args=[warning.pk])).content.decode()
    # Then the rule is stated in words with its version, and the evidence is listed
    assert "红色预警" in page and officer.name in page
    assert warning.rule_version in page and "S = max(0, S + y·ln R" in page
    assert page.count("#") >= 15 and "态度" in page and "户籍办理" in page
    assert 'id="ew-chart-data"' in page and '"type": "cusum"' in page
    assert "warning_charts.js" in page and "<script>" not in page  # no inline script (CSP)
    assert "群众原话" not in page and "138" not in page
    assert 'data-testid="history"' in page
    # A supervisor may not reply, so there is no form
    assert 'name="text"' not in page


def test_unit_detail_draws_the_funnel_with_this_unit_highlighted(client, world):
    _peer_stations(world)
    make_rollup(world.station_a2, satisfied=160, unsatisfied=40)
    warnings_compute()
    warning = Warning.objects.get(unit=world.station_a2, is_current=True)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    page = client.get(reverse("warnings:warning_detail", args=[warning.pk])).content.decode()
    assert '"type": "funnel"' in page and "同类单位漏斗图" in page
    assert "派出所" in page and "共 13 个" in page
    assert "站1" not in page  # peers are anonymous points


def test_reply_form_posts_and_shows_the_reply(client, world):
    warning = make_warning(officer=world.officers["a2"])
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    url = reverse("warnings:warning_detail", args=[warning.pk])
    assert 'name="text"' in client.get(url).content.decode()
    response = client.post(
        reverse("warnings:warning_reply", args=[warning.pk]), {"text": "已整改，请复核。"}
    )
    assert response.status_code == 302 and response.url == url
    page = client.get(url).content.decode()
    assert "已整改，请复核。" in page and "申辩已提交" in page


def test_a_refused_reply_keeps_what_was_typed(client, world):
    warning = make_warning(officer=world.officers["a2"])
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    response = client.post(
        reverse("warnings:warning_reply", args=[warning.pk]), {"text": "长" * 1001}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "不能超过 1000 字" in page and "长" * 1001 in page
    assert not WarningReply.objects.exists()


def test_history_row_links_to_the_earlier_spell(client, world):
    old = make_warning(officer=world.officers["a2"], is_current=False)
    now = make_warning(officer=world.officers["a2"], colour=WarningColour.ORANGE)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    page = client.get(reverse("warnings:warning_detail", args=[now.pk])).content.decode()
    assert reverse("warnings:warning_detail", args=[old.pk]) in page


def test_command_computes_and_reports(world, capsys):
    call_command("compute_warnings", "--window-days", "90")
    out = capsys.readouterr().out
    assert out.startswith("compute_warnings: ") and "window_days=90" in out


def test_command_can_hand_the_work_to_the_task_worker(world, capsys):
    call_command("compute_warnings", "--enqueue")
    assert capsys.readouterr().out.startswith("compute_warnings: queued task ")


def test_current_warning_for_a_badge_elsewhere_is_scoped(world):
    from minyi.warnings.selectors import warning_current_for

    warning = make_warning(officer=world.officers["a2"])
    assert warning_current_for(world.user("a", Role.SUPERVISOR), officer=warning.officer) == warning
    assert warning_current_for(world.user("a1", Role.SUPERVISOR), officer=warning.officer) is None
    assert warning_current_for(world.user("a", Role.SUPERVISOR), unit=world.station_a2) is None
