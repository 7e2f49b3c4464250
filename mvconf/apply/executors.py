"""Executors carry out a plan's changes. They share one interface:

    await executor.carry_out(changes, report) -> changes left for the next executor

`ApiExecutor` makes each change with one PATCH and reads it back. `ManualExecutor` turns changes
into account-setup steps for a person and, with `--wait`, polls until they are made. Falling back
from one to the other is a per-change decision: an account that answers 405 to a write gets
steps for what is left.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from mvconf.apply.journal import Journal, JournalError, Result
from mvconf.apply.report import Done, Report, Stop
from mvconf.apply.stale import why_stale
from mvconf.apply.view import ApplyView
from mvconf.core.errors import ApiError, ApiUnreachable
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.minivoice.models import COMPARED, LiveDID
from mvconf.plan.change import Change
from mvconf.plan.planner import matches


class ChangeExecutor(Protocol):
    async def carry_out(self, changes: list[Change], report: Report) -> list[Change]:
        """Make what this executor can of `changes`, noting each in `report` and the journal;
        return the changes it left for a person."""


def before_values(change: Change) -> dict[str, Any] | None:
    if change.live is None:
        return None
    return {k: change.live.get(k) for k in COMPARED}


class Fatal(Exception):
    """An answer that would repeat for every DID (401): stop sending."""


class ApiExecutor:
    """PATCH every differing field of a DID at once, then read it back to confirm;
    `parallelism` DIDs at a time."""

    def __init__(self, client: MiniVoiceClient, journal: Journal, view: ApplyView,
                 parallelism: int, stop: Stop | None = None):
        self.client, self.journal, self.view = client, journal, view
        self.parallelism = parallelism
        self.stop = stop or Stop()
        self.writes_refused = False  # set by the first 405: the account has no API writes

    async def carry_out(self, changes: list[Change], report: Report) -> list[Change]:
        left: list[Change] = []
        queue = iter(changes)
        fatal: list[str] = []

        async def worker() -> None:
            for change in queue:
                if fatal or self.stop.is_set():
                    report.skipped.append(change)
                    continue
                try:
                    done = await self.apply(change)
                except (Fatal, JournalError) as exc:
                    fatal.append(str(exc))
                    report.failed.append(Done(change, Result.failed, str(exc)))
                    self.view.failed(change, Result.failed.value, str(exc))
                    continue
                self._note(done, report, left)

        lanes = max(1, min(self.parallelism, len(changes)))
        await asyncio.gather(*(worker() for _ in range(lanes)))
        if self.writes_refused:
            self.view.writes_refused()
        return left

    def _note(self, done: Done, report: Report, left: list[Change]) -> None:
        if done.result == Result.applied:
            report.applied.append(done)
            self.view.applied(done.change)
        elif done.result == Result.manual:
            left.append(done.change)
        else:
            report.failed.append(done)
            self.view.failed(done.change, done.result.value, done.error)

    async def apply(self, change: Change) -> Done:
        """One DID: intent, conditional PATCH, read back, outcome (SPEC §4, §10). The journal's
        `before` is what the write really replaced: the planned values when If-Match guards
        the write, else the values read just before it."""
        if self.writes_refused:
            return Done(change, Result.manual)
        before = before_values(change)
        if change.live_etag is None:  # no ETags: re-read right before writing
            try:
                fresh = await self.client.get(change.did_id)
            except ApiUnreachable as exc:
                raise Fatal(str(exc)) from exc
            except ApiError as exc:
                return Done(change, Result.failed, str(exc))
            moved = why_stale(change, fresh)
            if moved:
                return Done(change, Result.failed, f"stale: {moved}; not changed")
            before = fresh.compared()
        after = {**(before or {}), **change.wanted()}
        self.journal.write("intent", change.number, change.did_id, before, after)
        try:
            await self.client.patch(change.did_id, change.wanted(), change.number,
                                    if_match=change.live_etag)
        except ApiError as exc:
            if exc.status == 412:
                # The version moved. Either our own earlier attempt landed and its answer was
                # lost (then the DID holds what we wanted), or someone changed it since the
                # plan: then theirs stands.
                live = await self._read_back(change)
                if matches(change.desired, live):
                    return self._record(change, before, after, Result.applied)
                return self._record(change, before, live.compared() if live else before,
                                    Result.failed, "stale: the DID changed since the plan (412 "
                                    "precondition_failed); not changed")
            return await self._refused(change, exc, before, after)
        live = await self._read_back(change)
        if matches(change.desired, live):
            return self._record(change, before, after, Result.applied)
        return self._record(change, before, live.compared() if live else None, Result.failed,
                            "the account accepted the change but the DID reads back differently")

    def _record(self, change: Change, before, after, result: Result,
                error: str | None = None) -> Done:
        self.journal.write("outcome", change.number, change.did_id, before, after, result, error)
        return Done(change, result, error)

    async def _read_back(self, change: Change) -> LiveDID | None:
        try:
            return await self.client.get(change.did_id)
        except ApiError:
            return None

    async def _refused(self, change: Change, exc: ApiError, before, after) -> Done:
        if exc.status == 405:
            self.writes_refused = True
            self._record(change, before, before, Result.failed,
                         "405 method_not_allowed: the account does not allow API writes")
            return Done(change, Result.manual)
        if exc.status == 401:
            self._record(change, before, before, Result.failed, str(exc))
            raise Fatal(str(exc)) from exc
        if exc.status is not None and 400 <= exc.status < 500 and (exc.code is not None
                                                                   or exc.status == 429):
            # A refusal in the API's own words: the write did not happen.
            return self._record(change, before, before, Result.failed, str(exc))
        # Any other end (no answer, an answer cut off or not readable, a 5xx, after retries):
        # whether the write landed is read back, not guessed.
        live = await self._read_back(change)
        if matches(change.desired, live):
            return self._record(change, before, after, Result.applied)
        untouched = live is not None and before is not None and all(
            live.compared().get(k) == before.get(k) for k in change.fields)
        result = Result.failed if untouched else Result.unknown
        self._record(change, before, live.compared() if live else None, result, str(exc))
        if isinstance(exc, ApiUnreachable) and live is None:  # the API is gone: stop
            raise Fatal(str(exc)) from exc
        return Done(change, result, str(exc))


@dataclass
class ManualExecutor:
    """Print the account-setup steps; with `wait`, poll until a person has made them and journal
    each as `confirmed`."""

    client: MiniVoiceClient
    journal: Journal
    view: ApplyView
    parallelism: int
    wait: bool = False
    wait_timeout: float = 600.0
    poll_interval: float = 1.0
    command: str = "apply"  # the command whose --wait confirms the steps
    stop: Stop = field(default_factory=Stop)

    async def carry_out(self, changes: list[Change], report: Report) -> list[Change]:
        self.view.steps(changes)
        if not self.wait:
            report.manual.extend(changes)
            self.view.follow_up(self.command)
            return []
        self.view.waiting(self.wait_timeout)
        pending = await self._poll(list(changes), report)
        if pending and not self.stop.is_set():  # a signal ends the wait: no timeout to tell
            self.view.timed_out(self.wait_timeout, [c.number for c in pending])
        report.manual.extend(pending)
        return []

    async def _poll(self, pending: list[Change], report: Report) -> list[Change]:
        deadline = time.monotonic() + self.wait_timeout
        interval = self.poll_interval
        while pending:
            live = await read_many(self.client, [c.number for c in pending], self.parallelism)
            for change in [c for c in pending if matches(c.desired, live[c.number])]:
                pending.remove(change)
                now = live[change.number]
                self.journal.write("outcome", change.number, now.id, before_values(change),
                                   now.compared(), Result.confirmed)
                report.confirmed.append(change)
                self.view.confirmed(change, now.id)
            if not pending or time.monotonic() >= deadline or self.stop.is_set():
                break
            await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 1.5, 10.0)
        return pending
