"""The rate governor against simulated fixed-window and token-bucket limits, on a fake clock: it
learns the rate (not a token bucket's burst) from the first 429s and then stays under it, so the
run takes close to DIDs / limit."""

from __future__ import annotations

import asyncio
import math

import pytest

from mvconf.minivoice.governor import RateGovernor


class Simulation:
    """An API allowing `limit` requests per one-second window (as the emulator does), answering
    in `latency` seconds, and a fake clock that only moves when someone sleeps."""

    def __init__(self, limit: int, latency: float = 0.002):
        self.now = 0.3  # not aligned to a window
        self.limit, self.latency = limit, latency
        self.window, self.count = -1, 0
        self.throttled = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def answer(self) -> float | None:
        """None when accepted, else the Retry-After the emulator would send."""
        window = int(self.now)
        if window != self.window:
            self.window, self.count = window, 0
        self.count += 1
        if self.count <= self.limit:
            return None
        self.throttled += 1
        return max(1, math.ceil(window + 1 - self.now))


class Bucket(Simulation):
    """A token bucket of `burst` requests refilled at `limit` a second, answering 429 with the
    wait until the next token (as the emulator's --rate-burst does)."""

    def __init__(self, limit: int, burst: int, latency: float = 0.002):
        super().__init__(limit, latency)
        self.burst, self.tokens, self.filled = burst, float(burst), self.now

    def answer(self) -> float | None:
        self.tokens = min(self.burst, self.tokens + (self.now - self.filled) * self.limit)
        self.filled = self.now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        self.throttled += 1
        return max(0.001, math.ceil((1 - self.tokens) / self.limit * 1000) / 1000)


def run_requests(sim: Simulation, governor: RateGovernor, total: int) -> None:
    async def go():
        done = 0
        while done < total:
            await governor.acquire()
            sim.now += sim.latency
            retry_after = sim.answer()
            if retry_after is None:
                governor.accepted()
                done += 1
            else:
                alone = governor.throttled(retry_after)  # a stray 429 waits alone (client.py)
                if alone:
                    await sim.sleep(alone)

    asyncio.run(go())


@pytest.mark.parametrize("limit", [5, 40, 200])
def test_a_rate_limited_run_takes_close_to_the_least_possible_time(limit):
    sim = Simulation(limit)
    governor = RateGovernor(clock=sim.clock, sleep=sim.sleep)
    total = limit * 25
    started = sim.now
    run_requests(sim, governor, total)
    elapsed = sim.now - started
    assert elapsed <= 1.10 * total / limit, (elapsed, sim.throttled)
    assert sim.throttled <= 3  # learnt at once, then kept under the limit


@pytest.mark.parametrize("limit, burst, total", [(40, 5, 200), (40, 5, 1000), (200, 20, 2000),
                                                 (10, 1, 100), (40, 100, 2000)])
def test_a_token_bucket_is_learnt_as_its_rate_not_its_burst(limit, burst, total):
    sim = Bucket(limit, burst)
    governor = RateGovernor(clock=sim.clock, sleep=sim.sleep)
    started = sim.now
    run_requests(sim, governor, total)
    elapsed = sim.now - started
    assert elapsed <= 1.15 * total / limit, (elapsed, sim.throttled, governor.rate)
    assert governor.rate >= 0.9 * limit


def test_a_pause_that_would_pass_the_deadline_is_not_taken():
    sim = Simulation(1000)
    governor = RateGovernor(clock=sim.clock, sleep=sim.sleep)
    governor.throttled(120.0)
    before = sim.now
    assert asyncio.run(governor.acquire(deadline=before + 3)) is False
    assert sim.now == before  # no time spent waiting in vain


def test_no_request_is_sent_before_retry_after_has_passed():
    sim = Simulation(1000)
    governor = RateGovernor(clock=sim.clock, sleep=sim.sleep)
    governor.throttled(7.0)
    before = sim.now
    asyncio.run(governor.acquire())
    assert sim.now - before == pytest.approx(7.0)


def test_an_unlimited_api_is_never_slowed():
    sim = Simulation(10 ** 9)
    governor = RateGovernor(clock=sim.clock, sleep=sim.sleep)
    run_requests(sim, governor, 1000)
    assert governor.rate is None and sim.now == pytest.approx(0.3 + 1000 * sim.latency)


def test_the_emulators_token_bucket_gives_a_burst_then_its_rate(monkeypatch):
    from mvconf.emulator.faults import Faults

    now = [100.0]
    monkeypatch.setattr("mvconf.emulator.faults.time.monotonic", lambda: now[0])
    faults = Faults(rate_limit=40, rate_burst=5)
    assert [faults.rate_limited() for _ in range(5)] == [None] * 5  # the burst
    assert faults.rate_limited() == 0.025  # then the wait for the next token
    now[0] += 0.025
    assert faults.rate_limited() is None and faults.rate_limited() == 0.025
    now[0] += 10  # refilled, but only up to the burst
    assert [faults.rate_limited() for _ in range(6)] == [None] * 5 + [0.025]


class Stray(Simulation):
    """No limit, but every `every`-th request is answered 429 with a tiny Retry-After (a
    gateway refusing now and then)."""

    def __init__(self, every: int, retry_after: float = 0.02, latency: float = 0.002):
        super().__init__(10 ** 9, latency)
        self.every, self.retry_after, self.seen = every, retry_after, 0

    def answer(self) -> float | None:
        self.seen += 1
        if self.seen % self.every == 0:
            self.throttled += 1
            return self.retry_after
        return None


@pytest.mark.parametrize("every", [50, 25])
def test_stray_429s_cost_their_own_pause_not_a_falling_rate(every):
    sim = Stray(every)
    governor = RateGovernor(clock=sim.clock, sleep=sim.sleep)
    total = 20_000
    started = sim.now
    run_requests(sim, governor, total)
    elapsed = sim.now - started
    unhindered = total * sim.latency * (1 + 1 / every)  # every attempt, 429s included
    stray_pauses = sim.throttled * sim.retry_after
    assert elapsed <= 1.1 * (unhindered + stray_pauses), (elapsed, governor.rate)


def test_a_storm_of_429s_with_retry_after_0_is_not_retried_faster_than_one_without():
    class Storm(Simulation):
        def answer(self):
            self.throttled += 1
            return 0.02  # what the client makes of "Retry-After: 0"

    sim = Storm(0)
    governor = RateGovernor(clock=sim.clock, sleep=sim.sleep)

    async def go():
        while sim.now < 30.3:
            await governor.acquire()
            sim.now += sim.latency
            alone = governor.throttled(sim.answer())
            if alone:
                await sim.sleep(alone)

    asyncio.run(go())
    assert sim.throttled <= 30 + 8  # about one a second, as without Retry-After
