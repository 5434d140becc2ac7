"""A district supervisor (GRID_MANAGE, INCIDENT_LOCATION) works community safety end to end in
a real browser (issue 16): imports a grid of four communities, their populations and a year
of incidents, recomputes two months of colours, sees the hot community red on the map and in
the tree, drills into it and reads its incidents with their exact times. Nothing is fetched
from outside the site (no online map tiles). Playwright, Debian's Chromium, desktop viewport.

The data: four communities of 10,000 residents each; the hot one has 3 incidents a month,
the others 1, over the nine months from two months ago back (inside both colour windows, and
inside the incident page's 12 months even if the month turns during the run), so the hot one
has O = 27 against E = 13.5 (p ≈ 0.0006, smoothed ratio ≈ 1.8: red) and the others O = 9
(green). Both months are recomputed through the colour report's recompute form, the
earlier one first, so the latest month's red stands on two red signals in a row."""

import csv
import json
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from minyi.community.colours import month_add, month_start
from minyi.community.grid import COLOUR_HEX
from minyi.community.models import AreaColour, Colour, GridArea, Incident
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
HOT = "TA01-C1"
# (code, name, south-west corner): four adjacent 0.01° squares in Hangzhou.
COMMUNITIES = [
    (HOT, "热点社区", (120.10, 30.20)),
    ("TA01-C2", "平安社区", (120.11, 30.20)),
    ("TA01-C3", "和睦社区", (120.10, 30.21)),
    ("TA01-C4", "新风社区", (120.11, 30.21)),
]
POPULATION = 10_000  # registered 8,000 + floating 2,000, every month


def _square(lng: float, lat: float) -> str:
    d = 0.01
    ring = [[lng, lat], [lng + d, lat], [lng + d, lat + d], [lng, lat + d], [lng, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def _csv(path, header: list[str], rows: list[list]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _sign_in(page, url, user):
    assert not user.needs_second_factor
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(f"{url}/accounts/login/")


def _upload_and_confirm(page, path: str, rows: int):
    page.locator("#id_file").set_input_files(path)
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("preview-count")).to_contain_text(f"共 {rows} 行数据")
    expect(page.get_by_test_id("preview-errors")).to_have_count(0)
    page.get_by_test_id("import-confirm").click()
    expect(page.get_by_test_id("import-status")).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("import-summary")).to_contain_text(f"已导入 {rows} 行")


def test_supervisor_imports_a_grid_and_drills_into_a_red_community(
    live_server, browser, world, tmp_path
):
    supervisor = world.user("a", Role.SUPERVISOR)  # 甲区分局: GRID_MANAGE + INCIDENT_LOCATION
    this_month = month_start(timezone.localdate())
    latest, earlier = month_add(this_month, -1), month_add(this_month, -2)
    context = browser.new_context(**DESK)
    external, errors = [], []
    context.on(
        "request",
        lambda r: None if r.url.startswith((live_server.url, "data:")) else external.append(r.url),
    )
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, live_server.url, supervisor)

    # Given the console home, the sidebar's 社区安全 → 网格地图 opens the (empty) grid
    page.goto(f"{live_server.url}{reverse('console:home')}")
    page.locator("#sidebar").get_by_role("link", name="网格地图").click()
    expect(page).to_have_url(f"{live_server.url}{reverse('community:area_list')}")
    expect(page.get_by_test_id("grid-tree-empty")).to_be_visible()

    # When they import four communities with boundaries in 甲一派出所 (upload, preview, confirm)
    page.get_by_test_id("grid-import-link").click()
    grid_file = _csv(
        tmp_path / "grid.csv",
        ["网格编码", "名称", "层级", "上级编码", "派出所代码", "户数", "边界"],
        [[c, n, "社区", "", "TA01", 3000, _square(*sw)] for c, n, sw in COMMUNITIES],
    )
    _upload_and_confirm(page, grid_file, rows=4)
    page.get_by_test_id("grid-link").click()
    tree = page.get_by_test_id("grid-tree")
    for code, name, _sw in COMMUNITIES:
        expect(tree.locator(f'[data-code="{code}"]')).to_contain_text(name)

    # And their populations for 13 months (both colour windows)
    page.get_by_test_id("population-import-link").click()
    months = [month_add(this_month, -i) for i in range(13, 0, -1)]
    population_file = _csv(
        tmp_path / "population.csv",
        ["网格编码", "月份", "户籍人口", "流动人口"],
        [[c, f"{m:%Y-%m}", 8000, 2000] for c, _n, _sw in COMMUNITIES for m in months],
    )
    _upload_and_confirm(page, population_file, rows=4 * 13)

    # And a year of incidents from the colour report's 导入警情 page: the hot community 3 a
    # month, the others 1, in the nine months from two months ago back
    page.locator("#sidebar").get_by_role("link", name="三色管理").click()
    page.get_by_role("link", name="导入警情").click()
    rows, hot_times = [], []
    for back in range(2, 11):
        month = month_add(this_month, -back)
        for code, _n, _sw in COMMUNITIES:
            for k in range(3 if code == HOT else 1):
                at = datetime(month.year, month.month, 10 + k, 9 + k, 30)
                rows.append([f"JQ-{code}-{month:%Y%m}-{k}", "盗窃", f"{at:%Y-%m-%d %H:%M}", code])
                if code == HOT:
                    hot_times.append(f"{at:%Y-%m-%d %H:%M}")
    incident_file = _csv(
        tmp_path / "incidents.csv", ["警情编号", "类别", "发生时间", "网格编码"], rows
    )
    page.locator("#id_file").set_input_files(incident_file)
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("共 54 行已导入")
    assert Incident.objects.filter(community__code=HOT).count() == 27

    # When they recompute the colours of the earlier month, then of the latest, on the report
    for month in (earlier, latest):
        page.locator("#sidebar").get_by_role("link", name="三色管理").click()
        form = page.get_by_test_id("colour-recompute")
        form.get_by_label("重新计算月份").fill(f"{month:%Y-%m}")
        form.get_by_role("button", name="重新计算").click()
        expect(page.get_by_text(f"已重新计算 {month:%Y-%m} 的颜色。")).to_be_visible()
    hot = GridArea.objects.get(code=HOT)
    reds = AreaColour.objects.filter(area=hot, signal=Colour.RED, colour=Colour.RED)
    assert set(reds.values_list("month", flat=True)) == {earlier, latest}
    assert set(
        AreaColour.objects.filter(month=latest).exclude(area=hot).values_list("colour", flat=True)
    ) == {Colour.GREEN}

    # Then the map draws the hot community red: its GeoJSON says so, its SVG fills it red
    with page.expect_response(lambda r: r.url.endswith(reverse("community:grid_geojson"))) as geo:
        page.locator("#sidebar").get_by_role("link", name="网格地图").click()
    features = {f["properties"]["code"]: f["properties"] for f in geo.value.json()["features"]}
    assert features[HOT]["colour"] == "red" and features[HOT]["fill"] == COLOUR_HEX["red"]
    assert {features[c]["colour"] for c, _n, _sw in COMMUNITIES[1:]} == {"green"}
    chart = page.get_by_test_id("grid-map")
    expect(chart.locator(f'path[fill="{COLOUR_HEX["red"]}"]')).to_have_count(1)
    node = page.get_by_test_id("grid-tree").locator(f'[data-code="{HOT}"]')
    expect(node.locator('[data-colour="red"]')).to_have_text("红色")

    # When they click into the red community from the tree, its page shows 红色 and links its
    # incident statistics
    node.get_by_role("link", name="热点社区").click()
    expect(page).to_have_url(f"{live_server.url}{reverse('community:area_detail', args=[hot.pk])}")
    expect(page.get_by_test_id("area-colour")).to_have_text("红色")
    expect(page.get_by_test_id("area-colours").locator('tr[data-colour="red"]')).to_have_count(2)
    page.get_by_test_id("area-links").get_by_role("link", name="警情统计").click()

    # Then the incidents page counts 27 and, for this role, lists the exact times
    expect(page.get_by_test_id("incident-total")).to_have_text("27")
    points = page.get_by_test_id("incident-points")
    expect(points).to_contain_text(max(hot_times))  # newest first
    expect(page.get_by_test_id("incident-points-hidden")).to_have_count(0)

    assert not errors, errors
    assert not external, external
    context.close()
