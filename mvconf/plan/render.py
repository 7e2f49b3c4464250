"""Plans for people (text), pull requests (markdown) and machines (JSON). Renders; decides
nothing."""

from __future__ import annotations

import json
from typing import Any

from mvconf.plan.change import Action, Change
from mvconf.plan.model import Plan
from mvconf.plan.safety import describe

SYMBOLS = {Action.update: "~", Action.missing: "!", Action.blocked: "!", Action.conflict: "x"}
STYLES = {Action.update: "yellow", Action.missing: "red", Action.blocked: "red",
          Action.conflict: "bold red"}
WORDS = [(Action.update, "to update"), (Action.missing, "missing"), (Action.blocked, "blocked"),
         (Action.conflict, "in conflict"), (Action.noop, "unchanged")]
MARKER = "<!-- mvconf-plan -->"

Line = tuple[str, str | None]  # text, rich style


def value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def summary_line(plan: Plan) -> str:
    parts = [f"{plan.summary.get(a.value, 0)} {word}" for a, word in WORDS
             if plan.summary.get(a.value, 0)]
    return "Plan: " + (", ".join(parts) if parts else "no DIDs managed") + "."


def _header(change: Change) -> str:
    head = f"{SYMBOLS[change.action]} {change.label}  {change.action.value}"
    if change.executor:
        head += f" ({change.executor})"
    if change.message:
        head += f": {change.message}"
    return head


def text_lines(plan: Plan) -> list[Line]:
    lines: list[Line] = []
    shown = [c for c in plan.changes if c.action != Action.noop]
    for change in shown:
        lines.append((_header(change), STYLES[change.action]))
        lines.append((f"    at {change.source}", "dim"))
        for name, diff in change.fields.items():
            lines.append((f"    {name}: {value(diff.old)} -> {value(diff.new)}", None))
        for step_no, step in enumerate(change.steps, 1):
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
    if not plan.has_changes and not plan.conflicts:
        lines.append(("No changes. The live account matches the manifests.", "green"))
    if plan.safety.exceeds_threshold:
        lines.append((f"Warning: {describe(plan.safety)}; apply will refuse without "
                      "--allow-mass-change.", "bold yellow"))
    lines.append((f"Plan checksum: {plan.checksum}", "dim"))
    lines.append((summary_line(plan), "bold"))
    return lines


def text(plan: Plan) -> str:
    return "\n".join(t for t, _ in text_lines(plan)) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(plan: Plan) -> str:
    out = [MARKER, f"### mvconf {summary_line(plan)}", "",
           f"API: `{plan.api_url}` · executor: `{plan.executor}` · planned {plan.created_at}",
           "", f"Plan checksum: `{plan.checksum}`", ""]
    shown = [c for c in plan.changes if c.action != Action.noop]
    if plan.safety.exceeds_threshold:
        out += [f"> **Warning:** {describe(plan.safety)}; apply needs `--allow-mass-change`.", ""]
    if not shown:
        out.append("No changes. The live account matches the manifests.")
    else:
        out += ["| | Number | DID | Action | Changes | Source |", "|---|---|---|---|---|---|"]
        for c in shown:
            diffs = "<br>".join(f"{n}: `{value(d.old)}` → `{value(d.new)}`"
                                for n, d in c.fields.items())
            if c.message:
                diffs = f"{c.message}<br>{diffs}" if diffs else c.message
            out.append(f"| {SYMBOLS[c.action]} | {c.number} | {c.did_id or ''} | {c.action.value}"
                       f"{' (' + c.executor + ')' if c.executor else ''} | {_cell(diffs)} | "
                       f"`{_cell(c.source)}` |")
    manual = [c for c in shown if c.steps]
    if manual:
        out += ["", "<details><summary>Manual steps</summary>", ""]
        for c in manual:
            out.append(f"**{c.number}**")
            out += [f"{i}. {_cell(s)}" for i, s in enumerate(c.steps, 1)]
            out.append("")
        out.append("</details>")
    unverified = [c for c in plan.changes if c.unverified]
    if unverified:
        out += ["", "Check by hand (not visible through the API): "
                + ", ".join(f"{c.number} {'/'.join(c.unverified)}" for c in unverified)]
    return "\n".join(out) + "\n"


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return plan.to_json()
    if fmt == "markdown":
        return markdown(plan)
    return text(plan)
