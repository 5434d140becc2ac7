"""Staff free text on opinions (the answer, history notes, a tip's verdict note, a reward's
reason and decision) is stored encrypted like the citizen's own text (and so is the area the
citizen names) and shown masked; the contact name a citizen types is masked too (issue 12,
items 2 and 3)."""

import pytest
from django.test import Client
from django.urls import reverse

from minyi.cases.tests.factories import login
from minyi.core.tests.at_rest import NOTE, NUMBER, assert_encrypted
from minyi.opinions.models import OpinionEvent, OpinionKind, OpinionStatus, RewardEvent, TipVerdict
from minyi.opinions.services.handling import opinion_answer, opinion_tip_verdict
from minyi.opinions.services.rewards import reward_decide, reward_propose
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def _page(user, opinion) -> str:
    response = login(Client(), user).get(reverse("opinions:opinion_detail", args=[opinion.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_answer_and_its_history_note_are_encrypted_at_rest_and_masked(world):
    leader = world.user("a2", Role.UNIT_LEADER)
    # Given a citizen who wrote a number as their name, and an answer that repeats one
    area = f"幸福小区3幢，电话{NUMBER}"
    opinion = make_opinion(world, contact_name="张 137-1234-0000", area=area)
    answered = opinion_answer(actor=leader, opinion=opinion, text=NOTE)
    # Then the answer and its history note are not in clear in the database
    assert_encrypted(answered, "answer")
    assert_encrypted(answered, "area", area)  # the citizen's own words, like the content
    event = OpinionEvent.objects.get(opinion=opinion, to_status=OpinionStatus.ANSWERED)
    assert_encrypted(event, "note")
    # And the page shows them, and the name, masked
    html = _page(leader, answered)
    assert NUMBER not in html and "137-1234-0000" not in html
    assert "137****0000" in html and "张 137-****-0000" in html


def test_tip_verdict_and_reward_texts_are_encrypted_at_rest_and_masked(world):
    leader = world.user("a2", Role.UNIT_LEADER)
    tip = make_opinion(world, kind=OpinionKind.TIP)
    tip = opinion_tip_verdict(actor=leader, opinion=tip, verdict=TipVerdict.VERIFIED, note=NOTE)
    reward = reward_propose(actor=leader, opinion=tip, amount="500", reason=NOTE)
    reward = reward_decide(
        actor=world.user("a", Role.SUPERVISOR), reward=reward, approve=True, note=NOTE
    )
    assert_encrypted(tip, "tip_verdict_note")
    assert_encrypted(reward, "reason")
    assert_encrypted(reward, "decision_note")
    assert_encrypted(RewardEvent.objects.filter(reward=reward).latest("id"), "note")
    html = _page(leader, tip)
    assert NUMBER not in html and "137****0000" in html
