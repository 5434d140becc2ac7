"""Work first, in a real browser (Playwright driving Debian's Chromium), at an office monitor's
1440×900 and a phone's 390 px: the unit leader, the evaluator and the supervisor each sign in,
see their to-do counts on the home page and click through to the list of exactly those."""

import re

import pytest
from playwright.sync_api import expect

from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD, make_world
from minyi.perception.tests.factories import business_types
from minyi.workorders.services import appeal_file
from minyi.workorders.tests.factories import at_fault_order, open_centres, unsatisfied_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def data(settings):
    settings.SURVEY_QUIET_START = 24
    settings.SURVEY_QUIET_END = 0
    world = make_world()
    business_types()
    open_centres(world)
    # Two new orders at 甲二所, one of them appealed; an unsatisfied citizen waiting for a call
    first = at_fault_order(world)
    at_fault_order(world)
    appeal_file(
        actor=world.user("a2", Role.UNIT_LEADER),
        order=first,
        reason="该群众反映的问题与本所民警无关，系误解。",
    )
    unsatisfied_survey(world)
    return world


def _sign_in(browser, live_server, user, viewport):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("whoami")).to_contain_text(str(user))
    expect(page.get_by_test_id("todo")).to_be_visible()
    return page


def _no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440", "390"])
def test_each_role_sees_its_work_and_clicks_through(live_server, browser, data, viewport):
    world = data

    # The unit leader: two orders to sign for → the list of those two
    leader = _sign_in(browser, live_server, world.user("a2", Role.UNIT_LEADER), viewport)
    _no_horizontal_scroll(leader)
    expect(leader.get_by_test_id("todo-dispatched-count")).to_have_text("2")
    expect(leader.get_by_test_id("todo-returned-count")).to_have_text("0")
    leader.get_by_test_id("todo-dispatched").click()
    expect(leader.get_by_test_id("order-tabs").locator("a.active")).to_contain_text("待签收")
    expect(leader.get_by_test_id("order-list").locator("tbody tr")).to_have_count(2)

    # The evaluator: one citizen to call back → the queue of first callbacks
    evaluator = _sign_in(browser, live_server, world.user("a", Role.EVALUATOR), viewport)
    expect(evaluator.get_by_test_id("todo-callbacks_first-count")).to_have_text("1")
    evaluator.get_by_test_id("todo-callbacks_first").click()
    expect(evaluator.get_by_test_id("callback-queue").locator("tbody tr")).to_have_count(1)
    expect(evaluator.get_by_test_id("take-next")).to_be_visible()

    # The supervisor: one appeal to decide → the appeals awaiting a decision
    supervisor = _sign_in(browser, live_server, world.user("a", Role.SUPERVISOR), viewport)
    expect(supervisor.get_by_test_id("todo-appeals-count")).to_have_text("1")
    supervisor.get_by_test_id("todo-appeals").click()
    expect(supervisor).to_have_url(f"{live_server.url}/workorders/appeals/")
    expect(supervisor.get_by_text(world.station_a2.name).first).to_be_visible()


def test_the_menu_folds_behind_a_button_on_a_phone(live_server, browser, data):
    page = _sign_in(browser, live_server, data.user("a2", Role.UNIT_LEADER), PHONE)
    page.wait_for_load_state("load")  # the menu's script is deferred
    menu = page.locator("#sidebar")
    assert menu.bounding_box()["x"] < 0  # folded away to the left

    page.get_by_test_id("menu-toggle").click()
    expect(page.locator("body")).to_have_class(re.compile("nav-open"))
    expect(page.get_by_test_id("menu-toggle")).to_have_attribute("aria-expanded", "true")
    page.wait_for_timeout(400)  # the slide-in transition
    assert menu.bounding_box()["x"] >= 0
    menu.get_by_role("link", name="整改工单").click()

    expect(page.get_by_test_id("order-list")).to_be_visible()
    assert menu.bounding_box()["x"] < 0  # a new page starts with the menu folded


def test_the_sidebar_holds_every_entry_without_wrapping_at_1440(live_server, browser, data):
    page = _sign_in(browser, live_server, data.user("a", Role.SUPERVISOR), DESKTOP)
    menu = page.locator("#sidebar")
    expect(menu).to_be_in_viewport()
    # One line per entry, and the badge never covers the bell's label
    heights = menu.locator(".side-nav a").evaluate_all("els => els.map(e => e.offsetHeight)")
    assert len(heights) >= 10 and max(heights) <= 40
    topbar = page.locator(".topbar").bounding_box()
    assert topbar["height"] <= 60
