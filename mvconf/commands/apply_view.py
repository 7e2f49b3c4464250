"""The terminal view of apply and rollback: progress, the confirmation prompt, per-DID lines,
account-setup steps and the summary. The applier calls it through `apply.view.ApplyView`."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from mvconf.apply.executors import Report
from mvconf.apply.view import Tick
from mvconf.commands.console import print_lines, progress
from mvconf.plan import render
from mvconf.plan.change import Change
from mvconf.plan.escape import terminal
from mvconf.plan.model import Plan
from mvconf.plan.steps import steps_for


class TerminalView:
    """Reading progress on stderr when it is a terminal, and warnings."""

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Tick]:
        with progress(total, label) as tick:
            yield tick

    def warn(self, message: str) -> None:
        click.echo(f"Warning: {terminal(message)}", err=True)


class TerminalApplyView(TerminalView):
    def show_plan(self, plan: Plan) -> None:
        print_lines(render.text_lines(plan))

    def show_changes(self, plan: Plan) -> None:
        """The plan, when there is something in it to read (apply from manifests)."""
        if plan.has_changes or plan.conflicts:
            self.show_plan(plan)

    def ask(self, count: int) -> bool | None:
        """SPEC §11: only `yes` approves; Ctrl-C cancels at once. The prompt goes to stderr
        when stdout is not the terminal, so it is seen even with stdout redirected."""
        if not sys.stdin.isatty():
            return None
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C ends the prompt
        try:
            answer = click.prompt(f"Write {count} change(s) through the MiniVoice API? Only "
                                  "'yes' approves", default="", show_default=False,
                                  err=not sys.stdout.isatty())
        finally:
            signal.signal(signal.SIGINT, previous)
        return answer.strip() == "yes"

    def applied(self, change: Change) -> None:
        print_lines([(f"  applied  {change.label}", "green")])

    def failed(self, change: Change, result: str, error: str | None) -> None:
        print_lines([(f"  {result}  {change.label}: {error}", "red")], err=True)

    def writes_refused(self) -> None:
        click.echo("The account does not allow API writes (405 method_not_allowed); the changes "
                   "left are printed as account-setup steps.", err=True)

    def steps(self, changes: list[Change]) -> None:
        lines: list[tuple[str, str | None]] = [
            ("", None), ("Make these changes in the MiniVoice account setup:", "bold")]
        for change in changes:
            lines.append((f"{change.number}  ({change.source})", "bold"))
            lines += [(f"  {i}. {s}", "cyan") for i, s in enumerate(steps_for(change), 1)]
        print_lines(lines)

    def follow_up(self, command: str) -> None:
        click.echo(f"Run `mvconf {command} --wait` (or plan again) to confirm once they are made.")

    def waiting(self, seconds: float) -> None:
        click.echo(f"Waiting up to {seconds:g}s for the changes to appear...")

    def confirmed(self, change: Change, did_id: str) -> None:
        print_lines([(f"  confirmed  {change.number} ({did_id})", "green")])

    def timed_out(self, seconds: float, numbers: list[str]) -> None:
        click.echo(f"Timed out after {seconds:g}s; still waiting for: " + ", ".join(numbers),
                   err=True)

    def no_changes(self) -> None:
        click.echo("No changes.")

    def summary(self, report: Report) -> None:
        print_lines([(report.summary(), "bold")])
