"""The officer directory (民警公开信息卡): find the community officer and station chief by
community or station name, the card and station pages, QR scans counted per officer and day
(知晓率 proxy), the printable QR sheet and the scan counts for staff.

Issue: "each public officer has a card (name, photo if any, unit, role, communities served,
duty phone if published); citizens find their community officer and station chief by community
name or by a QR code ... Scans are counted per officer."
"""

import datetime
import re
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from minyi.directory.admin import OfficerCardForm
from minyi.directory.models import CardScanDaily, OfficerCard
from minyi.directory.qr import officer_scan_url, qr_svg, unit_scan_url
from minyi.directory.selectors import card_for
from minyi.directory.services import card_scan_record
from minyi.orgs.choices import Position, Role
from minyi.orgs.tests.factories import OfficerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """These tests change officers between two views of a page; the cache has its own test."""
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0


MOBILE_DIGITS = re.compile(r"1[3-9]\d{9}")


def _png_bytes() -> bytes:
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def people(world):
    """Station a2 serves 城东社区 (community officer 王东) and 城西社区 (李西); 赵所长 is its
    chief. Station a1 also has a 城东 officer (a different 城东路社区). Plus a hidden officer."""
    a2 = world.station_a2
    a2.duty_phone, a2.address = "0575-88881234", "城东路 1 号"
    a2.save()
    return {
        "east": OfficerFactory(
            unit=a2, name="王东", communities="城东社区、新河社区", duty_phone="0575-88880001"
        ),
        "west": OfficerFactory(unit=a2, name="李西", communities="城西社区", duty_phone=""),
        "chief": OfficerFactory(unit=a2, name="赵所长", position=Position.CHIEF),
        "hidden": OfficerFactory(unit=a2, name="钱隐", communities="城东社区", is_public=False),
        "left": OfficerFactory(unit=a2, name="孙离", communities="城东社区", is_active=False),
        "a1_east": OfficerFactory(unit=world.station_a1, name="周路", communities="城东路社区"),
    }


def _search(client, q):
    return client.get(reverse("directory:search"), {"q": q})


# --- Search -------------------------------------------------------------------------------


def test_search_by_community_finds_the_community_officer_and_the_chief(client, people, world):
    response = _search(client, "新河社区")
    assert response.status_code == 200
    html = response.content.decode()
    # Then station a2 is listed with 王东 (serves 新河社区) and the chief, not 李西
    assert world.station_a2.name in html
    assert "王东" in html and "赵所长" in html
    assert "李西" not in html
    assert world.station_a1.name not in html
    # With the published duty phone as a tel: link, and never a personal mobile
    assert 'href="tel:0575-88880001"' in html
    assert not MOBILE_DIGITS.search(html)
    # And every listed officer now has a stable card code, linked from the result
    east_card = OfficerCard.objects.get(officer=people["east"])
    assert reverse("directory:officer_card", args=[east_card.code]) in html


def test_search_matches_every_station_serving_the_words(client, people, world):
    html = _search(client, "城东").content.decode()
    assert world.station_a2.name in html and world.station_a1.name in html
    assert "王东" in html and "周路" in html
    assert "李西" not in html  # serves 城西, not 城东


def test_search_by_station_name_lists_its_community_officers_and_chief(client, people, world):
    html = _search(client, "甲二派出所").content.decode()
    assert "王东" in html and "李西" in html and "赵所长" in html
    assert world.officers["a1"].name not in html


def test_hidden_and_departed_officers_and_closed_units_are_not_listed(client, people, world):
    html = _search(client, "城东社区").content.decode()
    assert "钱隐" not in html  # not public
    assert "孙离" not in html  # no longer in post
    # When the station is deactivated, its people disappear from the directory
    world.station_a2.is_active = False
    world.station_a2.save()
    html = _search(client, "城东社区").content.decode()
    assert "王东" not in html and "赵所长" not in html
    assert 'data-testid="no-result"' in html


def test_empty_query_lists_districts_and_their_stations(client, people, world):
    response = client.get(reverse("directory:search"))
    html = response.content.decode()
    assert response.status_code == 200
    assert world.district_a.name in html and world.district_b.name in html
    assert reverse("directory:unit_card", args=[world.station_b1.code]) in html
    assert world.city.name not in html  # bureaus are groups, not stations


@pytest.mark.parametrize("q", ["东", "城" * 31])
def test_too_short_or_too_long_a_query_is_a_hint_not_an_error(client, people, q):
    response = _search(client, q)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="hint"' in html
    assert "王东" not in html


def test_search_query_count_does_not_grow_with_officers(client, world):
    for _n in range(3):
        OfficerFactory(unit=world.station_a2, communities="湖畔社区")
    _search(client, "湖畔")  # makes the cards
    with CaptureQueriesContext(connection) as few:
        _search(client, "湖畔")
    for _n in range(12):
        OfficerFactory(unit=world.station_a2, communities="湖畔社区")
        OfficerFactory(unit=world.station_a1, communities="湖畔社区", position=Position.CHIEF)
    with CaptureQueriesContext(connection) as first_time:
        _search(client, "湖畔")  # 24 new cards made in bulk
    with CaptureQueriesContext(connection) as many:
        _search(client, "湖畔")
    assert len(many) == len(few)
    assert len(first_time) <= len(few) + 3
    assert OfficerCard.objects.count() == 27


# --- Cards --------------------------------------------------------------------------------


def test_officer_card_shows_the_public_card_only(client, people, world):
    officer = people["east"]
    card = card_for(officer)
    response = client.get(reverse("directory:officer_card", args=[card.code]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "王东" in html and "社区民警" in html and "城东社区、新河社区" in html
    assert world.station_a2.name in html and 'href="tel:0575-88880001"' in html
    assert officer.mobile not in html and officer.id_number not in html
    assert not MOBILE_DIGITS.search(html)
    # The same officer keeps the same code
    assert card_for(officer).code == card.code


@pytest.mark.parametrize("who", ["hidden", "left"])
def test_card_of_a_hidden_or_departed_officer_is_a_chinese_404(client, people, who):
    card = card_for(people[who])
    response = client.get(reverse("directory:officer_card", args=[card.code]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "未找到" in html and people[who].name not in html
    assert client.get(reverse("directory:officer_photo", args=[card.code])).status_code == 404


def test_unknown_card_code_is_404(client, world):
    assert client.get(reverse("directory:officer_card", args=["nope"])).status_code == 404


def test_photo_is_served_with_its_type_while_the_officer_is_public(client, people):
    # Given a published photo on 王东's card
    card = card_for(people["east"])
    card.photo.save("x.png", ContentFile(_png_bytes()), save=False)
    card.photo_type = "image/png"
    card.save()
    photo_url = reverse("directory:officer_photo", args=[card.code])
    # Then the directory shows the thumbnail and the photo is served as a PNG
    assert photo_url in _search(client, "新河").content.decode()
    response = client.get(photo_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == _png_bytes()
    # When the officer is no longer public, the photo is gone too
    people["east"].is_public = False
    people["east"].save()
    assert client.get(photo_url).status_code == 404


def test_card_without_photo_has_no_photo(client, people):
    card = card_for(people["east"])
    assert client.get(reverse("directory:officer_photo", args=[card.code])).status_code == 404


def test_unit_card_lists_chief_and_community_officers(client, people, world):
    response = client.get(reverse("directory:unit_card", args=[world.station_a2.code]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "城东路 1 号" in html and 'href="tel:0575-88881234"' in html
    assert "赵所长" in html and "王东" in html and "城西社区" in html
    assert "钱隐" not in html and "孙离" not in html
    world.station_a2.is_active = False
    world.station_a2.save()
    assert client.get(reverse("directory:unit_card", args=["TA02"])).status_code == 404


# --- Scans --------------------------------------------------------------------------------


def _scans(**filters):
    return list(CardScanDaily.objects.filter(**filters).values_list("scans", flat=True))


def test_officer_scan_counts_each_person_once_a_day_and_redirects_to_the_card(
    client, people, world
):
    card = card_for(people["east"])
    scan_url = reverse("directory:officer_scan", args=[card.code])
    # When a citizen scans the printed code
    response = client.get(scan_url)
    # Then they land on the card and the scan is counted for the officer and station
    assert response.status_code == 302
    assert response.url == reverse("directory:officer_card", args=[card.code])
    assert _scans(officer=people["east"], unit=world.station_a2) == [1]
    # The same phone scanning again today is not another person
    client.get(scan_url)
    assert _scans(officer=people["east"]) == [1]
    # Another phone is
    client.get(scan_url, REMOTE_ADDR="198.51.100.7")
    assert _scans(officer=people["east"]) == [2]
    # A HEAD request or a link previewer does not count
    assert client.head(scan_url).status_code == 302
    client.get(scan_url, headers={"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"})
    assert _scans(officer=people["east"]) == [2]
    # Nor does anything else than a read
    assert client.post(scan_url).status_code == 405
    assert _scans(officer=people["east"]) == [2]


def test_scan_of_a_hidden_officer_is_404_and_not_counted(client, people):
    card = card_for(people["hidden"])
    assert client.get(reverse("directory:officer_scan", args=[card.code])).status_code == 404
    assert not CardScanDaily.objects.exists()


def test_station_scan_counts_for_the_station_and_redirects(client, people, world):
    response = client.get(reverse("directory:unit_scan", args=[world.station_a2.code]))
    assert response.status_code == 302
    assert response.url == reverse("directory:unit_card", args=[world.station_a2.code])
    assert _scans(unit=world.station_a2, officer__isnull=True) == [1]
    assert client.get(reverse("directory:unit_scan", args=["nope"])).status_code == 404


def test_card_scan_record_creates_the_day_row_then_adds_to_it(world):
    officer, unit = world.officers["a2"], world.station_a2
    today = timezone.now()
    # A new day: the first call creates the row, the second finds it
    card_scan_record(unit_id=unit.pk, officer_id=officer.pk, now=today)
    card_scan_record(unit_id=unit.pk, officer_id=officer.pk, now=today)
    card_scan_record(unit_id=unit.pk, now=today)
    card_scan_record(unit_id=unit.pk, officer_id=officer.pk, now=today + datetime.timedelta(1))
    rows = CardScanDaily.objects.values_list("day", "officer_id", "scans")
    day = timezone.localdate(today)
    assert sorted(rows, key=str) == sorted(
        [
            (day, officer.pk, 2),
            (day, None, 1),
            (day + datetime.timedelta(1), officer.pk, 1),
        ],
        key=str,
    )


# --- QR -----------------------------------------------------------------------------------


def test_qr_codes_encode_the_public_scan_addresses(settings, world):
    settings.PUBLIC_BASE_URL = "https://minyi.example.cn"
    card = card_for(world.officers["a2"])
    assert officer_scan_url(card) == f"https://minyi.example.cn/c/q/{card.code}"
    assert unit_scan_url(world.station_a2) == "https://minyi.example.cn/c/qu/TA02"
    svg = qr_svg(officer_scan_url(card), label="甲<二>")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("aria-label") == "甲<二>"
    assert root.get("width") is None  # sized by the stylesheet
    assert all(el.get("id") is None for el in root.iter())  # many per page: no repeated ids
    assert root.find("{http://www.w3.org/2000/svg}path").get("d")
    # Different data, different code
    assert qr_svg(unit_scan_url(world.station_a2)) != qr_svg(officer_scan_url(card))


# --- Staff: print sheet and scan counts ----------------------------------------------------


def test_print_sheet_has_a_card_per_public_officer_and_the_station(client, settings, people, world):
    settings.PUBLIC_BASE_URL = "https://minyi.example.cn"
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    response = client.get(reverse("directory:cards"))  # default: the user's own unit
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="officer-print-card"') == 4  # a2's officer, 王东, 李西, 赵所长
    assert html.count('data-testid="station-print-card"') == 1
    assert "钱隐" not in html and "孙离" not in html
    assert "css/cards.css" in html
    for officer in (people["east"], people["chief"], world.officers["a2"]):
        assert f"https://minyi.example.cn/c/q/{officer.card.code}" in html
    assert "https://minyi.example.cn/c/qu/TA02" in html
    # Five QR codes on the sheet (the console's menu icons are outside <main>)
    assert html.split("<main", 1)[1].count("<svg ") == 5


def test_district_leader_may_print_a_station_below_but_not_elsewhere(client, people, world):
    client.force_login(world.user("a", Role.UNIT_LEADER))
    url = reverse("directory:cards")
    assert "王东" in client.get(url, {"unit": world.station_a2.pk}).content.decode()
    assert client.get(url, {"unit": world.station_b1.pk}).status_code == 404
    assert client.get(url, {"unit": "x"}).status_code == 404


def test_scan_counts_by_period_with_unscanned_officers_listed(client, people, world):
    now = timezone.now()
    for _ in range(3):
        card_scan_record(unit_id=world.station_a2.pk, officer_id=people["east"].pk, now=now)
    card_scan_record(
        unit_id=world.station_a2.pk,
        officer_id=people["chief"].pk,
        now=now - datetime.timedelta(days=40),
    )
    card_scan_record(unit_id=world.station_a2.pk, now=now)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    url = reverse("directory:scans")

    def officer_rows(response):
        table = response.content.decode().split('data-testid="officer-scans"')[1]
        return re.findall(r"<tr[^>]*><td>([^<]+)</td>.*?<td class=\"num\">(\d+)</td>", table)

    # Last 30 days: 王东 3, everyone else (the chief's scan is older) 0 but listed
    rows = officer_rows(client.get(url))
    assert rows[0] == ("王东", "3")
    assert {name for name, _ in rows} == {"王东", "李西", "赵所长", world.officers["a2"].name}
    assert dict(rows)["赵所长"] == "0"
    # Last 90 days: the chief's scan counts
    assert dict(officer_rows(client.get(url, {"days": 90})))["赵所长"] == "1"
    # Fewest first puts an unscanned officer on top
    assert officer_rows(client.get(url, {"sort": "asc"}))[0][1] == "0"
    html = client.get(url).content.decode()
    assert 'data-testid="officers-scanned">1 / 4<' in html
    station_row = html.split('data-testid="station-scans"')[1].split(world.station_a2.name)[1]
    assert re.match(
        r'</td><td class="num">1</td><td class="num">3</td><td class="num">4</td>', station_row
    )


def test_scan_counts_query_count_is_pinned(client, world):
    client.force_login(world.user("city", Role.UNIT_LEADER))
    url = reverse("directory:scans")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _n in range(20):
        officer = OfficerFactory(unit=world.station_b1)
        card_scan_record(unit_id=world.station_b1.pk, officer_id=officer.pk)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


# --- Admin: the photo upload ----------------------------------------------------------------


def test_admin_photo_must_really_be_a_jpg_or_png(world):
    officer = world.officers["a2"]
    fake = SimpleUploadedFile("photo.png", b"<html>not an image</html>", "image/png")
    form = OfficerCardForm(data={"officer": officer.pk}, files={"photo": fake})
    assert not form.is_valid()
    assert "JPG" in str(form.errors["photo"])

    real = SimpleUploadedFile("我的照片.png", _png_bytes(), "application/octet-stream")
    form = OfficerCardForm(data={"officer": officer.pk}, files={"photo": real})
    assert form.is_valid(), form.errors
    card = form.save()
    assert card.photo_type == "image/png"
    assert card.photo.name == f"officer-photos/{card.code}.png"


def test_a_directory_page_is_rendered_once_then_served_from_the_cache(client, world, settings):
    # Given a public officer's card, opened once
    settings.PUBLIC_PAGE_CACHE_SECONDS = 60
    officer = world.officers["a2"]
    url = reverse("directory:officer_card", args=[card_for(officer).code])
    first = client.get(url)
    assert first.status_code == 200 and officer.name in first.content.decode()
    # When it is opened again, no query runs and the same page comes back
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert again.status_code == 200 and again.content == first.content
    assert len(queries) == 0
    # And with the cache off, every view reads the database
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert len(queries) > 0
