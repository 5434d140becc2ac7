"""The portal demo: opinions in every state, tips rewarded, cases with a confidential one, all
made by the real services, and a sample case that a party can actually look up."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from minyi.cases.models import Case, CaseParty
from minyi.cases.services import case_lookup_start
from minyi.demo.city import build_demo_city
from minyi.demo.portal import build_portal_demo
from minyi.opinions.models import Opinion, OpinionEvent, OpinionStatus, RewardStatus, TipReward


@pytest.mark.django_db
@override_settings(DEMO_MODE=True)
def test_portal_demo_fills_every_state_and_its_sample_case_can_be_looked_up():
    # Given the demo city
    build_demo_city()
    # When the portal demo is built
    figures = build_portal_demo(seed=7, opinions=80, cases=12)
    # Then opinions are in every state, each with its history from submission on
    statuses = set(Opinion.objects.values_list("status", flat=True))
    assert {OpinionStatus.RECEIVED, OpinionStatus.ANSWERED, OpinionStatus.CLOSED} <= statuses
    assert figures["answered"] > 0 and figures["rated"] > 0
    assert OpinionEvent.objects.filter(from_status="").count() == Opinion.objects.count()
    rated = Opinion.objects.filter(rating__isnull=False)
    assert rated.count() == figures["rated"]
    assert all(o.answered_at and o.rated_at >= o.answered_at for o in rated)
    # and tips moved through the reward's states by staff allowed to move them
    assert TipReward.objects.count() == figures["rewards"]
    assert (
        TipReward.objects.exclude(status=RewardStatus.PROPOSED).exists() or not figures["rewards"]
    )
    # and one confidential and one private case are among the cases
    assert Case.objects.filter(confidential=True).count() == 1
    assert Case.objects.filter(private=True).count() == 1
    # and the sample printed for the README is a public case whose party has a mobile
    number, id_number = figures["sample"]
    party = case_lookup_start(number=number, id_number=id_number, ip="127.0.0.1")
    assert isinstance(party, CaseParty) and party.case.number == number


@pytest.mark.django_db
@override_settings(DEMO_MODE=True)
def test_demo_portal_command_runs_once():
    build_demo_city()
    out = StringIO()
    call_command("demo_portal", stdout=out)
    assert "Try a case lookup" in out.getvalue()
    count = Opinion.objects.count()
    again = StringIO()
    call_command("demo_portal", stdout=again)
    assert "nothing was written" in again.getvalue()
    assert Opinion.objects.count() == count
