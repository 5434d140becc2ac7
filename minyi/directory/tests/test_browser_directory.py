"""A citizen finds their community officer on a phone (Playwright, Debian's Chromium): types
the community's name, sees the officer and the station chief, opens the officer's card; and
scanning a printed QR address lands on the same card and is counted."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from minyi.directory.models import CardScanDaily
from minyi.orgs.choices import Position
from minyi.orgs.tests.factories import OfficerFactory, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page):
    """Nothing wider than the phone's screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_citizen_finds_the_community_officer_on_a_phone(live_server, browser):
    world = make_world()
    officer = OfficerFactory(
        unit=world.station_a2,
        name="王东",
        communities="城东社区、新河社区、滨江花园社区、望湖社区、东方名苑社区",
        duty_phone="0575-88880001",
    )
    OfficerFactory(unit=world.station_a2, name="赵所长", position=Position.CHIEF)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=False,
    )
    page = phone.new_page()

    # Given the directory page, reached from the portal's front page
    page.goto(f"{live_server.url}{reverse('portal:home')}")
    page.get_by_role("link", name="找民警").click()
    expect(page.get_by_role("heading", name="找民警")).to_be_visible()
    expect(page.get_by_role("link", name=world.station_a2.name)).to_be_visible()
    _fits(page)

    # When they type their community and search
    page.get_by_label("社区或派出所名称").fill("新河社区")
    page.get_by_role("button", name="查找").click()

    # Then they see their community officer and the station chief, with a phone to call
    result = page.get_by_test_id("station-result")
    expect(result).to_have_count(1)
    expect(result.get_by_role("heading", name=world.station_a2.name)).to_be_visible()
    expect(result.get_by_role("link", name="王东")).to_be_visible()
    expect(result.get_by_role("link", name="赵所长")).to_be_visible()
    expect(result.get_by_role("link", name="0575-88880001")).to_have_attribute(
        "href", "tel:0575-88880001"
    )
    expect(page.get_by_label("社区或派出所名称")).to_have_value("新河社区")
    _fits(page)

    # And tapping the officer opens the officer's card
    result.get_by_role("link", name="王东").click()
    card = page.get_by_test_id("officer-card")
    expect(card.get_by_role("heading", name="王东")).to_be_visible()
    expect(card).to_contain_text("社区民警")
    expect(card).to_contain_text("滨江花园社区")
    expect(card).not_to_contain_text(officer.mobile)
    _fits(page)
    card_url = page.url

    # And the printed QR address of the card counts the scan and lands on the same card
    page.goto(f"{live_server.url}{reverse('directory:officer_scan', args=[officer.card.code])}")
    assert page.url == card_url
    expect(card.get_by_role("heading", name="王东")).to_be_visible()
    assert CardScanDaily.objects.get(officer=officer).scans == 1
    phone.close()
