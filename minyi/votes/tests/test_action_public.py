"""The citizen pages of the chosen actions (惠民实事进展, /c/votes/actions/): the public list
and timeline, photos, and following an action by SMS from a proven mobile."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minyi.core.pii import lookup_hash, mask_mobile
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.opinions.tests.factories import png_upload
from minyi.orgs.choices import Role
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_mark_verified
from minyi.votes.actions import follow, milestone_add, plan_create, update_publish
from minyi.votes.models import ActionFollower, ActionPlan, Ballot, CampaignStatus
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


def a_plan(world, number=1, **extra) -> ActionPlan:
    campaign = make_campaign(world, status=CampaignStatus.PUBLISHED, **extra)
    return plan_create(
        world.user("a2", Role.SUPERVISOR),
        campaign.options.get(number=number),
        unit=world.station_a2,
        target="年底前新增 20 个充电点",
    )


def ballot(campaign, choices: str, n: int) -> Ballot:
    return Ballot.objects.create(
        campaign=campaign,
        voter_key=f"k{n}",
        mobile=f"1390000{n:04d}",
        choices=choices,
        choice_count=choices.count("1"),
        max_choices=campaign.max_choices,
        channel="online",
        receipt=f"R{n}",
        seq=n,
    )


def unpublished_plan(world, status=CampaignStatus.CLOSED) -> ActionPlan:
    """A plan whose campaign is not published (written straight to the table: the service
    refuses to make one)."""
    campaign = make_campaign(world, status=status, title="未公布的投票")
    option = campaign.options.get(number=1)
    option.title = "未公布的项目"
    option.save()
    return ActionPlan.objects.create(option=option, unit=world.station_a2)


def latest_code(mobile=MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


def follow_url(plan):
    return reverse("votes_public:action_follow", args=[plan.pk])


# --- List and timeline ---------------------------------------------------------------------


def test_the_list_shows_published_actions_with_progress_and_unit(client, world):
    plan = a_plan(world)
    update_publish(world.user("a2", Role.UNIT_LEADER), plan, text="开工", percent_done=35)
    hidden = unpublished_plan(world)
    html = client.get(reverse("votes_public:actions")).content.decode()
    assert plan.option.title in html
    assert "35%" in html
    assert world.station_a2.name in html
    assert reverse("votes_public:action", args=[plan.pk]) in html
    assert hidden.option.title not in html


def test_the_timeline_shows_updates_photos_figures_milestones_and_the_vote(client, world):
    plan = a_plan(world)
    campaign = plan.option.campaign
    for n, choices in enumerate(["10100", "11000", "01000"], start=1):
        ballot(campaign, choices, n)
    leader = world.user("a2", Role.UNIT_LEADER)
    milestone_add(leader, plan, title="完成选址", due_on=timezone.localdate())
    update = update_publish(
        leader,
        plan,
        text="首批充电点已投用。",
        percent_done=50,
        figure_label="受益群众（人）",
        figure_value=82000,
        photos=[png_upload()],
    )
    html = client.get(reverse("votes_public:action", args=[plan.pk])).content.decode()
    assert "首批充电点已投用。" in html
    assert "受益群众（人）" in html
    assert "82000" in html
    assert "完成选址" in html
    assert "年底前新增 20 个充电点" in html
    assert "已完成 50%" in html
    assert f"来自“{campaign.title}”群众投票，获 2 票" in html
    photo = update.photos.get()
    assert reverse("votes_public:action_photo", args=[plan.pk, photo.pk]) in html
    # Staff names stay inside
    assert leader.username not in html


def test_a_photo_is_served_as_an_image(client, world):
    plan = a_plan(world)
    update = update_publish(
        world.user("a2", Role.SUPERVISOR), plan, text="进展", percent_done=5, photos=[png_upload()]
    )
    photo = update.photos.get()
    response = client.get(reverse("votes_public:action_photo", args=[plan.pk, photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    # Under another plan's address it does not exist
    other = plan_create(
        world.user("a2", Role.SUPERVISOR),
        plan.option.campaign.options.get(number=2),
        unit=world.station_a2,
    )
    assert (
        client.get(reverse("votes_public:action_photo", args=[other.pk, photo.pk])).status_code
        == 404
    )


@pytest.mark.parametrize(
    "status", [CampaignStatus.DRAFT, CampaignStatus.OPEN, CampaignStatus.CLOSED]
)
def test_an_unpublished_campaigns_plan_does_not_exist_for_citizens(client, world, status):
    plan = unpublished_plan(world, status)
    assert client.get(reverse("votes_public:action", args=[plan.pk])).status_code == 404
    assert client.get(follow_url(plan)).status_code == 404
    assert (
        client.post(follow_url(plan), {"mobile": MOBILE, "action": "send_code"}).status_code == 404
    )
    assert not OutboundSms.objects.exists()


def test_an_unpublished_campaigns_photo_is_not_served(client, world):
    plan = a_plan(world)
    update = update_publish(
        world.user("a2", Role.SUPERVISOR), plan, text="进展", percent_done=5, photos=[png_upload()]
    )
    photo = update.photos.get()
    # (Cannot happen through the services: a published campaign never goes back.)
    type(plan.option.campaign).objects.filter(pk=plan.option.campaign_id).update(
        status=CampaignStatus.CLOSED
    )
    response = client.get(reverse("votes_public:action_photo", args=[plan.pk, photo.pk]))
    assert response.status_code == 404


# --- Following -----------------------------------------------------------------------------


def test_follow_needs_a_proven_mobile(client, world):
    plan = a_plan(world)
    # Without a code
    response = client.post(follow_url(plan), {"mobile": MOBILE, "code": "", "action": "follow"})
    assert response.status_code == 200
    assert "请输入短信中的 6 位数字验证码。" in response.content.decode()
    assert not ActionFollower.objects.exists()
    # With a wrong code
    client.post(follow_url(plan), {"mobile": MOBILE, "action": "send_code"})
    wrong = f"{(int(latest_code()) + 1) % 10**6:06d}"
    response = client.post(follow_url(plan), {"mobile": MOBILE, "code": wrong, "action": "follow"})
    assert response.status_code == 200
    assert 'class="c-error"' in response.content.decode()
    assert not ActionFollower.objects.exists()


def test_a_citizen_follows_with_a_code_and_unfollows(client, world):
    plan = a_plan(world)
    response = client.post(follow_url(plan), {"mobile": MOBILE, "action": "send_code"})
    assert response.status_code == 200
    assert mask_mobile(MOBILE) in response.content.decode()
    code = latest_code()
    response = client.post(follow_url(plan), {"mobile": MOBILE, "code": code, "action": "follow"})
    assert response.status_code == 302
    follower = ActionFollower.objects.get(plan=plan)
    assert follower.mobile_hash == lookup_hash("mobile", MOBILE)
    assert follower.stopped_at is None
    html = client.get(follow_url(plan)).content.decode()
    assert 'data-testid="following"' in html
    assert mask_mobile(MOBILE) in html
    assert MOBILE not in html
    # The same proven session unfollows, then follows again, without a second code
    assert client.post(follow_url(plan), {"action": "unfollow"}).status_code == 302
    follower.refresh_from_db()
    assert follower.stopped_at is not None
    assert 'data-testid="not-following"' in client.get(follow_url(plan)).content.decode()
    client.post(follow_url(plan), {"action": "follow"})
    follower.refresh_from_db()
    assert follower.stopped_at is None
    assert ActionFollower.objects.count() == 1


def test_a_mobile_proven_for_another_action_or_purpose_does_not_count(client, world):
    plan = a_plan(world)
    other = plan_create(
        world.user("a2", Role.SUPERVISOR),
        plan.option.campaign.options.get(number=2),
        unit=world.station_a2,
    )
    session = client.session
    session_mark_verified(
        session, purpose=OtpPurpose.ACTION_FOLLOW, mobile=MOBILE, subject=str(other.pk)
    )
    session.save()
    html = client.get(follow_url(plan)).content.decode()
    assert 'data-testid="following"' not in html
    assert "获取验证码" in html
    # An unfollow from such a session changes nothing
    follow(plan, MOBILE)
    client.post(follow_url(plan), {"action": "unfollow"})
    assert ActionFollower.objects.get(plan=plan).stopped_at is None

    session = Client().session
    session_mark_verified(session, purpose=OtpPurpose.OPINION_LOOKUP, mobile=MOBILE)
    session.save()
    stranger = Client()
    stranger.cookies["sessionid"] = session.session_key
    assert "获取验证码" in stranger.get(follow_url(plan)).content.decode()


def test_a_follower_is_texted_on_the_next_update(client, world):
    plan = a_plan(world)
    client.post(follow_url(plan), {"mobile": MOBILE, "action": "send_code"})
    client.post(follow_url(plan), {"mobile": MOBILE, "code": latest_code(), "action": "follow"})
    update_publish(world.user("a2", Role.UNIT_LEADER), plan, text="开工", percent_done=10)
    message = OutboundSms.objects.get(purpose=SmsPurpose.ACTION_UPDATE)
    assert message.to_mobile == MOBILE
    assert f"/c/votes/actions/{plan.pk}/" in message.body
