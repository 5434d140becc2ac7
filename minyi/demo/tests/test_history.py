"""The demo city's satisfaction history and live traffic (capability 1): realistic figures,
produced by the real rules, deterministic, idempotent; the traffic moves the loop."""

import random
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings

from minyi.callbacks.models import Callback
from minyi.core.pii import normalize_mobile
from minyi.demo.city import build_demo_city
from minyi.demo.contacts import (
    COMPLAINTS,
    HISTORY_SOURCE,
    LIVE_SOURCE,
    OPT_OUTS,
    QUESTIONS,
    Citizens,
    load_catalogue,
    new_mobile,
    plan_day,
    reply_text,
)
from minyi.demo.history import build_history, history_figures
from minyi.demo.traffic import traffic_tick
from minyi.demo.workorders import work_callbacks
from minyi.integrations.sms.models import InboundSms, InboundStatus, OutboundSms, OutboundStatus
from minyi.perception.models import (
    SatisfactionDaily,
    ServiceEvent,
    Survey,
    SurveyDecision,
    SurveyReply,
    SurveyStatus,
)
from minyi.perception.replies import ReplyKind, parse_reply
from minyi.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStatus

NOW = datetime(2026, 3, 18, 15, 20, tzinfo=ZoneInfo("Asia/Shanghai"))
DAYS = 5


# --- What citizens write (no database) ----------------------------------------------------


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("comments", sorted(COMPLAINTS))
@pytest.mark.parametrize("repeat", [False, True])
def test_reply_texts_mean_the_rating_they_were_written_for(rating, comments, repeat):
    rng = random.Random(f"{rating}{comments}{repeat}")
    for _ in range(60):
        text = reply_text(rng, rating, comments, repeat=repeat)
        parsed = parse_reply(text)
        assert (parsed.kind, parsed.rating) == (ReplyKind.RATING, rating), text


def test_questions_are_not_ratings_and_opt_outs_are_opt_outs():
    assert {parse_reply(t).kind for t in QUESTIONS} == {ReplyKind.UNPARSED}
    assert {parse_reply(t).kind for t in OPT_OUTS} == {ReplyKind.OPT_OUT}


def test_synthetic_mobiles_are_valid_and_seeded():
    first = [new_mobile(random.Random(7)) for _ in range(3)]
    rng = random.Random(7)
    mobiles = [new_mobile(rng) for _ in range(500)]
    assert all(normalize_mobile(m) == m and m[:2] in ("13", "15", "18") for m in mobiles)
    assert first == [mobiles[0]] * 3


# --- One history for the module (rolled back at the end) ---------------------------------


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(DEMO_MODE=True), transaction.atomic():
        build_demo_city()
        figures = build_history(days=DAYS, now=NOW)
        yield figures
        transaction.set_rollback(True)


@pytest.fixture
def demo_mode(settings):
    settings.DEMO_MODE = True


def _history_surveys():
    return Survey.objects.filter(event__source=HISTORY_SOURCE)


@pytest.mark.django_db
def test_history_figures_fall_in_realistic_ranges(history):
    assert history["created"] is True
    assert 600 <= history["events_per_day"] <= 900
    assert 0.33 <= history["reply_rate"] <= 0.42
    assert 0.93 <= history["satisfaction_rate"] <= 0.97
    ratings = history["ratings"]
    assert ratings[1] > ratings[2] > ratings[3] > 0
    assert ratings[4] > ratings[5] > 0
    # Every rule had something to do.
    decisions = history["decisions"]
    for decision in ("scheduled", "sensitive", "cool_off", "open_survey", "no_mobile"):
        assert decisions.get(decision, 0) > 0, decision
    assert history["reminders"] > 0
    assert history["surveys"][SurveyStatus.EXPIRED] > 0
    assert history["open"] > 0  # the last days' surveys still wait for an answer


@pytest.mark.django_db
def test_figures_are_read_back_the_same(history):
    again = history_figures(now=NOW)
    assert {k: again[k] for k in ("events", "answered", "callbacks", "ratings")} == {
        k: history[k] for k in ("events", "answered", "callbacks", "ratings")
    }


@pytest.mark.django_db
def test_sensitive_contacts_happen_but_are_never_surveyed(history):
    sensitive = ServiceEvent.objects.filter(source=HISTORY_SOURCE, business_type__is_sensitive=True)
    assert sensitive.count() > 0
    assert set(sensitive.values_list("survey_decision", flat=True)) == {SurveyDecision.SENSITIVE}
    assert not Survey.objects.filter(business_type__is_sensitive=True).exists()


@pytest.mark.django_db
def test_every_unsatisfied_answer_has_a_callback_due_a_day_later(history):
    unsatisfied = _history_surveys().filter(rating__in=[4, 5])
    assert unsatisfied.count() == history["unsatisfied"] > 0
    callbacks = Callback.objects.filter(survey__in=unsatisfied).select_related("survey")
    assert callbacks.count() == unsatisfied.count() == history["callbacks"]
    for callback in callbacks:
        assert callback.created_at == callback.survey.answered_at
        assert callback.due_at == callback.created_at + timedelta(hours=24)
    assert not Callback.objects.filter(survey__rating__in=[1, 2, 3]).exists()


@pytest.mark.django_db
def test_times_are_simulated_and_consistent(history):
    start = NOW - timedelta(days=DAYS + 1)
    events = ServiceEvent.objects.filter(source=HISTORY_SOURCE)
    assert not events.filter(occurred_at__lt=start).exists()
    assert not events.filter(occurred_at__gt=NOW).exists()
    for survey in _history_surveys().filter(sent_at__isnull=False).select_related("event")[:300]:
        assert survey.event.occurred_at <= survey.created_at <= survey.sent_at <= NOW
        hour = survey.sent_at.astimezone(NOW.tzinfo).hour
        assert 8 <= hour < 21  # never at night
        if survey.answered_at:
            assert survey.sent_at < survey.answered_at < survey.expires_at
    messages = OutboundSms.objects.filter(survey__event__source=HISTORY_SOURCE)
    assert not messages.exclude(status=OutboundStatus.DELIVERED).exists()
    assert not messages.filter(created_at__gt=NOW).exists()
    # Each SMS answer kept its message and reply row.
    sms = _history_surveys().filter(status=SurveyStatus.ANSWERED, answered_via="sms")
    assert sms.count() > 0
    assert SurveyReply.objects.filter(survey__in=sms, counted=True).count() == sms.count()
    assert InboundSms.objects.filter(received_at__gt=NOW).count() == 0


@pytest.mark.django_db
def test_rollups_agree_with_the_surveys(history):
    totals = SatisfactionDaily.objects.aggregate(
        events=Sum("events"), sent=Sum("surveys_sent"), replies=Sum("replies")
    )
    assert totals["events"] == history["events"]
    assert totals["sent"] == history["surveys_sent"]
    assert totals["replies"] == history["answered"]


def _unsatisfied_share(surveys) -> float:
    answered = surveys.filter(status=SurveyStatus.ANSWERED)
    return answered.filter(rating__in=[4, 5]).count() / answered.count()


@pytest.mark.django_db
def test_enforcement_rates_lower_than_window_services(history):
    surveys = _history_surveys()
    window = _unsatisfied_share(surveys.filter(business_type__category="window"))
    penalties = _unsatisfied_share(surveys.filter(business_type__code="traffic_violation"))
    assert penalties > 2 * window


@pytest.mark.django_db
def test_some_citizens_come_back_for_the_same_business(history):
    events = ServiceEvent.objects.filter(source=HISTORY_SOURCE).exclude(citizen_mobile_hash="")
    keys = list(events.values_list("citizen_mobile_hash", "unit_id", "business_type_id"))
    assert len(keys) - len(set(keys)) > 20


@pytest.mark.django_db
def test_the_plan_is_deterministic(history):
    catalogue = load_catalogue()
    assert catalogue.weak_units == load_catalogue().weak_units
    assert catalogue.weak_units != load_catalogue(seed=1).weak_units
    plans = [
        plan_day(catalogue, random.Random(5), Citizens(), day=0, date=NOW.date()) for _ in range(2)
    ]
    assert plans[0] == plans[1]
    assert 600 <= len(plans[0]) <= 900


@pytest.mark.django_db
def test_building_again_does_nothing(history, demo_mode):
    count = ServiceEvent.objects.count()
    again = build_history(days=DAYS, now=NOW)
    assert again["created"] is False
    assert ServiceEvent.objects.count() == count
    out = StringIO()
    call_command("demo_history", stdout=out)
    assert "exists already" in out.getvalue()
    assert ServiceEvent.objects.count() == count


@pytest.mark.django_db
def test_a_traffic_tick_adds_contacts_and_answers_open_surveys(history, demo_mode):
    open_before = set(
        _history_surveys().filter(status=SurveyStatus.SENT).values_list("id", flat=True)
    )
    inbound_before = InboundSms.objects.count()
    done = traffic_tick(rng=random.Random(3))
    assert 1 <= done["events"] <= 3
    assert ServiceEvent.objects.filter(source=LIVE_SOURCE).count() == done["events"]
    assert done.get("answered", 0) >= 1
    # The answers came in through the gateway path and found the citizen's open survey.
    new = InboundSms.objects.filter(gateway="console").order_by("id")[inbound_before:]
    assert new
    assert all(m.status in (InboundStatus.PROCESSED, InboundStatus.NEEDS_REVIEW) for m in new)
    replies = SurveyReply.objects.filter(inbound__in=new)
    assert {r.survey_id for r in replies} <= open_before
    answered = Survey.objects.filter(
        id__in=[r.survey_id for r in replies], status=SurveyStatus.ANSWERED
    )
    assert answered.count() == done["answered"]


@pytest.mark.django_db
def test_demo_traffic_command_runs_once(history, demo_mode):
    out = StringIO()
    call_command("demo_traffic", "--once", "--seed", "11", stdout=out)
    assert "events=" in out.getvalue()
    assert "demo traffic stopped" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["demo_history", "demo_traffic"])
def test_commands_refuse_outside_demo_mode(settings, command):
    settings.DEMO_MODE = False
    count = ServiceEvent.objects.count()
    with pytest.raises(CommandError, match="DEMO_MODE"):
        call_command(command, "--once" if command == "demo_traffic" else "--days=1")
    assert ServiceEvent.objects.count() == count


@pytest.mark.django_db
def test_demo_staff_work_the_callbacks_through_the_services(history):
    with transaction.atomic():
        # When the demo's evaluators, leaders and supervisors work what the history opened
        worked = work_callbacks(now=NOW)
        # Then most callbacks are done, with confirmed tags and an attribution
        done = Callback.objects.filter(kind="first", status="done")
        assert worked["callbacks"] == done.count() > 0.8 * history["callbacks"]
        assert not done.filter(attribution="").exists()
        assert done.exclude(attribution="unreachable").filter(tags=[]).count() == 0
        # And the at-fault ones became work orders in every stage of their life
        statuses = set(WorkOrder.objects.values_list("status", flat=True))
        assert {WorkOrderStatus.CLOSED, WorkOrderStatus.DISPATCHED} <= statuses
        assert len(statuses) >= 3
        closed = WorkOrder.objects.filter(status=WorkOrderStatus.CLOSED)
        assert closed.filter(resolved=True).exists()
        assert WorkOrderEvent.objects.filter(to_status=WorkOrderStatus.CLOSED).count() == (
            closed.count()
        )
        transaction.set_rollback(True)
