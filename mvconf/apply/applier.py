"""The applier carries out a Plan it is given: checks first, then executors, journal, summary."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click

from mvconf.apply.executors import ApiExecutor, Fatal, Outcome, before_values, matches
from mvconf.apply.journal import Journal
from mvconf.apply.stale import check_stale
from mvconf.console import print_lines
from mvconf.errors import PlanError
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.minivoice.connect import Target, open_client
from mvconf.plan.model import Action, Change, Plan
from mvconf.plan.safety import enforce
from mvconf.plan.steps import steps_for

EXIT_OK, EXIT_ERROR, EXIT_MANUAL = 0, 1, 3


@dataclass
class ApplyOptions:
    journal: str
    auto_approve: bool = False
    reviewed: bool = False  # a saved plan was reviewed when it was made: do not ask again
    wait: bool = False
    wait_timeout: float = 600.0
    allow_mass_change: bool = False
    parallelism: int = 8
    poll_interval: float = 1.0


@dataclass
class Report:
    applied: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    manual: list[Change] = field(default_factory=list)
    confirmed: list[Change] = field(default_factory=list)

    def exit_code(self) -> int:
        if self.failed:
            return EXIT_ERROR
        return EXIT_MANUAL if self.manual else EXIT_OK

    def summary(self) -> str:
        parts = [f"{len(self.applied)} applied", f"{len(self.failed)} failed",
                 f"{len(self.skipped)} skipped", f"{len(self.manual)} manual"]
        if self.confirmed:
            parts.insert(1, f"{len(self.confirmed)} confirmed")
        return "Apply: " + ", ".join(parts) + "."


def check_plan(plan: Plan, target: Target, opts: ApplyOptions) -> list[Change]:
    """What can be refused without touching the API: conflicts, another API, the threshold."""
    if plan.api_url != target.label:
        raise PlanError(f"the saved plan was made against {plan.api_url}, not {target.label}; "
                        "plan again against this API")
    if plan.conflicts:
        raise PlanError("the plan has DIDs in conflict with their pinned id: "
                        + ", ".join(c.number for c in plan.conflicts))
    enforce(plan.safety, opts.allow_mass_change)
    return [c for c in plan.changes if c.is_change]


def _confirm(count: int, opts: ApplyOptions) -> None:
    if opts.auto_approve or opts.reviewed or count == 0:
        return
    if not sys.stdin.isatty():
        raise PlanError(f"{count} change(s) would be written through the API and there is no "
                        "terminal to confirm them: pass --auto-approve (after reviewing the plan), "
                        "or apply a saved plan file")
    if not click.confirm(f"Write {count} change(s) through the MiniVoice API?", default=False):
        raise PlanError("apply cancelled; nothing was changed")


def apply_plan(plan: Plan, target: Target, opts: ApplyOptions) -> int:
    changes = check_plan(plan, target, opts)
    if not changes:
        click.echo("No changes.")
        return EXIT_OK
    return asyncio.run(_apply(changes, target, opts))


async def _apply(changes: list[Change], target: Target, opts: ApplyOptions) -> int:
    report = Report()
    journal = Journal(opts.journal)
    async with open_client(target, opts.parallelism) as client:
        await check_stale(client, changes, opts.parallelism)
        api = [c for c in changes if c.executor == "api" and c.action == Action.update]
        manual = [c for c in changes if c not in api]
        _confirm(len(api), opts)
        try:
            manual += await _run_api(client, journal, api, report, opts.parallelism)
            if manual:
                await _run_manual(client, journal, manual, report, opts)
        finally:
            journal.close()
    print_lines([(report.summary(), "bold")])
    return report.exit_code()


async def _run_api(client: MiniVoiceClient, journal: Journal, changes: list[Change],
                   report: Report, parallelism: int) -> list[Change]:
    """Apply through the API, `parallelism` DIDs at a time; returns changes left to a person."""
    executor = ApiExecutor(client, journal)
    left: list[Change] = []
    queue = iter(changes)
    fatal: list[str] = []

    async def worker() -> None:
        for change in queue:
            if fatal:
                report.skipped.append(change)
                continue
            try:
                outcome = await executor.apply(change)
            except Fatal as exc:
                fatal.append(str(exc))
                report.failed.append(Outcome(change, "failed", str(exc)))
                continue
            _note(outcome, report, left)

    await asyncio.gather(*(worker() for _ in range(max(1, min(parallelism, len(changes))))))
    if executor.writes_refused:
        click.echo("The account does not allow API writes (405 method_not_allowed); the changes "
                   "left are printed as account-setup steps.", err=True)
    return left


def _note(outcome: Outcome, report: Report, left: list[Change]) -> None:
    change = outcome.change
    name = f"{change.number} ({change.did_id})"
    if outcome.result == "applied":
        report.applied.append(outcome)
        print_lines([(f"  applied  {name}", "green")])
    elif outcome.result == "manual":
        left.append(change)
    else:
        report.failed.append(outcome)
        print_lines([(f"  {outcome.result}  {name}: {outcome.error}", "red")], err=True)


def _print_steps(changes: list[Change]) -> None:
    lines: list[tuple[str, str | None]] = [("", None), ("Make these changes in the MiniVoice "
                                                        "account setup:", "bold")]
    for change in changes:
        steps = steps_for(change)
        lines.append((f"{change.number}  ({change.source})", "bold"))
        lines += [(f"  {i}. {s}", "cyan") for i, s in enumerate(steps, 1)]
    print_lines(lines)


async def _run_manual(client, journal, changes, report: Report, opts: ApplyOptions) -> None:
    _print_steps(changes)
    if not opts.wait:
        report.manual.extend(changes)
        click.echo("Run `mvconf apply --wait` (or plan again) to confirm once they are made.")
        return
    click.echo(f"Waiting up to {opts.wait_timeout:g}s for the changes to appear...")
    pending = list(changes)
    deadline = time.monotonic() + opts.wait_timeout
    interval = opts.poll_interval
    while pending:
        live = await read_many(client, [c.number for c in pending], opts.parallelism)
        for change in list(pending):
            if matches(change, live[change.number]):
                pending.remove(change)
                now = live[change.number]
                journal.write("outcome", change.number, now.id, before_values(change),
                              now.compared(), "confirmed")
                report.confirmed.append(change)
                print_lines([(f"  confirmed  {change.number} ({now.id})", "green")])
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, 10.0)
    if pending:
        click.echo(f"Timed out after {opts.wait_timeout:g}s; still waiting for: "
                   + ", ".join(c.number for c in pending), err=True)
    report.manual.extend(pending)


def retarget(plan: Plan, executor: str | None, keep: Callable[[Change], bool]) -> list[Change]:
    """The plan's changes for `--target`, with their executor replaced when one is given."""
    out = []
    for change in plan.changes:
        if not keep(change):
            continue
        if executor and change.action == Action.update and change.executor != executor:
            change = change.replace(executor=executor)
            change = change.replace(steps=steps_for(change) if executor == "manual" else [])
        out.append(change)
    return out
