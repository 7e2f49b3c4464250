"""`apply --wave-events FILE` (SPEC §17): a wave passes when every DID it changed has at least
`--wave-min-calls` calls in FILE (the output of `receive-events`) that began after the wave was
applied, and none of those calls contradicts the plan as `verify-events` judges it.

The file is read as it grows, from where the last look ended (one reader for the whole run), so
each look costs only what was appended since. A call's start is the `created_at` of its earliest
event; a call whose events carry no readable `created_at` cannot be shown to be new and is not
counted.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mvconf.core.errors import InputError
from mvconf.events.verify import WRONG, Call, Events, judge, moment, read_lines
from mvconf.manifest import DesiredDid
from mvconf.plan.change import Change

CHUNK = 8 * 1024 * 1024  # bytes read per look at most, so one look stays short
LONGEST_LINE = 2 * 1024 * 1024  # receive-events records bodies of at most 1 MiB
SHOWN = 5  # DIDs named in a reason
POLL = 0.2  # seconds between looks at a file that has not grown
CATCH_UP = 30.0  # seconds past the timeout a file still being read may take (one never ends)


class Wave(Protocol):  # apply.waves.Wave, which this layer may not import
    changes: list[Change]
    applied_at: datetime


class Stop(Protocol):  # apply.executors.Stop
    def is_set(self) -> bool: ...


@dataclass
class EventsTail:
    """The events of a growing JSON-lines file, read from where the last look ended."""

    path: str
    events: Events = field(default_factory=Events)
    offset: int = 0
    line: int = 1
    partial: bytes = b""

    def look(self) -> None:
        try:  # non-blocking: a FIFO put in the file's place must not hang the run
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise InputError(f"cannot read the wave events {self.path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InputError(f"the wave events {self.path} is not a regular file")
            if info.st_size < self.offset:  # replaced by a shorter file: start again
                self.events, self.offset, self.line, self.partial = Events(), 0, 1, b""
            handle.seek(self.offset)
            data = handle.read(CHUNK)
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > LONGEST_LINE:
            self.events.malformed.append((self.line + len(lines), "line too long"))
            self.partial = b""
        read_lines((raw.decode("utf-8", "replace") for raw in lines), self.events, self.line)
        self.line += len(lines)

    @property
    def more(self) -> bool:
        """Whether the last look stopped before the end of the file."""
        try:
            return os.stat(self.path).st_size > self.offset
        except OSError:
            return False


def check_readable(path: str) -> None:
    """Before any write: an events path that can never be read is an error now, not a failed
    wave later. A file that does not exist yet is fine (receive-events may start later)."""
    if os.path.exists(path) and not os.path.isfile(path):
        raise InputError(f"--wave-events {path} is not a regular file (receive-events writes "
                         "one)")
    if os.path.exists(path) and not os.access(path, os.R_OK):
        raise InputError(f"--wave-events {path} cannot be read")


def desired_of(change: Change) -> DesiredDid:
    """What the plan routes a DID to, as verify-events compares calls with it."""
    want = change.desired
    return DesiredDid(change.number, want.get("application_id"), want.get("route_mode") or "",
                      tuple(want.get("destinations") or ()), source=change.source)


@dataclass
class EventsCheck:
    """A WaveCheck over the calls recorded in a receive-events file."""

    path: str
    min_calls: int = 1
    label: str = "--wave-events"
    tail: EventsTail | None = None

    async def __call__(self, wave: Wave, stop: Stop, deadline: float) -> str | None:
        tail = self.tail = self.tail or EventsTail(self.path)
        wanted = [desired_of(c) for c in wave.changes]
        while True:
            tail.look()
            now = time.monotonic()
            late = stop.is_set() or now >= deadline
            if tail.more and not stop.is_set() and now < deadline + CATCH_UP:
                await asyncio.sleep(0)  # a long file: judged at its end; signals come in between
                continue
            short, wrong = self.verdicts(wanted, tail.events, wave)
            if wrong:
                return "traffic contradicts the plan: " + _names(wrong)
            if not short:
                return None
            if late:
                exists = "" if os.path.exists(self.path) else f" ({self.path} does not exist)"
                return (f"too few calls after the wave was applied, within the timeout{exists}: "
                        + _names(short))
            await asyncio.sleep(min(POLL, max(0.0, deadline - time.monotonic())))

    def verdicts(self, wanted: list[DesiredDid], events: Events,
                 wave: Wave) -> tuple[list[str], list[str]]:
        """DIDs with too few new calls, and DIDs whose new calls contradict the plan."""
        short, wrong = [], []
        for did in wanted:
            calls = [c for c in events.calls.get(did.number, {}).values() if _new(c, wave)]
            status, extra = judge(did, calls)
            if status in WRONG:
                seen = ", ".join(extra.get("seen") or extra.get("statuses") or [])
                wrong.append(f"{did.number} {status} (expected "
                             f"{'rejected' if status == 'not_rejected' else did.application_id}"
                             f", saw {seen})")
            elif len(calls) < self.min_calls:
                short.append(f"{did.number} {len(calls)} of {self.min_calls} call(s)")
        return short, wrong


def _new(call: Call, wave: Wave) -> bool:
    began = moment(call.first_at)
    return began is not None and began >= wave.applied_at


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
