"""One rate governor per run, shared by every request (SPEC §10).

Like the AWS SDKs' adaptive retry mode, it keeps a client-side token bucket whose rate is learnt
from the API's throttling: until the first 429 there is no bucket, and requests go as fast as
`--parallelism` allows. A 429 pauses every lane until its Retry-After has passed, and sets the
bucket's rate just under what the API was seen to accept in the second before it
(`SAFETY` of the requests answered in that second). From then on requests are spaced evenly at
that rate, so a fixed-window limit is not hit again and no time is lost waiting out whole-second
Retry-After values. If the API accepts more, the rate grows slowly back towards it (`GROWTH` a
second, in the spirit of AIMD); a later 429 cuts it again from the new measurement.

A 429 is not a failed attempt: the request is sent again once the governor allows it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

SAFETY = 0.97
GROWTH = 0.001  # of the rate, per second without a 429
MINIMUM_RATE = 0.2  # requests per second: a run never stalls completely


class RateGovernor:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.clock, self.sleep = clock, sleep
        self.rate: float | None = None  # requests per second; None: not limited so far
        self.paused_until = 0.0
        self.next_slot = 0.0
        self.throttles = 0
        self._since = 0.0  # when the rate was last set
        self._answered: deque[float] = deque()  # times of accepted answers in the last second

    def open(self) -> bool:
        """Whether a request may go at once without asking: no rate learnt, no pause."""
        return self.rate is None and self.paused_until <= self.clock()

    async def acquire(self) -> None:
        """Wait until this request may be sent."""
        while True:
            now = self.clock()
            if self.rate is None:
                if now >= self.paused_until:
                    return
                await self.sleep(self.paused_until - now)
                continue
            slot = max(now, self.next_slot, self.paused_until)
            if slot <= now:
                self.next_slot = now + 1.0 / self._current_rate(now)
                return
            await self.sleep(slot - now)

    def _current_rate(self, now: float) -> float:
        grown = self.rate * (1.0 + GROWTH * max(0.0, now - self._since))
        return max(MINIMUM_RATE, grown)

    def _forget_before(self, now: float) -> None:
        """Keep only the answers of the last second."""
        answered = self._answered
        while answered and answered[0] <= now - 1.0:
            answered.popleft()

    def accepted(self) -> None:
        """An answer that was not a 429."""
        now = self.clock()
        self._answered.append(now)
        self._forget_before(now)

    def throttled(self, retry_after: float | None) -> None:
        """A 429: pause everyone, and learn the rate the API accepts."""
        now = self.clock()
        self.throttles += 1
        self._forget_before(now)
        current = self._current_rate(now) if self.rate is not None else None
        if self._answered:  # the API accepted this many in the last second
            seen = max(MINIMUM_RATE, SAFETY * len(self._answered))
            self.rate = seen if current is None else min(current, seen)
        elif current is not None:  # nothing accepted for a second: halve
            self.rate = max(MINIMUM_RATE, current / 2)
        # else: nothing to learn from yet (the first answer was a 429); only pause
        self._since = now
        self.paused_until = max(self.paused_until, now + (retry_after if retry_after else 1.0))
