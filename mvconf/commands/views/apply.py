"""The terminal view of apply and rollback: progress, the confirmation prompt, per-DID lines,
account-setup steps and the summary. The applier calls it through `apply.view.ApplyView`."""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import click

from mvconf.apply.recover import Resolved
from mvconf.apply.report import Report, WaveResult, WaveRun
from mvconf.apply.view import Tick
from mvconf.commands.views.console import print_lines, progress
from mvconf.core.errors import Interrupted
from mvconf.plan.change import Change
from mvconf.plan.model import Plan
from mvconf.plan.steps import steps_for
from mvconf.render import text as render
from mvconf.render.escape import terminal

ANSWER_LIMIT = 4096


def read_answer(fd: int, ask: Callable[[], None]) -> str:
    """One line from the terminal `fd` after `ask()` has shown the question, cancelled by
    SIGINT or SIGTERM however early it comes (the handlers are in place before the question).

    A blocking read misses a signal that lands just before the read starts (the handler has
    run, nothing interrupts the read). Here the signal itself wakes the wait: the C-level
    handler writes its number to a pipe (`signal.set_wakeup_fd`) that is watched beside the
    terminal, so there is no moment when a signal can arrive unseen."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    for signum in previous:  # a Python handler is needed for the wakeup byte to be written
        signal.signal(signum, lambda *_: None)
    try:
        ask()
        data = b""
        while b"\n" not in data and len(data) < ANSWER_LIMIT:
            ready, _, _ = select.select([fd, wake_r], [], [])
            if wake_r in ready:
                signum = os.read(wake_r, 1)[0]
                if signum == signal.SIGTERM:
                    raise Interrupted(signum, "Terminated at the prompt; nothing was changed.")
                raise click.Abort  # Ctrl-C: "Interrupted.", exit 130, nothing written
            chunk = os.read(fd, 1024)
            if not chunk:
                break  # end of input: no answer, so no approval
            data += chunk
        return data.decode("utf-8", errors="replace")
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(wake_r)
        os.close(wake_w)


class TerminalView:
    """Reading progress on stderr when it is a terminal, and warnings."""

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Tick]:
        with progress(total, label) as tick:
            yield tick

    def warn(self, message: str) -> None:
        click.echo(f"Warning: {terminal(message)}", err=True)

    def skipped(self, path: str) -> None:
        self.warn(f"{path}: not a regular file; skipped")


class TerminalApplyView(TerminalView):
    def __init__(self, mass_change_allowed: bool = False):
        self.mass_change_allowed = mass_change_allowed

    def show_plan(self, plan: Plan) -> None:
        # The steps of manual changes are printed once, when they are to be made (steps()).
        print_lines(render.text_lines(plan, self.mass_change_allowed, with_steps=False))

    def show_changes(self, plan: Plan) -> None:
        """The plan, when there is something in it to read (apply from manifests)."""
        if plan.has_changes or plan.conflicts:
            self.show_plan(plan)

    def ask(self, count: int) -> bool | None:
        """SPEC §11: only `yes` approves; Ctrl-C cancels at once. The prompt goes to stderr
        when stdout is not the terminal, so it is seen even with stdout redirected."""
        if not sys.stdin.isatty():
            return None
        question = f"Write {count} change(s) through the MiniVoice API? Only 'yes' approves: "
        err = not sys.stdout.isatty()
        answer = read_answer(sys.stdin.fileno(), lambda: click.echo(question, nl=False, err=err))
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

    def lock_taken_over(self, path: str, holder: str) -> None:
        self.warn(f"took over the lock {path} left by {holder}, which is no longer running")

    def recovered(self, journal: str, resolved: Sequence[Resolved], bad: Sequence[int]) -> None:
        if bad:
            shown = ", ".join(map(str, bad[:20])) + (" ..." if len(bad) > 20 else "")
            self.warn(f"{journal}: line(s) {shown} are not journal records (a torn last line "
                      "after a crash, or a foreign line); they were skipped")
        for item in resolved:
            self.warn(f"resolved an interrupted write of run {item.run}: {item.number} "
                      f"({item.did_id}) is {item.result.value}"
                      + (": its live values are neither the old nor the new ones; check it"
                         if item.result.value == "unknown" else ""))

    def legacy_records(self, count: int, api_label: str) -> None:
        self.warn(f"{count} journal record(s) name no API (written by an older mvconf); they "
                  f"are taken to be about {api_label}")

    def summary(self, report: Report) -> None:
        print_lines([(summary_line(report), "bold")])

    def wave_started(self, index: int, count: int, writes: int) -> None:
        print_lines([(f"Wave {index} of {count}: {writes} write(s)", "bold")])

    def wave_checking(self, index: int, checks: list[str], wait: float, timeout: float) -> None:
        pause = f"after waiting {wait:g}s, " if wait else ""
        click.echo(f"Checking wave {index} ({pause}{' and '.join(checks)}, up to {timeout:g}s)...")

    def wave_checked(self, result: WaveResult) -> None:
        print_lines([wave_line(result)])

    def waves_summary(self, run: WaveRun, undoing: bool = True) -> None:
        lines = [("Waves:", "bold")] + [wave_line(r) for r in run.results]
        failed = run.failed
        if failed is not None:
            then = ("every DID this run changed is being restored to its values before the run"
                    if run.on_failure == "rollback" and undoing else
                    "it was interrupted before the undo; `mvconf rollback` restores every DID "
                    "this run changed" if run.on_failure == "rollback" else
                    "the DIDs changed so far are left as they are (--on-check-failure stop); "
                    "`mvconf rollback` restores them")
            lines.append((f"Wave {failed.index}'s check failed, so the apply stopped: {then}.",
                          "bold red"))
        print_lines(lines)

    def rolling_back(self, count: int) -> None:
        print_lines([("", None), (f"Rolling back the {count} DID(s) this run changed:", "bold")])


def summary_line(report: Report) -> str:
    parts = [f"{len(report.applied)} applied", f"{len(report.failed)} failed",
             f"{len(report.skipped)} skipped", f"{len(report.manual)} manual"]
    if report.confirmed:
        parts.insert(1, f"{len(report.confirmed)} confirmed")
    return "Apply: " + ", ".join(parts) + "."


def wave_line(result: WaveResult) -> tuple[str, str | None]:
    """One wave and its verdict; the reason may quote recorded calls, so it is made inert."""
    head = f"  wave {result.index}: "
    if not result.started:
        return head + f"not started ({result.planned} write(s))", "dim"
    done = f"{result.applied} applied" + (f", {result.failed} failed" if result.failed else "")
    if result.passed is None:
        tail = f"; {inert(result.reason)}" if result.reason else "; the last wave is not checked"
        return head + done + tail, None
    verdict = "check passed" if result.passed else "check FAILED: " + inert(result.reason or "")
    return head + f"{done}; {verdict}", "green" if result.passed else "red"


def inert(text: str | None) -> str:
    """Control and other unprintable characters as escapes, so recorded text cannot drive the
    terminal."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text or "")


class Output:
    """Whether stdout's reader went away during a run (a broken pipe: `apply ... | head`)."""

    closed = False


def _best_effort(method):
    """A view method whose output may find its reader gone: the run goes on (writes under way
    finish and are journaled; an apply is not cut in the middle), and what it would print goes
    nowhere. cli.py says so on stderr at the end."""
    import errno
    import functools

    @functools.wraps(method)
    def shown(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except OSError as exc:
            if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EPIPE:
                raise
            Output.closed = True
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the rest of the run)
            return None

    return shown


for _view in (TerminalView, TerminalApplyView):
    for _name, _method in list(vars(_view).items()):
        if callable(_method) and not _name.startswith("_") and _name != "progress":
            setattr(_view, _name, _best_effort(_method))

