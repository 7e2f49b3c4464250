"""A new plan's way through the stages: the manifests loaded and narrowed (`--target`,
`--changed-since`), the live DIDs read, each planned as it arrives, the plan assembled, checked
against the wrong account and judged by the routing policy."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from typing import Any

from mvconf.config.project import Context, policy_of
from mvconf.config.scope import scope_of
from mvconf.core import clock
from mvconf.core.clock import utc_now
from mvconf.manifest import DesiredDid, Manifests, load_manifests
from mvconf.minivoice.client import MiniVoiceClient
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Change, Executor
from mvconf.plan.model import Plan, PlanScope
from mvconf.plan.planner import assemble, plan_change
from mvconf.plan.policy import change_findings, writes_routing
from mvconf.plan.safety import guard_wrong_account
from mvconf.plan.targets import select_targets
from mvconf.run.runtime import Runtime


@dataclass(frozen=True)
class PlanRequest:
    """What a new plan is asked for, from the command line."""

    executor: Executor
    targets: tuple[str, ...] = ()  # --target: only these numbers
    allow_all_missing: bool = False  # --allow-all-missing: no wrong-account guard
    changed_since: str | None = None  # --changed-since REV
    given: tuple[str, ...] = ()  # the paths as given (the project's manifests when none)


def load(runtime: Runtime, paths: list[str], targets: tuple[str, ...],
         strict: bool = False) -> tuple[Manifests, list[DesiredDid]]:
    """The manifests under `paths`, and their DIDs that `--target` names (all without it)."""
    loaded = load_manifests(paths, strict=strict, scope=scope_of(runtime.context))
    for path in loaded.skipped:
        runtime.view.skipped(path)
    for problem in loaded.warnings:
        runtime.view.warn(str(problem))
    return loaded, select_targets(loaded.dids, targets)


def scoped(context: Context, request: PlanRequest,
           desired: list[DesiredDid]) -> tuple[list[DesiredDid], PlanScope | None]:
    """`--changed-since REV`: only the DIDs whose desired state differs from REV's, or that REV
    did not manage, and the plan's scope saying so (SPEC §16)."""
    if request.changed_since is None:
        return desired, None
    from mvconf.run.since import changed_since  # git, only when asked

    since = changed_since(request.changed_since, context, request.given, desired)
    return since.read, PlanScope(changed_since=since.revision, revision=since.commit,
                                 read=len(since.read), unchanged=since.unchanged)


async def plan_with(runtime: Runtime, client: MiniVoiceClient, loaded: Manifests,
                    desired: list[DesiredDid], request: PlanRequest,
                    scope: PlanScope | None, *, order: list[str] | None = None,
                    ready: AsyncIterable[Mapping[str, Any]] | None = None) -> Plan:
    """Read `desired`'s live DIDs (in `order` when given: run/early.py; those `ready` were
    read already: run/ahead.py) and plan them; `loaded` names applications and places policy
    findings."""
    by_number = {d.number: d for d in desired}
    executor = request.executor
    context = runtime.context
    policy, today = policy_of(context), clock.today()
    granted = {d.number: d.exceptions for d in desired if d.exceptions}
    judged: dict[str, list] = {}

    def plan_one(number: str, live: LiveDID | None) -> Change:
        # Planned and judged as each answer arrives, while other reads are under way: the live
        # DIDs are never all held at once, and no judging is left for after the last answer.
        change = plan_change(by_number[number], live, executor)
        if writes_routing(change):
            found = change_findings((change,), policy, today, granted, by_number, loaded)
            if found:
                judged[number] = found
        return change

    changes = await runtime.read(client, order or list(by_number), plan_one, ready)
    plan = assemble([changes[number] for number in by_number], executor=executor,
                    api_url=runtime.endpoint.label, created_at=utc_now(),
                    environment=context.environment, app_names=loaded.app_names(), scope=scope)
    if not request.allow_all_missing:  # SPEC §16: of the DIDs read
        guard_wrong_account(plan.changes)
    findings = [f for change in plan.changes for f in judged.get(change.number, ())]
    return plan.with_policy([f.to_data() for f in findings]) if findings else plan
