"""The organiser runs a vote campaign in a real browser (issue 15, 票选): a supervisor of 甲二所
creates it through the form, adds options, opens it, closes it early and publishes the
results; then the responsible unit's leader publishes a progress update of a chosen action,
and the public action page shows it. Playwright, Debian's Chromium, desktop viewport."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD
from minyi.votes.actions import plan_create
from minyi.votes.ballots import ballot_cast
from minyi.votes.models import (
    ActionPlan,
    ActionUpdate,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ChainHead,
)
from minyi.votes.tests.factories import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}
LOCAL = "%Y-%m-%dT%H:%M"


def _sign_in(page, url, user):
    """Through the login page (supervisors and leaders have no second factor)."""
    assert not user.needs_second_factor
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(f"{url}/accounts/login/")


def test_organiser_creates_opens_closes_and_publishes(live_server, browser, world):
    organiser = world.user("a2", Role.SUPERVISOR)
    context = browser.new_context(**DESK)
    page = context.new_page()
    _sign_in(page, live_server.url, organiser)
    now = timezone.localtime()

    # Given the organiser on the campaign list, starting a new campaign
    page.goto(f"{live_server.url}/votes/")
    expect(page.get_by_role("heading", name="票选活动")).to_be_visible()
    page.get_by_role("link", name="新建投票活动").click()
    expect(page.get_by_role("heading", name="新建投票活动")).to_be_visible()

    # When they fill the form (their own station is the default organiser) and create it
    expect(page.get_by_label("主办单位")).to_have_value(str(world.station_a2.pk))
    page.get_by_label("标题", exact=True).fill("甲二所2027年惠民实事票选")
    page.get_by_label("说明").fill("从候选项目中选出最多 2 项。")
    page.get_by_label("多选（最多选 N 项）").check()
    page.get_by_label("最多可选").fill("2")
    page.get_by_label("开始时间").fill((now - timedelta(minutes=5)).strftime(LOCAL))
    page.get_by_label("截止时间").fill((now + timedelta(days=7)).strftime(LOCAL))
    page.get_by_role("button", name="创建").click()

    # Then the draft's page invites options
    campaign = Campaign.objects.get(title="甲二所2027年惠民实事票选")
    assert campaign.unit == world.station_a2 and campaign.max_choices == 2
    assert campaign.kind == CampaignKind.APPROVAL
    expect(page.get_by_test_id("campaign-status")).to_have_text("草稿")

    # And it cannot be opened before it has two options, which the page says
    expect(page.get_by_role("button", name="开始投票")).to_have_count(0)
    expect(page.get_by_test_id("options")).to_contain_text("至少 2 项才能开始投票")

    # When they add three options
    for title in ("增设夜间巡逻点", "派出所窗口延时服务", "校园周边护学岗"):
        page.get_by_label("候选项名称").fill(title)
        page.get_by_role("button", name="添加", exact=True).click()
        expect(page.get_by_test_id("campaign-options").get_by_text(title)).to_be_visible()
    expect(page.get_by_test_id("option-3")).to_contain_text("校园周边护学岗")

    # When they open it
    page.get_by_role("button", name="开始投票").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("投票中")
    expect(page.get_by_role("button", name="修改设置")).to_have_count(0)
    expect(page.get_by_test_id("option-form")).to_have_count(0)

    # And two citizens vote
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.OPEN
    ballot_cast(campaign, mobile="13700000001", choices=[1, 3])
    ballot_cast(campaign, mobile="13700000002", choices=[3])
    page.reload()
    expect(page.get_by_test_id("turnout")).to_contain_text("已投票 2 人")
    expect(page.get_by_test_id("tally-3")).to_contain_text("2")

    # When they close it before its closing time
    page.get_by_role("button", name="提前截止").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("已截止")
    expect(page.get_by_test_id("campaign-history")).to_contain_text("提前截止")

    # And publish the results
    page.get_by_role("button", name="公布结果").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("结果已公布")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PUBLISHED and campaign.published_at is not None
    assert ChainHead.objects.filter(campaign=campaign).exists()
    expect(page.get_by_role("button", name="公布结果")).to_have_count(0)

    # Then the list shows it published
    page.get_by_role("link", name="票选活动").first.click()
    row = (
        page.get_by_test_id("campaign-list")
        .get_by_role("row")
        .filter(has_text="甲二所2027年惠民实事票选")
    )
    expect(row).to_contain_text("结果已公布")

    # When they make the winning option an action, for their station to carry out
    page.goto(f"{live_server.url}/votes/actions/")
    page.get_by_test_id("options-awaiting").get_by_role("listitem").filter(
        has_text="校园周边护学岗"
    ).get_by_role("link", name="列为实事项目").click()
    page.get_by_label("责任单位").select_option(label=world.station_a2.name)
    page.get_by_label("目标").fill("开学前在辖区 4 所小学设立护学岗。")
    page.get_by_role("button", name="列为实事项目").click()

    # Then the action's page is there, at 0%, and the public can open it
    expect(page.get_by_role("heading", name="校园周边护学岗")).to_be_visible()
    expect(page.get_by_test_id("plan-facts")).to_contain_text("开学前在辖区 4 所小学设立护学岗。")
    plan = ActionPlan.objects.get(option__campaign=campaign)
    assert (plan.option.number, plan.unit, plan.percent_done) == (3, world.station_a2, 0)
    context.close()


def test_sibling_supervisor_cannot_open_anothers_campaign(live_server, browser, world):
    campaign = make_campaign(world, status=CampaignStatus.DRAFT, title="甲二所草稿投票")
    context = browser.new_context(**DESK)
    page = context.new_page()
    _sign_in(page, live_server.url, world.user("a1", Role.SUPERVISOR))
    page.goto(f"{live_server.url}/votes/")
    expect(page.get_by_text("甲二所草稿投票")).to_have_count(0)
    response = page.goto(f"{live_server.url}/votes/{campaign.pk}/")
    assert response.status == 404
    context.close()


def test_leader_publishes_progress_and_the_public_sees_it(live_server, browser, world):
    organiser = world.user("a2", Role.SUPERVISOR)
    campaign = make_campaign(world, status=CampaignStatus.PUBLISHED, published_at=timezone.now())
    option = campaign.options.get(number=2)
    plan = plan_create(organiser, option, unit=world.station_a2, target="年内完成全部点位建设。")
    leader = world.user("a2", Role.UNIT_LEADER)
    context = browser.new_context(**DESK)
    page = context.new_page()
    _sign_in(page, live_server.url, leader)

    # Given the station's leader on the action's page
    page.goto(f"{live_server.url}/votes/actions/")
    page.get_by_test_id("action-list").get_by_role("link", name="候选项目2").click()
    expect(page.get_by_role("heading", name="候选项目2")).to_be_visible()
    expect(page.get_by_test_id("plan-percent")).to_have_text("0%")

    # When they publish an update with its text and progress
    form = page.get_by_test_id("update-form")
    form.get_by_label("进展情况").fill("已完成 6 个夜间巡逻点的选址和设备安装。")
    form.get_by_label("完成进度（%）").fill("40")
    form.get_by_role("button", name="公布进展").click()

    # Then the staff page shows it
    expect(page.get_by_test_id("plan-percent")).to_have_text("40%")
    expect(page.get_by_test_id("updates")).to_contain_text("已完成 6 个夜间巡逻点")
    update = ActionUpdate.objects.get(plan=plan)
    assert (update.percent_done, update.author) == (40, leader)

    # When a citizen opens the public action page on a phone
    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN"
    )
    public = phone.new_page()
    public.goto(f"{live_server.url}/c/votes/actions/{plan.pk}/")

    # Then they see the update and the progress
    expect(public.get_by_role("heading", name="候选项目2")).to_be_visible()
    expect(public.get_by_test_id("action-percent")).to_have_text("已完成 40%")
    expect(public.get_by_test_id("action-update")).to_contain_text(
        "已完成 6 个夜间巡逻点的选址和设备安装。"
    )
    expect(public.get_by_test_id("action-update")).to_contain_text("40%")
    assert public.evaluate("document.documentElement.scrollWidth") <= 360
    phone.close()
    context.close()
