"""The applier carries out a Plan it is given: checks first, then executors, journal, summary.

It decides and never displays: everything a person sees or is asked goes through an `ApplyView`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mvconf.apply.executors import ApiExecutor, ManualExecutor
from mvconf.apply.journal import Journal
from mvconf.apply.report import ROLLBACK, Report, Stop
from mvconf.apply.rollback import changed_records
from mvconf.apply.stale import check_stale
from mvconf.apply.view import ApplyView
from mvconf.apply.waves import WavedExecutor, WavePlan
from mvconf.core.clock import utc_now
from mvconf.core.errors import Interrupted, MvconfError, PlanError
from mvconf.core.text import printable
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.plan.change import Action, Change, Executor
from mvconf.plan.model import Plan, require_checksum
from mvconf.plan.safety import MINIMUM_MANAGED, THRESHOLD_PERCENT, assess, enforce
from mvconf.plan.undo import undo_plan

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
    waves: WavePlan | None = None  # SPEC §17: --waves and its checks
    # SPEC §15 and §17: judges the undo of a failed wave before it writes (raises to refuse)
    judge_undo: Callable[[Plan, Journal], None] | None = None


def exit_code(report: Report) -> int:
    if report.failed:
        return EXIT_ERROR
    return EXIT_MANUAL if report.manual else EXIT_OK


def check_plan(plan: Plan, api_label: str, opts: ApplyOptions,
               environment: str | None = None) -> list[Change]:
    """What can be refused without touching the API: another API, not the reviewed plan,
    conflicts, the threshold (computed again here from the changes, never read from a file)."""
    if plan.api_url != api_label:
        raise PlanError(f"the saved plan was made against {printable(plan.api_url)}, not "
                        f"{api_label}; plan again against this API")
    if plan.environment != environment:
        raise PlanError(f"the saved plan was made for environment "
                        f"{printable(plan.environment or '(none)')}, not "
                        f"{environment or '(none)'}; plan again for this environment")
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
    waved, shown = None, False
    if opts.waves and not api:
        view.warn("--waves: this plan has no API writes, and manual steps are not waved")
    try:
        machine = ApiExecutor(client, journal, view, opts.parallelism, opts.stop)
        if opts.waves and api:
            waved = WavedExecutor(machine, opts.waves, journal, view, opts.stop)
            manual += await waved.carry_out(api, report)
        else:
            manual += await machine.carry_out(api, report)
        if manual and waved and waved.run.failed:
            report.skipped.extend(manual)  # a failed check stops the apply
        elif manual and not opts.stop.is_set():
            shown = True  # the steps are printed first, whatever stops the wait
            person = ManualExecutor(client, journal, view, opts.parallelism, opts.wait,
                                    opts.wait_timeout, opts.poll_interval, opts.command,
                                    opts.stop)
            await person.carry_out(manual, report)
    finally:
        journal.close()
    view.summary(report)
    if waved:
        view.waves_summary(waved.run, undoing=not opts.stop.is_set())
        if waved.run.failed and opts.waves.on_failure == ROLLBACK and not opts.stop.is_set():
            await undo_run(journal, client, opts, view)
    if opts.stop.signum is not None:
        if shown:
            waited = len(report.manual) if opts.wait else 0
            for_person = f" ({waited} change(s) for a person not confirmed)" if waited else ""
        else:
            left = [c for c in manual if c not in report.skipped] if manual else []
            for_person = f" ({len(left)} for a person were not shown)" if left else ""
        raise Interrupted(opts.stop.signum, f"Interrupted: {len(report.skipped)} API write(s) "
                          f"not started{for_person}; every change made is in the journal.")
    return EXIT_ERROR if waved and waved.run.failed else exit_code(report)


async def undo_run(journal: Journal, client: MiniVoiceClient, opts: ApplyOptions,
                   view: ApplyView) -> int:
    """SPEC §17: after a failed wave check, every DID this run changed gets its `before` values
    back, as `mvconf rollback` would do it: from the journal, as a plan through this applier
    (stale refusal, ETags, the threshold of the run undone), as a run of its own."""
    chosen = changed_records(str(journal.path), None, journal.api_url or "",
                             journal.environment, run=journal.run)
    if not chosen.records:
        return EXIT_OK
    view.rolling_back(len(chosen.records))
    live = await read_many(client, [r["number"] for r in chosen.records], opts.parallelism)
    plan = undo_plan(chosen.records, live, executor=Executor.api, api_url=journal.api_url or "",
                     created_at=utc_now(), environment=journal.environment)
    undo = Journal(str(journal.path), api_url=journal.api_url, environment=journal.environment)
    undo.undoes = journal.run  # if this is stopped, `mvconf rollback` finishes it
    again = replace(opts, reviewed=True, checksum=None, waves=None, command="rollback",
                    baseline_managed=chosen.managed)
    if opts.judge_undo is not None:
        try:
            opts.judge_undo(plan, undo)  # the routing policy holds for an undo too
        except MvconfError as exc:
            raise type(exc)(f"{exc} The undo of the failed wave was refused, so the "
                            f"{len(chosen.records)} DID(s) this run changed keep their new "
                            "values; fix what the policy refuses, then `mvconf rollback`.") \
                from None
    return await apply_plan(plan, client, undo, again, view)
