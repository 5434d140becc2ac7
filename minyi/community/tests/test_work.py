"""Community officers' work (社区民警工作): responsibility lists, household visits and their
coverage, and safety notices texted to subscribers (opt-outs, quiet hours, daily limit)."""

import re
from datetime import date, datetime, timedelta
from html import unescape

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from minyi.community.models import (
    AreaLevel,
    CommunityOfficer,
    NoticeKind,
    NoticeSubscription,
    SafetyNotice,
    Visit,
    VisitTopic,
)
from minyi.community.tests.factories import make_area, make_grid
from minyi.community.work import (
    NOTICE_DAILY_LIMIT,
    NOTICE_STOP,
    duty_save,
    notice_compose,
    notice_send,
    subscribe,
    visit_coverage,
    visit_log,
)
from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash, mask_mobile
from minyi.integrations.sms.models import OptOut, OutboundSms, SmsPurpose
from minyi.integrations.sms.services import inbound_receive, sms_enqueue
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import OfficerFactory
from minyi.perception.services.replies import reply_record_sms

pytestmark = pytest.mark.django_db

NOV = date(2026, 11, 1)


def at(day: date, hour: int, minute: int = 0):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def _visit(world, area, *, user=None, day=date(2026, 11, 3), households=1, **extra):
    return visit_log(
        actor=user or world.user("a1", Role.SUPERVISOR),
        area=area,
        officer=extra.pop("officer", None),
        visited_on=day,
        topic=extra.pop("topic", VisitTopic.SAFETY),
        households=households,
        now=at(date(2026, 12, 1), 10),
        **extra,
    )


# --- Responsibility lists (责任清单) ---------------------------------------------------------


def test_a_community_officer_is_listed_edited_and_removed(client, world):
    grid = make_grid(world)
    client.force_login(world.user("a1", Role.SUPERVISOR))
    officer = world.officers["a1"]
    response = client.post(
        reverse("community:duty_new", args=[grid["a1"].pk]),
        {"officer": officer.pk, "duties": "走访出租房屋\n\n  反诈宣传  ", "published": "on"},
    )
    assert response.status_code == 302
    post = CommunityOfficer.objects.get(area=grid["a1"])
    assert post.duties == "走访出租房屋\n反诈宣传"
    assert post.published
    html = client.get(reverse("community:duty_list")).content.decode()
    assert "走访出租房屋" in html and "甲二社区" not in html
    response = client.post(
        reverse("community:duty_edit", args=[post.pk]), {"officer": officer.pk, "duties": "x"}
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert not post.published
    client.post(reverse("community:duty_delete", args=[post.pk]))
    assert not CommunityOfficer.objects.exists()


def test_only_officers_of_the_communitys_station_are_offered(client, world):
    grid = make_grid(world)
    client.force_login(world.user("a1", Role.SUPERVISOR))
    response = client.post(
        reverse("community:duty_new", args=[grid["a1"].pk]),
        {"officer": world.officers["a2"].pk, "duties": "x", "published": "on"},
    )
    assert response.status_code == 400
    assert not CommunityOfficer.objects.exists()
    # The service refuses it too, whatever a form offers.
    with pytest.raises(ApplicationError) as exc:
        duty_save(
            actor=world.user("a", Role.SUPERVISOR),
            community=grid["a1"],
            officer=world.officers["a2"],
            duties="x",
            published=True,
            since=None,
        )
    assert exc.value.code == "officer_out_of_station"


def test_another_stations_community_cannot_be_given_officers(client, world):
    grid = make_grid(world)
    client.force_login(world.user("b1", Role.SUPERVISOR))
    assert client.get(reverse("community:duty_new", args=[grid["a2"].pk])).status_code == 404


# --- Household visits (走访) -----------------------------------------------------------------


def test_a_visit_is_logged_listed_edited_done_and_deleted(client, world):
    grid = make_grid(world)
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    response = client.post(
        reverse("community:visit_new"),
        {
            "area": grid["building"].pk,
            "officer": world.officers["a1"].pk,
            "visited_on": "2026-11-03",
            "topic": VisitTopic.FRAUD,
            "households": 4,
            "note": "住户王某（电话 138 0013 8000）反映楼道灯坏",
            "follow_up": "联系物业，回告 13800138000",
        },
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.community == grid["a1"]
    assert visit.created_by == world.user("a1", Role.UNIT_LEADER)
    html = client.get(reverse("community:visit_list")).content.decode()
    assert "楼道灯坏" in html
    # Mobiles in the free text are masked on screen.
    assert "13800138000" not in html and "0013 8000" not in html
    assert "138****8000" in html
    # Filters
    url = reverse("community:visit_list")
    assert "楼道灯坏" in client.get(url, {"topic": "fraud", "month": "2026-11"}).content.decode()
    assert "楼道灯坏" not in client.get(url, {"topic": "safety"}).content.decode()
    assert "楼道灯坏" not in client.get(url, {"month": "2026-10"}).content.decode()
    assert "楼道灯坏" in client.get(url, {"pending": "on"}).content.decode()
    # Edit
    response = client.post(
        reverse("community:visit_edit", args=[visit.pk]),
        {
            "area": grid["group"].pk,
            "visited_on": "2026-11-04",
            "topic": VisitTopic.SAFETY,
            "households": 2,
            "note": "改",
            "follow_up": "联系物业",
        },
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.area, visit.households, visit.officer) == (grid["group"], 2, None)
    # Follow-up done, once
    assert client.post(reverse("community:visit_done", args=[visit.pk])).status_code == 302
    visit.refresh_from_db()
    assert visit.follow_up_done_at is not None
    assert "联系物业" not in client.get(url, {"pending": "on"}).content.decode()
    assert client.post(reverse("community:visit_done", args=[visit.pk])).status_code == 409
    # Delete
    assert client.post(reverse("community:visit_delete", args=[visit.pk])).status_code == 302
    assert not Visit.objects.exists()


def _textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    return unescape(match.group(1)).removeprefix("\n")


def test_the_visit_edit_form_masks_numbers_and_keeps_them_when_untouched(client, world):
    grid = make_grid(world)
    note = "住户王某（电话 138 0013 8000）反映楼道灯坏\n次日再访"
    follow_up = "联系物业，回告 13900139000"
    visit = _visit(
        world, grid["building"], officer=world.officers["a1"], note=note, follow_up=follow_up
    )
    client.force_login(world.user("a1", Role.SUPERVISOR))
    url = reverse("community:visit_edit", args=[visit.pk])
    html = client.get(url).content.decode()
    assert "0013 8000" not in html and "13900139000" not in html
    assert "8000" in html and "139****9000" in html
    fields = {
        "area": grid["building"].pk,
        "officer": world.officers["a1"].pk,
        "visited_on": "2026-11-04",
        "topic": VisitTopic.SAFETY,
        "households": 3,
        # As a browser submits the textareas: unchanged, with CRLF line breaks.
        "note": _textarea(html, "note").replace("\n", "\r\n"),
        "follow_up": _textarea(html, "follow_up"),
    }
    assert client.post(url, fields).status_code == 302
    visit.refresh_from_db()
    assert (visit.note, visit.follow_up, visit.households) == (note, follow_up, 3)
    # A field the officer rewrites is saved as typed.
    assert client.post(url, {**fields, "follow_up": "已联系物业"}).status_code == 302
    visit.refresh_from_db()
    assert (visit.note, visit.follow_up) == (note, "已联系物业")


def test_a_sibling_station_sees_and_touches_nothing_of_anothers_visits(client, world):
    grid = make_grid(world)
    visit = _visit(world, grid["a2"], user=world.user("a2", Role.SUPERVISOR), note="甲二走访")
    client.force_login(world.user("b1", Role.SUPERVISOR))
    assert "甲二走访" not in client.get(reverse("community:visit_list")).content.decode()
    assert client.get(reverse("community:visit_edit", args=[visit.pk])).status_code == 404
    assert client.post(reverse("community:visit_delete", args=[visit.pk])).status_code == 404
    assert client.post(reverse("community:visit_done", args=[visit.pk])).status_code == 404
    form = client.get(reverse("community:visit_new")).content.decode()
    assert "甲二社区" not in form and "乙一社区" in form
    response = client.post(
        reverse("community:visit_new"),
        {"area": grid["a2"].pk, "visited_on": "2026-11-03", "topic": "safety", "households": 1},
    )
    assert response.status_code == 400
    assert Visit.objects.count() == 1
    with pytest.raises(ApplicationError):
        _visit(world, grid["a2"], user=world.user("b1", Role.SUPERVISOR))


def test_a_visit_refuses_a_segment_an_outside_officer_and_a_future_date(world):
    grid = make_grid(world)
    with pytest.raises(ApplicationError) as exc:
        _visit(world, grid["segment"])
    assert exc.value.field == "area"
    with pytest.raises(ApplicationError) as exc:
        _visit(world, grid["building"], officer=world.officers["a2"])
    assert exc.value.field == "officer"
    with pytest.raises(ApplicationError) as exc:
        _visit(world, grid["building"], day=date(2026, 12, 2))
    assert exc.value.field == "visited_on"


def test_coverage_counts_buildings_visited_at_least_once_and_household_visits(world):
    grid = make_grid(world)  # 甲一社区: one group with building 1 幢 (6 households)
    buildings = [grid["building"]] + [
        make_area(
            world.station_a1,
            level=AreaLevel.BUILDING,
            parent=grid["group"],
            name=f"{n} 幢",
            households=10,
        )
        for n in (2, 3, 4)
    ]
    officer = world.officers["a1"]
    # November: building 1 twice, building 2 once, the group itself once (no building).
    _visit(world, buildings[0], officer=officer, households=3)
    _visit(world, buildings[0], officer=officer, day=date(2026, 11, 20), households=2)
    _visit(world, buildings[1], officer=officer, households=5)
    _visit(world, grid["group"], officer=officer, households=10)
    # October: one building; December's first day is outside November.
    _visit(world, buildings[3], officer=officer, day=date(2026, 10, 31))
    _visit(world, buildings[2], officer=officer, day=date(2026, 12, 1))

    rows = {r.community.code: r for r in visit_coverage(world.user("a1", Role.SUPERVISOR), NOV)}
    assert set(rows) == {"C-A1"}  # a1's scope only
    row = rows["C-A1"]
    assert row.unit_level == AreaLevel.BUILDING
    assert (row.units, row.units_visited) == (4, 2)
    assert row.share == 0.5
    assert (row.households_visited, row.households) == (20, 100)
    assert row.household_share == 0.2
    assert row.visits == 4
    assert row.trend[-2:] == [(date(2026, 10, 1), 0.25), (NOV, 0.5)]
    assert len(row.trend) == 6 and row.trend[0] == (date(2026, 6, 1), 0.0)


def test_coverage_counts_groups_when_a_community_has_no_buildings(world):
    grid = make_grid(world)
    groups = [
        make_area(world.station_a2, level=AreaLevel.GROUP, parent=grid["a2"], households=20)
        for _ in range(3)
    ]
    user = world.user("a2", Role.SUPERVISOR)
    _visit(world, groups[0], user=user)
    _visit(world, grid["a2"], user=user)  # the community itself counts for no group
    row = visit_coverage(user, NOV)[0]
    assert row.unit_level == AreaLevel.GROUP
    assert (row.units, row.units_visited) == (3, 1)
    assert abs(row.share - 1 / 3) < 1e-9


def test_coverage_page_shows_the_table_for_the_month(client, world):
    grid = make_grid(world)
    _visit(world, grid["building"])
    client.force_login(world.user("a1", Role.SUPERVISOR))
    html = client.get(reverse("community:visit_coverage"), {"month": "2026-11"}).content.decode()
    assert "甲一社区" in html and "1 / 1" in html and "100.0%" in html
    assert "甲二社区" not in html


def test_a_community_without_officer_work_permission_sees_no_coverage(world):
    make_grid(world)
    assert visit_coverage(world.user("a1", Role.EVALUATOR), NOV) == []


# --- Safety notices (安全提醒) ---------------------------------------------------------------

MOBILES = {
    "plain": "13800000001",
    "opted_out": "13800000002",
    "stopped": "13800000003",
    "busy": "13800000004",
}


def _subscribers(area):
    for mobile in MOBILES.values():
        subscribe(area, mobile)
    NoticeSubscription.objects.filter(mobile_hash=lookup_hash("mobile", MOBILES["stopped"])).update(
        stopped_at=timezone.now()
    )
    OptOut.objects.create(mobile_hash=lookup_hash("mobile", MOBILES["opted_out"]), source="sms")


def _notice(world, area, user=None):
    return notice_compose(
        actor=user or world.user("a1", Role.SUPERVISOR),
        area=area,
        kind=NoticeKind.ALERT,
        title="近期电动车被盗多发",
        body="请将电动车停入车棚并加装防盗锁。",
    )


def _sent_to():
    return {
        m.to_mobile
        for m in OutboundSms.objects.filter(purpose=SmsPurpose.SAFETY_NOTICE).order_by("id")
    }


def test_a_notice_goes_to_active_subscribers_skipping_opt_outs_and_the_daily_limit(world):
    grid = make_grid(world)
    _subscribers(grid["a1"])
    day = date(2026, 11, 10)
    # The busy number already has the day's limit from other communities' notices.
    for _ in range(NOTICE_DAILY_LIMIT):
        sms_enqueue(
            mobile=MOBILES["busy"],
            body="其他社区",
            purpose=SmsPurpose.SAFETY_NOTICE,
            not_before=at(day, 9),
        )
    before = set(OutboundSms.objects.values_list("pk", flat=True))
    notice = notice_send(
        actor=world.user("a1", Role.SUPERVISOR), notice=_notice(world, grid["a1"]), now=at(day, 10)
    )
    new = OutboundSms.objects.exclude(pk__in=before)
    assert [m.to_mobile for m in new] == [MOBILES["plain"]]
    message = new.get()
    assert message.not_before == at(day, 10)
    assert message.body.startswith(settings.SMS_SIGNATURE)
    assert message.body.endswith(NOTICE_STOP)
    assert "电动车被盗" in message.body
    notice.refresh_from_db()
    # opted-out and busy are skipped; a stopped subscription is no recipient at all.
    assert (notice.recipients, notice.skipped) == (1, 2)
    assert notice.sent_at == at(day, 10)


def test_a_notice_is_sent_once(world):
    grid = make_grid(world)
    notice = _notice(world, grid["a1"])
    notice_send(actor=world.user("a1", Role.SUPERVISOR), notice=notice, now=at(NOV, 10))
    with pytest.raises(ApplicationError) as exc:
        notice_send(actor=world.user("a1", Role.SUPERVISOR), notice=notice, now=at(NOV, 11))
    assert exc.value.status == 409


def test_a_notice_written_at_night_leaves_in_the_morning(world):
    grid = make_grid(world)
    subscribe(grid["a1"], MOBILES["plain"])
    notice_send(
        actor=world.user("a1", Role.SUPERVISOR),
        notice=_notice(world, grid["a1"]),
        now=at(date(2026, 11, 10), 22, 30),
    )
    message = OutboundSms.objects.get(purpose=SmsPurpose.SAFETY_NOTICE)
    assert message.not_before == at(date(2026, 11, 11), settings.SURVEY_QUIET_END)


def test_the_daily_limit_counts_across_communities_by_delivery_day(world):
    grid = make_grid(world)
    second = make_area(world.station_a1, name="甲一第二社区")
    user = world.user("a1", Role.SUPERVISOR)
    for area in (grid["a1"], second):
        subscribe(area, MOBILES["plain"])
    day = date(2026, 11, 10)
    sent = []
    for n in range(NOTICE_DAILY_LIMIT + 1):
        area = (grid["a1"], second)[n % 2]
        sent.append(notice_send(actor=user, notice=_notice(world, area), now=at(day, 9 + n)))
    assert [n.recipients for n in sent] == [1] * NOTICE_DAILY_LIMIT + [0]
    assert sent[-1].skipped == 1
    # The next day the number gets notices again.
    notice = notice_send(actor=user, notice=_notice(world, second), now=at(day, 23))
    assert notice.recipients == 1  # leaves on the 11th at 08:00


def test_replying_td_stops_the_notices(world):
    grid = make_grid(world)
    subscribe(grid["a1"], MOBILES["plain"])
    inbound, _ = inbound_receive(
        gateway="t", gateway_message_id="td-1", sender=MOBILES["plain"], text="TD"
    )
    assert reply_record_sms(inbound_id=inbound.pk) == "opted_out"
    notice = notice_send(
        actor=world.user("a1", Role.SUPERVISOR),
        notice=_notice(world, grid["a1"]),
        now=at(NOV, 10),
    )
    assert (notice.recipients, notice.skipped) == (0, 1)
    assert not OutboundSms.objects.filter(purpose=SmsPurpose.SAFETY_NOTICE).exists()


def test_staff_compose_preview_and_send_a_notice(client, world):
    grid = make_grid(world)
    subscribe(grid["a1"], MOBILES["plain"])
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    response = client.post(
        reverse("community:notice_new"),
        {
            "area": grid["a1"].pk,
            "kind": "bulletin",
            "title": "本月治安通报",
            "body": "本月盗窃下降。",
        },
    )
    notice = SafetyNotice.objects.get()
    assert response.url == reverse("community:notice_detail", args=[notice.pk])
    html = client.get(response.url).content.decode()
    assert settings.SMS_SIGNATURE in html and NOTICE_STOP in html
    assert 'data-testid="notice-subscribers">1<' in html
    assert MOBILES["plain"] not in html and mask_mobile(MOBILES["plain"]) not in html
    response = client.post(reverse("community:notice_send", args=[notice.pk]))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.sent_at is not None and notice.recipients == 1
    html = client.get(reverse("community:notice_list")).content.decode()
    assert "本月治安通报" in html


def test_a_notice_cannot_be_written_for_another_stations_community(client, world):
    grid = make_grid(world)
    with pytest.raises(ApplicationError):
        _notice(world, grid["a2"], user=world.user("a1", Role.SUPERVISOR))
    client.force_login(world.user("a1", Role.SUPERVISOR))
    response = client.post(
        reverse("community:notice_new"),
        {"area": grid["a2"].pk, "kind": "alert", "title": "t", "body": "b"},
    )
    assert response.status_code == 400
    assert not SafetyNotice.objects.exists()


def test_the_daily_limit_counts_the_whole_local_day(world):
    # Notices leaving at 20:59 count against a notice sent at 11:00 the same day.
    grid = make_grid(world)
    subscribe(grid["a1"], MOBILES["plain"])
    user = world.user("a1", Role.SUPERVISOR)
    day = date(2026, 11, 10)
    for _ in range(NOTICE_DAILY_LIMIT):
        sms_enqueue(
            mobile=MOBILES["plain"],
            body="x",
            purpose=SmsPurpose.SAFETY_NOTICE,
            not_before=at(day, 20) + timedelta(minutes=59),
        )
    assert notice_send(actor=user, notice=_notice(world, grid["a1"]), now=at(day, 11)).skipped == 1


def _subscribed(world, area, subscribers: int) -> SafetyNotice:
    """`subscribers` numbers: the first opted out, the second with the day's limit reached."""
    OutboundSms.objects.all().delete()
    OptOut.objects.all().delete()
    for i in range(subscribers):
        subscribe(area, f"1370000{i:04d}")
    OptOut.objects.create(mobile_hash=lookup_hash("mobile", "13700000000"), source="sms")
    for _ in range(NOTICE_DAILY_LIMIT):
        sms_enqueue(
            mobile="13700000001",
            body="其他社区",
            purpose=SmsPurpose.SAFETY_NOTICE,
            not_before=at(date(2026, 11, 10), 9),
        )
    return _notice(world, area)


def test_sending_a_notice_does_not_grow_queries_with_subscribers(
    world, django_assert_max_num_queries
):
    grid = make_grid(world)
    user = world.user("a1", Role.SUPERVISOR)
    now = at(date(2026, 11, 10), 10)
    notice = _subscribed(world, grid["a1"], 3)
    with CaptureQueriesContext(connection) as few:
        notice_send(actor=user, notice=notice, now=now)
    notice.refresh_from_db()
    assert (notice.recipients, notice.skipped) == (1, 2)
    notice = _subscribed(world, make_area(world.station_a1, name="甲一第二社区"), 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        notice_send(actor=user, notice=notice, now=now)
    notice.refresh_from_db()
    assert (notice.recipients, notice.skipped) == (28, 2)
    messages = OutboundSms.objects.filter(purpose=SmsPurpose.SAFETY_NOTICE, body__contains="电动车")
    assert messages.count() == 28
    message = messages.get(to_mobile_hash=lookup_hash("mobile", "13700000029"))
    # What sms_enqueue_unsolicited writes: the number (encrypted), its hash, when it leaves.
    assert message.to_mobile == "13700000029"
    assert message.not_before == now
    assert message.status == "queued"


# --- Query counts ----------------------------------------------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["visit_list", "notice_list", "duty_list", "visit_coverage"])
def test_list_pages_do_not_grow_queries_with_rows(client, world, name):
    grid = make_grid(world)
    user = world.user("a1", Role.SUPERVISOR)
    client.force_login(user)
    url = reverse(f"community:{name}")

    def add_rows():
        community = make_area(world.station_a1)
        _visit(world, community, officer=world.officers["a1"])
        _notice(world, community)
        officer = OfficerFactory(unit=world.station_a1)
        CommunityOfficer.objects.create(area=community, officer=officer, duties="x")

    add_rows()
    _visit(world, grid["building"])
    client.get(url)  # warm the session and caches
    first = _queries(client, url)
    for _ in range(4):
        add_rows()
    assert _queries(client, url) == first
