"""A station leader signs in with a real browser, sees their own unit and nothing of a
sibling's (Playwright driving Debian's Chromium)."""

import pytest
from playwright.sync_api import expect

from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_station_leader_sees_own_unit_and_not_a_siblings_officer(live_server, page):
    world = make_world()
    leader = world.user("a1", Role.UNIT_LEADER)
    sibling_officer = world.officers["a2"]

    # Given the leader of 甲一派出所 signs in
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    page.get_by_label("用户名").fill(leader.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    # Then the home page is about their own station
    expect(page.get_by_role("heading", level=1)).to_have_text("甲一派出所")
    expect(page.get_by_test_id("officer-count")).to_contain_text("1")

    # When they search the officer list
    page.get_by_role("link", name="民警").first.click()
    expect(page.get_by_role("link", name=world.officers["a1"].name)).to_be_visible()
    expect(page.get_by_text(sibling_officer.name)).to_have_count(0)

    # And open the sibling station's officer directly
    response = page.goto(f"{live_server.url}/officers/{sibling_officer.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="未找到")).to_be_visible()
    expect(page.get_by_text(sibling_officer.name)).to_have_count(0)
