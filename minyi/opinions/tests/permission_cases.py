"""Permission-matrix cases for the staff opinion pages (collected by
minyi/console/tests/test_permission_matrix.py). The marker is the number of an opinion at
station a2, which a sibling (station a1) must never see.

The builders below are idempotent (each test asks for the same row from both the marker and
the address) and are reused by test_views.py."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.opinions.models import (
    Opinion,
    OpinionKind,
    OpinionPolicy,
    RewardStatus,
    TipReward,
    TipVerdict,
)
from minyi.orgs.choices import Role
from minyi.orgs.roles import Perm

TIPSTER = "李举报"
TIPSTER_MOBILE = "13700009999"


def complaint_a2(world) -> Opinion:
    """A named complaint at station a2."""
    from minyi.opinions.tests.factories import make_opinion

    found = Opinion.objects.filter(unit=world.station_a2, kind=OpinionKind.COMPLAINT).first()
    return found or make_opinion(world, kind=OpinionKind.COMPLAINT, contact_name="王投诉")


def photographed_a2(world):
    """A photo attached to a suggestion at station a2."""
    from minyi.opinions.tests.factories import make_opinion, png_upload

    found = Opinion.objects.filter(
        unit=world.station_a2, kind=OpinionKind.SUGGESTION, photos__isnull=False
    ).first()
    opinion = found or make_opinion(world, kind=OpinionKind.SUGGESTION, photos=[png_upload()])
    return opinion.photos.get()


def wall_suggestion_a2(world) -> Opinion:
    """A suggestion at station a2 whose author agreed to show it on the public wall."""
    from minyi.opinions.tests.factories import make_opinion

    found = Opinion.objects.filter(
        unit=world.station_a2, kind=OpinionKind.SUGGESTION, wall_consent=True
    ).first()
    return found or make_opinion(
        world,
        kind=OpinionKind.SUGGESTION,
        wall_consent=True,
        content="建议在甲二村村口增设减速带。",
    )


def tip_a2(world) -> Opinion:
    """A named tip at station a2."""
    from minyi.opinions.tests.factories import make_opinion

    found = Opinion.objects.filter(unit=world.station_a2, kind=OpinionKind.TIP).first()
    return found or make_opinion(
        world,
        kind=OpinionKind.TIP,
        contact_name=TIPSTER,
        mobile=TIPSTER_MOBILE,
        content="有人在甲二村仓库里收购来路不明的电动车。",
    )


def verified_tip_a2(world) -> Opinion:
    """The tip, found true by station a2's leader."""
    from minyi.opinions.services.handling import opinion_tip_verdict

    tip = tip_a2(world)
    if tip.tip_verdict != TipVerdict.VERIFIED:
        tip = opinion_tip_verdict(
            actor=world.user("a2", Role.UNIT_LEADER),
            opinion=tip,
            verdict=TipVerdict.VERIFIED,
            note="经查属实，已查获赃车三辆。",
        )
    return tip


def rewarded_tip_a2(world, *, status: str = RewardStatus.PROPOSED) -> Opinion:
    """The verified tip with a reward proposed by station a2 and, for APPROVED, approved by
    district a's supervisor."""
    from minyi.opinions.services.rewards import reward_decide, reward_propose

    tip = verified_tip_a2(world)
    reward = TipReward.objects.filter(opinion=tip).first()
    if reward is None:
        reward = reward_propose(
            actor=world.user("a2", Role.UNIT_LEADER),
            opinion=tip,
            amount="500",
            reason="线索属实，协助查获赃车。",
        )
    if status == RewardStatus.APPROVED and reward.status == RewardStatus.PROPOSED:
        reward_decide(actor=world.user("a", Role.SUPERVISOR), reward=reward, approve=True)
    return Opinion.objects.get(pk=tip.pk)


def approved_tip_a2(world) -> Opinion:
    return rewarded_tip_a2(world, status=RewardStatus.APPROVED)


LETTER_ADDRESS = "甲区甲二村幸福路 8 号"


def letter_a2(world) -> Opinion:
    """A letter from station a2's mailbox with only a postal address, answered by a2."""
    from minyi.opinions.models import OpinionChannel
    from minyi.opinions.services.handling import opinion_answer
    from minyi.opinions.services.intake import opinion_key_in

    found = Opinion.objects.filter(unit=world.station_a2, channel=OpinionChannel.MAILBOX).first()
    if found is None:
        leader = world.user("a2", Role.UNIT_LEADER)
        found = opinion_key_in(
            actor=leader,
            channel=OpinionChannel.MAILBOX,
            kind=OpinionKind.SUGGESTION,
            content="建议在甲二村幸福路口安装路灯，晚上回家太黑。",
            contact_name="赵大爷",
            postal_address=LETTER_ADDRESS,
            consent=True,
            unit_id=world.station_a2.pk,
        )
        found = opinion_answer(
            actor=leader, opinion=found, text="已协调供电部门，路灯将于本月内安装到位。"
        )
    return found


def _rates_marker(world) -> str:
    letter_a2(world)
    return f"统计范围：{world.station_a2.name}"


def _url(name, make):
    return lambda w: reverse(f"opinions:{name}", args=[make(w).pk])


def _number(make):
    return lambda w: make(w).number


def _post(permission, name, make, owner_status):
    return Case(
        permission,
        _url(name, make),
        _number(make),
        method="post",
        detail=True,
        owner_status=owner_status,
    )


CASES = {
    "opinions:opinion_list": Case(
        Perm.OPINION_VIEW, lambda w: reverse("opinions:opinion_list"), _number(complaint_a2)
    ),
    "opinions:opinion_detail": Case(
        Perm.OPINION_VIEW,
        _url("opinion_detail", complaint_a2),
        _number(complaint_a2),
        detail=True,
    ),
    # Signed for: back to the opinion.
    "opinions:opinion_accept": _post(Perm.OPINION_HANDLE, "opinion_accept", complaint_a2, 302),
    # An empty answer: the page again, with what is missing.
    "opinions:opinion_answer": _post(Perm.OPINION_HANDLE, "opinion_answer", complaint_a2, 400),
    # No unit chosen (station a2 has no units below it to choose from anyway).
    "opinions:opinion_transfer": _post(Perm.OPINION_ROUTE, "opinion_transfer", complaint_a2, 400),
    # No verdict chosen.
    "opinions:opinion_verdict": _post(Perm.OPINION_HANDLE, "opinion_verdict", tip_a2, 400),
    # The full mobile is the marker: the owner sees it, a sibling gets a 404 without it.
    "opinions:opinion_contact": Case(
        Perm.OPINION_REVEAL_CONTACT,
        _url("opinion_contact", complaint_a2),
        lambda w: complaint_a2(w).mobile,
        method="post",
        detail=True,
    ),
    # Neither "take down" nor "restore" chosen: the page again, with what is missing.
    "opinions:opinion_wall_toggle": _post(
        Perm.OPINION_ROUTE, "opinion_wall_toggle", wall_suggestion_a2, 400
    ),
    # A PNG: the sibling's 404 is the check.
    "opinions:opinion_photo": Case(
        Perm.OPINION_VIEW,
        lambda w: (
            (p := photographed_a2(w))
            and reverse("opinions:opinion_photo", args=[p.opinion_id, p.pk])
        ),
        None,
        detail=True,
    ),
    # No reason given.
    "opinions:reward_propose": _post(Perm.REWARD_MANAGE, "reward_propose", verified_tip_a2, 400),
    # No decision chosen (and a2's own supervisor could not approve a2's reward anyway).
    "opinions:reward_decide": _post(Perm.REWARD_APPROVE, "reward_decide", rewarded_tip_a2, 400),
    # No payment reference.
    "opinions:reward_pay": _post(Perm.REWARD_MANAGE, "reward_pay", approved_tip_a2, 400),
    # The unit choices are the marker: a sibling may only hand it to its own subtree.
    "opinions:opinion_key_in": Case(
        Perm.OPINION_KEY_IN,
        lambda w: reverse("opinions:opinion_key_in"),
        lambda w: w.station_a2.name,
    ),
    # A PDF (no text to look for): the sibling's 404 is the check.
    "opinions:opinion_letter": Case(
        Perm.OPINION_HANDLE, _url("opinion_letter", letter_a2), None, method="post", detail=True
    ),
    "opinions:channel_rates": Case(
        Perm.OPINION_VIEW, lambda w: reverse("opinions:channel_rates"), _rates_marker
    ),
    "opinions:channel_rates_export": Case(
        Perm.DATA_EXPORT, lambda w: reverse("opinions:channel_rates_export"), _rates_marker
    ),
    # An approved reward not paid yet is listed for a2's supervisor, not for a1's.
    "opinions:reward_list": Case(
        Perm.REWARD_APPROVE, lambda w: reverse("opinions:reward_list"), _number(approved_tip_a2)
    ),
}

ADMIN_OBJECTS = {"opinions.opinionpolicy": lambda w: OpinionPolicy.objects.get(kind="complaint")}
CITY_ADMIN_LABELS = {"opinions.opinionpolicy"}
