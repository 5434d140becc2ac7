"""Ballots under concurrent submission (issue 15, item 2): one ballot per voter however many
submissions race, and one linear chain however many voters append at once.

PostgreSQL only: the campaign's row lock (SELECT … FOR UPDATE) and the unique constraints do
the work there; SQLite serialises every writer anyway.
"""

import threading
import time
from collections import Counter
from itertools import islice

import pytest
from django.db import connection

from minyi.core.errors import ApplicationError
from minyi.votes.ballots import ballot_cast
from minyi.votes.chain import chain_verify
from minyi.votes.models import Ballot, ChainEntry, Rejection, RejectReason
from minyi.votes.tests.factories import make_campaign

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"),
]

WORKERS = 8
VOTERS = 10_000


def _cast(campaign, mobile, choices) -> str:
    try:
        ballot_cast(campaign, mobile=mobile, choices=choices)
    except ApplicationError as exc:
        return exc.code
    return "cast"


def _all_at_once(calls) -> list[str]:
    """Each call (campaign, mobile, choices) in its own thread, released together."""
    results, start = [None] * len(calls), threading.Barrier(len(calls))

    def work(i):
        try:
            start.wait()
            results[i] = _cast(*calls[i])
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _pooled(calls, workers=WORKERS) -> list[str]:
    """The calls, in order, shared by `workers` threads, each on its own connection (closed
    when it is done)."""
    results, lock, source = [None] * len(calls), threading.Lock(), iter(enumerate(calls))

    def work():
        try:
            while True:
                with lock:
                    batch = list(islice(source, 1))
                if not batch:
                    return
                i, call = batch[0]
                results[i] = _cast(*call)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_fifty_submissions_for_one_voter_make_one_ballot(world):
    campaign = make_campaign(world, options=5, max_choices=3)

    results = _all_at_once([(campaign, "13800001111", [1 + i % 5]) for i in range(50)])

    assert Counter(results) == {"cast": 1, "already_voted": 49}
    assert Ballot.objects.filter(campaign=campaign).count() == 1
    rejections = Rejection.objects.filter(campaign=campaign)
    assert rejections.count() == 49
    assert set(rejections.values_list("reason", flat=True)) == {RejectReason.DUPLICATE_VOTER}
    report = chain_verify(campaign)
    assert report.ok and report.entries == 50


def test_ten_thousand_voters_three_submissions_each(world):
    voters = VOTERS
    campaign = make_campaign(world, options=30, max_choices=10)
    # Each voter's three submissions are queued side by side, so the pool runs them at once.
    calls = [
        (campaign, f"139{v:08d}", [1 + (v + k) % 30 for k in range(1 + v % 10)])
        for v in range(voters)
        for _ in range(3)
    ]
    started = time.monotonic()
    results = _pooled(calls)
    elapsed = time.monotonic() - started

    assert Counter(results) == {"cast": voters, "already_voted": 2 * voters}
    # Exactly one ballot per voter: 10,000 ballots and 10,000 distinct voter keys.
    ballots = Ballot.objects.filter(campaign=campaign)
    assert ballots.count() == voters
    assert ballots.values("voter_key").distinct().count() == voters
    assert Rejection.objects.filter(campaign=campaign).count() == 2 * voters
    report = chain_verify(campaign)
    assert report.ok and report.entries == 3 * voters
    print(f"\n10,000 voters x 3: {len(calls)} submissions in {elapsed:.1f}s")


def test_fifty_voters_at_once_make_one_linear_chain(world):
    campaign = make_campaign(world, options=5, max_choices=3)

    results = _all_at_once([(campaign, f"1370000{i:04d}", [1 + i % 5]) for i in range(50)])

    assert results == ["cast"] * 50
    assert list(
        ChainEntry.objects.filter(campaign=campaign).order_by("seq").values_list("seq", flat=True)
    ) == list(range(1, 51))
    assert sorted(Ballot.objects.filter(campaign=campaign).values_list("seq", flat=True)) == list(
        range(1, 51)
    )
    report = chain_verify(campaign)
    assert report.ok and report.entries == 50


def test_constraints_exist_in_the_catalog():
    wanted = {
        "votes_one_per_mobile",
        "votes_one_per_id_number",
        "votes_ballot_choice_limit",
        "votes_ballot_choice_count",
        "votes_ballot_choices_binary",
        "votes_chain_seq",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conname = ANY(%s) "
            "UNION SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)",
            [list(wanted), list(wanted)],
        )
        found = {row[0] for row in cursor.fetchall()}
        # The ID number's uniqueness is partial (only non-empty keys): a unique index with a
        # WHERE clause.
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'votes_one_per_id_number'"
        )
        (id_index,) = cursor.fetchone()
    assert found == wanted
    assert "UNIQUE" in id_index and "WHERE" in id_index
