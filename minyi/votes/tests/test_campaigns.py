"""Campaign services (issue 15, item 1): creating and editing a draft and its options, every
refusal with its code and field, and the lifecycle moves (open, close early or when due,
publish with the chain's head), each audited and in the campaign's history."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent
from minyi.opinions.tests.factories import make_opinion, png_bytes, png_upload
from minyi.orgs.choices import Role
from minyi.votes.ballots import ballot_cast
from minyi.votes.campaigns import (
    campaign_close,
    campaign_create,
    campaign_open,
    campaign_publish,
    campaign_update,
    campaigns_close_due,
    option_add,
    option_remove,
    option_update,
)
from minyi.votes.models import (
    MAX_OPTIONS,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ChainHead,
    FlagKind,
    FlagStatus,
    Option,
    PaperSheet,
    StuffingFlag,
)
from minyi.votes.selectors import campaign_actions_for
from minyi.votes.stuffing import flag_decide
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db
S = CampaignStatus


@pytest.fixture
def now():
    # A fixed instant: nothing here depends on the hour the suite runs at.
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def boss(world):
    return world.user("a2", Role.SUPERVISOR)


def _create(world, actor, now, **overrides):
    values = {
        "unit": world.station_a2,
        "title": "2027年惠民实事票选",
        "description": "选出明年要办的十件实事",
        "kind": CampaignKind.APPROVAL,
        "max_choices": 2,
        "opens_at": now + timedelta(days=1),
        "closes_at": now + timedelta(days=8),
    }
    return campaign_create(actor, **(values | overrides))


def _refused(call, *args, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(*args, **kwargs)
    return caught.value


def _draft(world, actor, now, options=2, **overrides):
    campaign = _create(world, actor, now, **overrides)
    for i in range(options):
        option_add(actor, campaign, title=f"项目{i + 1}")
    return campaign


# --- Create and update ----------------------------------------------------------------------


def test_create_makes_an_audited_draft_with_a_code(world, boss, now):
    campaign = _create(world, boss, now)

    assert campaign.status == S.DRAFT
    assert campaign.created_by == boss
    assert campaign.code.isalnum() and campaign.code == campaign.code.lower()
    assert 3 <= len(campaign.code) <= 20
    assert [e.to_status for e in campaign.history.all()] == [S.DRAFT]
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="votes.campaign", object_id=str(campaign.pk)
    ).exists()


def test_generated_codes_are_unique_and_keep_latin_letters_of_the_title(world, boss, now):
    first = _create(world, boss, now, title="PK 2027 最满意派出所")
    second = _create(world, boss, now, title="PK 2027 最满意派出所")

    assert first.code != second.code
    assert first.code.startswith("pk2027")


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"title": "  "}, "title_required", "title"),
        ({"title": "长" * 101}, "title_too_long", "title"),
        ({"kind": "ranked"}, "invalid_kind", "kind"),
        ({"kind": CampaignKind.SINGLE, "max_choices": 2}, "invalid_max_choices", "max_choices"),
        ({"max_choices": 0}, "invalid_max_choices", "max_choices"),
        ({"max_choices": MAX_OPTIONS + 1}, "invalid_max_choices", "max_choices"),
        ({"closes_at_days": 1}, "invalid_window", "closes_at"),
        ({"closes_at_days": 0}, "invalid_window", "closes_at"),
        ({"code": "AB"}, "invalid_code", "code"),
        ({"code": "Huzhou2027"}, "invalid_code", "code"),
        ({"code": "hz-2027"}, "invalid_code", "code"),
        # /c/votes/actions/ is the chosen actions' list: no campaign may take that address.
        ({"code": "actions"}, "code_taken", "code"),
    ],
)
def test_create_refusals(world, boss, now, overrides, code, field):
    if "closes_at_days" in overrides:
        overrides = {"closes_at": now + timedelta(days=overrides.pop("closes_at_days"))}
    error = _refused(_create, world, boss, now, **overrides)
    assert (error.code, error.field) == (code, field)
    assert not Campaign.objects.exists()


def test_create_refuses_a_taken_code(world, boss, now):
    _create(world, boss, now, code="hz2027")
    error = _refused(_create, world, boss, now, code="hz2027")
    assert (error.code, error.field) == ("code_taken", "code")


def test_create_refuses_a_unit_outside_the_subtree_and_a_role_without_manage(world, boss, now):
    error = _refused(_create, world, boss, now, unit=world.station_a1)
    assert (error.code, error.field) == ("unit_out_of_scope", "unit")
    with pytest.raises(PermissionDenied):
        _create(world, world.user("a2", Role.EVALUATOR), now)


def test_update_changes_a_draft_and_is_audited(world, boss, now):
    campaign = _create(world, boss, now)

    campaign_update(boss, campaign, title="新标题", max_choices=3)

    campaign.refresh_from_db()
    assert (campaign.title, campaign.max_choices) == ("新标题", 3)
    event = AuditEvent.objects.get(action=AuditAction.CHANGE, object_id=str(campaign.pk))
    assert event.detail == {"fields": ["max_choices", "title"]}


def test_update_checks_the_window_and_refuses_once_open(world, boss, now):
    campaign = _draft(world, boss, now)
    error = _refused(campaign_update, boss, campaign, closes_at=campaign.opens_at)
    assert (error.code, error.field) == ("invalid_window", "closes_at")

    campaign_open(boss, campaign, now=now)
    error = _refused(campaign_update, boss, campaign, title="改")
    assert (error.code, error.status) == ("campaign_not_draft", 409)


def test_update_of_a_sibling_campaign_does_not_exist(world, now):
    campaign = make_campaign(world, status=S.DRAFT)
    with pytest.raises(NotFound):
        campaign_update(world.user("a1", Role.SUPERVISOR), campaign, title="改")


# --- Options --------------------------------------------------------------------------------


def test_options_are_numbered_and_keep_their_source_suggestion(world, boss, now):
    opinion = make_opinion(world, kind="suggestion")
    campaign = _create(world, boss, now)

    first = option_add(boss, campaign, title="增设路灯", opinion_number=opinion.number)
    second = option_add(boss, campaign, title="加强巡逻", unit=world.station_a2)

    assert (first.number, second.number) == (1, 2)
    assert first.opinion == opinion
    assert second.unit == world.station_a2
    assert (
        AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="votes.option").count()
        == 2
    )


def test_option_refuses_a_suggestion_outside_the_subtree_or_unknown(world, boss, now):
    elsewhere = make_opinion(world, kind="suggestion", unit=world.station_a1)
    campaign = _create(world, boss, now)

    for number in (elsewhere.number, "NOPE-1"):
        error = _refused(option_add, boss, campaign, title="x", opinion_number=number)
        assert (error.code, error.field) == ("unknown_opinion", "opinion_number")
    assert not campaign.options.exists()


def test_option_refusals(world, boss, now):
    campaign = _create(world, boss, now)
    error = _refused(option_add, boss, campaign, title=" ")
    assert (error.code, error.field) == ("title_required", "title")
    error = _refused(option_add, boss, campaign, title="x", unit=world.station_a1)
    assert (error.code, error.field) == ("unit_out_of_scope", "unit")


def test_option_photos_are_checked_by_their_bytes_count_and_size(world, boss, now, settings):
    campaign = _create(world, boss, now)

    option = option_add(boss, campaign, title="带照片", photos=[png_upload(), png_upload()])
    assert [p.content_type for p in option.photos.all()] == ["image/png", "image/png"]

    fake = SimpleUploadedFile("x.jpg", b"GIF89a not a jpeg", content_type="image/jpeg")
    error = _refused(option_add, boss, campaign, title="假图", photos=[fake])
    assert (error.code, error.field) == ("file_type", "photos")
    error = _refused(option_add, boss, campaign, title="四张", photos=[png_upload()] * 4)
    assert (error.code, error.field) == ("too_many_files", "photos")
    big = SimpleUploadedFile("big.png", png_bytes() + b"\0" * (5 * 2**20), "image/png")
    error = _refused(option_add, boss, campaign, title="太大", photos=[big])
    assert (error.code, error.field) == ("file_too_large", "photos")
    # The third photo is accepted, a fourth is one too many.
    option_update(boss, option, title="带照片", photos=[png_upload()])
    error = _refused(option_update, boss, option, title="带照片", photos=[png_upload()])
    assert error.code == "too_many_files"
    assert option.photos.count() == 3
    assert campaign.options.count() == 1


def test_option_remove_renumbers_the_later_ones(world, boss, now):
    campaign = _draft(world, boss, now, options=4)
    second = campaign.options.get(number=2)

    option_remove(boss, second)

    assert list(campaign.options.order_by("number").values_list("number", "title")) == [
        (1, "项目1"),
        (2, "项目3"),
        (3, "项目4"),
    ]
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_type="votes.option").exists()


def test_options_are_fixed_once_open(world, boss, now):
    campaign = _draft(world, boss, now)
    campaign_open(boss, campaign, now=now)
    option = campaign.options.get(number=1)

    for call, args, kwargs in (
        (option_add, (boss, campaign), {"title": "迟到的"}),
        (option_update, (boss, option), {"title": "改名"}),
        (option_remove, (boss, option), {}),
    ):
        assert _refused(call, *args, **kwargs).code == "campaign_not_draft"
    assert campaign.options.count() == 2


# --- Lifecycle ------------------------------------------------------------------------------


def test_open_needs_two_options_and_enough_for_max_choices(world, boss, now):
    campaign = _create(world, boss, now, max_choices=3)
    option_add(boss, campaign, title="甲")
    assert _refused(campaign_open, boss, campaign, now=now).code == "too_few_options"
    option_add(boss, campaign, title="乙")
    assert _refused(campaign_open, boss, campaign, now=now).code == "max_choices_above_options"
    option_add(boss, campaign, title="丙")

    campaign = campaign_open(boss, campaign, now=now)

    assert campaign.status == S.OPEN
    assert AuditEvent.objects.filter(
        action=AuditAction.CHANGE,
        object_id=str(campaign.pk),
        detail={"from": "draft", "to": "open"},
    ).exists()


def test_open_refuses_a_closing_time_already_past(world, boss, now):
    campaign = _draft(world, boss, now)
    later = campaign.closes_at + timedelta(minutes=1)
    assert _refused(campaign_open, boss, campaign, now=later).code == "closes_at_past"


def test_moves_out_of_order_are_refused(world, boss, now):
    campaign = _draft(world, boss, now)
    assert _refused(campaign_close, boss, campaign, now=now).code == "invalid_transition"
    assert _refused(campaign_publish, boss, campaign, now=now).code == "invalid_transition"
    campaign_open(boss, campaign, now=now)
    assert _refused(campaign_open, boss, campaign, now=now).code == "invalid_transition"
    assert _refused(campaign_publish, boss, campaign, now=now).code == "invalid_transition"


def test_moves_need_vote_manage_and_the_subtree(world, boss, now):
    campaign = _draft(world, boss, now)
    with pytest.raises(PermissionDenied):
        campaign_open(world.user("a2", Role.EVALUATOR), campaign, now=now)
    with pytest.raises(NotFound):
        campaign_open(world.user("a1", Role.SUPERVISOR), campaign, now=now)
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT


def test_close_early_then_publish_records_history_and_chain_heads(world, boss, now):
    campaign = _draft(world, boss, now, opens_at=now - timedelta(hours=1))
    campaign = campaign_open(boss, campaign, now=now)
    ballot_cast(campaign, mobile="13800001234", choices=[1, 2], now=now)

    campaign = campaign_close(boss, campaign, now=now + timedelta(minutes=5))
    assert campaign.status == S.CLOSED
    campaign = campaign_publish(boss, campaign, now=now + timedelta(minutes=10))

    assert campaign.status == S.PUBLISHED
    assert campaign.published_at == now + timedelta(minutes=10)
    steps = [(e.from_status, e.to_status, e.actor) for e in campaign.history.order_by("id")]
    assert steps == [
        ("", S.DRAFT, boss),
        (S.DRAFT, S.OPEN, boss),
        (S.OPEN, S.CLOSED, boss),
        (S.CLOSED, S.PUBLISHED, boss),
    ]
    assert campaign.history.get(to_status=S.CLOSED).note == "提前截止"
    head = ChainHead.objects.filter(campaign=campaign).latest("published_at")
    assert head.seq == 1  # the one ballot


def test_publish_waits_for_every_paper_sheet(world, boss, now):
    campaign = make_campaign(world, status=S.CLOSED)
    PaperSheet.objects.create(campaign=campaign, serial="0001")

    error = _refused(campaign_publish, boss, campaign, now=now)

    assert (error.code, error.status) == ("paper_pending", 409)
    campaign.refresh_from_db()
    assert campaign.status == S.CLOSED


def test_publish_waits_for_every_stuffing_flag_to_be_reviewed(world, boss, now):
    campaign = make_campaign(world, status=S.CLOSED)
    flags = [
        StuffingFlag.objects.create(campaign=campaign, kind=FlagKind.DEVICE_BURST, key=key)
        for key in ("d1", "d2")
    ]
    flag_decide(boss, flags[0], status=FlagStatus.CONFIRMED, note="核实为刷票", now=now)
    # The page offers no button and the service refuses: one rule.
    assert "publish" not in campaign_actions_for(boss, campaign, now=now)

    error = _refused(campaign_publish, boss, campaign, now=now)

    assert (error.code, error.status) == ("flags_open", 409)
    assert str(error.message) == "还有刷票嫌疑未复核，复核后才能公布结果。"
    campaign.refresh_from_db()
    assert campaign.status == S.CLOSED
    flag_decide(boss, flags[1], status=FlagStatus.CLEARED, note="同一单位集中投票", now=now)
    assert "publish" in campaign_actions_for(boss, campaign, now=now)
    assert campaign_publish(boss, campaign, now=now).status == S.PUBLISHED


def test_close_due_closes_only_open_campaigns_past_their_time(world, now):
    due = make_campaign(world, opens_at=now - timedelta(days=2), closes_at=now - timedelta(hours=1))
    running = make_campaign(
        world, opens_at=now - timedelta(days=1), closes_at=now + timedelta(hours=1)
    )
    draft = make_campaign(
        world,
        status=S.DRAFT,
        opens_at=now - timedelta(days=2),
        closes_at=now - timedelta(hours=1),
    )

    assert campaigns_close_due(now=now) == 1
    assert campaigns_close_due(now=now) == 0

    statuses = dict(Campaign.objects.values_list("pk", "status"))
    assert statuses == {due.pk: S.CLOSED, running.pk: S.OPEN, draft.pk: S.DRAFT}
    event = due.history.get()
    assert (event.from_status, event.to_status, event.actor) == (S.OPEN, S.CLOSED, None)
    assert ChainHead.objects.filter(campaign=due).exists()


def test_option_numbers_stay_unique_per_campaign(world, boss, now):
    campaign = _draft(world, boss, now, options=3)
    assert sorted(Option.objects.filter(campaign=campaign).values_list("number", flat=True)) == [
        1,
        2,
        3,
    ]
