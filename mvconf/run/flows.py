"""The flows that join the stages, as plain functions over a `Runtime`: plan, apply (a new plan or
a reviewed saved one), rollback, and reading DIDs for import.

Each flow loads what it needs first (manifests, `--changed-since`, policy), then runs its one
piece of async work in the runtime's loop. Apply and rollback hold the journal's lock and resolve
the intents a killed run left dangling before anything else (SPEC §11). The options a flow is
handed are never changed: what it adds goes into a copy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from mvconf.apply.applier import ApplyOptions, apply_plan
from mvconf.apply.journal import Journal
from mvconf.apply.policy import enforce, saved_plan_findings
from mvconf.apply.recover import resolve_dangling
from mvconf.apply.rollback import changed_records
from mvconf.apply.view import ApplyView
from mvconf.config.project import policy_of
from mvconf.config.scope import scope_of
from mvconf.core import clock
from mvconf.core.clock import utc_now
from mvconf.core.facts import MAX_DIDS
from mvconf.core.forked import Forked
from mvconf.minivoice.client import MiniVoiceClient
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Executor
from mvconf.plan.model import Plan, require_checksum
from mvconf.plan.planner import retarget
from mvconf.plan.targets import select_numbers
from mvconf.plan.undo import undo_plan
from mvconf.run.ahead import read_ahead
from mvconf.run.grants import granted, judge_rollback, judge_undo
from mvconf.run.planning import PlanRequest, load, plan_with, scoped
from mvconf.run.runtime import Runtime

__all__ = ["PlanRequest", "apply", "apply_saved", "plan", "read_numbers", "rollback"]
Work = Callable[[MiniVoiceClient, Journal], Awaitable[int]]


def plan(runtime: Runtime, paths: list[str], request: PlanRequest, *, strict: bool = False) -> Plan:
    """Read the live account and plan the manifests under `paths` (with the in-process
    emulator, reading while they load: run/ahead.py)."""
    ahead = read_ahead(runtime.api, runtime.context, paths, request.targets) \
        if request.changed_since is None else None
    try:
        loaded, desired = load(runtime, paths, request.targets, strict)
        desired, scope = scoped(runtime.context, request, desired)
        ready = ahead.items() if ahead is not None else None
        return runtime.run(lambda client: plan_with(runtime, client, loaded, desired, request,
                                                    scope, ready=ready))
    finally:
        if ahead is not None:
            ahead.cancel()


def apply(runtime: Runtime, paths: list[str], request: PlanRequest, *, opts: ApplyOptions,
          view: ApplyView, show: Callable[[Plan], None]) -> int:
    """Plan the manifests, show the plan, and apply it, all with one client."""
    loaded, desired = load(runtime, paths, request.targets)
    desired, scope = scoped(runtime.context, request, desired)
    opts = _for_run(runtime, opts)

    async def work(client: MiniVoiceClient, journal: Journal) -> int:
        plan = await plan_with(runtime, client, loaded, desired, request, scope)
        show(plan)
        enforce("apply", plan.policy, journal)  # SPEC §15: before any write
        return await apply_plan(plan, client, journal, opts, view)

    return _journaled(runtime, opts, view, work)


def apply_saved(runtime: Runtime, plan: Plan, *, executor: Executor | None,
                targets: tuple[str, ...], opts: ApplyOptions, view: ApplyView) -> int:
    """Carry out a reviewed saved plan: exactly it, or its `--target` part."""
    keep = select_numbers([c.number for c in plan.changes], targets)
    if targets or executor:
        require_checksum(plan, opts.checksum)  # the reviewed plan, before it is cut
        opts = replace(opts, checksum=None)
    plan = retarget(plan, executor, keep)
    opts = _for_run(runtime, replace(opts, reviewed=True))
    findings = saved_plan_findings(plan, policy_of(runtime.context), clock.today(),
                                   granted(runtime.context))
    enforce("apply", findings)  # SPEC §15: judged again, before connecting

    async def work(client: MiniVoiceClient, journal: Journal) -> int:
        enforce("apply", findings, journal)
        return await apply_plan(plan, client, journal, opts, view)

    return _journaled(runtime, opts, view, work)


def rollback(runtime: Runtime, last: int | None, *, executor: Executor, opts: ApplyOptions,
             view: ApplyView, show: Callable[[Plan], None]) -> int:
    """Restore the values the journal recorded before the last `last` changes (default: the
    last run's), through the normal applier."""
    opts = replace(opts, stop=runtime.stop)
    context = runtime.context

    async def work(client: MiniVoiceClient, journal: Journal) -> int:
        label = runtime.endpoint.label
        chosen = changed_records(opts.journal, last, label, context.environment,
                                 scope_of(context).max_dids or MAX_DIDS)
        if chosen.legacy:
            view.legacy_records(chosen.legacy, label)
        live = await runtime.read(client, [r["number"] for r in chosen.records])
        plan = undo_plan(chosen.records, live, executor=executor, api_url=label,
                         created_at=utc_now(), environment=context.environment)
        show(plan)
        judge_rollback(context, opts.journal, plan, journal)
        return await apply_plan(plan, client, journal,
                                replace(opts, baseline_managed=chosen.managed), view)

    return _journaled(runtime, opts, view, work)


def read_numbers(runtime: Runtime, numbers: list[str],
                 ahead: Forked | None = None) -> dict[str, LiveDID | None]:
    """The live DIDs of `numbers` (None where the account has none); `ahead`: a child reading
    them already (run/ahead.py)."""
    ready = ahead.items() if ahead is not None else None
    return runtime.run(lambda client: runtime.read(client, numbers, ready=ready))


def _for_run(runtime: Runtime, opts: ApplyOptions) -> ApplyOptions:
    """The runtime's stop flag, and the judge of a failed wave's undo (SPEC §15, §17)."""
    return replace(opts, stop=runtime.stop, judge_undo=judge_undo(runtime.context, opts.journal))


def _journaled(runtime: Runtime, opts: ApplyOptions, view: ApplyView, work: Work) -> int:
    """Run `work` holding the journal's lock, after resolving dangling intents."""
    with runtime.journal_lock(opts.journal, opts.command, opts.lock_timeout, view):

        async def go(client: MiniVoiceClient) -> int:
            journal = Journal(opts.journal, api_url=runtime.endpoint.label,
                              environment=runtime.context.environment)
            resolved, bad = await resolve_dangling(client, journal)
            view.recovered(opts.journal, resolved, bad)
            return await work(client, journal)

        return runtime.run(go)
