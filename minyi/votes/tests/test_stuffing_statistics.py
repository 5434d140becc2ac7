"""Null and power simulation of the stuffing rules (docs/statistics.md, "Ballot stuffing").

Honest voting: 3,000 voters over a three-day campaign (432 ten-minute windows) with a daily
rhythm and one WeChat-share surge (two hours at five times the rate); three carrier NATs
carrying 15%, 10% and 8% of voters, the rest spread unevenly over 1,500 home and office
networks; one device per voter except households (10% of voters) sharing a phone, half of
whom vote in the same ten minutes; mobiles drawn at random from 400 number blocks (号段) used
unevenly; choices from a preference distribution (approval, up to 10 of 30; or single, 1 of
11). Each replication runs the production's pure functions (`burst_cells`, `mobile_runs`),
so what is measured is what runs. Seeded: the counts are fixed for a given numpy.

A rule's false-flag rate is the share of honest campaigns in which it flags anything at all
(family-wise, the Bonferroni correction's target α = 0.01); the assertion is that the count is
within the exact binomial 99.9% upper bound under α. Power is the share of replications in
which the injected stuffing is flagged; the assertion is the measured share ≥ 0.9.
"""

import numpy as np
import pytest
from scipy.stats import binom

from minyi.votes.stuffing import (
    ALPHA,
    MIN_DEVICE,
    MIN_IDENTICAL,
    MIN_NETWORK,
    WINDOW_SECONDS,
    burst_scan,
    mobile_runs,
)

VOTERS = 3000
WINDOWS = 432  # three days
NULL_REPLICATIONS = 200
POWER_REPLICATIONS = 100
SPAN = WINDOWS * WINDOW_SECONDS


def _arrival_weights() -> np.ndarray:
    hours = (np.arange(WINDOWS) * WINDOW_SECONDS / 3600) % 24
    rhythm = 0.15 + np.clip(np.sin((hours - 6) / 18 * np.pi), 0, None)  # quiet at night
    rhythm[200:212] *= 5  # a WeChat share: two hours at five times the rate
    return rhythm / rhythm.sum()


ARRIVALS = _arrival_weights()


class City:
    """The fixed parts of the simulated city: number blocks and network sizes."""

    def __init__(self, rng):
        prefixes = rng.choice(np.arange(1300000, 2000000), size=400, replace=False)
        self.blocks = prefixes.astype(np.int64) * 10_000
        self.block_weights = rng.dirichlet(np.full(400, 2.0))
        homes = rng.dirichlet(np.full(1500, 0.5)) * 0.67
        self.network_weights = np.concatenate(([0.15, 0.10, 0.08], homes))


def _times(rng, n) -> np.ndarray:
    """Seconds since the campaign opened, by the honest arrival rhythm."""
    window = rng.choice(WINDOWS, size=n, p=ARRIVALS)
    return window * WINDOW_SECONDS + rng.uniform(0, WINDOW_SECONDS, n)


def _mobiles(rng, city: City, n) -> np.ndarray:
    block = rng.choice(len(city.blocks), size=n, p=city.block_weights)
    numbers = city.blocks[block] + rng.integers(0, 10_000, n)
    return np.unique(numbers)  # one ballot per mobile (a collision just drops a voter)


def _choices(rng, kind: str, n) -> np.ndarray:
    """Selection vectors as integers (bit i = option i + 1)."""
    if kind == "single":
        preference = rng.dirichlet(np.full(11, 2.0))
        return 1 << rng.choice(11, size=n, p=preference)
    preference = rng.dirichlet(np.full(30, 1.0))
    k = rng.integers(1, 11, n)
    scores = np.log(preference)[None, :] + rng.gumbel(size=(n, 30))  # Gumbel top-k
    ranks = np.argsort(np.argsort(-scores, axis=1), axis=1)
    chosen = ranks < k[:, None]
    return (chosen * (1 << np.arange(30))[None, :]).sum(axis=1)


def honest(rng, city: City, kind: str) -> dict:
    mobiles = _mobiles(rng, city, VOTERS)
    n = len(mobiles)
    times = _times(rng, n)
    networks = rng.choice(len(city.network_weights), size=n, p=city.network_weights)
    devices = np.arange(n)
    # Households: 10% of voters use the phone of the voter before them; half vote together.
    shared = np.flatnonzero(rng.random(n) < 0.10)
    shared = shared[shared > 0]
    devices[shared] = devices[shared - 1]
    together = shared[rng.random(len(shared)) < 0.5]
    times[together] = times[together - 1] + rng.uniform(0, 120, len(together))
    networks[shared] = networks[shared - 1]
    return {
        "times": np.minimum(times, SPAN - 1),
        "networks": networks,
        "devices": devices,
        "mobiles": mobiles,
        "choices": _choices(rng, kind, n),
    }


def _flags(ballots: dict) -> dict:
    times = ballots["times"]
    network = burst_scan(ballots["networks"], times, min_count=MIN_NETWORK, floor=True)
    device = burst_scan(ballots["devices"], times, min_count=MIN_DEVICE, floor=True)
    identical = burst_scan(ballots["choices"], times, min_count=MIN_IDENTICAL, floor=False)
    runs = [r for r in mobile_runs(ballots["mobiles"]) if r.flagged]
    return {"network": network, "device": device, "identical": identical, "runs": runs}


def _inject(ballots: dict, key: str, values, times) -> dict:
    out = dict(ballots)
    n = len(values) if key == "mobiles" else len(times)
    for field in ("times", "networks", "devices", "mobiles", "choices"):
        if field == key:
            extra = np.asarray(values)
        elif field == "times":
            extra = np.asarray(times)
        elif field == "networks":
            extra = 10**7 + np.arange(n)  # each stuffed ballot its own network …
        elif field == "devices":
            extra = 10**8 + np.arange(n)  # … and device, unless the test says otherwise
        elif field == "mobiles":
            extra = 10**11 + np.arange(n) * 1000  # far apart: no run
        else:
            extra = np.full(n, -1)  # a vector no honest voter has
            extra = extra - np.arange(n)  # … all different
        out[field] = np.concatenate([ballots[field], extra])
    return out


def _burst_times(rng, count) -> np.ndarray:
    start = rng.uniform(0, SPAN - WINDOW_SECONDS)
    return start + rng.uniform(0, WINDOW_SECONDS, count)


def _caught(scan, label) -> bool:
    return any(burst.label == label for burst in scan.bursts)


def _upper(replications: int) -> int:
    """The most false flags the nominal rate allows (exact binomial, 99.9%)."""
    return int(binom.ppf(0.999, replications, ALPHA))


@pytest.mark.parametrize("kind", ["approval", "single"])
def test_honest_voting_is_flagged_at_or_below_the_nominal_rate(kind):
    rng = np.random.default_rng(2026)
    city = City(rng)
    false = dict.fromkeys(("network", "device", "identical", "runs"), 0)
    for _ in range(NULL_REPLICATIONS):
        flags = _flags(honest(rng, city, kind))
        for rule in ("network", "device", "identical"):
            false[rule] += bool(flags[rule].bursts)
        false["runs"] += bool(flags["runs"])
    rates = {rule: count / NULL_REPLICATIONS for rule, count in false.items()}
    print(f"\nnull ({kind}, {NULL_REPLICATIONS} replications): {rates}")
    for rule, count in false.items():
        assert count <= _upper(NULL_REPLICATIONS), (rule, count)


def test_a_network_burst_is_caught():
    rng = np.random.default_rng(1)
    city = City(rng)
    caught = 0
    for _ in range(POWER_REPLICATIONS):
        ballots = honest(rng, city, "approval")
        stuffed = _inject(ballots, "networks", np.full(30, -7), _burst_times(rng, 30))
        caught += _caught(_flags(stuffed)["network"], -7)
    print(f"\npower, 30 ballots from one network in 10 minutes: {caught / POWER_REPLICATIONS}")
    assert caught / POWER_REPLICATIONS >= 0.9


def test_a_network_burst_behind_a_carrier_nat_is_caught():
    """The same 30 ballots from the biggest carrier NAT (15% of honest voters), at a random
    time: judged against its own share, not the typical network's."""
    rng = np.random.default_rng(2)
    city = City(rng)
    caught = 0
    for _ in range(POWER_REPLICATIONS):
        ballots = honest(rng, city, "approval")
        stuffed = _inject(ballots, "networks", np.full(30, 0), _burst_times(rng, 30))
        caught += _caught(_flags(stuffed)["network"], 0)
    print(f"\npower, 30 ballots behind the biggest NAT: {caught / POWER_REPLICATIONS}")
    assert caught / POWER_REPLICATIONS >= 0.9


def test_a_device_burst_is_caught():
    rng = np.random.default_rng(3)
    city = City(rng)
    caught = 0
    for _ in range(POWER_REPLICATIONS):
        ballots = honest(rng, city, "approval")
        stuffed = _inject(ballots, "devices", np.full(20, -9), _burst_times(rng, 20))
        caught += _caught(_flags(stuffed)["device"], -9)
    print(f"\npower, 20 ballots from one device in 10 minutes: {caught / POWER_REPLICATIONS}")
    assert caught / POWER_REPLICATIONS >= 0.9


def test_consecutive_numbers_are_caught():
    rng = np.random.default_rng(4)
    city = City(rng)
    caught = 0
    for _ in range(POWER_REPLICATIONS):
        ballots = honest(rng, city, "approval")
        base = city.blocks[rng.integers(len(city.blocks))] + rng.integers(0, 9_990)
        run = base + np.arange(8)
        keep = ~np.isin(ballots["mobiles"], run)
        honest_part = {k: v[keep] for k, v in ballots.items()}
        stuffed = _inject(honest_part, "mobiles", run, _times(rng, 8))
        runs = _flags(stuffed)["runs"]
        caught += any(np.isin(run, stuffed["mobiles"][r.members]).sum() >= 8 for r in runs)
    print(f"\npower, 8 consecutive numbers: {caught / POWER_REPLICATIONS}")
    assert caught / POWER_REPLICATIONS >= 0.9


@pytest.mark.parametrize("kind", ["approval", "single"])
def test_identical_ballots_in_a_burst_are_caught(kind):
    """20 identical ballots in 10 minutes. Approval: the vector of the three most popular
    options. Single choice: the most popular option itself (the hardest case: its own rate
    is the highest)."""
    rng = np.random.default_rng(5)
    city = City(rng)
    caught = 0
    replications = 2 * POWER_REPLICATIONS  # the hard case sits nearest the bound
    for _ in range(replications):
        ballots = honest(rng, city, kind)
        values, counts = np.unique(ballots["choices"], return_counts=True)
        if kind == "single":
            vector = values[np.argmax(counts)]
        else:
            bits = np.array([(ballots["choices"] >> i) & 1 for i in range(30)]).sum(axis=1)
            vector = int(sum(1 << int(i) for i in np.argsort(-bits)[:3]))
        stuffed = _inject(ballots, "choices", np.full(20, vector), _burst_times(rng, 20))
        caught += _caught(_flags(stuffed)["identical"], vector)
    rate = caught / replications
    print(f"\npower, 20 identical ballots in 10 minutes ({kind}): {rate}")
    assert rate >= 0.9
