"""The year's assessment end to end in a real browser (issue 14, "Tests and figures"): an
administrator imports a poll file, defines the year's rule and runs the assessment; a district
supervisor sees the ranking, its charts and the accountability list; the weak station's leader
replies to the case its second "last" mark opened."""

from datetime import date
from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp
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
from minyi.polls.tests.factories import add_margins, csv_bytes, make_poll, respondent_rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

H2_2025 = (date(2025, 7, 1), date(2025, 12, 31))
PER_STATION = 300  # raked to n_eff ≈ 260–280: under the default gate minimum of 300
REPLY = "本所已逐条分析群众意见，调整巡逻时段并增加社区走访，下季度复测。"


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _sign_in(page, url, user):
    """Sign in through the login page; an administrator also types the TOTP code."""
    page.context.clear_cookies()
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if user.needs_second_factor:
        device = user.totpdevice_set.get()
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.get_by_label("动态验证码").fill(f"{code:06d}")
        page.get_by_role("button", name="验证").click()
    expect(page).not_to_have_url(f"{url}/accounts/login/")


def _given(world):
    """Eight stations of district A in one city peer group, each with population margins and
    2026 H1 clearance figures; a 2025 H2 assessment of the city already marked 甲二所 last;
    an empty 2026 wave awaits its file."""
    units = [world.station_a1, world.station_a2, *stations(world, 6)]
    group = peer_group(world.city, units)
    earlier_poll = poll_wave(world, year=2025, fielded=(date(2025, 10, 1), date(2025, 10, 31)))
    for unit in units:
        add_margins(unit)
        figure(unit, s=50, n=100)
        figure(unit, s=50, n=100, start=H2_2025[0], end=H2_2025[1])
        answers(earlier_poll, unit, n=400, rate=0.6 if unit == world.station_a2 else 0.9)
    earlier = assessment_compute(
        rule=active_rule(world, group, year=2025),
        label="2025年下半年",
        period_start=H2_2025[0],
        period_end=H2_2025[1],
        polls=[earlier_poll],
        actor=world.user("city", Role.ADMIN),
        draws=2000,
    )
    assert earlier.results.get(unit=world.station_a2).marked_last
    poll = make_poll(world)
    weak = respondent_rows({"TA02": PER_STATION}, seed=1, prefix="W", rate=0.5)
    others = respondent_rows(
        {u.code: PER_STATION for u in units if u != world.station_a2}, seed=2, rate=0.9
    )
    return poll, csv_bytes(others + weak)


def _watch(page) -> tuple[list[str], list[tuple[str, int]]]:
    """Script errors (uncaught, console, CSP) and every response with an error status. A
    failed response also logs a console line; the responses list names it instead."""
    errors: list[str] = []
    failed: list[tuple[str, int]] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: failed.append((urlsplit(r.url).path, r.status)) if r.status >= 400 else None,
    )
    return errors, failed


def test_admin_imports_and_runs_supervisor_reads_leader_replies(live_server, page, tmp_path):
    world = make_world()
    poll, data = _given(world)
    upload = tmp_path / "2026年第1轮样本.csv"
    upload.write_bytes(data)
    errors, failed = _watch(page)
    url = live_server.url

    # --- The city's administrator imports the wave's respondent file ---
    _sign_in(page, url, world.user("city", Role.ADMIN))
    page.goto(f"{url}/polls/")
    page.get_by_role("link", name=poll.title).click()
    page.get_by_test_id("tab-imports").click()
    page.get_by_label("CSV 或 Excel（.xlsx）文件").set_input_files(upload)
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("preview-count")).to_contain_text(f"共 {8 * PER_STATION} 行数据")
    expect(page.get_by_test_id("preview-errors")).to_have_count(0)
    page.get_by_test_id("import-confirm").click()
    expect(page.get_by_test_id("import-status")).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("import-summary")).to_contain_text(f"已导入 {8 * PER_STATION} 行")
    page.get_by_role("link", name="查看测评结果").click()
    estimates = page.get_by_test_id("estimates")
    expect(estimates.locator("tbody tr[data-unit]")).to_have_count(8)
    expect(estimates.locator("tr[data-unit='TA02'] td").nth(2)).to_have_text(str(PER_STATION))
    expect(estimates.get_by_test_id("not-ranked")).to_have_count(0)

    # --- ... defines the year's rule: a public weight of 0.50 is refused first ---
    page.goto(f"{url}/assessment/rules/")
    page.get_by_test_id("rule-create").click()
    form = page.get_by_test_id("rule-form")
    form.get_by_label("年度").fill("2026")
    form.get_by_label("满意度").fill("0.5")
    form.get_by_label("破案率").fill("0.5")
    form.get_by_label("派出所").check()
    # Raked, each station's n_eff stays under the default 300: the gate needs a lower minimum.
    form.get_by_label("末位认定最小有效样本量").fill("150")
    form.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("rule-form")).to_contain_text(
        "民意测评指标权重合计 0.500，低于规定的下限 0.51（51%）。"
    )
    form = page.get_by_test_id("rule-form")
    for label, weight in [
        ("见警率", "0.1"),
        ("服务态度", "0.1"),
        ("熟悉率", "0.1"),
        ("满意度", "0.2"),
        ("安全感", "0.1"),
        ("破案率", "0.4"),
    ]:
        form.get_by_label(label, exact=True).fill(weight)
    expect(form.get_by_label("派出所")).to_be_checked()
    expect(form.get_by_label("末位认定最小有效样本量")).to_have_value("150")
    form.get_by_role("button", name="保存").click()
    row = page.get_by_test_id("rule-list").locator("tr", has_text="2026 v1")
    expect(row).to_contain_text("草稿")
    expect(row).to_contain_text("60.0%")
    row.get_by_role("button", name="启用").click()
    expect(page.get_by_test_id("rule-list").locator("tr", has_text="2026 v1")).to_contain_text(
        "生效"
    )

    # --- ... and runs the assessment of 2026 H1 over the imported wave ---
    page.goto(f"{url}/assessment/")
    page.get_by_test_id("run-link").click()
    run = page.get_by_test_id("run-form")
    run.get_by_label("考评规则").select_option(label="2026 v1")
    run.get_by_label("考评名称").fill("2026年上半年")
    run.get_by_label("起始日期").fill("2026-01-01")
    run.get_by_label("截止日期").fill("2026-06-30")
    run.get_by_label(poll.title).check()
    run.get_by_role("button", name="开始计算").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2026年上半年")
    expect(page.get_by_test_id("ranking").locator("tbody tr[data-unit]")).to_have_count(8)

    # --- A district supervisor reads the ranking, its charts and the accountability list ---
    _sign_in(page, url, world.user("a", Role.SUPERVISOR))
    page.goto(f"{url}/assessment/")
    page.get_by_role("link", name="2026年上半年").click()
    ranking = page.get_by_test_id("ranking")
    expect(ranking.locator("tbody tr[data-unit]")).to_have_count(8)
    expect(ranking.locator("tr[data-unit='TA02'] [data-testid='marked']")).to_have_text("认定末位")
    expect(ranking.locator("tr.flagged")).to_have_count(1)
    expect(page.get_by_test_id("share-headline")).to_contain_text("民意名义权重 60%")
    for chart in ("caterpillar", "funnel"):
        expect(page.locator(f"[data-assessment-chart='{chart}'] svg")).to_have_count(1)
    page.goto(f"{url}/accountability/")
    cases = page.get_by_test_id("case-list").locator("tbody tr")
    expect(cases).to_have_count(1)
    expect(cases.first).to_contain_text("甲二派出所")
    expect(cases.first).to_contain_text("待说明")

    # --- The weak station's leader opens the case and replies in writing ---
    _sign_in(page, url, world.user("a2", Role.UNIT_LEADER))
    page.goto(f"{url}/accountability/")
    page.get_by_test_id("case-list").locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_test_id("case-facts")).to_contain_text("2025年下半年、2026年上半年")
    expect(page.get_by_test_id("case-status")).to_have_text("待说明")
    page.get_by_label("书面说明").fill(REPLY)
    page.get_by_test_id("reply").click()
    expect(page.get_by_test_id("case-status")).to_have_text("已说明，待决定")
    expect(page.get_by_test_id("reply-text")).to_have_text(REPLY)
    expect(page.get_by_test_id("reply-form")).to_have_count(0)
    expect(page.get_by_test_id("case-history")).to_contain_text("待说明 → 已说明，待决定")
    assert errors == []
    # The only error response was the refused rule form (400, re-rendered with the message).
    assert failed == [("/assessment/rules/new/", 400)]
