"""A station leader opens 原因标签核对 from the menu, reads a citizen's long letter (number
masked), confirms its primary and secondary reasons, and sees them counted on 诉求原因分析;
then opens 民意热点 and the texts behind a flagged term (issue 20). Playwright, Debian's
Chromium."""

import pytest
from playwright.sync_api import expect

from minyi.insight.models import TaggedText
from minyi.insight.services import texts_tag_pending
from minyi.insight.tests.test_topics import burst  # noqa: F401 (a fixture)
from minyi.opinions.models import Opinion
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
LETTER = (
    "尊敬的所领导：我姓李，住在河东小区。"
    + "我们小区前几年治安一直不错，邻里之间也很和睦。" * 12
    + "上个月我家电动车在楼下被人推走，报警以后一直没有下文，打电话问也说不清楚在查什么。"
    + "我的电话是13912345678，希望有人回个话。此致敬礼！"
)


def _login(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(f"{live_server.url}/accounts/login/")


def test_a_leader_confirms_a_letters_reasons_and_sees_them_counted(live_server, browser, world):
    letter = make_opinion(world, content="一封来信，内容见下。")
    Opinion.objects.filter(pk=letter.pk).update(content=LETTER)
    texts_tag_pending()
    errors = []
    page = browser.new_context(**DESK).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server, world.user("a2", Role.UNIT_LEADER))

    # Given the letter waiting in 原因标签核对, reached from the menu
    page.get_by_role("link", name="原因标签核对").first.click()
    row = page.get_by_test_id("review-table").locator("tbody tr").first
    expect(row).to_contain_text("意见投诉")
    expect(row).not_to_contain_text("13912345678")
    row.get_by_test_id("review-open").click()

    # When the leader reads it (the number masked) and confirms 处置结果, then 告知解释
    text = page.get_by_test_id("review-text")
    expect(text).to_contain_text("电动车在楼下被人推走")
    expect(text).to_contain_text("139****5678")
    expect(text).not_to_contain_text("13912345678")
    page.get_by_role("radio", name="处置结果").check()
    page.get_by_label("次要原因（可不选）").select_option(label="告知解释")
    page.get_by_test_id("review-confirm").click()

    # Then it is confirmed, ranked, and leaves the queue
    expect(page.get_by_text("已确认原因标签。")).to_be_visible()
    tagged = TaggedText.objects.get(object_id=letter.pk, source="opinion")
    assert tagged.confirmed == ["outcome", "explanation"]
    expect(page.get_by_test_id("review-table")).to_contain_text("没有待核对的文本")

    # And 诉求原因分析 counts it as the primary reason, quoting the sentence that says it
    page.get_by_role("link", name="诉求原因分析").first.click()
    outcome = page.get_by_test_id("reasons-table").locator('tr[data-tag="outcome"]')
    expect(outcome.locator("td").nth(2)).to_have_text("1")
    expect(outcome).to_contain_text("没有下文")
    expect(page.locator("[data-insight-chart] canvas")).to_have_count(1)
    assert errors == []


def test_a_leader_sees_a_hotspot_and_the_texts_behind_it(live_server, browser, world, burst):  # noqa: F811
    page = browser.new_context(**DESK).new_page()
    _login(page, live_server, world.user("a", Role.UNIT_LEADER))
    page.get_by_role("link", name="民意热点").first.click()
    page.get_by_label("截至日期").fill(burst.isoformat())
    page.get_by_role("button", name="查看").click()
    table = page.get_by_test_id("topics-table")
    row = table.locator("tbody tr", has_text="电瓶").first
    expect(row).to_contain_text("倍")
    expect(row).to_contain_text("同一批文本中还有")
    expect(page.get_by_test_id("topics-rule")).to_contain_text("emerging-v1")
    row.get_by_role("link", name="查看全部文本").click()
    expect(page.get_by_test_id("topic-texts").locator("li")).to_have_count(18)
    expect(page.get_by_test_id("topic-texts")).not_to_contain_text("13812345678")
