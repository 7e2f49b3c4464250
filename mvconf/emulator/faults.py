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
    _late: float = field(default=0.0, init=False)  # a sleep's mean overshoot, in seconds

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def delay(self) -> None:
        """Wait --latency-ms, without blocking other requests. A timer wakes late (about a
        millisecond on some virtual machines, which is 2% of a 50 ms latency), so the mean of
        that lateness is measured and asked for less: answers come --latency-ms late on
        average, never more than MAX_EARLY before it."""
        if self.latency_ms <= 0:
            return
        wanted = self.latency_ms / 1000
        asked = max(0.0, wanted - self._late)
        started = time.monotonic()
        await asyncio.sleep(asked)
        late = time.monotonic() - started - asked
        self._late = min(max(self._late + (late - self._late) / 16, 0.0), MAX_EARLY, wanted / 2)

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
