"""The citizen pages of community safety (/c/community/): the finder, a community's page with
aggregates only, subscribing to its notices with a one-time code, and the officer directory
card showing published responsibility lists."""

import re
from datetime import date, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minyi.community.models import (
    PUBLIC_MIN_HOUSEHOLDS,
    AreaColour,
    Colour,
    CommunityOfficer,
    Incident,
    IncidentCategory,
    NoticeKind,
    NoticeSubscription,
)
from minyi.community.tests.factories import make_area, make_grid, make_population
from minyi.community.work import notice_compose, notice_send, public_trend, subscribe
from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash, mask_mobile
from minyi.directory.selectors import card_for
from minyi.integrations.sms.models import OptOut, OutboundSms, SmsPurpose
from minyi.orgs.choices import Role
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_mark_verified

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


def at(day: date, hour: int = 10):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def page(client, area) -> str:
    response = client.get(reverse("community_public:community", args=[area.code]))
    assert response.status_code == 200
    return response.content.decode()


def subscribe_url(area):
    return reverse("community_public:subscribe", args=[area.code])


def latest_code(mobile=MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


def _incidents(grid, n, *, month=date(2026, 10, 1)):
    for i in range(n):
        Incident.objects.create(
            area=grid["building"],
            community=grid["a1"],
            category=IncidentCategory.BURGLARY,
            occurred_at=at(month.replace(day=5 + i), 3),
            lng=120.581234,
            lat=30.001234,
            external_id=f"JQ2026{i:06d}",
        )


def _officer_post(world, area, *, duties="每月走访出租房屋\n组织反诈宣传", published=True):
    officer = world.officers["a1"]
    officer.duty_phone = "0575-85551234"
    officer.save()
    return CommunityOfficer.objects.create(
        area=area, officer=officer, duties=duties, published=published
    )


def test_the_finder_lists_communities_by_name(client, world):
    grid = make_grid(world)
    html = client.get(reverse("community_public:community_index"), {"q": "甲一"}).content.decode()
    assert reverse("community_public:community", args=[grid["a1"].code]) in html
    assert "甲二社区" not in html
    # Groups and buildings are not communities.
    assert "第一居民小组" not in html
    html = client.get(reverse("community_public:community_index")).content.decode()
    assert "甲一社区" not in html  # nothing listed before a search


def test_the_community_page_shows_aggregates_only(client, world):
    grid = make_grid(world)
    make_population(grid["a1"], date(2026, 1, 1), registered=3000, floating=1000)
    _incidents(grid, 4)
    AreaColour.objects.create(
        area=grid["a1"],
        month=date(2026, 11, 1),
        signal=Colour.ORANGE,
        colour=Colour.ORANGE,
        rule_version="t",
    )
    _officer_post(world, grid["a1"])
    notice = notice_compose(
        actor=world.user("a1", Role.SUPERVISOR),
        area=grid["a1"],
        kind=NoticeKind.ALERT,
        title="外出锁门提醒",
        body="外出请锁好门窗。",
    )
    subscribe(grid["a1"], MOBILE)
    notice_send(actor=world.user("a1", Role.SUPERVISOR), notice=notice, now=at(date(2026, 11, 2)))

    html = page(client, grid["a1"])
    assert "甲一社区" in html and "甲一派出所" in html
    assert "本社区近 12 个月治安状况：<strong>需关注</strong>" in html
    assert 'data-testid="community-trend"' in html
    assert "每月走访出租房屋" in html and "0575-85551234" in html
    assert "外出锁门提醒" in html
    # Nothing below the community: no building, no point, no time, no category, no number.
    for secret in ("1 幢", "第一居民小组", "120.58", "30.001", "JQ2026", "入室盗窃", "03:00"):
        assert secret not in html, secret
    assert MOBILE not in html and mask_mobile(MOBILE) not in html


def test_the_trend_is_incidents_per_10000_by_month(world):
    grid = make_grid(world)
    make_population(grid["a1"], date(2026, 1, 1), registered=3000, floating=1000)
    _incidents(grid, 4)
    trend = public_trend(grid["a1"], today=date(2026, 12, 3))
    assert len(trend) == 12
    assert trend[0]["month"] == date(2025, 12, 1) and trend[-1]["month"] == date(2026, 11, 1)
    by_month = {t["month"]: t["rate"] for t in trend}
    assert by_month[date(2026, 10, 1)] == 10.0  # 4 / 4,000 × 10,000
    assert by_month[date(2026, 11, 1)] == 0.0
    # Before the first known population, the earliest known one is used.
    assert by_month[date(2025, 12, 1)] == 0.0


def test_the_trend_counts_groups_when_the_community_has_no_population_of_its_own(world):
    # The colours' rule: without its own rows, a community is the sum of its groups' (a
    # building inside a group is not added on top)
    grid = make_grid(world)
    make_population(grid["group"], date(2026, 1, 1), registered=3000, floating=1000)
    make_population(grid["building"], date(2026, 1, 1), registered=300, floating=100)
    _incidents(grid, 4)
    trend = {t["month"]: t["rate"] for t in public_trend(grid["a1"], today=date(2026, 12, 3))}
    assert trend[date(2026, 10, 1)] == 10.0  # 4 / 4,000 × 10,000, not 4 / 4,400


def test_a_small_community_shows_only_its_officers(client, world):
    small = make_area(world.station_a1, name="小社区", households=PUBLIC_MIN_HOUSEHOLDS - 1)
    AreaColour.objects.create(
        area=small, month=date(2026, 11, 1), signal=Colour.RED, colour=Colour.RED, rule_version="t"
    )
    _officer_post(world, small)
    html = page(client, small)
    assert "每月走访出租房屋" in html
    assert "治安状况" not in html
    assert 'data-testid="community-trend"' not in html
    assert 'data-testid="community-notices"' not in html
    assert "重点关注" not in html


def test_unpublished_or_private_officers_are_not_shown(client, world):
    grid = make_grid(world)
    _officer_post(world, grid["a1"], published=False)
    assert "每月走访出租房屋" not in page(client, grid["a1"])
    CommunityOfficer.objects.update(published=True)
    world.officers["a1"].is_public = False
    world.officers["a1"].save()
    assert "每月走访出租房屋" not in page(client, grid["a1"])


def test_an_unknown_community_or_a_building_is_404(client, world):
    grid = make_grid(world)
    for code in ("NOPE", grid["building"].code):
        response = client.get(reverse("community_public:community", args=[code]))
        assert response.status_code == 404
        assert client.get(reverse("community_public:subscribe", args=[code])).status_code == 404


# --- Subscribing (订阅) ----------------------------------------------------------------------


def test_a_citizen_subscribes_with_a_code_and_unsubscribes(client, world):
    area = make_grid(world)["a1"]
    response = client.post(subscribe_url(area), {"mobile": MOBILE, "action": "send_code"})
    assert response.status_code == 200
    assert mask_mobile(MOBILE) in response.content.decode()
    response = client.post(
        subscribe_url(area), {"mobile": MOBILE, "code": latest_code(), "action": "subscribe"}
    )
    assert response.status_code == 302
    row = NoticeSubscription.objects.get(area=area)
    assert row.mobile_hash == lookup_hash("mobile", MOBILE) and row.stopped_at is None
    html = client.get(subscribe_url(area)).content.decode()
    assert 'data-testid="subscribed"' in html
    assert mask_mobile(MOBILE) in html and MOBILE not in html
    # The same proven session unsubscribes and subscribes again without a second code.
    assert client.post(subscribe_url(area), {"action": "unsubscribe"}).status_code == 302
    row.refresh_from_db()
    assert row.stopped_at is not None
    assert 'data-testid="not-subscribed"' in client.get(subscribe_url(area)).content.decode()
    client.post(subscribe_url(area), {"action": "subscribe"})
    row.refresh_from_db()
    assert row.stopped_at is None
    assert NoticeSubscription.objects.count() == 1


def test_a_citizen_unsubscribes_from_a_fresh_session_with_a_code(client, world):
    area = make_grid(world)["a1"]
    subscribe(area, MOBILE)
    client.post(subscribe_url(area), {"mobile": MOBILE, "action": "send_code"})
    response = client.post(
        subscribe_url(area), {"mobile": MOBILE, "code": latest_code(), "action": "unsubscribe"}
    )
    assert response.status_code == 302
    assert NoticeSubscription.objects.get().stopped_at is not None


def test_a_wrong_code_subscribes_nobody(client, world):
    area = make_grid(world)["a1"]
    client.post(subscribe_url(area), {"mobile": MOBILE, "action": "send_code"})
    wrong = "000000" if latest_code() != "000000" else "111111"
    response = client.post(
        subscribe_url(area), {"mobile": MOBILE, "code": wrong, "action": "subscribe"}
    )
    assert response.status_code == 200
    assert not NoticeSubscription.objects.exists()


def test_an_opted_out_mobile_is_told_and_not_subscribed(client, world):
    area = make_grid(world)["a1"]
    OptOut.objects.create(mobile_hash=lookup_hash("mobile", MOBILE), source="sms")
    with pytest.raises(ApplicationError) as exc:
        subscribe(area, MOBILE)
    assert exc.value.code == "sms_opted_out"
    client.post(subscribe_url(area), {"mobile": MOBILE, "action": "send_code"})
    response = client.post(
        subscribe_url(area), {"mobile": MOBILE, "code": latest_code(), "action": "subscribe"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="opted-out"' in html and 'data-testid="subscribed"' not in html
    assert "已退订公安机关发送的全部通知短信" in html and area.station.name in html
    assert 'data-testid="not-subscribed"' in html
    # The proven session asking again gets the same answer; nothing is stored either way.
    response = client.post(subscribe_url(area), {"action": "subscribe"})
    assert response.status_code == 200
    assert 'data-testid="opted-out"' in response.content.decode()
    assert not NoticeSubscription.objects.exists()
    # The global opt-out stays: surveys stay stopped too.
    assert OptOut.objects.filter(mobile_hash=lookup_hash("mobile", MOBILE)).exists()


def test_a_mobile_proven_for_another_community_or_purpose_does_not_count(world):
    grid = make_grid(world)
    for purpose, subject in (
        (OtpPurpose.NOTICE_SUBSCRIBE, grid["a2"].code),
        (OtpPurpose.ACTION_FOLLOW, grid["a1"].code),
    ):
        client = Client()
        session = client.session
        session_mark_verified(session, purpose=purpose, mobile=MOBILE, subject=subject)
        session.save()
        client.cookies["sessionid"] = session.session_key
        client.post(subscribe_url(grid["a1"]), {"action": "subscribe"})
        assert "获取验证码" in client.get(subscribe_url(grid["a1"])).content.decode()
    assert not NoticeSubscription.objects.exists()


# --- The officer directory card ---------------------------------------------------------------


def test_the_directory_card_shows_published_duties_only(client, world):
    grid = make_grid(world)
    second = make_area(world.station_a1, name="甲一第二社区")
    _officer_post(world, grid["a1"], duties="公开的职责一\n公开的职责二")
    CommunityOfficer.objects.create(
        area=second, officer=world.officers["a1"], duties="内部的职责", published=False
    )
    card = card_for(world.officers["a1"])
    html = client.get(reverse("directory:officer_card", args=[card.code])).content.decode()
    assert "公开的职责一" in html and "公开的职责二" in html
    assert "内部的职责" not in html
    assert reverse("community_public:community", args=[grid["a1"].code]) in html


def test_the_portal_home_links_to_the_finder(client, world):
    html = client.get(reverse("portal:home")).content.decode()
    assert reverse("community_public:community_index") in html
