"""The policy exceptions a saved plan, a journal or a failed wave's undo may be applied under:
only those the project's manifests grant now (their files can be edited; SPEC §15, §17)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mvconf.apply.journal import Journal
from mvconf.apply.policy import enforce, rollback_findings
from mvconf.config.project import Context, policy_of
from mvconf.config.scope import scope_of
from mvconf.core import clock
from mvconf.core.errors import MvconfError
from mvconf.manifest import load_manifests
from mvconf.plan.model import Plan


def granted(context: Context) -> dict[str, set[tuple[str, str, str]]]:
    """The exceptions the project's manifests grant, by number. Without a project that names
    its manifests, none."""
    paths = context.manifest_paths(()) if context.project else []
    if not paths:
        return {}
    try:
        dids = load_manifests(paths, scope=scope_of(context)).dids
    except MvconfError:
        return {}
    return {d.number: {(g.rule, g.reason, g.expires) for g in d.exceptions}
            for d in dids if d.exceptions}


def judge_rollback(context: Context, journal_path: str, plan: Plan, journal: Journal) -> None:
    """Refuse a rollback plan (or a failed wave's undo) that the routing policy refuses."""
    enforce("rollback", rollback_findings(plan, policy_of(context), clock.today(), journal_path,
                                          granted(context)), journal)


def judge_undo(context: Context, journal_path: str) -> Callable[[Plan, Journal], None]:
    """The undo of a failed wave is judged as `mvconf rollback` is (SPEC §15, §17)."""
    return partial(judge_rollback, context, journal_path)
