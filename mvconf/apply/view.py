"""What a run shows and asks, behind a protocol (as Terraform's `views.Apply` keeps display out
of apply): the applier and the run's flows decide, a view shows and words it.
`commands/views/apply.py` holds the terminal ones; `QuietView` shows nothing; tests may give
their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from mvconf.apply.recover import Resolved
from mvconf.apply.report import Report, WaveResult, WaveRun
from mvconf.plan.change import Change

Tick = Callable[[], None]


class ReadView(Protocol):
    def progress(self, total: int, label: str) -> AbstractContextManager[Tick]:
        """A callback to call once per DID read (a progress bar, or nothing)."""

    def warn(self, message: str) -> None:
        """Something the person should know that does not stop the run (a retry, say)."""

    def skipped(self, path: str) -> None:
        """A manifest path that is not a regular file was skipped."""


class QuietView:
    """A read view that shows nothing (JSON output, tests)."""

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Tick]:
        yield lambda: None

    def warn(self, message: str) -> None:
        pass

    def skipped(self, path: str) -> None:
        pass


class ApplyView(ReadView, Protocol):
    def ask(self, count: int) -> bool | None:
        """Ask a person to approve `count` API writes: True or False, None when nobody can be
        asked (no terminal)."""

    def applied(self, change: Change) -> None: ...

    def failed(self, change: Change, result: str, error: str | None) -> None: ...

    def writes_refused(self) -> None:
        """The account answered 405 to a write: what is left becomes steps."""

    def steps(self, changes: list[Change]) -> None:
        """The account-setup steps of `changes`, for a person to follow."""

    def follow_up(self, command: str) -> None:
        """Say which command confirms the steps once a person has made them."""

    def waiting(self, seconds: float) -> None: ...

    def confirmed(self, change: Change, did_id: str) -> None: ...

    def timed_out(self, seconds: float, numbers: list[str]) -> None: ...

    def no_changes(self) -> None: ...

    def lock_taken_over(self, path: str, holder: str) -> None:
        """The journal's lock was left by `holder`, no longer running, and was taken over."""

    def recovered(self, journal: str, resolved: Sequence[Resolved], bad: Sequence[int]) -> None:
        """Before a run: intents a killed run left dangling, now resolved, and the journal's
        lines (numbers) that are not records."""

    def legacy_records(self, count: int, api_label: str) -> None:
        """Rollback: `count` journal records name no API and are taken to be about this one."""

    def summary(self, report: Report) -> None: ...

    # Waves (SPEC §17); called only by a waved apply.
    def wave_started(self, index: int, count: int, writes: int) -> None: ...

    def wave_checking(self, index: int, checks: list[str], wait: float,
                      timeout: float) -> None: ...

    def wave_checked(self, result: WaveResult) -> None: ...

    def waves_summary(self, run: WaveRun, undoing: bool = True) -> None:
        """Each wave with its check's verdict, and which failed and why."""

    def rolling_back(self, count: int) -> None:
        """A failed check: the `count` DIDs the run changed are being restored."""
