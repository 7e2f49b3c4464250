"""Fault injection for the emulator's /v1/ API: latency, rate limits, random 503s and lost
answers (dropped connections)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    latency_ms: float = 0
    rate_limit: int = 0  # requests per one-second window; 0 means no limit
    fail_rate: float = 0.0
    drop_rate: float = 0.0  # ours: the request is carried out, then the answer is lost
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)
    _window: int = field(default=-1, init=False)
    _count: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def delay(self) -> None:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)  # never blocks other requests

    def rate_limited(self) -> int | None:
        """Seconds to wait when this request is over the limit, else None."""
        if self.rate_limit <= 0:
            return None
        now = time.monotonic()
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
