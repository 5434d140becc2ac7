"""Stuffing flags over a campaign's ballots (issue 15, item 5): detection end to end on the
database, idempotence, growth and reopening, the review (audited), and the pages. The rules'
statistics are in test_stuffing_statistics.py."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent
from minyi.orgs.choices import Role
from minyi.votes.ballots import ballot_cast
from minyi.votes.models import (
    Ballot,
    ChainEntry,
    Channel,
    FlagKind,
    FlagStatus,
    StuffingFlag,
)
from minyi.votes.stuffing import RULE_VERSION, WINDOW_SECONDS, flag_decide, stuffing_detect
from minyi.votes.tests.factories import make_campaign

_seq = iter(range(1, 10**9))
VECTORS = ["10000", "01000", "00100", "00010", "00001", "11000", "10100", "01110"]


def _ballots(campaign, rows):
    """Ballot rows written straight to the table (detection reads only these): each row a
    dict with mobile, cast_at and optionally network, device, choices."""
    objs = []
    for row in rows:
        n = next(_seq)
        choices = row.get("choices", "10000")
        objs.append(
            Ballot(
                campaign=campaign,
                voter_key=f"v{n}",
                mobile=row["mobile"],
                choices=choices,
                choice_count=choices.count("1"),
                max_choices=campaign.max_choices,
                channel=Channel.ONLINE,
                receipt=f"R{n}",
                network_key=row.get("network", f"net{n}"),
                device_key=row.get("device", f"dev{n}"),
                cast_at=row["cast_at"],
                seq=n,
            )
        )
    return Ballot.objects.bulk_create(objs)


def _honest(campaign, rng, start, n=300):
    """Voters spread over two days, each on their own network and device, random numbers,
    choices at random."""
    return _ballots(
        campaign,
        [
            {
                "mobile": str(13800000000 + int(rng.integers(0, 10**8))),
                "cast_at": start + timedelta(seconds=float(rng.uniform(0, 2 * 86400))),
                "choices": VECTORS[int(rng.integers(len(VECTORS)))],
            }
            for _ in range(n)
        ],
    )


def _window_start(now):
    # A window edge a day ago: the burst sits inside one ten-minute window.
    epoch = int((now - timedelta(days=1)).timestamp())
    return datetime.fromtimestamp(epoch - epoch % WINDOW_SECONDS, tz=UTC)


@pytest.fixture
def stuffed(world):
    now = timezone.now()
    campaign = make_campaign(world)
    rng = np.random.default_rng(7)
    _honest(campaign, rng, now - timedelta(days=2))
    at = _window_start(now)
    burst = [
        {"mobile": str(13900000000 + 10_000 * i), "cast_at": at + timedelta(seconds=10 * i),
         "network": "stuffer-net", "device": f"d-burst-{i}", "choices": VECTORS[i % 8]}
        for i in range(30)
    ]  # fmt: skip
    run = [
        {"mobile": str(15700001000 + i), "cast_at": now - timedelta(hours=30 - i)} for i in range(8)
    ]
    same = [
        {"mobile": str(18600000000 + 1000 * i), "cast_at": at + timedelta(hours=3, seconds=20 * i),
         "choices": "11100"}
        for i in range(20)
    ]  # fmt: skip
    _ballots(campaign, burst + run + same)
    return campaign, now


@pytest.mark.django_db
class TestDetection:
    def test_each_rule_flags_its_stuffing_and_nothing_is_deleted(self, stuffed):
        campaign, now = stuffed
        before = Ballot.objects.filter(campaign=campaign).count()
        flags = stuffing_detect(campaign, now=now)
        kinds = {f.kind: f for f in flags}
        assert set(kinds) >= {FlagKind.NETWORK_BURST, FlagKind.MOBILE_RUN, FlagKind.IDENTICAL_BURST}
        assert kinds[FlagKind.NETWORK_BURST].ballots.count() == 30
        assert kinds[FlagKind.MOBILE_RUN].ballots.count() == 8
        assert kinds[FlagKind.IDENTICAL_BURST].ballots.count() == 20
        for flag in flags:
            assert flag.evidence["rule_version"] == RULE_VERSION
            assert flag.status == FlagStatus.OPEN
        assert kinds[FlagKind.MOBILE_RUN].evidence["chance"] < 0.01
        assert (
            kinds[FlagKind.NETWORK_BURST].evidence["p_value"]
            < (kinds[FlagKind.NETWORK_BURST].evidence["threshold"])
        )
        assert "1390000" not in kinds[FlagKind.MOBILE_RUN].key  # no number in the key
        assert Ballot.objects.filter(campaign=campaign).count() == before

    def test_honest_ballots_alone_raise_no_flag(self, world):
        campaign = make_campaign(world)
        _honest(campaign, np.random.default_rng(8), timezone.now() - timedelta(days=2))
        assert stuffing_detect(campaign) == []

    def test_a_second_run_changes_nothing(self, stuffed):
        campaign, now = stuffed
        first = stuffing_detect(campaign, now=now)
        evidence = {f.pk: f.evidence for f in first}
        second = stuffing_detect(campaign, now=now + timedelta(hours=1))
        assert sorted(f.pk for f in second) == sorted(evidence)
        assert StuffingFlag.objects.filter(campaign=campaign).count() == len(first)
        for flag in StuffingFlag.objects.filter(campaign=campaign):
            assert flag.evidence == evidence[flag.pk]

    def test_a_grown_group_gains_its_ballots_and_a_decided_flag_reopens(self, stuffed, world):
        campaign, now = stuffed
        flags = {f.kind: f for f in stuffing_detect(campaign, now=now)}
        run = flags[FlagKind.MOBILE_RUN]
        network = flags[FlagKind.NETWORK_BURST]
        supervisor = world.user("a2", Role.SUPERVISOR)
        flag_decide(supervisor, run, status=FlagStatus.CLEARED, note="同一单位集中办卡")
        flag_decide(supervisor, network, status=FlagStatus.CONFIRMED, note="确认刷票")
        # Nothing new: the decisions stand.
        stuffing_detect(campaign, now=now + timedelta(minutes=5))
        run.refresh_from_db()
        assert run.status == FlagStatus.CLEARED
        # Two more consecutive numbers join the run (one at its low end).
        _ballots(
            campaign,
            [
                {"mobile": "15700000999", "cast_at": now - timedelta(hours=2)},
                {"mobile": "15700001008", "cast_at": now - timedelta(hours=1)},
            ],
        )
        stuffing_detect(campaign, now=now + timedelta(minutes=10))
        run.refresh_from_db()
        network.refresh_from_db()
        assert StuffingFlag.objects.filter(campaign=campaign, kind=FlagKind.MOBILE_RUN).count() == 1
        assert run.ballots.count() == 10
        assert run.status == FlagStatus.OPEN
        assert run.decided_by is None
        event = run.evidence["history"][-1]
        assert (event["event"], event["added"], event["previous_status"]) == (
            "reopened",
            2,
            FlagStatus.CLEARED,
        )
        assert network.status == FlagStatus.CONFIRMED  # its group did not grow

    def test_detection_reads_real_cast_ballots(self, world):
        """End to end through ballot_cast: a burst from one address block is flagged."""
        campaign = make_campaign(world)
        now = timezone.now()
        rng = np.random.default_rng(9)
        for i in range(60):
            ballot_cast(
                campaign,
                mobile=f"135{int(rng.integers(0, 10**8)):08d}",
                choices=[1 + i % 5],
                ip=f"10.{i}.{i}.1",
                device=f"dev-{i}",
                now=now - timedelta(minutes=50 - i % 40),
            )
        for i in range(25):
            ballot_cast(
                campaign,
                mobile=f"1360000{i:04d}",
                choices=[2],
                ip=f"203.0.113.{i + 1}",
                device=f"bot-{i}",
                now=now - timedelta(minutes=3, seconds=-i),
            )
        flags = stuffing_detect(campaign, now=now)
        network = [f for f in flags if f.kind == FlagKind.NETWORK_BURST]
        assert len(network) == 1 and network[0].ballots.count() == 25
        assert ChainEntry.objects.filter(campaign=campaign).count() == 85


@pytest.mark.django_db
class TestDecision:
    def _flag(self, stuffed):
        campaign, now = stuffed
        return next(f for f in stuffing_detect(campaign, now=now) if f.kind == "network")

    def test_decision_is_recorded_and_audited(self, stuffed, world):
        flag = self._flag(stuffed)
        supervisor = world.user("a2", Role.SUPERVISOR)
        flag = flag_decide(supervisor, flag, status=FlagStatus.CONFIRMED, note="同一网段 30 票")
        assert (flag.status, flag.decided_by, flag.decision_note) == (
            FlagStatus.CONFIRMED,
            supervisor,
            "同一网段 30 票",
        )
        event = AuditEvent.objects.get(object_type="votes.stuffingflag", object_id=str(flag.pk))
        assert event.action == AuditAction.CHANGE
        assert event.detail["flag_status"] == FlagStatus.CONFIRMED

    def test_a_note_is_required_and_a_decided_flag_is_not_decided_again(self, stuffed, world):
        flag = self._flag(stuffed)
        supervisor = world.user("a2", Role.SUPERVISOR)
        with pytest.raises(ApplicationError) as err:
            flag_decide(supervisor, flag, status=FlagStatus.CLEARED, note="  ")
        assert (err.value.code, err.value.field) == ("note_required", "note")
        flag_decide(supervisor, flag, status=FlagStatus.CLEARED, note="正常")
        with pytest.raises(ApplicationError) as err:
            flag_decide(supervisor, flag, status=FlagStatus.CONFIRMED, note="改主意")
        assert err.value.code == "flag_decided"

    def test_only_auditors_of_the_subtree_decide(self, stuffed, world):
        flag = self._flag(stuffed)
        with pytest.raises(PermissionDenied):
            flag_decide(world.user("a2", Role.EVALUATOR), flag, status="cleared", note="x")
        with pytest.raises(ApplicationError) as err:
            flag_decide(world.user("a1", Role.SUPERVISOR), flag, status="cleared", note="x")
        assert err.value.code == "not_found"


@pytest.mark.django_db
class TestPages:
    def test_flag_detail_explains_in_plain_chinese_and_masks_mobiles(self, client, stuffed, world):
        campaign, now = stuffed
        flag = next(f for f in stuffing_detect(campaign, now=now) if f.kind == "mobile_run")
        client.force_login(world.user("a2", Role.SUPERVISOR))
        html = client.get(reverse("votes:flag_detail", args=[campaign.pk, flag.pk])).content
        html = html.decode()
        assert "连号" in html and "可能性" in html and "请人工复核" in html
        assert "157****1000" in html
        assert "15700001000" not in html
        assert 'data-testid="decide-form"' in html

    @staticmethod
    def _ballot_table(html: str) -> str:
        return html.split('data-testid="flag-ballots"', 1)[1].split("</section>", 1)[0]

    def test_a_flag_never_shows_a_mobile_with_its_choices_nor_a_seq(self, client, stuffed, world):
        campaign, now = stuffed
        flags = {f.kind: f for f in stuffing_detect(campaign, now=now)}
        client.force_login(world.user("a2", Role.SUPERVISOR))

        def table(kind):
            url = reverse("votes:flag_detail", args=[campaign.pk, flags[kind].pk])
            return self._ballot_table(client.get(url).content.decode())

        run = table(FlagKind.MOBILE_RUN)
        assert "157****1000" in run and "<th>选择</th>" not in run
        same = table(FlagKind.IDENTICAL_BURST)
        assert "<th>选择</th>" in same and "1、2、3" in same
        assert "186****" not in same and "<th>手机号</th>" not in same
        burst = table(FlagKind.NETWORK_BURST)
        assert "<th>手机号</th>" not in burst and "<th>选择</th>" not in burst
        assert "139****" not in burst
        for html in (run, same, burst):
            assert "<th>序号</th>" not in html
        # Times to the minute: no seconds that could single out a public receipt.
        ballot = flags[FlagKind.IDENTICAL_BURST].ballots.order_by("cast_at").first()
        minute = timezone.localtime(ballot.cast_at).strftime("%Y-%m-%d %H:%M")
        assert f"{minute}</td>" in same
        assert f"{minute}:" not in same

    def test_deciding_through_the_page(self, client, stuffed, world):
        campaign, now = stuffed
        flag = stuffing_detect(campaign, now=now)[0]
        client.force_login(world.user("a2", Role.SUPERVISOR))
        url = reverse("votes:flag_decide", args=[campaign.pk, flag.pk])
        assert client.post(url, {"status": "confirmed", "note": ""}).status_code == 400
        response = client.post(url, {"status": "confirmed", "note": "核实为刷票"})
        assert response.status_code == 302
        flag.refresh_from_db()
        assert flag.status == FlagStatus.CONFIRMED

    def test_flag_list_and_every_kind_of_detail(self, client, stuffed, world):
        campaign, now = stuffed
        flags = stuffing_detect(campaign, now=now)
        client.force_login(world.user("a2", Role.SUPERVISOR))
        html = client.get(reverse("votes:flag_list", args=[campaign.pk])).content.decode()
        for flag in flags:
            assert f"#{flag.pk}" in html
            detail = client.get(reverse("votes:flag_detail", args=[campaign.pk, flag.pk]))
            assert "请人工复核" in detail.content.decode()

    def test_flags_are_for_supervisors_only(self, client, stuffed, world):
        campaign, now = stuffed
        flag = stuffing_detect(campaign, now=now)[0]
        for role in (Role.UNIT_LEADER, Role.EVALUATOR):
            client.force_login(world.user("a2", role))
            assert client.get(reverse("votes:flag_list", args=[campaign.pk])).status_code == 403
            url = reverse("votes:flag_detail", args=[campaign.pk, flag.pk])
            assert client.get(url).status_code == 403

    def test_chain_verify_page_reports_ok_and_the_failing_seq(self, client, world):
        campaign = make_campaign(world)
        for i in range(3):
            ballot_cast(campaign, mobile=f"1370000000{i}", choices=[1])
        client.force_login(world.user("a2", Role.SUPERVISOR))
        url = reverse("votes:chain_verify", args=[campaign.pk])
        assert 'data-testid="chain-ok"' in client.post(url).content.decode()
        Ballot.objects.filter(campaign=campaign, seq=2).update(choices="01000")
        html = client.post(url).content.decode()
        assert 'data-testid="chain-failed"' in html and "第 2 条" in html
