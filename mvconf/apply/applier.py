"""The applier carries out a Plan it is given: checks first, then executors, journal, summary.

It decides and never displays: everything a person sees or is asked goes through an `ApplyView`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mvconf.apply.executors import ApiExecutor, ManualExecutor, Report, Stop
from mvconf.apply.journal import Journal
from mvconf.apply.stale import check_stale
from mvconf.apply.view import ApplyView
from mvconf.errors import Interrupted, PlanError
from mvconf.minivoice.client import MiniVoiceClient
from mvconf.plan.change import Action, Change, Executor
from mvconf.plan.model import Plan, require_checksum
from mvconf.plan.safety import MINIMUM_MANAGED, THRESHOLD_PERCENT, assess, enforce

__all__ = ["EXIT_ERROR", "EXIT_MANUAL", "EXIT_OK", "ApplyOptions", "Report", "Stop",
           "apply_plan", "exit_code"]

EXIT_OK, EXIT_ERROR, EXIT_MANUAL = 0, 1, 3


@dataclass
class ApplyOptions:
    journal: str
    auto_approve: bool = False
    reviewed: bool = False  # a saved plan was reviewed when it was made: do not ask again
    wait: bool = False
    wait_timeout: float = 600.0
    allow_mass_change: bool = False
    max_change_percent: int = THRESHOLD_PERCENT
    min_managed: int = MINIMUM_MANAGED
    baseline_managed: int | None = None  # rollback: the DIDs the rolled-back run managed
    checksum: str | None = None  # --checksum: only the plan with exactly this checksum
    lock_timeout: float = 0.0
    parallelism: int = 8
    poll_interval: float = 1.0
    command: str = "apply"  # apply | rollback: what the follow-up hint names
    stop: Stop = field(default_factory=Stop)


def exit_code(report: Report) -> int:
    if report.failed:
        return EXIT_ERROR
    return EXIT_MANUAL if report.manual else EXIT_OK


def check_plan(plan: Plan, api_label: str, opts: ApplyOptions,
               environment: str | None = None) -> list[Change]:
    """What can be refused without touching the API: another API, not the reviewed plan,
    conflicts, the threshold (computed again here from the changes, never read from a file)."""
    if plan.api_url != api_label:
        raise PlanError(f"the saved plan was made against {plan.api_url}, not {api_label}; "
                        "plan again against this API")
    if plan.environment != environment:
        raise PlanError(f"the saved plan was made for environment {plan.environment or '(none)'}"
                        f", not {environment or '(none)'}; plan again for this environment")
    require_checksum(plan, opts.checksum)
    if plan.conflicts:
        raise PlanError("the plan has DIDs in conflict with their pinned id: "
                        + ", ".join(c.number for c in plan.conflicts))
    # Against every managed DID, the unread ones of a --changed-since plan too (SPEC §16).
    enforce(assess(plan.changes, percent=opts.max_change_percent, minimum=opts.min_managed,
                   managed=max(opts.baseline_managed or 0, plan.managed)),
            opts.allow_mass_change)
    return [c for c in plan.changes if c.is_change]


def _confirm(count: int, opts: ApplyOptions, view: ApplyView) -> None:
    if opts.auto_approve or opts.reviewed or count == 0:
        return
    answer = view.ask(count)
    if answer is None:
        raise PlanError(f"{count} change(s) would be written through the API and there is no "
                        "terminal to confirm them: pass --auto-approve (after reviewing the plan), "
                        "or apply a saved plan file")
    if not answer:
        raise PlanError("apply cancelled; nothing was changed")


async def apply_plan(plan: Plan, client: MiniVoiceClient, journal: Journal,
                     opts: ApplyOptions, view: ApplyView) -> int:
    """Carry out `plan` against the API `journal` names, writing the journal as it goes."""
    changes = check_plan(plan, journal.api_url or "", opts, journal.environment)
    if not changes:
        view.no_changes()
        return EXIT_OK
    await check_stale(client, changes, opts.parallelism)
    api = [c for c in changes if c.executor == Executor.api and c.action == Action.update]
    manual = [c for c in changes if c not in api]
    _confirm(len(api), opts, view)
    opts.stop.writing = True
    report = Report()
    journal.managed = opts.baseline_managed or plan.managed
    try:
        machine = ApiExecutor(client, journal, view, opts.parallelism, opts.stop)
        manual += await machine.carry_out(api, report)
        if manual and not opts.stop.is_set():
            person = ManualExecutor(client, journal, view, opts.parallelism, opts.wait,
                                    opts.wait_timeout, opts.poll_interval, opts.command,
                                    opts.stop)
            await person.carry_out(manual, report)
        elif manual:
            report.skipped.extend(manual)
    finally:
        journal.close()
    view.summary(report)
    if opts.stop.signum is not None:
        raise Interrupted(opts.stop.signum, f"Interrupted: {len(report.skipped)} change(s) not "
                          "started; every change made is in the journal.")
    return exit_code(report)
