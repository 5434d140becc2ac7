"""The chosen actions' accountability (惠民实事落实): plans from a published campaign's option,
milestones, progress updates with photos, and the followers' SMS; the staff pages."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent
from minyi.core.pii import lookup_hash, mask_mobile
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.integrations.sms.services import optout_add
from minyi.opinions.tests.factories import png_upload
from minyi.orgs.choices import Role
from minyi.votes.actions import (
    follow,
    milestone_add,
    milestone_done,
    plan_create,
    sms_body,
    unfollow,
    update_publish,
)
from minyi.votes.models import ActionFollower, ActionPlan, ActionUpdate, CampaignStatus
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db

ALICE, BOB, CAROL = "13800001111", "13800002222", "13800003333"


def organiser(world):
    return world.user("a2", Role.SUPERVISOR)


def leader(world, unit="a2"):
    return world.user(unit, Role.UNIT_LEADER)


def published(world, **extra):
    return make_campaign(world, status=CampaignStatus.PUBLISHED, **extra)


def a_plan(world, **extra) -> ActionPlan:
    campaign = published(world, **extra)
    return plan_create(
        organiser(world), campaign.options.get(number=1), unit=world.station_a2, target="年底前"
    )


def update_sms():
    qs = OutboundSms.objects.filter(purpose=SmsPurpose.ACTION_UPDATE)
    return list(qs.order_by("id"))


# --- Plans ---------------------------------------------------------------------------------


def test_organiser_makes_a_plan_from_a_published_option_and_it_is_audited(world):
    campaign = published(world)
    option = campaign.options.get(number=2)
    plan = plan_create(organiser(world), option, unit=world.station_a2, target=" 新增充电点 ")
    assert plan.option == option
    assert plan.unit == world.station_a2
    assert plan.target == "新增充电点"
    assert plan.percent_done == 0
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="votes.actionplan", object_id=str(plan.pk)
    ).exists()


@pytest.mark.parametrize(
    "status", [CampaignStatus.DRAFT, CampaignStatus.OPEN, CampaignStatus.CLOSED]
)
def test_no_plan_before_the_results_are_published(world, status):
    campaign = make_campaign(world, status=status)
    with pytest.raises(ApplicationError) as exc:
        plan_create(organiser(world), campaign.options.first(), unit=world.station_a2)
    assert exc.value.code == "campaign_not_published"
    assert not ActionPlan.objects.exists()


def test_responsible_unit_must_be_in_the_organisers_subtree(world):
    campaign = published(world)
    with pytest.raises(ApplicationError) as exc:
        plan_create(organiser(world), campaign.options.first(), unit=world.station_a1)
    assert exc.value.code == "unit_outside_subtree"
    assert exc.value.field == "unit"


def test_a_district_organiser_may_name_a_station_below_it(world):
    campaign = published(world, unit=world.district_a)
    plan = plan_create(
        world.user("a", Role.SUPERVISOR), campaign.options.first(), unit=world.station_a1
    )
    assert plan.unit == world.station_a1


@pytest.mark.parametrize(
    ("unit", "role"),
    [("a1", Role.SUPERVISOR), ("a2", Role.UNIT_LEADER), ("a2", Role.EVALUATOR)],
)
def test_only_the_organiser_makes_plans(world, unit, role):
    campaign = published(world)
    with pytest.raises(PermissionDenied):
        plan_create(world.user(unit, role), campaign.options.first(), unit=world.station_a2)


def test_one_plan_per_option(world):
    plan = a_plan(world)
    with pytest.raises(ApplicationError) as exc:
        plan_create(organiser(world), plan.option, unit=world.station_a2)
    assert exc.value.code == "plan_exists"


# --- Milestones ----------------------------------------------------------------------------


def test_milestones_are_added_and_marked_done_by_the_leader(world):
    plan = a_plan(world)
    now = timezone.now()
    today = timezone.localdate(now)
    milestone = milestone_add(
        leader(world), plan, title="完成选址", due_on=today + datetime.timedelta(days=30)
    )
    milestone_done(leader(world), milestone, today, now=now)
    milestone.refresh_from_db()
    assert milestone.done_on == today
    assert AuditEvent.objects.filter(
        object_type="votes.milestone", object_id=str(milestone.pk), action=AuditAction.CHANGE
    ).exists()


def test_a_milestone_cannot_be_done_in_the_future(world):
    plan = a_plan(world)
    now = timezone.now()
    milestone = milestone_add(organiser(world), plan, title="开工", due_on=timezone.localdate(now))
    with pytest.raises(ApplicationError) as exc:
        milestone_done(
            organiser(world),
            milestone,
            timezone.localdate(now) + datetime.timedelta(days=1),
            now=now,
        )
    assert exc.value.field == "done_on"


# --- Updates -------------------------------------------------------------------------------


def test_leader_publishes_an_update_with_a_figure_and_photos(world):
    plan = a_plan(world)
    update = update_publish(
        leader(world),
        plan,
        text="已建成 12 个充电点。",
        percent_done=40,
        figure_label="受益群众（人）",
        figure_value="82000",
        photos=[png_upload("a.png"), png_upload("b.png")],
    )
    plan.refresh_from_db()
    assert plan.percent_done == 40
    assert update.figure_value == 82000
    assert update.photos.count() == 2
    assert {p.content_type for p in update.photos.all()} == {"image/png"}
    event = AuditEvent.objects.get(object_type="votes.actionupdate", object_id=str(update.pk))
    assert event.detail["percent_before"] == 0
    assert event.detail["percent_done"] == 40


@pytest.mark.parametrize("percent", [-1, 101, "abc", "50.5"])
def test_percent_out_of_range_is_refused(world, percent):
    plan = a_plan(world)
    with pytest.raises(ApplicationError) as exc:
        update_publish(organiser(world), plan, text="进展", percent_done=percent)
    assert exc.value.code == "percent_range"
    assert not ActionUpdate.objects.exists()


def test_progress_goes_down_only_with_a_reason_written_into_the_text(world):
    plan = a_plan(world)
    update_publish(organiser(world), plan, text="过半", percent_done=60)
    with pytest.raises(ApplicationError) as exc:
        update_publish(organiser(world), plan, text="返工", percent_done=50)
    assert exc.value.code == "percent_lowered"
    update = update_publish(
        organiser(world),
        plan,
        text="返工",
        percent_done=50,
        lower_reason="两处充电点验收不合格，需重建。",
    )
    assert "进度下调说明：两处充电点验收不合格，需重建。" in update.text
    plan.refresh_from_db()
    assert plan.percent_done == 50


def test_photos_are_limited_to_three_images(world):
    plan = a_plan(world)
    with pytest.raises(ApplicationError) as exc:
        update_publish(
            organiser(world), plan, text="进展", percent_done=10, photos=[png_upload()] * 4
        )
    assert exc.value.code == "too_many_files"
    text = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    with pytest.raises(ApplicationError) as exc:
        update_publish(organiser(world), plan, text="进展", percent_done=10, photos=[text])
    assert exc.value.code == "file_type"
    assert not ActionUpdate.objects.exists()


@pytest.mark.parametrize(
    ("unit", "role"),
    [("a1", Role.UNIT_LEADER), ("a2", Role.EVALUATOR), ("a1", Role.SUPERVISOR)],
)
def test_others_cannot_update(world, unit, role):
    plan = a_plan(world)
    with pytest.raises(PermissionDenied):
        update_publish(world.user(unit, role), plan, text="进展", percent_done=10)
    with pytest.raises(PermissionDenied):
        milestone_add(world.user(unit, role), plan, title="节点", due_on=datetime.date(2030, 1, 1))


def test_a_station_supervisor_cannot_update_a_district_campaigns_plan(world):
    # The district organised it and named station a2: a2's leader and the district act.
    campaign = published(world, unit=world.district_a)
    plan = plan_create(
        world.user("a", Role.SUPERVISOR), campaign.options.first(), unit=world.station_a2
    )
    update_publish(leader(world), plan, text="开工", percent_done=10)
    update_publish(world.user("a", Role.SUPERVISOR), plan, text="过半", percent_done=50)
    with pytest.raises(PermissionDenied):
        update_publish(organiser(world), plan, text="完成", percent_done=100)


# --- Followers -----------------------------------------------------------------------------


def test_each_follower_gets_exactly_one_sms_per_update(world):
    plan = a_plan(world)
    follow(plan, ALICE)
    follow(plan, BOB)
    follow(plan, ALICE)  # again: still one follower
    assert ActionFollower.objects.filter(plan=plan).count() == 2
    now = timezone.now()
    update_publish(organiser(world), plan, text="开工", percent_done=10, now=now)
    sent = update_sms()
    assert sorted(m.to_mobile_hash for m in sent) == sorted(
        lookup_hash("mobile", m) for m in (ALICE, BOB)
    )
    update_publish(organiser(world), plan, text="过半", percent_done=55, now=now)
    assert len(update_sms()) == 4
    assert sum(1 for m in update_sms() if m.to_mobile == ALICE) == 2


def test_the_sms_says_title_percent_and_link_and_nothing_about_anyone(world, settings):
    settings.PUBLIC_BASE_URL = "https://minyi.example.cn"
    plan = a_plan(world)
    follow(plan, ALICE)
    follow(plan, BOB)
    update_publish(organiser(world), plan, text=f"联系人 {CAROL} 已到场", percent_done=30)
    for message in update_sms():
        assert message.body == sms_body(plan, 30)
        assert message.body.startswith(settings.SMS_SIGNATURE)
        assert plan.option.title in message.body
        assert "30%" in message.body
        assert f"https://minyi.example.cn/c/votes/actions/{plan.pk}/" in message.body
        for mobile in (ALICE, BOB, CAROL):
            assert mobile not in message.body
            assert mask_mobile(mobile) not in message.body
        assert "联系人" not in message.body  # the update's text stays on the page


def test_an_opted_out_follower_gets_no_sms(world):
    plan = a_plan(world)
    follow(plan, ALICE)
    follow(plan, BOB)
    optout_add(mobile_hash=lookup_hash("mobile", BOB), source="sms")
    update_publish(organiser(world), plan, text="开工", percent_done=10)
    assert [m.to_mobile for m in update_sms()] == [ALICE]


def test_an_unfollowed_citizen_gets_no_sms_and_may_follow_again(world):
    plan = a_plan(world)
    follow(plan, ALICE)
    follow(plan, BOB)
    assert unfollow(plan, BOB) is True
    assert unfollow(plan, BOB) is False  # idempotent
    update_publish(organiser(world), plan, text="开工", percent_done=10)
    assert [m.to_mobile for m in update_sms()] == [ALICE]
    follow(plan, BOB)
    update_publish(organiser(world), plan, text="过半", percent_done=50)
    assert sorted(m.to_mobile for m in update_sms()[1:]) == [ALICE, BOB]
    assert ActionFollower.objects.filter(plan=plan).count() == 2


def test_a_followers_mobile_is_stored_encrypted_and_hashed(world):
    plan = a_plan(world)
    follower = follow(plan, "138 0000 1111")
    assert follower.mobile_hash == lookup_hash("mobile", ALICE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile FROM votes_actionfollower WHERE id = %s", [follower.pk])
        (stored,) = cursor.fetchone()
    assert ALICE not in stored


def test_followers_of_another_plan_are_not_told(world):
    plan = a_plan(world)
    other = plan_create(
        organiser(world), plan.option.campaign.options.get(number=2), unit=world.station_a2
    )
    follow(other, BOB)
    follow(plan, ALICE)
    update_publish(organiser(world), plan, text="开工", percent_done=10)
    assert [m.to_mobile for m in update_sms()] == [ALICE]


# --- Staff pages ---------------------------------------------------------------------------


def login(client, user):
    client.force_login(user)
    return client


def test_organiser_creates_a_plan_from_the_page(client, world):
    campaign = published(world)
    option = campaign.options.get(number=3)
    login(client, organiser(world))
    page = client.get(reverse("votes:action_list"))
    assert reverse("votes:action_new", args=[option.pk]) in page.content.decode()
    response = client.post(
        reverse("votes:action_new", args=[option.pk]),
        {"unit": world.station_a2.pk, "target": "年底前完成"},
    )
    plan = ActionPlan.objects.get(option=option)
    assert response.status_code == 302
    assert response.url == reverse("votes:action_detail", args=[plan.pk])


def test_new_plan_page_refuses_an_unpublished_campaign(client, world):
    campaign = make_campaign(world, status=CampaignStatus.CLOSED)
    option = campaign.options.first()
    login(client, organiser(world))
    response = client.post(
        reverse("votes:action_new", args=[option.pk]), {"unit": world.station_a2.pk}
    )
    assert response.status_code == 409
    assert "投票结果公布后" in response.content.decode()
    assert not ActionPlan.objects.exists()


def test_new_plan_page_offers_only_units_of_the_subtree(client, world):
    option = published(world).options.first()
    login(client, organiser(world))
    html = client.get(reverse("votes:action_new", args=[option.pk])).content.decode()
    assert world.station_a2.name in html
    assert world.station_a1.name not in html


def test_leader_publishes_from_the_page_and_followers_are_counted_not_shown(client, world):
    plan = a_plan(world)
    follow(plan, ALICE)
    login(client, leader(world))
    response = client.post(
        reverse("votes:action_update_publish", args=[plan.pk]),
        {"text": "已完成选址。", "percent_done": "20", "photos": [png_upload()]},
    )
    assert response.status_code == 302
    assert plan.updates.get().photos.count() == 1
    assert len(update_sms()) == 1
    html = client.get(reverse("votes:action_detail", args=[plan.pk])).content.decode()
    assert "已完成选址。" in html
    assert 'data-testid="follower-count">1<' in html
    assert ALICE not in html
    assert mask_mobile(ALICE) not in html


def test_lowering_progress_on_the_page_asks_for_the_reason(client, world):
    plan = a_plan(world)
    update_publish(organiser(world), plan, text="过半", percent_done=60)
    login(client, leader(world))
    response = client.post(
        reverse("votes:action_update_publish", args=[plan.pk]),
        {"text": "返工", "percent_done": "40"},
    )
    assert response.status_code == 422
    assert 'data-testid="error-lower_reason"' in response.content.decode()
    assert plan.updates.count() == 1


def test_an_evaluator_sees_the_plan_but_may_not_update_it(client, world):
    plan = a_plan(world)
    login(client, world.user("a2", Role.EVALUATOR))
    html = client.get(reverse("votes:action_detail", args=[plan.pk])).content.decode()
    assert plan.option.title in html
    assert 'data-testid="update-form"' not in html
    response = client.post(
        reverse("votes:action_update_publish", args=[plan.pk]),
        {"text": "进展", "percent_done": "10"},
    )
    assert response.status_code == 403
    assert not plan.updates.exists()


def test_milestones_from_the_page(client, world):
    plan = a_plan(world)
    login(client, leader(world))
    today = timezone.localdate()
    response = client.post(
        reverse("votes:action_milestone_add", args=[plan.pk]),
        {"title": "完成招标", "due_on": (today + datetime.timedelta(days=10)).isoformat()},
    )
    assert response.status_code == 302
    milestone = plan.milestones.get()
    response = client.post(
        reverse("votes:action_milestone_done", args=[plan.pk, milestone.pk]),
        {"done_on": today.isoformat()},
    )
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.done_on == today


def test_a_milestone_of_another_plan_is_not_found(client, world):
    plan = a_plan(world)
    other = plan_create(
        organiser(world), plan.option.campaign.options.get(number=2), unit=world.station_a2
    )
    milestone = milestone_add(organiser(world), other, title="开工", due_on=timezone.localdate())
    login(client, leader(world))
    response = client.post(
        reverse("votes:action_milestone_done", args=[plan.pk, milestone.pk]),
        {"done_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 404


def test_the_responsible_station_sees_a_district_plan_the_sibling_does_not(client, world):
    campaign = published(world, unit=world.district_a)
    plan = plan_create(
        world.user("a", Role.SUPERVISOR), campaign.options.first(), unit=world.station_a2
    )
    login(client, leader(world))
    assert plan.option.title in client.get(reverse("votes:action_list")).content.decode()
    login(client, leader(world, "a1"))
    assert plan.option.title not in client.get(reverse("votes:action_list")).content.decode()
    assert client.get(reverse("votes:action_detail", args=[plan.pk])).status_code == 404
