"""One rate governor per run, shared by every request (SPEC §10).

Like the AWS SDKs' adaptive retry mode, it keeps a client-side token bucket whose rate is learnt
from the API's throttling: until the first 429 there is no bucket, and requests go as fast as
`--parallelism` allows. A 429 pauses every lane until its Retry-After has passed, and sets the
bucket's rate just under what the API was seen to accept in the second before it (`SAFETY` of
the requests answered in that second). From then on requests are spaced evenly at that rate, so
a limit is not hit again and no time is lost waiting out Retry-After values.

What the API accepted in one second is its rate only once the run has been sending for a second:

- Answers from before a pause of `BURST_SECONDS` or more are not counted after it: the two
  sides of it are two samples (a fixed window's two allowances), not one.
- In the run's first second a 429 only pauses. Whatever was accepted by then was a burst (a
  token bucket's, or a fixed window's whole allowance), not a rate.
- After that, when the answers of the last second came in one burst (within `BURST_SECONDS`)
  and no rate is known yet, the API may be a token bucket that gives a small burst and then
  refills at a far higher rate, or a fixed window whose allowance that burst was. The burst is
  taken as a floor, and the rate *probes*: it doubles every `PROBE_DOUBLING` seconds until the
  next 429, which then sets it from a second of steady sending.
- Once set from steady sending, the rate grows slowly back towards what the API accepts
  (`GROWTH` a second, in the spirit of AIMD: a fixed window's 429 costs up to a second's
  pause); a later 429 cuts it again from the new measurement.

A 429 where the API accepts nearly everything else is not a limit reached (a gateway that
refuses a request now and then): a 429 asking for a short pause (under `BURST_SECONDS`) while
at most `STRAY_FRACTION` of the last second's answers were 429s neither cuts the rate nor
pauses the other lanes; that request alone waits its Retry-After. A fixed window's 429 asks
for the rest of its window and is a limit, as before; a token bucket's short ones are too, once
they pass that share. Cutting on each (to SAFETY of what was accepted) made the rate fall as
1/t against 2% stray 429s, and never recover.

Retry-After is honoured as a floor, never as permission to hammer: while 429s keep coming with
no accepted answer between them, each round's pause doubles from the first, up to the one
second a 429 without Retry-After costs (`Retry-After: 0` would otherwise retry 50 times a
second for the whole --retry-timeout).

A 429 is not a failed attempt: the request is sent again once the governor allows it, unless
the request's own deadline (its --retry-timeout) would pass first.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

SAFETY = 0.97
GROWTH = 0.001  # of the rate, per second without a 429, once learnt from steady sending
PROBE_DOUBLING = 1.0  # seconds for the rate to double while probing above a burst
BURST_SECONDS = 0.5  # answers of the last second closer together than this were a burst
MINIMUM_RATE = 0.2  # requests per second: a run never stalls completely
STRAY_FRACTION = 0.05  # of the last second's answers: 429s up to this share are strays
DEFAULT_PAUSE = 1.0  # seconds, for a 429 without Retry-After


class RateGovernor:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.clock, self.sleep = clock, sleep
        self.rate: float | None = None  # requests per second; None: not limited so far
        self.probing = False  # the rate is a burst's floor, doubling until the next 429
        self.paused_until = 0.0
        self.next_slot = 0.0
        self.throttles = 0
        self._first: float | None = None  # when the run's first request was let go
        self._since = 0.0  # when the rate was last set
        self._resumed = 0.0  # when the last long pause (a sample's border) ended
        self._last_answer = -1e9  # when the last accepted answer came
        self._answered: deque[float] = deque()  # times of accepted answers in the last second
        self._rounds = 0  # 429s after the last pause ended, with no accepted answer since
        self._refused: deque[float] = deque()  # times of 429s in the last second

    def open(self) -> bool:
        """Whether a request may go at once without asking: no rate learnt, no pause."""
        if self._first is None:
            self._first = self.clock()
        return self.rate is None and self.paused_until <= self.clock()

    async def acquire(self, deadline: float | None = None) -> bool:
        """Wait until this request may be sent: True. False at once, without waiting, when that
        would be after `deadline` (a request's budget is never spent waiting in vain)."""
        while True:
            now = self.clock()
            if self._first is None:
                self._first = now
            if self.rate is None:
                slot = self.paused_until
            else:
                slot = max(now, self.next_slot, self.paused_until)
            if slot <= now:
                if self.rate is not None:
                    self.next_slot = now + 1.0 / self._current_rate(now)
                return True
            if deadline is not None and slot > deadline:
                return False
            await self.sleep(slot - now)

    def _current_rate(self, now: float) -> float:
        elapsed = max(0.0, now - self._since)
        if self.probing:
            grown = self.rate * 2.0 ** min(elapsed / PROBE_DOUBLING, 30.0)
        else:
            grown = self.rate * (1.0 + GROWTH * elapsed)
        return max(MINIMUM_RATE, grown)

    def _forget_before(self, now: float) -> None:
        """Keep only the answers of the last second, and none from before a long pause: the
        answers on either side of it are two samples (a fixed window's two allowances)."""
        border = max(now - 1.0, self._resumed)
        for kept in (self._answered, self._refused):
            while kept and kept[0] <= border:
                kept.popleft()

    def accepted(self) -> None:
        """An answer that was not a 429."""
        now = self.clock()
        self._answered.append(now)
        self._last_answer = now
        self._rounds = 0
        self._forget_before(now)

    def throttled(self, retry_after: float | None) -> float:
        """A 429: pause everyone and learn the rate the API accepts; or, for a stray 429, the
        seconds this request alone waits before it is sent again (0: it waits with everyone)."""
        now = self.clock()
        if self._first is None:
            self._first = now
        self.throttles += 1
        self._forget_before(now)
        if now >= self.paused_until:  # a request sent after the last pause ended: a new round
            self._rounds += 1
        self._refused.append(now)
        wait = retry_after if retry_after else DEFAULT_PAUSE
        if self._rounds > 1:
            wait = max(wait, min(DEFAULT_PAUSE, wait * 2 ** (self._rounds - 1)))
        current = self._current_rate(now) if self.rate is not None else None
        answered = self._answered
        refused = self._refused
        if (self._rounds <= 1 and wait < BURST_SECONDS
                and len(refused) <= STRAY_FRACTION * (len(answered) + len(refused))):
            return wait  # a stray 429: the API accepted nearly all it was sent
        if now - self._first < 1.0:
            pass  # the run's first second: a burst says nothing of the rate yet; only pause
        elif answered and current is None and answered[-1] - answered[0] < BURST_SECONDS:
            self.rate, self.probing = max(MINIMUM_RATE, SAFETY * len(answered)), True
        elif answered:  # the API accepted this many in a second of sending
            seen = max(MINIMUM_RATE, SAFETY * len(answered))
            self.rate = seen if current is None else min(current, seen)
            self.probing = False
        elif current is not None and now - self._last_answer >= 1.0:
            self.rate, self.probing = max(MINIMUM_RATE, current / 2), False  # none for a second
        # else: nothing new since the pause (the 429s of requests already under way)
        # else: nothing to learn from yet (the first answer was a 429); only pause
        self._since = now
        self.paused_until = max(self.paused_until, now + wait)
        if self.paused_until - now >= BURST_SECONDS:
            self._resumed = self.paused_until
        return 0.0
