"""Waves (SPEC §17): make a plan's API writes a little at a time, check each wave with real
traffic or a command, and go on or stop.

`--waves 1,10%,100%` gives cumulative sizes: the first wave writes one DID, the second up to 10%
of the writes in all, the last the rest. After every wave but the last, the wave's checks run
(at the same time, under one deadline); one that fails stops the apply. What then becomes of the
DIDs already changed (undone through the journal, or left) is the applier's: it has the normal
path for writes. Manual steps are never waved.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from mvconf.apply.executors import ApiExecutor
from mvconf.apply.journal import Journal
from mvconf.apply.report import ROLLBACK, Report, Stop, WaveResult, WaveRun
from mvconf.apply.view import ApplyView
from mvconf.core.errors import MvconfError
from mvconf.plan.change import Change

MAX_WAVES = 100
POLL = 0.05  # seconds between looks at a signal, a check's process or a deadline
_COUNT = re.compile(r"[1-9][0-9]{0,8}")
_PERCENT = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,3})?)%")


@dataclass(frozen=True)
class Size:
    """One cumulative wave size: a count of writes, or a percentage of the plan's writes."""

    value: float
    percent: bool

    def of(self, total: int) -> int:
        # "up to 10%": rounded down, but never below one write, so a small plan still waves.
        if not self.percent:
            return min(int(self.value), total)
        return min(total, max(1, math.floor(self.value * total / 100 + 1e-9)))

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else str(int(self.value))


def parse_sizes(text: str) -> tuple[Size, ...]:
    """`1,10%,100%` -> sizes; ValueError with a sentence for anything else."""
    items = [item.strip() for item in text.split(",")]
    if len(items) > MAX_WAVES:
        raise ValueError(f"at most {MAX_WAVES} waves")
    sizes: list[Size] = []
    for item in items:
        if _COUNT.fullmatch(item):
            size = Size(float(item), False)
        elif (match := _PERCENT.fullmatch(item)) and 0 < float(match.group(1)) <= 100:
            size = Size(float(match.group(1)), True)
        else:
            raise ValueError(f"{item!r} is not a wave size: give counts of DIDs (1, 50) or "
                             "percentages of the plan's writes (10%, 100%), e.g. 1,10%,100%")
        same = [s for s in sizes if s.percent == size.percent]
        if same and same[-1].value >= size.value:
            raise ValueError(f"sizes are cumulative, so each must be larger than the one before "
                             f"of its kind: {same[-1]} then {size}")
        if sizes and sizes[-1].percent and sizes[-1].value == 100:
            raise ValueError("nothing can follow 100%: it is every write")
        sizes.append(size)
    return tuple(sizes)


def split(changes: Sequence[Change], sizes: Sequence[Size]) -> list[list[Change]]:
    """The waves of `changes`, in their order; what the sizes leave is a last wave. Sizes that
    come to no more than the wave before add no wave."""
    total, done, waves = len(changes), 0, []
    for size in sizes:
        end = max(done, size.of(total))
        if end > done:
            waves.append(list(changes[done:end]))
            done = end
    if done < total:
        waves.append(list(changes[done:]))
    return waves


@dataclass(frozen=True)
class Wave:
    """A wave that has been written, as its checks see it."""

    index: int  # 1-based
    count: int  # how many waves there are
    changes: list[Change]  # those the wave applied
    applied_at: datetime  # when its last write was journaled: calls before it do not count
    journal: str


class WaveCheck(Protocol):
    """One way of checking a wave: None when it passes, else why not. It gives up by
    `deadline` (time.monotonic()) and as soon as `stop` is set, and cleans up if cancelled."""

    label: str

    async def __call__(self, wave: Wave, stop: Stop, deadline: float) -> str | None: ...


@dataclass
class WavePlan:
    sizes: tuple[Size, ...]
    checks: list[WaveCheck]
    wait: float = 0.0
    timeout: float = 600.0
    on_failure: str = ROLLBACK


async def pause(seconds: float, stop: Stop) -> bool:
    """Wait `seconds`; False as soon as a signal came."""
    end = time.monotonic() + seconds
    while not stop.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return True
        await asyncio.sleep(min(POLL, left))
    return False


class WavedExecutor:
    """Runs an ApiExecutor wave by wave, checking between waves (SPEC §17)."""

    def __init__(self, machine: ApiExecutor, plan: WavePlan, journal: Journal, view: ApplyView,
                 stop: Stop):
        self.machine, self.plan, self.journal, self.view, self.stop = (machine, plan, journal,
                                                                       view, stop)
        self.run = WaveRun(on_failure=plan.on_failure)

    async def carry_out(self, changes: list[Change], report: Report) -> list[Change]:
        waves = split(changes, self.plan.sizes)
        self.run.results = [WaveResult(i, len(w)) for i, w in enumerate(waves, 1)]
        left: list[Change] = []
        for wave, result in zip(waves, self.run.results, strict=True):
            if self.stop.is_set() or self.run.failed:
                report.skipped.extend(wave)
                continue
            left += await self._write(wave, result, report, len(waves))
            if result.index < len(waves) and not self.stop.is_set():
                await self._check(wave, result, report, len(waves))
        self.journal.wave = None
        return left

    async def _write(self, wave: list[Change], result: WaveResult, report: Report,
                     count: int) -> list[Change]:
        self.view.wave_started(result.index, count, len(wave))
        self.journal.wave = result.index
        applied, failed = len(report.applied), len(report.failed)
        result.started = True
        left = await self.machine.carry_out(wave, report)
        result.applied = len(report.applied) - applied
        result.failed = len(report.failed) - failed
        return left

    async def _check(self, wave: list[Change], result: WaveResult, report: Report,
                     count: int) -> None:
        done = {d.change.number for d in report.applied}
        changed = [c for c in wave if c.number in done]
        if not changed:
            result.reason = "nothing was applied in this wave, so there was nothing to check"
            self.view.wave_checked(result)
            return
        self.view.wave_checking(result.index, [c.label for c in self.plan.checks],
                                self.plan.wait, self.plan.timeout)
        applied_at = self.journal.last_at or datetime.now(UTC)
        if not await pause(self.plan.wait, self.stop):
            reason = _interrupted(self.stop)
        else:
            reason = await self._run_checks(Wave(result.index, count, changed, applied_at,
                                                 os.path.abspath(self.journal.path)))
        result.checked, result.passed = True, reason is None
        result.reason = reason or ("passed: " + " and ".join(c.label for c in self.plan.checks))
        self.journal.check(result.index, result.passed, result.reason)
        self.view.wave_checked(result)

    async def _run_checks(self, wave: Wave) -> str | None:
        deadline = time.monotonic() + self.plan.timeout
        tasks = {asyncio.create_task(_guarded(check, wave, self.stop, deadline)): check
                 for check in self.plan.checks}
        reasons: list[str] = []
        try:
            pending = set(tasks)
            while pending and not reasons:
                finished, pending = await asyncio.wait(pending,
                                                       return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    reason = task.result()
                    if reason is not None:
                        reasons.append(f"{tasks[task].label}: {reason}")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.stop.is_set():
            return _interrupted(self.stop)
        return "; ".join(reasons) or None


async def _guarded(check: WaveCheck, wave: Wave, stop: Stop, deadline: float) -> str | None:
    """A check that cannot be carried out (no shell, an unreadable file) fails its wave; it
    does not end the run with DIDs changed and nothing said about them."""
    try:
        return await check(wave, stop, deadline)
    except (MvconfError, OSError) as exc:
        return f"could not be carried out: {getattr(exc, 'strerror', None) or exc}"


def _interrupted(stop: Stop) -> str:
    name = signal.Signals(stop.signum).name if stop.signum else "a signal"
    return f"interrupted by {name} during the check"


@dataclass
class CommandCheck:
    """`--wave-check CMD`: CMD through the shell, exit 0 passes (SPEC §17). It runs in its own
    process group, so a timeout or a signal ends it and everything it started."""

    command: str
    label: str = "--wave-check"

    async def __call__(self, wave: Wave, stop: Stop, deadline: float) -> str | None:
        with tempfile.TemporaryDirectory(prefix="mvconf-wave-") as folder:
            numbers = os.path.join(folder, f"wave-{wave.index}.txt")
            with open(numbers, "w", encoding="utf-8") as handle:
                handle.writelines(f"{c.number}\n" for c in wave.changes)
            env = {**os.environ, "MVCONF_WAVE": str(wave.index),
                   "MVCONF_WAVE_NUMBERS": numbers, "MVCONF_JOURNAL": wave.journal}
            proc = await asyncio.create_subprocess_shell(self.command, env=env,
                                                         stdin=asyncio.subprocess.DEVNULL,
                                                         start_new_session=True)
            try:
                return await _outcome(proc, stop, deadline)
            finally:
                if proc.returncode is None:
                    await _end(proc)

    def __str__(self) -> str:
        return self.label


async def _outcome(proc: asyncio.subprocess.Process, stop: Stop, deadline: float) -> str | None:
    waiting = asyncio.ensure_future(proc.wait())
    try:
        while not waiting.done():
            if stop.is_set():
                return _interrupted(stop)
            left = deadline - time.monotonic()
            if left <= 0:
                return "timed out; the command was stopped"
            await asyncio.wait({waiting}, timeout=min(POLL, left))
    finally:
        if not waiting.done():
            waiting.cancel()
    code = proc.returncode
    if code == 0:
        return None
    if code is not None and code < 0:
        return f"the command was killed by {signal.Signals(-code).name}"
    return f"the command exited with status {code}"


async def _end(proc: asyncio.subprocess.Process, grace: float = 2.0) -> None:
    """SIGTERM to the check's process group, SIGKILL after `grace` seconds."""
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), wait)
        except TimeoutError:
            continue
        if signum == signal.SIGTERM:  # the leader is gone; its group may not be
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return
