"""The insight demo on a small demo city: every text tagged, a share confirmed by the right
people with the texts' true tags, case complaints filed, an emerging topic that the
dashboard's rule flags, the tagger trained; a second run adds nothing."""

import random
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings

from minyi.demo.city import build_demo_city
from minyi.demo.corpus import corpus_texts, label_of
from minyi.demo.history import build_history
from minyi.demo.insight import (
    TOPIC_STATION,
    TOPIC_WEEKLY,
    _read_otherwise,
    build_insight_demo,
)
from minyi.demo.portal import _cases
from minyi.demo.workorders import work_callbacks
from minyi.insight.models import TaggedText, TaggerModel, TextSource
from minyi.insight.selectors import Windows, emerging_topics_for
from minyi.insight.sources import texts_by_key
from minyi.opinions.models import Opinion
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import OrgUnit, User
from minyi.polls.models import AgeBand, Poll, PollRespondent, PollSource, Residence, Sex
from minyi.reports.models import MonthlyReport

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 10, 16, 30, tzinfo=SHANGHAI)  # a Wednesday


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(DEMO_MODE=True), transaction.atomic():
        build_demo_city()
        build_history(days=2, events_per_day=200, now=NOW)
        work_callbacks(now=NOW)
        stations = list(OrgUnit.objects.filter(kind=UnitKind.POLICE_STATION).order_by("path"))
        _cases(random.Random(3), stations, stations[:2], NOW, 30, 12)
        _poll(stations)
        first = build_insight_demo(now=NOW, seed=5)
        counts = _counts()
        second = build_insight_demo(now=NOW, seed=5)
        yield first, second, counts
        transaction.set_rollback(True)


def _poll(stations) -> None:
    """A past wave with its respondents' comments (the demo corpus), made by the admin."""
    admin = User.objects.filter(role=Role.ADMIN, unit__depth=1).first()
    poll = Poll.objects.create(
        title="2026年第1季度公众安全感和满意度测评", year=2026, wave=1,
        source=PollSource.IMPORTED, unit=admin.unit, fielded_from=date(2026, 3, 1),
        fielded_to=date(2026, 3, 31), created_by=admin,
    )  # fmt: skip
    texts = corpus_texts(random.Random(4), "poll", 60)
    PollRespondent.objects.bulk_create(
        PollRespondent(
            poll=poll, unit=stations[i % 3], respondent_ref=f"T{i:04d}", age_band=AgeBand.FROM_60,
            sex=Sex.MALE, residence=Residence.REGISTERED, comment=text,
            answered_on=date(2026, 3, 10),
        )
        for i, (text, _tags) in enumerate(texts)
    )  # fmt: skip


def _counts() -> dict:
    return {
        "tagged": TaggedText.objects.count(),
        "confirmed": TaggedText.objects.filter(confirmed_at__isnull=False).count(),
        "opinions": Opinion.objects.count(),
        "models": TaggerModel.objects.count(),
    }


@pytest.mark.django_db
def test_every_source_is_tagged_and_callbacks_keep_their_confirmed_tags(demo):
    first, _second, _counts = demo
    sources = set(TaggedText.objects.values_list("source", flat=True))
    assert {TextSource.CALLBACK, TextSource.SURVEY, TextSource.OPINION, TextSource.CASE} <= sources
    assert sum(first.tagged.values()) == TaggedText.objects.count()
    callbacks = TaggedText.objects.filter(source=TextSource.CALLBACK)
    assert callbacks.exists()
    assert not callbacks.filter(confirmed_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_share_is_confirmed_by_the_right_people_with_the_true_tags(demo):
    first, _second, _counts = demo
    assert first.confirmed.get(TextSource.SURVEY, 0) > 0
    assert first.confirmed.get(TextSource.OPINION, 0) > 0
    assert first.confirmed.get(TextSource.CASE, 0) > 0
    assert first.confirmed.get(TextSource.POLL, 0) > 0
    rows = list(
        TaggedText.objects.filter(confirmed_at__isnull=False)
        .exclude(source=TextSource.CALLBACK)
        .select_related("confirmed_by__unit", "unit")
    )
    texts = texts_by_key([(t.source, t.object_id) for t in rows])
    agree = 0
    for tagged in rows:
        true = label_of(texts[(tagged.source, tagged.object_id)])
        # the corpus's tags, or (about one in eight) read otherwise, as people do
        assert tagged.confirmed in (true, _read_otherwise(true))
        agree += tagged.confirmed == true
        who = tagged.confirmed_by
        assert tagged.unit.path.startswith(who.unit.path)
        expected = {TextSource.SURVEY: Role.EVALUATOR, TextSource.POLL: Role.ADMIN}
        assert who.role == expected.get(tagged.source, Role.UNIT_LEADER)
    assert 0.8 < agree / len(rows) < 0.95
    # a share, not everything
    surveys = TaggedText.objects.filter(source=TextSource.SURVEY)
    assert 0.2 < surveys.filter(confirmed_at__isnull=False).count() / surveys.count() < 0.6


@pytest.mark.django_db
def test_case_complaints_are_filed_on_the_demo_cases(demo):
    first, _second, _counts = demo
    assert first.case_complaints > 0
    assert Opinion.objects.filter(case__isnull=False).count() == first.case_complaints


@pytest.mark.django_db
def test_the_emerging_topic_rises_about_three_times_and_is_flagged(demo):
    first, _second, _counts = demo
    station = OrgUnit.objects.get(code=TOPIC_STATION)
    windows = Windows.at(NOW.date())
    days = [t.day for t in TaggedText.objects.filter(unit=station) if "电瓶" in t.terms]
    window = sum(windows.window_start <= d <= windows.end for d in days)
    weekly_before = sum(windows.baseline_start <= d < windows.window_start for d in days) / 12
    assert weekly_before >= TOPIC_WEEKLY * 0.8
    assert 2.2 <= (window / 2) / weekly_before <= 4.5
    assert first.topic_opinions + first.topic_comments > 0
    leader = User.objects.get(username="fushan_leader")
    topics = emerging_topics_for(leader, station, as_of=NOW.date(), children=False)
    assert any(row["key"] == "电瓶" for row in topics["rows"]), topics["rows"]


@pytest.mark.django_db
def test_the_tagger_is_trained_once_and_a_second_run_adds_nothing(demo):
    first, second, counts = demo
    assert first.model is not None and first.model.n_train > 0
    assert second.model is None
    assert second.case_complaints == second.topic_opinions == second.topic_comments == 0
    assert sum(second.tagged.values()) == 0 and not second.confirmed
    assert _counts() == counts
    assert "Insight demo:" in first.summary()


@pytest.mark.django_db
def test_last_months_reports_are_there_for_every_bureau(demo):
    first, second, _before = demo
    bureaus = OrgUnit.objects.filter(depth=2, kind=UnitKind.DISTRICT_BUREAU).count() + 1
    assert first.reports == bureaus and second.reports == 0
    may = MonthlyReport.objects.filter(month=date(2026, 5, 1))
    assert may.count() == bureaus
    assert all(r.pdf[:5] == b"%PDF-" and r.xlsx[:2] == b"PK" for r in may)


@pytest.mark.django_db
def test_the_command_runs_only_in_demo_mode():
    with override_settings(DEMO_MODE=False), pytest.raises(CommandError):
        call_command("demo_insight")
    out = StringIO()
    with override_settings(DEMO_MODE=True):
        call_command("demo_insight", stdout=out)
    assert out.getvalue().startswith("Insight demo:")
