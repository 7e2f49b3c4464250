"""What a run of apply or rollback reports: each change carried out (or not) and why, each
wave's verdict, and the stop flag a signal sets. Owned here, below the applier, the executors
and the views that all use it."""

from __future__ import annotations

from dataclasses import dataclass, field

from mvconf.apply.journal import Result
from mvconf.apply.stop import Stop  # noqa: F401 (one import for the applier, waves, executors)
from mvconf.plan.change import Change

ROLLBACK, STOP = "rollback", "stop"  # apply --on-failure (SPEC §17)


@dataclass
class Done:
    """One change carried out (or not), with why not."""

    change: Change
    result: Result
    error: str | None = None


@dataclass
class Report:
    applied: list[Done] = field(default_factory=list)
    failed: list[Done] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    manual: list[Change] = field(default_factory=list)
    confirmed: list[Change] = field(default_factory=list)


@dataclass
class WaveResult:
    index: int
    planned: int
    applied: int = 0
    failed: int = 0
    started: bool = False
    checked: bool = False  # False for the last wave, one never started, or one with nothing
    passed: bool | None = None
    reason: str | None = None


@dataclass
class WaveRun:
    results: list[WaveResult] = field(default_factory=list)
    on_failure: str = ROLLBACK

    @property
    def failed(self) -> WaveResult | None:
        return next((r for r in self.results if r.passed is False), None)
