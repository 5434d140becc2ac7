"""Weighting and estimates of a poll (services.poll_weigh): raking reproduces each unit's
population margins on the stored rows, weights stay within [0.3, 3], firm weights are kept,
a unit without margins weighs 1, and the estimates are written per peer group from the SQL
sums with the rule version."""

from collections import defaultdict

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from minyi.core.imports import table_read
from minyi.core.stats import RULE_VERSION
from minyi.core.weighting import kish_n_eff
from minyi.orgs.choices import Role
from minyi.orgs.models import PeerGroup, PeerGroupMember
from minyi.polls.imports import RESPONDENT_COLUMNS, respondents_import
from minyi.polls.models import Indicator, PollEstimate, PollRespondent
from minyi.polls.selectors import poll_pooled_cells, poll_unit_status
from minyi.polls.services import (
    poll_import_confirm,
    poll_import_run,
    poll_weigh,
    respondents_upload,
)
from minyi.polls.tests.factories import (
    HEADER,
    MARGINS,
    add_margins,
    csv_bytes,
    make_poll,
    respondent_rows,
)

pytestmark = pytest.mark.django_db


def _load(world, poll, counts, *, seed=0, prefix="R", rows=None, header=HEADER):
    rows = rows if rows is not None else respondent_rows(counts, seed=seed, prefix=prefix)
    table = table_read(csv_bytes(rows, header), columns=RESPONDENT_COLUMNS)
    report = respondents_import(actor=world.user("city", Role.ADMIN), poll=poll, table=table)
    assert report.stored, report.errors[:3]


def _shares(unit, poll, dimension):
    totals = defaultdict(float)
    for category, weight in PollRespondent.objects.filter(poll=poll, unit=unit).values_list(
        dimension, "weight"
    ):
        totals[category] += weight
    whole = sum(totals.values())
    return {category: total / whole for category, total in totals.items()}


def test_raking_reproduces_each_units_margins_on_the_stored_rows(world):
    # Given a sample skewed to the young and registered, and the unit's population margins
    poll = make_poll(world)
    _load(world, poll, {"TA01": 400})
    add_margins(world.station_a1)
    # When the poll is weighed
    summary = poll_weigh(poll=poll)
    # Then the weighted shares of the stored rows are the population's, on every dimension
    for dimension, categories in MARGINS.items():
        population = sum(categories.values())
        expected = {c: p / population for c, p in categories.items()}
        assert _shares(world.station_a1, poll, dimension) == pytest.approx(expected, abs=1e-6)
    weights = list(PollRespondent.objects.values_list("weight", flat=True))
    assert min(weights) >= 0.3 and max(weights) <= 3.0
    assert sum(weights) / len(weights) == pytest.approx(1.0)
    assert summary["raked"] == [world.station_a1.pk] and summary["unweighted"] == []


def test_a_unit_without_margins_weighs_one_and_the_page_says_so(world):
    poll = make_poll(world)
    _load(world, poll, {"TA01": 50, "TA02": 40})
    add_margins(world.station_a1)
    summary = poll_weigh(poll=poll)
    assert summary["unweighted"] == [world.station_a2.pk]
    assert set(
        PollRespondent.objects.filter(unit=world.station_a2).values_list("weight", flat=True)
    ) == {1.0}
    status = {
        s["unit"].code: s["weighted"]
        for s in poll_unit_status(world.user("city", Role.SUPERVISOR), poll)
    }
    assert status == {"TA01": True, "TA02": False}


def test_margins_of_another_year_are_not_used(world):
    poll = make_poll(world)
    _load(world, poll, {"TA01": 50})
    add_margins(world.station_a1, year=2025)
    assert poll_weigh(poll=poll)["unweighted"] == [world.station_a1.pk]


def test_firm_weights_are_kept_instead_of_raking(world, settings):
    # Given a firm's file with its own weights, imported as staff do (the file says so)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    admin = world.user("city", Role.ADMIN)
    poll = make_poll(world)
    add_margins(world.station_a1)
    rows = respondent_rows({"TA01": 4})
    weights = ["0.5", "1.5", "0.8", "1.2"]
    data = csv_bytes([[*r, w] for r, w in zip(rows, weights, strict=True)], [*HEADER, "权重"])
    record = respondents_upload(actor=admin, poll=poll, upload=SimpleUploadedFile("w.csv", data))
    poll_import_confirm(actor=admin, record=record)
    assert poll_import_run(record.pk).status == "done"
    # Then weighing at the end of the import, and a recompute, keep the firm's weights
    poll_weigh(poll=poll)
    assert sorted(PollRespondent.objects.values_list("weight", flat=True)) == [0.5, 0.8, 1.2, 1.5]
    assert PollEstimate.objects.filter(poll=poll).count() == 5


def test_estimates_are_written_from_the_weighted_sums(world, settings):
    # Given three stations in one configured peer group, two of them large enough to rank
    settings.POLL_MIN_N_EFF = 100
    group = PeerGroup.objects.create(name="派出所组", owner=world.city)
    for station in (world.station_a1, world.station_a2, world.station_b1):
        PeerGroupMember.objects.create(group=group, unit=station)
    poll = make_poll(world)
    _load(world, poll, {"TA01": 300, "TA02": 300, "TB01": 40})
    for station in (world.station_a1, world.station_a2):
        add_margins(station)
    # When weighed
    poll_weigh(poll=poll)
    # Then one row per unit and indicator, each with the rule version and the peer group
    estimates = PollEstimate.objects.filter(poll=poll)
    assert estimates.count() == 3 * 5
    assert set(estimates.values_list("rule_version", flat=True)) == {RULE_VERSION}
    assert set(estimates.values_list("peer_group", flat=True)) == {group.pk}
    # n, n_eff and the weighted rate are those of the stored rows
    for estimate in estimates.filter(indicator=Indicator.SATISFACTION):
        rows = PollRespondent.objects.filter(
            poll=poll, unit=estimate.unit, satisfaction__isnull=False
        )
        weights = [w for w in rows.values_list("weight", flat=True)]
        positive = sum(rows.filter(satisfaction=True).values_list("weight", flat=True))
        assert estimate.n == len(weights)
        assert estimate.n_eff == pytest.approx(kish_n_eff(weights))
        assert estimate.rate == pytest.approx(positive / sum(weights))
        assert estimate.low < estimate.rate < estimate.high
    # The small station is listed but never ranked; the large ones are
    small = estimates.get(unit=world.station_b1, indicator=Indicator.SATISFACTION)
    assert not small.ranked and small.median_rank is None and small.p_last is None
    large = estimates.filter(
        unit__in=[world.station_a1, world.station_a2], indicator=Indicator.SATISFACTION
    )
    assert all(e.ranked and e.rank_low <= e.median_rank <= e.rank_high for e in large)


def test_a_recompute_replaces_the_estimates(world):
    poll = make_poll(world)
    _load(world, poll, {"TA01": 30})
    poll_weigh(poll=poll)
    first = set(PollEstimate.objects.values_list("pk", flat=True))
    poll_weigh(poll=poll)
    assert PollEstimate.objects.count() == 5
    assert not first & set(PollEstimate.objects.values_list("pk", flat=True))
    poll.refresh_from_db()
    assert poll.weighted_at is not None


def test_units_without_a_peer_group_are_compared_within_their_kind(world):
    poll = make_poll(world)
    _load(world, poll, {"TA01": 30, "TA00": 30})
    summary = poll_weigh(poll=poll)
    assert sorted(summary["by_kind"]) == sorted([world.station_a1.pk, world.district_a.pk])
    # Each alone in its kind: nobody is ranked
    assert not PollEstimate.objects.filter(ranked=True).exists()
    assert not PollEstimate.objects.exclude(peer_group=None).exists()


def test_pooled_cells_add_the_sums_of_several_waves(world):
    first, second = make_poll(world, wave=1), make_poll(world, wave=2)
    _load(world, first, {"TA01": 30}, seed=1, prefix="A")
    _load(world, second, {"TA01": 20}, seed=2, prefix="B")
    add_margins(world.station_a1)
    poll_weigh(poll=first)
    poll_weigh(poll=second)
    cells = poll_pooled_cells(
        polls=[first, second], indicator="safety", units=[world.station_a1, world.station_a2]
    )
    rows = PollRespondent.objects.filter(safety__isnull=False)
    weights = list(rows.values_list("weight", flat=True))
    cell = cells[world.station_a1.pk]
    assert list(cells) == [world.station_a1.pk]
    assert cell.n == len(weights) == 50
    assert cell.sum_w == pytest.approx(sum(weights))
    assert cell.sum_w2 == pytest.approx(sum(w * w for w in weights))
    assert cell.sum_wy == pytest.approx(
        sum(rows.filter(safety=True).values_list("weight", flat=True))
    )
