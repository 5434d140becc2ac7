"""A district supervisor opens the ranking page in a real browser: the caterpillar and funnel
plots are drawn (ECharts, data through json_script, no inline script) without a script error."""

from datetime import date

import pytest
from playwright.sync_api import expect

from minyi.assessment.compute import assessment_compute
from minyi.assessment.tests.factories import (
    active_rule,
    answers,
    figure,
    peer_group,
    poll_wave,
    stations,
)
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supervisor_sees_the_ranking_with_its_charts(live_server, page):
    # Given district A's assessment of eight stations, 甲二所 far below the others
    world = make_world()
    units = [world.station_a1, world.station_a2, *stations(world, 6)]
    group = peer_group(world.district_a, units)
    rule = active_rule(world, group, owner=world.district_a)
    poll = poll_wave(world)
    for unit in units:
        answers(poll, unit, n=400, rate=0.6 if unit == world.station_a2 else 0.9)
        figure(unit, s=50, n=100)
    assessment = assessment_compute(
        rule=rule,
        label="2026年上半年",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        polls=[poll],
        actor=world.user("a", Role.ADMIN),
        draws=2000,
    )
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    supervisor = world.user("a", Role.SUPERVISOR)

    # When the district's supervisor signs in and opens it
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(supervisor.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server.url}/assessment/{assessment.pk}/")

    # Then the ranking, the share sentence and both charts are there, without script errors
    expect(page.get_by_test_id("share-headline")).to_contain_text("民意名义权重 60%")
    expect(page.locator("tr[data-unit='TA02'] [data-testid='marked']")).to_have_text("认定末位")
    for chart in ("caterpillar", "funnel"):
        expect(page.locator(f"[data-assessment-chart='{chart}'] svg")).to_have_count(1)
    assert errors == []
