"""The assessment demo (capability 2): peer groups, polls weighted to the margins, two
assessments that mark the weak station last twice and open its accountability case, the
leader's reply, an older decided case, tenures; on any day and at any hour."""

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Sum
from django.test import override_settings

from minyi.accountability.models import (
    AccountabilityCase,
    CaseEvent,
    CaseStatus,
    CaseTrigger,
    Decision,
)
from minyi.assessment.models import (
    Assessment,
    AssessmentResult,
    AssessmentRule,
    AssessmentStatus,
    BusinessCode,
    BusinessFigure,
    FigureSource,
    RuleStatus,
    Tenure,
)
from minyi.core.models import ImportFile, ImportStatus
from minyi.demo.assessment import OLD_CASE_UNIT, build_assessment_demo
from minyi.demo.city import build_demo_city
from minyi.demo.polls import (
    WEAK_ONCE,
    WEAK_TWICE,
    collected_poll_create,
    demo_calendar,
    polled_units,
)
from minyi.orgs.choices import Position, UnitKind
from minyi.orgs.models import Officer, OrgUnit, PeerGroup, PeerGroupMember, User
from minyi.polls.models import (
    Indicator,
    InvitationStatus,
    Poll,
    PollEstimate,
    PollInvitation,
    PollRespondent,
    PollSource,
    PollStatus,
    PopulationMargin,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Built in the middle of the night, in the first half of the year (the latest completed
# half-year is last year's second).
NOW = datetime(2026, 3, 18, 0, 40, tzinfo=SHANGHAI)
FIELD_UNITS = (UnitKind.POLICE_STATION, UnitKind.TRAFFIC_BRIGADE, UnitKind.CRIMINAL_BRIGADE)


# --- The calendar: any day of the year (no database) ---------------------------------------


@pytest.mark.parametrize("year", [2026, 2028])
def test_every_day_has_two_completed_half_years_covered_by_completed_waves(year):
    day = date(year, 1, 1)
    while day.year == year:
        calendar = demo_calendar(day)
        previous, latest = calendar.halves
        assert previous.end + timedelta(days=1) == latest.start
        assert latest.end < day and (day - latest.end).days <= 184
        assert calendar.current == (day.year, (day.month - 1) // 3 + 1)
        assert calendar.waves[0] == (previous.start.year, 1 if previous.start.month == 1 else 3)
        assert 4 <= len(calendar.waves) <= 5
        assert len(set(calendar.waves)) == len(calendar.waves)
        assert calendar.current not in calendar.waves  # the current wave is being collected
        day += timedelta(days=1)


# --- One demo for the module (rolled back at the end) --------------------------------------


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, demo_media):
    media = demo_media
    with (
        django_db_blocker.unblock(),
        override_settings(DEMO_MODE=True, MEDIA_ROOT=media),
        transaction.atomic(),
    ):
        build_demo_city()
        result = build_assessment_demo(now=NOW)
        yield result
        transaction.set_rollback(True)


def _unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


@pytest.mark.django_db
def test_every_field_unit_is_in_exactly_one_populated_peer_group(demo):
    assert demo.created
    groups = PeerGroup.objects.annotate(n=Count("memberships"))
    assert {g.name: g.owner.code for g in groups} == {
        "全市派出所": "330600",
        "全市交警大队": "330600",
        "全市刑侦大队": "330600",
    }
    assert all(g.n >= 2 for g in groups)
    field_units = set(OrgUnit.objects.filter(kind__in=FIELD_UNITS).values_list("pk", flat=True))
    members = list(PeerGroupMember.objects.values_list("unit_id", flat=True))
    assert sorted(members) == sorted(field_units)
    stations = PeerGroup.objects.get(name="全市派出所")
    kinds = set(stations.members.values_list("kind", flat=True))
    assert kinds == {UnitKind.POLICE_STATION}


@pytest.mark.django_db
def test_polls_are_weighted_to_plausible_margins_and_have_estimates(demo):
    calendar = demo_calendar(NOW.date())
    imported = Poll.objects.filter(source=PollSource.IMPORTED).order_by("year", "wave")
    assert [(p.year, p.wave) for p in imported] == list(calendar.waves)
    units = polled_units(_unit("330600"))
    for poll in imported:
        assert poll.status == PollStatus.CLOSED and poll.weighted_at is not None
        assert poll.fielded_to < NOW.date()
        # every unit × indicator has an estimate, with its interval and sample
        estimates = PollEstimate.objects.filter(poll=poll)
        assert estimates.count() == len(units) * len(Indicator)
        assert not estimates.filter(n=0).exists()
        assert all(e.low <= e.rate <= e.high for e in estimates.filter(ranked=True))
        # stations have 310–370 respondents a wave
        per_unit = dict(
            PollRespondent.objects.filter(poll=poll, unit__kind=UnitKind.POLICE_STATION)
            .values_list("unit")
            .annotate(n=Count("id"))
        )
        assert min(per_unit.values()) >= 310 and max(per_unit.values()) <= 370
    # Margins: 20–60k residents per station, this year and last; the urban ones have more
    # floating residents.
    residents = (
        PopulationMargin.objects.filter(dimension="sex", unit__kind=UnitKind.POLICE_STATION)
        .values("unit", "year")
        .annotate(n=Sum("population"))
    )
    assert {r["year"] for r in residents} >= {NOW.year - 1, NOW.year}
    assert all(19_000 <= r["n"] <= 60_000 for r in residents)
    # The sample leans away from the margins (old, registered): raking moves the weights.
    weights = PollRespondent.objects.filter(poll=imported.last()).values_list("weight", flat=True)
    assert min(weights) >= 0.3 and max(weights) <= 3.0
    assert max(weights) - min(weights) > 1.0
    floating = PollRespondent.objects.filter(poll=imported.last(), residence="floating")
    assert floating.aggregate(w=Sum("weight"))["w"] > floating.count()  # weighted up


@pytest.mark.django_db
def test_the_latest_wave_keeps_its_file_for_audit(demo, demo_media, settings):
    settings.MEDIA_ROOT = demo_media
    latest = Poll.objects.filter(source=PollSource.IMPORTED).order_by("year", "wave").last()
    record = ImportFile.objects.get(target__poll=latest.pk)
    assert record.status == ImportStatus.DONE
    with record.file.open("rb") as stored:
        data = stored.read()
    assert hashlib.sha256(data).hexdigest() == record.sha256 and len(data) == record.size
    respondents = PollRespondent.objects.filter(poll=latest)
    assert (
        record.rows_total == respondents.count() == respondents.filter(source_import=record).count()
    )
    assert data.decode("utf-8-sig").splitlines()[0].startswith("样本编号,单位代码,年龄段")


@pytest.mark.django_db
def test_a_collected_wave_is_in_progress(demo):
    poll = Poll.objects.get(source=PollSource.COLLECTED)
    assert poll.status == PollStatus.COLLECTING
    statuses = set(PollInvitation.objects.filter(poll=poll).values_list("status", flat=True))
    assert {
        InvitationStatus.SCHEDULED,
        InvitationStatus.SENT,
        InvitationStatus.ANSWERED,
        InvitationStatus.EXPIRED,
    } <= statuses
    answered = PollInvitation.objects.filter(poll=poll, status=InvitationStatus.ANSWERED)
    assert PollRespondent.objects.filter(poll=poll).count() == answered.count() > 0
    assert (
        poll.quotas.filter(dimension="").count()
        == OrgUnit.objects.filter(kind=UnitKind.POLICE_STATION).count()
    )


@pytest.mark.django_db
def test_business_figures_cover_both_half_years(demo):
    halves = demo_calendar(NOW.date()).halves
    units = polled_units(_unit("330600"))
    for period in halves:
        figures = BusinessFigure.objects.filter(period_start=period.start, period_end=period.end)
        for code, source in (
            (BusinessCode.CLEARANCE, FigureSource.IMPORTED),
            (BusinessCode.RECOVERY, FigureSource.IMPORTED),
            (BusinessCode.RECTIFICATION_ON_TIME, FigureSource.COMPUTED),
            (BusinessCode.CALLBACK_ON_TIME, FigureSource.COMPUTED),
        ):
            rows = figures.filter(code=code, source=source)
            assert rows.count() == len(units), (period, code)
            assert not rows.filter(denominator=0).exists()
        assert not figures.filter(numerator__gt=F("denominator")).exists()


@pytest.mark.django_db
def test_the_weak_station_is_marked_last_twice_and_its_case_awaits_a_decision(demo):
    previous, latest = Assessment.objects.order_by("period_end")
    assert previous.status == AssessmentStatus.APPROVED
    assert latest.status == AssessmentStatus.PUBLISHED and latest.published_at is not None
    units = polled_units(_unit("330600"))
    for assessment in (previous, latest):
        assert assessment.results.count() == len(units)
        assert assessment.rule.status == RuleStatus.ACTIVE
        assert assessment.rule.public_weight == Decimal("0.55")
    marked = {
        (r.assessment_id, r.unit.code)
        for r in AssessmentResult.objects.filter(marked_last=True).select_related("unit")
    }
    assert marked == {
        (previous.pk, WEAK_TWICE),
        (latest.pk, WEAK_TWICE),
        (previous.pk, WEAK_ONCE),
    }
    case = AccountabilityCase.objects.get(unit__code=WEAK_TWICE)
    assert case.trigger == CaseTrigger.ASSESSMENT
    assert case.source["assessments"] == [previous.pk, latest.pk]
    assert case.status == CaseStatus.REPLIED
    assert case.leader == case.replied_by == User.objects.get(username="tashan_leader")
    assert "整改措施" in case.reply
    # a rule for this year is active and next year's is a draft
    assert AssessmentRule.objects.filter(year=NOW.year, status=RuleStatus.ACTIVE).exists()
    assert AssessmentRule.objects.filter(year=NOW.year + 1, status=RuleStatus.DRAFT).exists()


@pytest.mark.django_db
def test_an_older_case_was_decided_with_its_reason_and_history(demo):
    case = AccountabilityCase.objects.get(unit__code=OLD_CASE_UNIT)
    assert case.status == CaseStatus.DECIDED and case.decision == Decision.INTERVIEW
    assert "约谈" in case.decision_reason
    assert case.decided_by.username == "city_supervisor"
    assert case.created_at < case.replied_at < case.decided_at < NOW
    steps = list(CaseEvent.objects.filter(case=case).values_list("to_status", flat=True))
    assert steps == [CaseStatus.OPEN, CaseStatus.REPLIED, CaseStatus.DECIDED]
    assert AccountabilityCase.objects.count() == 2


@pytest.mark.django_db
def test_every_chief_has_a_tenure_for_the_review_sheet(demo):
    chiefs = Officer.objects.filter(position=Position.CHIEF, unit__kind__in=FIELD_UNITS)
    current = Tenure.objects.filter(ended_on__isnull=True)
    assert sorted(current.values_list("officer_id", flat=True)) == sorted(
        chiefs.values_list("pk", flat=True)
    )
    assert all(t.started_on < NOW.date() for t in current)
    assert set(current.values_list("title", flat=True)) == {"所长", "大队长", "支队长"}
    starts = {t.officer_id: t for t in current.select_related("unit")}
    earlier = Tenure.objects.filter(ended_on__isnull=False).select_related("unit")
    assert earlier.exists()
    for tenure in earlier:  # a deputy post at a peer unit, up to the day before
        now_post = starts[tenure.officer_id]
        assert tenure.title.startswith("副")
        assert tenure.ended_on + timedelta(days=1) == now_post.started_on
        assert tenure.unit.kind == now_post.unit.kind and tenure.unit != now_post.unit


@pytest.mark.django_db
def test_the_command_writes_nothing_the_second_time(demo):
    out = StringIO()
    with override_settings(DEMO_MODE=True):
        call_command("demo_assessment", stdout=out)
    assert "exists already" in out.getvalue()
    assert Poll.objects.count() == len(demo_calendar(NOW.date()).waves) + 1


# --- The wave being collected, late in the evening -------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("hour", [0, 8, 13, 23])
def test_the_collected_wave_is_consistent_at_any_hour(demo, hour):
    # Given the demo city (a quarter later than the demo was built)
    root = _unit("330600")
    stations = list(OrgUnit.objects.filter(kind=UnitKind.POLICE_STATION).order_by("path"))
    now = datetime(2026, 7, 1, hour, 50, tzinfo=SHANGHAI)
    # When the collected wave is written at that hour
    poll = collected_poll_create(
        actor=User.objects.get(username="city_admin"),
        root=root,
        stations=stations,
        structure={s.pk: (0.3, 0.52) for s in stations},
        calendar=demo_calendar(now.date()),
        seed=3,
        now=now,
    )
    # Then nothing happened after `now`, and what waits goes out tomorrow in the daytime
    invitations = PollInvitation.objects.filter(poll=poll)
    assert invitations.exists()
    for row in invitations:
        if row.status == InvitationStatus.SCHEDULED:
            assert row.send_at > now and 9 <= row.send_at.astimezone(SHANGHAI).hour < 19
            continue
        assert row.sent_at <= now
        assert 9 <= row.sent_at.astimezone(SHANGHAI).hour < 19
        if row.answered_at:
            assert row.answered_at <= now
        if row.status == InvitationStatus.EXPIRED:
            assert row.expires_at <= now
        if row.status == InvitationStatus.SENT:
            assert row.expires_at > now
    assert poll.fielded_from <= now.date() <= poll.fielded_to
