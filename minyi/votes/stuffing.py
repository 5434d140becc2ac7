"""Ballot stuffing (刷票) flagged for a person's review (rule version ``vote-stuffing-2026.1``).

Four rules, each a significance test with a floor on the count (docs/statistics.md, "Ballot
stuffing"):

(a) **network burst** (同一网络突发): ballots per (network /24 or /64, 10-minute window);
(b) **device burst** (同一设备集中): the same per (device cookie, window);
(d) **identical ballots in a burst** (相同选票集中): the same per (selection vector, window),
    online ballots only (paper sheets are keyed in batches);
(c) **runs of consecutive mobile numbers** (连号): sorted numerically, ≥ 5 ballots whose
    numbers each differ from the previous by at most 2.

Burst baseline. A cell (group g, window w) is compared with a Poisson whose mean is what the
*rest* of the table predicts: g's ballots outside w, as odds against everyone else outside w,
applied to everyone else inside w (the independence model of a two-way table, leave-one-out,
add-one smoothed). So a big carrier NAT (运营商 NAT: thousands of honest voters behind one
address block) is judged against its own share, and a WeChat share that multiplies the whole
campaign's traffic raises every group's expectation at once. For networks and devices the mean
is at least the campaign-wide mean per active cell (the typical group), so a household
voting together (a few ballots, one phone) is never judged against a near-zero baseline. A
cell is flagged when ``P(X >= k | λ) < α / m`` (Bonferroni over the m active cells of that
rule, α = 0.01) and k reaches the rule's floor.

Runs. Under the null, voters are spread uniformly over the numbers of the 10,000-number
blocks (号段 + 4 digits, the first seven digits) the campaign's voters occupy, each block at
its own observed density. The chance of a run at least as long as the one seen, anywhere, is
``1 - exp(-Σ_b n_b (1 - q_b) q_b^(L-1))`` with ``q_b = 1 - (1 - n_b / 10⁴)^2`` (the chance
that the next voter's number is within 2); a run is flagged when that chance is below α.

Detection never deletes, excludes or changes a ballot: it groups them in ``StuffingFlag``s.
The maths are pure functions on arrays (:func:`burst_cells`, :func:`mobile_runs`), so the
null and power simulation (tests/test_stuffing_statistics.py) calls them without a database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from scipy.stats import binom, poisson

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.votes.models import Ballot, Channel, FlagKind, FlagStatus, StuffingFlag

RULE_VERSION = "vote-stuffing-2026.1"
ALPHA = 0.01
WINDOW_SECONDS = 600
MIN_NETWORK = 10
MIN_DEVICE = 3
MIN_IDENTICAL = 5
MIN_RUN = 5
RUN_GAP = 2
BLOCK = 10_000  # numbers per block: the first seven digits of a mobile
NOTE_MAX_CHARS = 2000


# --- Pure detection maths --------------------------------------------------------------------


@dataclass(frozen=True)
class BurstCells:
    """Every active (group, window) cell of one rule, as parallel arrays."""

    group: np.ndarray  # index into `labels`
    window: np.ndarray  # window number (seconds since the epoch // 600)
    count: np.ndarray
    expected: np.ndarray  # the Poisson mean λ the cell is tested against
    own: np.ndarray  # True when λ is the group's own expectation, not the floor
    p_value: np.ndarray  # P(X >= count | λ)
    flagged: np.ndarray
    threshold: float  # α / m
    tested: int  # m
    labels: np.ndarray  # the distinct group labels
    cell_of: np.ndarray  # for each input ballot, its cell's index


def burst_cells(
    groups: Sequence, windows: Sequence[int], *, min_count: int, floor: bool, alpha: float = ALPHA
) -> BurstCells:
    """Test every active (group, window) cell of ballots given as parallel `groups` (any
    labels) and `windows` (integers). See the module docstring for λ."""
    windows = np.asarray(windows, dtype=np.int64)
    labels, g = np.unique(np.asarray(groups), return_inverse=True)
    g = g.reshape(-1)
    win_values, w = np.unique(windows, return_inverse=True)
    w = w.reshape(-1)
    n_win = len(win_values)
    cell_ids, cell_of, k = np.unique(
        g.astype(np.int64) * max(n_win, 1) + w, return_inverse=True, return_counts=True
    )
    cell_of = cell_of.reshape(-1)
    cell_g = cell_ids // max(n_win, 1)
    cell_w = cell_ids % max(n_win, 1)
    total = len(windows)
    active = len(cell_ids)
    if active == 0:
        empty = np.zeros(0)
        return BurstCells(
            empty.astype(int), empty.astype(int), empty.astype(int), empty, empty.astype(bool),
            empty, empty.astype(bool), alpha, 0, labels, cell_of,
        )  # fmt: skip
    row = np.bincount(g, minlength=len(labels))[cell_g].astype(float)  # group's ballots
    col = np.bincount(w, minlength=n_win)[cell_w].astype(float)  # window's ballots
    k_f = k.astype(float)
    # The group's share of the ballots outside this window (add-one smoothed), applied to
    # this window's ballots: k ~ Binomial(window's ballots, share) under the null.
    share = np.minimum((row - k_f + 1.0) / (total - col + 2.0), 1.0)
    p_value = binom.sf(k - 1, col.astype(np.int64), share)
    own = col * share
    if floor and active > 1:
        typical = (total - k_f) / (active - 1)
        # Never more surprising than against the typical group: a Poisson at its mean.
        p_value = np.maximum(p_value, poisson.sf(k - 1, typical))
        expected = np.maximum(own, typical)
        is_own = own >= typical
    else:
        expected = own
        is_own = np.ones(active, dtype=bool)
    threshold = alpha / active
    flagged = (k >= min_count) & (p_value < threshold)
    return BurstCells(
        group=cell_g,
        window=win_values[cell_w],
        count=k,
        expected=expected,
        own=is_own,
        p_value=p_value,
        flagged=flagged,
        threshold=threshold,
        tested=active,
        labels=labels,
        cell_of=cell_of,
    )


@dataclass(frozen=True)
class Burst:
    """A flagged cell: `members` index the input ballots; `start` in seconds (epoch)."""

    label: object
    start: int
    count: int
    expected: float
    own: bool
    p_value: float
    members: np.ndarray


@dataclass(frozen=True)
class BurstScan:
    bursts: list[Burst]
    tested: int  # m: active cells over both grids
    threshold: float  # α / m


def burst_scan(
    groups: Sequence, times: Sequence[float], *, min_count: int, floor: bool, alpha: float = ALPHA
) -> BurstScan:
    """Ten-minute windows on two grids, the second shifted by five minutes, so that a burst
    is never split in halves by a window edge; Bonferroni over the active cells of both. A
    burst flagged on both grids is reported once (the smaller p-value)."""
    times = np.asarray(times, dtype=float)
    grids = []
    for offset in (0, WINDOW_SECONDS // 2):
        windows = np.floor((times - offset) / WINDOW_SECONDS).astype(np.int64)
        grids.append((offset, burst_cells(groups, windows, min_count=min_count, floor=floor)))
    tested = sum(cells.tested for _offset, cells in grids)
    threshold = alpha / max(tested, 1)
    found = []
    for offset, cells in grids:
        hits = np.flatnonzero((cells.count >= min_count) & (cells.p_value < threshold))
        for i in hits:
            found.append(
                Burst(
                    label=cells.labels[cells.group[i]],
                    start=int(cells.window[i]) * WINDOW_SECONDS + offset,
                    count=int(cells.count[i]),
                    expected=float(cells.expected[i]),
                    own=bool(cells.own[i]),
                    p_value=float(cells.p_value[i]),
                    members=np.flatnonzero(cells.cell_of == i),
                )
            )
    kept: list[Burst] = []
    for burst in sorted(found, key=lambda b: b.p_value):
        if not any(
            k.label == burst.label and abs(k.start - burst.start) < WINDOW_SECONDS for k in kept
        ):
            kept.append(burst)
    return BurstScan(bursts=kept, tested=tested, threshold=threshold)


@dataclass(frozen=True)
class Run:
    """A run of consecutive numbers: `members` index the input array, in number order."""

    members: np.ndarray
    length: int
    chance: float  # of a run at least this long anywhere, under the null
    expected_runs: float
    flagged: bool


def run_chance(numbers: np.ndarray, length: int, *, max_gap: int = RUN_GAP) -> tuple[float, float]:
    """(chance of a run of at least `length` somewhere, expected number of such runs) for
    voters spread uniformly over their 10,000-number blocks at each block's density."""
    _blocks, n_b = np.unique(np.asarray(numbers, dtype=np.int64) // BLOCK, return_counts=True)
    density = np.minimum(n_b / BLOCK, 1.0)
    q = 1.0 - (1.0 - density) ** max_gap
    expected = float(np.sum(n_b * (1.0 - q) * q ** (length - 1)))
    return -math.expm1(-expected), expected


def mobile_runs(
    numbers: Sequence[int],
    *,
    min_length: int = MIN_RUN,
    max_gap: int = RUN_GAP,
    alpha: float = ALPHA,
) -> list[Run]:
    """Every run of at least `min_length` numbers (each within `max_gap` of the previous),
    with its chance under the null; `flagged` when that chance is below `alpha`."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) < min_length:
        return []
    order = np.argsort(numbers, kind="stable")
    linked = np.diff(numbers[order]) <= max_gap
    # Maximal stretches of linked neighbours: edges where `linked` switches on and off.
    padded = np.concatenate(([False], linked, [False])).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    ends = np.flatnonzero(np.diff(padded) == -1)  # exclusive, in gaps; members up to `end`
    runs = []
    for start, end in zip(starts, ends, strict=True):
        length = int(end - start + 1)
        if length < min_length:
            continue
        chance, expected = run_chance(numbers, length, max_gap=max_gap)
        runs.append(Run(order[start : end + 1], length, chance, expected, chance < alpha))
    return runs


# --- Detection over a campaign's ballots ----------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    kind: str
    key: str
    ballots: list[int]
    evidence: dict


_BURSTS = (
    # kind, Ballot field, floor on the count, campaign-wide floor on λ
    (FlagKind.NETWORK_BURST, "network_key", MIN_NETWORK, True),
    (FlagKind.DEVICE_BURST, "device_key", MIN_DEVICE, True),
    (FlagKind.IDENTICAL_BURST, "choices", MIN_IDENTICAL, False),
)


def _burst_findings(rows: list[dict]) -> list[_Finding]:
    findings = []
    for kind, field, min_count, floor in _BURSTS:
        subset = [r for r in rows if r[field]]
        if not subset:
            continue
        scan = burst_scan(
            [r[field] for r in subset],
            [r["cast_at"].timestamp() for r in subset],
            min_count=min_count,
            floor=floor,
        )
        for burst in scan.bursts:
            start = datetime.fromtimestamp(burst.start, tz=UTC)
            label = str(burst.label)
            findings.append(
                _Finding(
                    kind=kind,
                    key=f"{label}@{burst.start // 60}",
                    ballots=[subset[j]["pk"] for j in burst.members],
                    evidence={
                        "rule_version": RULE_VERSION,
                        "window_start": start.isoformat(),
                        "window_end": (start + timedelta(seconds=WINDOW_SECONDS)).isoformat(),
                        "count": burst.count,
                        "expected": burst.expected,
                        "baseline": "own" if burst.own else "campaign",
                        "p_value": burst.p_value,
                        "threshold": scan.threshold,
                        "tested": scan.tested,
                        "alpha": ALPHA,
                        "min_count": min_count,
                        **({"choices": label} if kind == FlagKind.IDENTICAL_BURST else {}),
                    },
                )
            )
    return findings


def _run_findings(campaign) -> list[_Finding]:
    pks, numbers = [], []
    for pk, mobile in Ballot.objects.filter(campaign=campaign).values_list("pk", "mobile"):
        if mobile and mobile.isdigit():  # the field decrypts; always 11 digits when cast
            pks.append(pk)
            numbers.append(int(mobile))
    findings = []
    for run in mobile_runs(numbers):
        if not run.flagged:
            continue
        members = [pks[i] for i in run.members]
        first = str(numbers[run.members[0]])
        findings.append(
            _Finding(
                kind=FlagKind.MOBILE_RUN,
                # A keyed hash of the first number: stable, and no number in the key.
                key="run:" + lookup_hash("vote-run", f"{campaign.pk}:{first}")[:32],
                ballots=members,
                evidence={
                    "rule_version": RULE_VERSION,
                    "count": run.length,
                    "max_gap": RUN_GAP,
                    "min_length": MIN_RUN,
                    "chance": run.chance,
                    "expected_runs": run.expected_runs,
                    "voters": len(numbers),
                    "blocks": len(np.unique(np.asarray(numbers) // BLOCK)),
                    "alpha": ALPHA,
                },
            )
        )
    return findings


def _history(flag: StuffingFlag) -> list:
    return list((flag.evidence or {}).get("history", []))


def _flag_upsert(campaign, finding: _Finding, now) -> StuffingFlag:
    """One flag per (kind, key): created, or grown (and reopened if it had been decided) when
    new ballots join its group; left untouched when nothing new joined."""
    with transaction.atomic():
        existing = StuffingFlag.objects.select_for_update().filter(
            campaign=campaign, kind=finding.kind, key=finding.key
        )
        if not existing.exists():
            # A run may grow at its low end (its first number changes), a burst be found on
            # the other grid: the flag that already holds some of its ballots is the group.
            overlapping = StuffingFlag.objects.filter(
                campaign=campaign, kind=finding.kind, ballots__in=finding.ballots
            ).values("pk")[:1]
            existing = StuffingFlag.objects.select_for_update().filter(
                campaign=campaign, pk__in=overlapping
            )
        flag = existing.first()
        if flag is None:
            evidence = {
                **finding.evidence,
                "history": [
                    {"at": now.isoformat(), "event": "detected", "ballots": len(finding.ballots)}
                ],
            }
            try:
                with transaction.atomic():
                    flag = StuffingFlag.objects.create(
                        campaign=campaign,
                        kind=finding.kind,
                        key=finding.key,
                        evidence=evidence,
                        created_at=now,
                    )
            except IntegrityError:  # a detection run in parallel created it first
                flag = StuffingFlag.objects.select_for_update().get(
                    campaign=campaign, kind=finding.kind, key=finding.key
                )
            else:
                flag.ballots.set(finding.ballots)
                return flag
        held = set(flag.ballots.values_list("pk", flat=True))
        new = sorted(set(finding.ballots) - held)
        if not new:
            return flag
        flag.ballots.add(*new)
        history = _history(flag)
        event = {"at": now.isoformat(), "event": "grown", "added": len(new)}
        if flag.status != FlagStatus.OPEN:
            event.update(
                event="reopened",
                previous_status=flag.status,
                previous_note=flag.decision_note,
                previous_by=flag.decided_by.get_username() if flag.decided_by else "",
            )
            flag.status = FlagStatus.OPEN
            flag.decided_by = None
            flag.decided_at = None
            flag.decision_note = ""
        evidence = {**finding.evidence, "count": len(held) + len(new)}
        evidence["history"] = [*history, event]
        flag.evidence = evidence
        flag.save()
        return flag


def stuffing_detect(campaign, now=None) -> list[StuffingFlag]:
    """Run the four rules over the campaign's ballots and return the flags their groups
    form. Idempotent: a group already flagged keeps its flag (ballots added when it grew).
    Never deletes, excludes or changes a ballot."""
    now = now or timezone.now()
    rows = list(
        Ballot.objects.filter(campaign=campaign, channel=Channel.ONLINE).values(
            "pk", "network_key", "device_key", "choices", "cast_at"
        )
    )
    findings = _burst_findings(rows) + _run_findings(campaign)
    return [_flag_upsert(campaign, finding, now) for finding in findings]


# --- Review ---------------------------------------------------------------------------------


def flag_decide(actor, flag: StuffingFlag, *, status: str, note: str, now=None) -> StuffingFlag:
    """A reviewer's decision on an open flag: cleared (复核正常) or confirmed (确认异常), with
    a note; audited. The ballots themselves are not touched."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.VOTE_AUDIT):
        raise PermissionDenied()
    if status not in (FlagStatus.CLEARED, FlagStatus.CONFIRMED):
        raise ApplicationError(
            "invalid_status", _("请选择复核结论：复核正常或确认异常。"), field="status"
        )
    note = (note or "").strip()
    if not note:
        raise ApplicationError("note_required", _("请填写复核意见。"), field="note")
    if len(note) > NOTE_MAX_CHARS:
        raise ApplicationError("note_too_long", _("复核意见不能超过 2000 字。"), field="note")
    with transaction.atomic():
        locked = (
            StuffingFlag.objects.select_for_update(of=("self",))
            .filter(scope_q(actor, "campaign__unit__"), pk=flag.pk)
            .first()
        )
        if locked is None:
            raise NotFound()
        if locked.status != FlagStatus.OPEN:
            raise ApplicationError(
                "flag_decided",
                _("该刷票嫌疑已经复核过；有新的选票加入时会重新打开。"),
                status=409,
            )
        locked.status = status
        locked.decided_by = actor
        locked.decided_at = now
        locked.decision_note = note
        evidence = dict(locked.evidence or {})
        evidence["history"] = [
            *_history(locked),
            {
                "at": now.isoformat(),
                "event": "decided",
                "status": status,
                "by": actor.get_username(),
            },
        ]
        locked.evidence = evidence
        locked.save()
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=locked,
            detail={"flag_status": status, "kind": locked.kind},
        )
    return locked


# --- Plain-Chinese explanation (for the review page) ----------------------------------------


def _odds(p: float) -> str:
    """A probability in words a leader reads: "约千分之三", "不到百亿分之一"."""
    if p >= 0.01:
        return _("约百分之 %(n)s") % {"n": f"{p * 100:.0f}"}
    if p >= 0.001:
        return _("约千分之 %(n)s") % {"n": f"{p * 1000:.0f}"}
    if p <= 0:
        return _("几乎为零")
    exponent = math.floor(-math.log10(p))
    return _("不到 10 的 %(n)s 次方分之一") % {"n": exponent}


def flag_explanation(flag: StuffingFlag) -> dict:
    """What the figure is, how sure, in a leader's words: {"summary", "figures", "caution"}."""
    e = flag.evidence or {}
    kind = flag.kind
    if kind == FlagKind.MOBILE_RUN:
        summary = _(
            "有 %(n)s 张选票的手机号是连号（每个号码与上一个相差不超过 %(gap)s）。"
            "如果投票人的手机号是随机分布的，本次投票中出现这么长连号的可能性%(odds)s，"
            "低于判定线（百分之一），因此列为刷票嫌疑，请人工复核。"
        ) % {
            "n": e.get("count"),
            "gap": e.get("max_gap", RUN_GAP),
            "odds": _odds(e.get("chance", 1.0)),
        }
        figures = [
            (_("连号选票数"), e.get("count")),
            (_("偶然出现的可能性"), _odds(e.get("chance", 1.0))),
            (_("参与比对的选票"), e.get("voters")),
            (_("涉及号段数（前 7 位）"), e.get("blocks")),
        ]
        caution = _(
            "连号可能来自同一单位集中办理的手机卡，也可能是批量购卡刷票；请结合投票时间、网络核查。"
        )
    else:
        start = e.get("window_start")
        when = ""
        if start:
            local = timezone.localtime(datetime.fromisoformat(start))
            when = f"{local:%Y-%m-%d %H:%M}–{local + timedelta(seconds=WINDOW_SECONDS):%H:%M}"
        source = {
            FlagKind.NETWORK_BURST: _("同一个网络（同一网段）"),
            FlagKind.DEVICE_BURST: _("同一台设备"),
            FlagKind.IDENTICAL_BURST: _("选择完全相同的选票"),
        }[kind]
        basis = (
            _("按这一组平时所占的比例和当时全部投票的多少推算")
            if e.get("baseline") == "own"
            else _("按全部网络或设备每 10 分钟的平均票数推算")
        )
        summary = _(
            "%(when)s 这 10 分钟内，%(source)s出现了 %(k)s 票；%(basis)s，预计约 %(lam)s 票。"
            "纯属巧合出现这么多票的可能性%(odds)s，低于判定线（%(line)s），"
            "因此列为刷票嫌疑，请人工复核。"
        ) % {
            "when": when,
            "source": source,
            "k": e.get("count"),
            "basis": basis,
            "lam": f"{e.get('expected', 0):.1f}",
            "odds": _odds(e.get("p_value", 1.0)),
            "line": _odds(e.get("threshold", ALPHA)),
        }
        figures = [
            (_("时间段"), when),
            (_("票数"), e.get("count")),
            (_("预计票数"), f"{e.get('expected', 0):.2f}"),
            (_("偶然出现的可能性"), _odds(e.get("p_value", 1.0))),
            (_("判定线（已按检验次数校正）"), _odds(e.get("threshold", ALPHA))),
            (_("本次检验的组数"), e.get("tested")),
        ]
        caution = {
            FlagKind.NETWORK_BURST: _(
                "单位、学校或小区的共享网络中多人同时投票也会这样；请结合手机号、设备核查。"
            ),
            FlagKind.DEVICE_BURST: _(
                "一家人用同一部手机投票也会这样，但数量通常很少；请结合手机号核查。"
            ),
            FlagKind.IDENTICAL_BURST: _(
                "动员投票（转发到群里后集中投票）也可能出现相同选票；请结合网络、设备核查。"
            ),
        }[kind]
    return {"summary": summary, "figures": figures, "caution": caution}
