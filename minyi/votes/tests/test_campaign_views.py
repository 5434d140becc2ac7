"""The campaign staff pages through the test client, as a user clicks: create a draft, add
options (with a photo and a source suggestion), open, close early, publish; the forms come
back with Chinese errors and what was typed; buttons follow the one rule; a sibling station
sees nothing; the Excel export is audited."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from minyi.core.models import AuditAction, AuditEvent
from minyi.opinions.tests.factories import make_opinion, png_bytes, png_upload
from minyi.orgs.choices import Role
from minyi.votes.ballots import ballot_cast
from minyi.votes.models import Campaign, CampaignStatus, FlagKind, FlagStatus, StuffingFlag
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db
S = CampaignStatus


def _as(client, world, unit_key="a2", role=Role.SUPERVISOR):
    client.force_login(world.user(unit_key, role))
    return client


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _form(world, **overrides):
    now = timezone.now()
    data = {
        "unit": world.station_a2.pk,
        "title": "甲二所惠民实事",
        "description": "选出三件实事",
        "kind": "approval",
        "max_choices": "2",
        "opens_at": _local(now - timedelta(hours=1)),
        "closes_at": _local(now + timedelta(days=7)),
    }
    return data | overrides


def _detail(campaign):
    return reverse("votes:campaign_detail", args=[campaign.pk])


def test_a_campaign_from_creation_to_publication(client, world):
    _as(client, world)
    page = client.get(reverse("votes:campaign_new"))
    assert page.status_code == 200
    assert 'type="datetime-local"' in page.content.decode()

    response = client.post(reverse("votes:campaign_new"), _form(world))
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == _detail(campaign)
    assert campaign.status == S.DRAFT and campaign.unit == world.station_a2

    opinion = make_opinion(world, kind="suggestion")
    for title, extra in (
        ("增设路灯", {"opinion_number": opinion.number, "photos": [png_upload()]}),
        ("加强夜间巡逻", {}),
    ):
        response = client.post(
            reverse("votes:option_new", args=[campaign.pk]), {"title": title, **extra}
        )
        assert response.status_code == 302
    html = client.get(_detail(campaign)).content.decode()
    assert "增设路灯" in html and opinion.number in html
    photo = campaign.options.get(number=1).photos.get()
    photo_url = reverse("votes:option_photo", args=[campaign.pk, photo.pk])
    assert photo_url in html
    served = client.get(photo_url)
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png_bytes()
    assert 'data-testid="campaign-open"' in html

    assert client.post(reverse("votes:campaign_open", args=[campaign.pk])).status_code == 302
    html = client.get(_detail(campaign)).content.decode()
    assert "投票中" in html and 'data-testid="option-form"' not in html
    assert 'data-testid="campaign-close"' in html and "提前截止" in html

    campaign.refresh_from_db()
    ballot_cast(campaign, mobile="13800002222", choices=[1, 2])
    assert client.post(reverse("votes:campaign_close", args=[campaign.pk])).status_code == 302
    assert client.post(reverse("votes:campaign_publish", args=[campaign.pk])).status_code == 302

    campaign.refresh_from_db()
    assert campaign.status == S.PUBLISHED
    html = client.get(_detail(campaign)).content.decode()
    assert 'data-testid="campaign-publish"' not in html
    history = html[html.index('data-testid="campaign-history"') :]
    for label in ("草稿", "投票中", "已截止", "结果已公布"):
        assert label in history
    assert "已投票 1 人（网上 1，纸质票选表 0）" in html


def test_create_form_comes_back_with_chinese_errors(client, world):
    _as(client, world)

    response = client.post(reverse("votes:campaign_new"), _form(world, title="", opens_at=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写标题。" in html and "请填写开始时间。" in html

    now = timezone.now()
    response = client.post(
        reverse("votes:campaign_new"),
        _form(world, opens_at=_local(now + timedelta(days=2)), closes_at=_local(now)),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "截止时间必须晚于开始时间。" in html
    assert 'value="甲二所惠民实事"' in html  # what was typed is kept
    assert not Campaign.objects.exists()


def test_single_choice_forces_one_choice_and_a_taken_code_is_refused(client, world):
    _as(client, world)
    client.post(reverse("votes:campaign_new"), _form(world, kind="single", max_choices="5"))
    assert Campaign.objects.get().max_choices == 1

    code = Campaign.objects.get().code
    response = client.post(reverse("votes:campaign_new"), _form(world, code=code))
    assert response.status_code == 400
    assert "该链接代码已被使用" in response.content.decode()


def test_option_form_errors_keep_the_page_and_the_input(client, world):
    campaign = make_campaign(world, status=S.DRAFT)
    _as(client, world)

    response = client.post(
        reverse("votes:option_new", args=[campaign.pk]),
        {"title": "增设路灯", "opinion_number": "NOPE-1"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "找不到受理编号为“NOPE-1”的群众建议" in html
    assert 'value="增设路灯"' in html
    assert campaign.options.count() == 5


def test_opening_too_early_shows_why(client, world):
    campaign = make_campaign(world, status=S.DRAFT, options=1)
    _as(client, world)
    html = client.get(_detail(campaign)).content.decode()
    assert 'data-testid="campaign-open"' not in html  # the rule hides the button

    response = client.post(reverse("votes:campaign_open", args=[campaign.pk]))

    assert response.status_code == 409
    assert "至少需要 2 个候选项才能开始投票。" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT


def test_edit_a_draft_and_delete_an_option(client, world):
    campaign = make_campaign(world, status=S.DRAFT, options=3)
    _as(client, world)
    page = client.get(reverse("votes:campaign_edit", args=[campaign.pk]))
    assert page.status_code == 200
    assert _local(campaign.opens_at) in page.content.decode()

    data = _form(world, title="新的标题")
    data.pop("unit")
    assert client.post(reverse("votes:campaign_edit", args=[campaign.pk]), data).status_code == 302
    option = campaign.options.get(number=1)
    delete = reverse("votes:option_delete", args=[campaign.pk, option.pk])
    assert client.post(delete).status_code == 302

    campaign.refresh_from_db()
    assert campaign.title == "新的标题"
    assert list(campaign.options.values_list("number", "title")) == [
        (1, "候选项目2"),
        (2, "候选项目3"),
    ]


def test_a_viewer_sees_the_tally_but_no_buttons(client, world):
    campaign = make_campaign(world, status=S.DRAFT)
    _as(client, world, role=Role.EVALUATOR)

    html = client.get(_detail(campaign)).content.decode()

    assert 'data-testid="campaign-tally"' in html
    for testid in ("campaign-open", "campaign-edit", "option-form"):
        assert f'data-testid="{testid}"' not in html
    assert client.post(reverse("votes:campaign_open", args=[campaign.pk])).status_code == 403
    assert (
        reverse("votes:campaign_new")
        not in client.get(reverse("votes:campaign_list")).content.decode()
    )


def test_the_page_reports_confirmed_stuffing_beside_the_totals(client, world):
    campaign = make_campaign(world, options=2)
    ballots = [ballot_cast(campaign, mobile=f"1380000400{i}", choices=[2]) for i in range(3)]
    ballot_cast(campaign, mobile="13800004100", choices=[1])
    flag = StuffingFlag.objects.create(
        campaign=campaign, kind=FlagKind.NETWORK_BURST, key="n1", status=FlagStatus.CONFIRMED
    )
    flag.ballots.set(ballots[:2])

    html = _as(client, world, role=Role.EVALUATOR).get(_detail(campaign)).content.decode()

    assert "已投票 4 人" in html and "其中确认异常 2 票" in html
    assert 'data-testid="confirmed-2"' in html and 'data-testid="confirmed-1"' not in html
    assert 'data-testid="confirmed-note"' in html


def test_sibling_station_sees_nothing(client, world):
    campaign = make_campaign(world, title="甲二所的投票")
    _as(client, world, "a1")

    listed = client.get(reverse("votes:campaign_list")).content.decode()
    assert "甲二所的投票" not in listed
    assert client.get(_detail(campaign)).status_code == 404
    assert client.post(reverse("votes:campaign_close", args=[campaign.pk])).status_code == 404
    assert client.get(reverse("votes:campaign_export", args=[campaign.pk])).status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == S.OPEN


def test_list_tabs_count_per_status(client, world):
    make_campaign(world, title="进行中的投票")
    make_campaign(world, title="草稿中的投票", status=S.DRAFT)
    _as(client, world)

    drafts = client.get(reverse("votes:campaign_list") + "?status=draft").content.decode()

    assert "草稿中的投票" in drafts and "进行中的投票" not in drafts
    assert 'data-testid="tab-all"' in drafts


def test_export_is_an_audited_workbook(client, world):
    campaign = make_campaign(world, options=2)
    ballot_cast(campaign, mobile="13800003333", choices=[2])
    _as(client, world)

    response = client.get(reverse("votes:campaign_export", args=[campaign.pk]))

    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book["得票"].iter_rows(min_row=2, values_only=True))
    assert [row[4] for row in rows] == [0, 1]
    assert AuditEvent.objects.filter(
        action=AuditAction.EXPORT, object_type="votes.campaign", object_id=str(campaign.pk)
    ).exists()


def test_page_links_to_the_public_page_and_the_audit_pages_by_role(client, world):
    campaign = make_campaign(world)
    public = reverse("votes_public:campaign", args=[campaign.code])
    paper_key = f'href="{reverse("votes:paper_key", args=[campaign.pk])}"'
    verify = f'action="{reverse("votes:chain_verify", args=[campaign.pk])}"'

    clerk = _as(client, world, role=Role.EVALUATOR).get(_detail(campaign)).content.decode()
    assert public in clerk and paper_key in clerk and verify not in clerk
    assert reverse("votes:rejection_list", args=[campaign.pk]) in clerk

    boss = _as(client, world).get(_detail(campaign)).content.decode()
    assert verify in boss and paper_key not in boss
