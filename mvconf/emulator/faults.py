"""Fault injection for the emulator's /v1/ API: latency, rate limits, random 503s and lost
answers (dropped connections).

Two kinds of rate limit: a fixed one-second window of `rate_limit` requests (SPEC §13;
Retry-After the whole seconds to the next window), or, with `rate_burst` (ours), a token bucket
of `rate_burst` requests refilled at `rate_limit` a second, as many APIs limit; its Retry-After
is the wait until the next token, in seconds with three decimals (at least 0.001)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field

MAX_EARLY = 0.002  # seconds: the most a timer's lateness is made up for


@dataclass
class Faults:
    latency_ms: float = 0
    rate_limit: int = 0  # requests per one-second window (or refill rate); 0 means no limit
    rate_burst: int = 0  # ours: > 0 makes the limit a token bucket of this many requests
    fail_rate: float = 0.0
    drop_rate: float = 0.0  # ours: the request is carried out, then the answer is lost
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)
    _window: int = field(default=-1, init=False)
    _count: int = field(default=0, init=False)
    _tokens: float = field(default=-1.0, init=False)
    _filled: float = field(default=0.0, init=False)
    _late: float = field(default=0.0, init=False)  # how much sooner answers are asked for

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def arrived(self) -> float:
        """The moment a request arrives, for `reach` and `answer`."""
        return time.monotonic()

    async def reach(self, arrived: float) -> None:
        """Wait until the request reaches the account: half of --latency-ms after it arrived
        (faults and the API act then), without blocking other requests."""
        if self.latency_ms > 0:
            left = arrived + self.latency_ms / 2000 - time.monotonic()
            if left > 0:
                await asyncio.sleep(left)

    async def answer(self, arrived: float) -> None:
        """Wait until the answer is due: --latency-ms after the request arrived, so the work
        done in between is part of the latency, not added to it. What is left after the due
        time (a timer that wakes late, about a millisecond on some virtual machines, which is
        2% of a 50 ms latency, and the writing of the answer) is measured by `sent` and asked
        for less: answers leave --latency-ms after their request on average, never more than
        MAX_EARLY before it."""
        if self.latency_ms <= 0:
            return
        left = arrived + self.latency_ms / 1000 - self._late - time.monotonic()
        if left > 0:
            await asyncio.sleep(left)

    def sent(self, arrived: float) -> None:
        """The answer to a request that arrived at `arrived` has been written: learn how late
        it left (the mean of that is what `answer` asks for less)."""
        if self.latency_ms <= 0:
            return
        late = time.monotonic() - arrived - self.latency_ms / 1000
        self._late = min(max(self._late + late / 16, 0.0), MAX_EARLY, self.latency_ms / 2000)

    def rate_limited(self) -> int | float | None:
        """Seconds to wait when this request is over the limit, else None."""
        if self.rate_limit <= 0:
            return None
        now = time.monotonic()
        if self.rate_burst > 0:
            return self._bucket(now)
        window = int(now)
        if window != self._window:
            self._window, self._count = window, 0
        self._count += 1
        if self._count <= self.rate_limit:
            return None
        return max(1, math.ceil(window + 1 - now))

    def should_fail(self) -> bool:
        return self.fail_rate > 0 and self._random.random() < self.fail_rate

    def should_drop(self) -> bool:
        return self.drop_rate > 0 and self._random.random() < self.drop_rate

    def _bucket(self, now: float) -> float | None:
        if self._tokens < 0:  # full at the start
            self._tokens, self._filled = float(self.rate_burst), now
        self._tokens = min(float(self.rate_burst),
                           self._tokens + (now - self._filled) * self.rate_limit)
        self._filled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return max(0.001, math.ceil((1.0 - self._tokens) / self.rate_limit * 1000) / 1000)
