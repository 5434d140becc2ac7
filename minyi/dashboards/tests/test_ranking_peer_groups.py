"""Ranking among fixed peer groups on the business-type-adjusted rate (issue 14, item 8)."""

import pytest
from django.urls import reverse

from minyi.core import stats
from minyi.core.periods import period_parse
from minyi.dashboards.figures.ranking import unit_ranking_for
from minyi.dashboards.tests.factories import city_supervisor, daily, days_ago, satisfied
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import PeerGroup, PeerGroupMember
from minyi.orgs.tests.factories import unit

pytestmark = pytest.mark.django_db


def _group(world, name, members):
    group = PeerGroup.objects.create(name=name, owner=world.city)
    for member in members:
        PeerGroupMember.objects.create(group=group, unit=member)
    return group


def _stations_group(world):
    """The city's stations as one peer group: 甲一, 甲二 in district a, 乙一 in district b."""
    return _group(world, "全市派出所", [world.station_a1, world.station_a2, world.station_b1])


def _rows(ranking):
    return {r["unit"]: r for r in ranking["rows"]}


def test_district_and_city_see_the_same_rank_for_the_same_unit(world, btypes, rolled):
    # Given three stations in one peer group, the worst one in the other district
    _stations_group(world)
    hukou = btypes["hukou"]
    day = days_ago(3)
    daily(world.station_a1, hukou, day, ratings=satisfied(190, 10))
    daily(world.station_a2, hukou, day, ratings=satisfied(175, 25))
    daily(world.station_b1, hukou, day, ratings=satisfied(100, 100))
    rolled()
    period = period_parse("30")

    # When the district a supervisor and the city supervisor look
    district = unit_ranking_for(world.user("a", Role.SUPERVISOR), world.district_a, period=period)
    city = unit_ranking_for(city_supervisor(world), world.city, period=period)

    # Then both rank 甲二 second of three (乙一 counts, though the district cannot see it)
    mine, theirs = _rows(district), _rows(city)
    assert set(mine) == {world.station_a1, world.station_a2}  # rows stay in the subtree
    for station in (world.station_a1, world.station_a2):
        for key in ("median_rank", "rank_low", "rank_high", "p_last", "shrunk", "z"):
            assert mine[station][key] == theirs[station][key]
    assert mine[world.station_a2]["median_rank"] == 2
    assert mine[world.station_a2]["group"]["ranked"] == 3
    assert not mine[world.station_a2]["probably_last"]
    assert (
        theirs[world.station_b1]["median_rank"] == 3 and theirs[world.station_b1]["probably_last"]
    )
    assert not district["fallback"] and district["peers"] == 3
    # A station leader sees their own rank among the same group, too
    alone = unit_ranking_for(world.user("a2", Role.UNIT_LEADER), world.station_a2, period=period)
    assert [r["median_rank"] for r in alone["rows"]] == [2]
    assert alone["rows"][0]["group"]["ranked"] == 3


def test_sibling_districts_figures_never_reach_the_page(client, world, btypes):
    # Given 乙一 (district b) with figures nobody in district a may see
    _stations_group(world)
    hukou = btypes["hukou"]
    day = days_ago(3)
    daily(world.station_a1, hukou, day, ratings=satisfied(180, 20))
    daily(world.station_a2, hukou, day, ratings=satisfied(170, 30))
    # 13,703 answers, 43.1%: a count no id or date on the page can spell by chance
    daily(world.station_b1, hukou, day, ratings=satisfied(5903, 7800))

    client.force_login(world.user("a", Role.SUPERVISOR))
    html = client.get(reverse("dashboards:index")).content.decode()

    # Then district a's stations carry their rank among three, and 乙一 is nowhere
    assert "共 3 个同类单位" in html
    assert "乙一派出所" not in html
    assert "13703" not in html and "13,703" not in html and "43.1" not in html
    assert "全市派出所" in html
    assert 'data-testid="ranking-fallback"' not in html


def test_units_in_no_peer_group_fall_back_and_say_so(client, world, btypes):
    hukou = btypes["hukou"]
    day = days_ago(3)
    for station in (world.station_a1, world.station_a2, world.station_b1):
        daily(station, hukou, day, ratings=satisfied(90, 10))
    ranking = unit_ranking_for(
        world.user("a", Role.SUPERVISOR), world.district_a, period=period_parse("30")
    )
    assert ranking["fallback"] and ranking["peers"] == 2  # today's behaviour: the subtree

    client.force_login(world.user("a", Role.SUPERVISOR))
    html = client.get(reverse("dashboards:index")).content.decode()
    assert 'data-testid="ranking-fallback"' in html
    assert "未设定同类单位组，暂按" in html


def test_each_unit_is_ranked_in_its_own_group(world, btypes):
    # Given the stations in one group and a brigade in another, alone
    extra = unit(world.district_a, "甲三派出所", "TA03", UnitKind.POLICE_STATION)
    _stations_group(world)
    _group(world, "城区派出所", [extra])
    hukou = btypes["hukou"]
    for station in (world.station_a1, world.station_a2, world.station_b1, extra):
        daily(station, hukou, days_ago(3), ratings=satisfied(90, 10))
    ranking = unit_ranking_for(city_supervisor(world), world.city, period=period_parse("30"))
    rows = _rows(ranking)
    assert rows[world.station_a1]["group"]["name"] == "全市派出所"
    assert rows[world.station_a1]["group"]["ranked"] == 3
    assert rows[extra]["group"]["name"] == "城区派出所"
    assert not rows[extra]["ranked"]  # alone in its group: neither first nor last
    assert ranking["main_group"]["name"] == "全市派出所"


def test_a_hard_business_mix_is_not_ranked_last(world, btypes, rolled, settings):
    # Given six stations; within each business type every one rates as its peers do
    # (window services 95%, traffic tickets 50%), but 甲二 mostly writes tickets
    settings.DASHBOARD_MIN_RANK_SAMPLE = 30
    extra = [
        unit(world.district_a, f"甲{i}派出所", f"TX{i:02d}", UnitKind.POLICE_STATION)
        for i in range(3, 6)
    ]
    stations = [world.station_a1, world.station_b1, *extra]
    _group(world, "全市派出所", [world.station_a2, *stations])
    hukou, ticket = btypes["hukou"], btypes["traffic_ticket"]
    day = days_ago(3)
    for station in stations:
        daily(station, hukou, day, ratings=satisfied(190, 10))
        daily(station, ticket, day, ratings=satisfied(10, 10))
    daily(world.station_a2, hukou, day, ratings=satisfied(38, 2))
    daily(world.station_a2, ticket, day, ratings=satisfied(80, 80))  # raw 59%: far below 91%
    rolled()

    ranking = unit_ranking_for(city_supervisor(world), world.city, period=period_parse("30"))
    rows = _rows(ranking)
    hard = rows[world.station_a2]
    # Then its raw rate is the lowest, but its adjusted rate equals its peers'
    assert hard["rate"] == min(r["rate"] for r in ranking["rows"])
    assert hard["mix"]["ratio"] == pytest.approx(1.0, abs=0.01)
    assert hard["adjusted"] == pytest.approx(rows[world.station_b1]["adjusted"], abs=0.01)
    assert not hard["probably_last"] and hard["p_last"] < 0.5
    assert hard["flag"] == ""
    # whereas on the raw rate it would be last beyond doubt
    order = [world.station_a2, *stations]
    raw = stats.rank_shrunk(
        [rows[u]["mix"]["observed"] for u in order], [rows[u]["n"] for u in order]
    )
    assert raw[0].p_last > 0.99 and raw[0].median_rank == 6


def test_adjusted_rate_decides_the_order(world, btypes, rolled, settings):
    # Given 甲二 with the best raw rate thanks to its mix, but worse within every type
    settings.DASHBOARD_MIN_RANK_SAMPLE = 30
    _stations_group(world)
    hukou, ticket = btypes["hukou"], btypes["traffic_ticket"]
    day = days_ago(3)
    for station in (world.station_a1, world.station_b1):
        daily(station, hukou, day, ratings=satisfied(95, 5))
        daily(station, ticket, day, ratings=satisfied(300, 300))
    daily(world.station_a2, hukou, day, ratings=satisfied(420, 180))  # 70% < 95%
    daily(world.station_a2, ticket, day, ratings=satisfied(5, 25))  # 17% < 50%
    rolled()

    ranking = unit_ranking_for(city_supervisor(world), world.city, period=period_parse("30"))
    rows = _rows(ranking)
    a2 = rows[world.station_a2]
    assert a2["rate"] > rows[world.station_a1]["rate"]  # raw: first
    assert a2["adjusted"] < rows[world.station_a1]["adjusted"]  # adjusted: last
    assert a2["median_rank"] == 3 and a2["z"] < 0
    assert ranking["rows"][-1]["unit"] == world.station_a2
    # With one business type chosen, adjusted and raw agree
    only = unit_ranking_for(
        city_supervisor(world), world.city, period=period_parse("30"), business_type=hukou.pk
    )
    assert all(r["adjusted"] == pytest.approx(r["rate"]) for r in only["rows"])
    assert all(r["mix"] is None for r in only["rows"])
