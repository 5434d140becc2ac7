"""The grid map draws locally (no online tiles, no request leaves the site), colours a
community by its latest colour, and a click on a community opens its page (Playwright,
Debian's Chromium)."""

from datetime import date

import pytest
from django.test import Client
from playwright.sync_api import expect

from minyi.community.models import AreaColour, Colour
from minyi.community.tests.factories import make_grid
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def test_the_map_colours_a_community_and_opens_it_on_click(live_server, browser):
    world = make_world()
    grid = make_grid(world)
    AreaColour.objects.create(
        area=grid["a1"], month=date(2026, 5, 1), signal="red", colour=Colour.RED, rule_version="t"
    )
    page = _signed_in(browser, live_server, world.user("a1", Role.SUPERVISOR)).new_page()
    errors, external = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto(f"{live_server.url}/community/")
    chart = page.get_by_test_id("grid-map")
    # The community is filled red (#d9363e) on the SVG the chart draws.
    expect(chart.locator('path[fill="#d9363e"]')).to_have_count(1)
    assert not errors and not external
    # A click inside the community's north-east quarter (no group, segment or building there)
    box = chart.locator('path[fill="#d9363e"]').bounding_box()
    x, y = box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2
    page.mouse.move(x, y)
    expect(chart.get_by_text("甲一社区")).to_be_visible()  # the tooltip: the pointer is on it
    page.mouse.click(x, y)
    expect(page).to_have_url(f"{live_server.url}/community/areas/{grid['a1'].pk}/")
    expect(page.get_by_test_id("area-map").locator("svg")).to_be_visible()
    assert not errors
