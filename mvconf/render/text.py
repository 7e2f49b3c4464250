"""Plans for people: the text plan (lines with their rich style), its summary line and policy
findings. Renders; decides nothing."""

from __future__ import annotations

import json
from typing import Any

from mvconf.plan.change import Action, Change
from mvconf.plan.model import Plan
from mvconf.plan.safety import describe
from mvconf.policy import printable

NOT_SHOWN = "(not shown by the API)"  # a current value the API hides
SYMBOLS = {Action.update: "~", Action.missing: "!", Action.blocked: "!", Action.conflict: "x"}
STYLES = {Action.update: "yellow", Action.missing: "red", Action.blocked: "red",
          Action.conflict: "bold red"}
WORDS = [(Action.update, "to update"), (Action.missing, "missing"), (Action.blocked, "blocked"),
         (Action.conflict, "in conflict"), (Action.noop, "unchanged")]

Line = tuple[str, str | None]  # text, rich style


def value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def summary_line(plan: Plan) -> str:
    parts = [f"{plan.summary.get(a.value, 0)} {word}" for a, word in WORDS
             if plan.summary.get(a.value, 0)]
    if parts:
        return "Plan: " + ", ".join(parts) + "."
    if plan.scope is not None:  # a --changed-since plan that read nothing (SPEC §16)
        return "Plan: no changes (no DID differs from the revision)."
    return "Plan: no DIDs managed."


def not_read(plan: Plan, revision: str | None = None) -> str | None:
    """SPEC §16: what a `--changed-since` plan did not read (None for a full plan)."""
    if plan.scope is None:
        return None
    count = plan.scope.unchanged
    return (f"Not read: {count:,} DID{'' if count == 1 else 's'} unchanged since "
            f"{revision if revision is not None else plan.scope.changed_since} (a full plan "
            "checks them for drift)")


def _header(change: Change) -> str:
    head = f"{SYMBOLS[change.action]} {change.label}  {change.action.value}"
    if change.executor:
        head += f" ({change.executor})"
    if change.message:
        head += f": {change.message}"
    return head


def text_lines(plan: Plan, mass_change_allowed: bool = False,
               with_steps: bool = True) -> list[Line]:
    """The text plan. `with_steps=False` where the steps are printed by the one who carries
    them out (apply's manual executor), so that they are not shown twice."""
    lines: list[Line] = []
    shown = [c for c in plan.changes if c.action != Action.noop]
    for change in shown:
        lines.append((_header(change), STYLES[change.action]))
        lines.append((f"    at {change.source}", "dim"))
        for name, diff in change.fields.items():
            old = NOT_SHOWN if change.hidden_before(name) else value(diff.old)
            line = f"    {name}: {old} -> {value(diff.new)}"
            if name == "application_id" and (diff.old in plan.app_names or
                                             diff.new in plan.app_names):
                line += (f"  ({plan.app_names.get(diff.old, diff.old or 'none')} -> "
                         f"{plan.app_names.get(diff.new, diff.new or 'none')})")
            lines.append((line, None))
        for step_no, step in enumerate(change.steps if with_steps else (), 1):
            lines.append((f"    {step_no}. {step}", "cyan"))
        lines.append(("", None))
    unverified = [c for c in plan.changes if c.unverified]
    if unverified:
        lines.append(("Check by hand (the API does not show these fields):", "bold"))
        for change in unverified:
            for name in change.unverified:
                lines.append((f"  ? {change.number}: {name} should be "
                              f"{value(change.desired.get(name))}  ({change.source})", "magenta"))
        lines.append(("", None))
    lines += policy_lines(plan)
    if not plan.has_changes and not plan.conflicts:
        lines.append(("No changes. The live account matches the manifests." if plan.scope is None
                      else "No changes in the DIDs read.", "green"))
    scope = not_read(plan, printable(plan.scope.changed_since) if plan.scope else None)
    if scope:
        lines.append((scope + ".", "dim"))
    if plan.safety.exceeds_threshold:
        lines.append((f"Warning: {describe(plan.safety)}; " + (
            "allowed by --allow-mass-change." if mass_change_allowed else
            "apply will refuse without --allow-mass-change."), "bold yellow"))
    lines.append((f"Plan checksum: {plan.checksum}", "dim"))
    lines.append((summary_line(plan), "bold"))
    return lines


POLICY_STYLES = {"error": "bold red", "warning": "yellow"}


def policy_lines(plan: Plan) -> list[Line]:
    """The "Policy" section (SPEC §15): each finding on what the plan would write."""
    if not plan.policy:
        return []
    lines: list[Line] = [("Policy:", "bold")]
    for finding in plan.policy:
        exception = finding.get("exception")
        excepted = (f" (excepted until {exception.get('expires')}: {exception.get('reason')})"
                    if isinstance(exception, dict) else "")
        text = (f"  {finding.get('source')}: {finding.get('number')} {finding.get('rule')} "
                f"{finding.get('level')}{excepted}: {finding.get('message')}")
        lines.append((printable(text), None if exception else
                      POLICY_STYLES.get(str(finding.get("level")))))
    errors = len(plan.policy_errors)
    if errors:
        lines.append((f"  {errors} error(s): apply will refuse this plan.", "bold red"))
    lines.append(("", None))
    return lines


def text(plan: Plan) -> str:
    return "\n".join(t for t, _ in text_lines(plan)) + "\n"
