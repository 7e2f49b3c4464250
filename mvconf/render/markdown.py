"""The markdown plan, for pull-request comments (SPEC §3, §13).

It begins with the marker a pipeline finds its comment by, shows alias names beside application
ids, draws the changed routing as a Mermaid flowchart, and always fits a comment: at most
`LIMIT` characters whatever the plan's size. When the full table does not fit, the changes are
counted by action and application instead, and the comment says how many are not listed and
that the JSON plan (`--out`) has them all. Every value from manifests or the API is made inert.
"""

from __future__ import annotations

from collections import Counter

from mvconf.plan.change import Action, Change
from mvconf.plan.model import Plan
from mvconf.plan.safety import describe
from mvconf.render.escape import code, md
from mvconf.render.mermaid import flowchart
from mvconf.render.text import NOT_SHOWN, SYMBOLS, not_read

MARKER = "<!-- mvconf-plan -->"
LIMIT = 65_000


class Budget:
    """Lines, kept only while they fit under the limit (with room for the closing lines)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.lines: list[str] = []
        self.size = 0

    def fits(self, line: str, reserve: int = 0) -> bool:
        return self.size + len(line) + 1 + reserve <= self.limit

    def add(self, line: str, reserve: int = 0) -> bool:
        if not self.fits(line, reserve):
            return False
        self.lines.append(line)
        self.size += len(line) + 1
        return True


def app_label(app_id: object, app_names: dict[str, str]) -> str:
    if app_id is None:
        return "none"
    alias = app_names.get(str(app_id))
    return f"{md(app_id)} ({md(alias)})" if alias else md(app_id)


def _value(name: str, value: object, app_names: dict[str, str]) -> str:
    return app_label(value, app_names) if name == "application_id" else md(value)


def _old(change: Change, name: str, value: object, app_names: dict[str, str]) -> str:
    return NOT_SHOWN if change.hidden_before(name) else _value(name, value, app_names)


def _row(change: Change, app_names: dict[str, str]) -> str:
    diffs = [f"{name}: {_old(change, name, d.old, app_names)} &#8594; "
             f"{_value(name, d.new, app_names)}" for name, d in change.fields.items()]
    if change.message:
        diffs.insert(0, md(change.message))
    who = f" ({change.executor.value})" if change.executor else ""
    return (f"| {SYMBOLS[change.action]} | {md(change.number)} | {md(change.did_id or '')} | "
            f"{change.action.value}{who} | {'<br>'.join(diffs)} | {code(change.source)} |")


def _header(title: str, plan: Plan) -> list[str]:
    where = md(plan.api_url) + (f" &#183; environment {md(plan.environment)}"
                                if plan.environment else "")
    return [MARKER, f"### mvconf {title}", "",
            f"API: {where} &#183; executor: {plan.executor.value} &#183; planned "
            f"{md(plan.created_at)}", "", f"Plan checksum: `{plan.checksum}`", "",
            *([not_read(plan, md(plan.scope.changed_since)) + ".", ""] if plan.scope else [])]


def markdown(plan: Plan, summary: str, limit: int = LIMIT) -> str:
    app_names = plan.app_names
    out = Budget(limit)
    for line in _header(summary, plan):
        out.add(line)
    if plan.safety.exceeds_threshold:
        out.add(f"> **Warning:** {md(describe(plan.safety))}; apply needs "
                "`--allow-mass-change`.")
        out.add("")
    _policy(out, plan)
    shown = [c for c in plan.changes if c.action != Action.noop]
    if not shown:
        out.add("No changes. The live account matches the manifests." if plan.scope is None
                else "No changes in the DIDs read.")
        return "\n".join(out.lines) + "\n"
    _chart(out, shown, app_names)
    listed = _table(out, shown, app_names)
    if listed < len(shown):
        _groups(out, shown, app_names, len(shown) - listed)
    else:
        _steps(out, shown)
    _unverified(out, plan)
    return "\n".join(out.lines) + "\n"


def _policy(out: Budget, plan: Plan) -> None:
    """The "Policy" section (SPEC §15), before the changes: what a reviewer must see first."""
    if not plan.policy:
        return
    errors = len(plan.policy_errors)
    out.add("#### Policy")
    out.add("")
    if errors:
        out.add(f"> **{errors} routing-policy error(s):** apply will refuse this plan.")
        out.add("")
    for index, f in enumerate(plan.policy):
        exception = f.get("exception")
        excepted = (f" &#8212; excepted until {md(exception.get('expires'))}: "
                    f"{md(exception.get('reason'))}" if isinstance(exception, dict) else "")
        line = (f"- **{md(f.get('rule'))} {md(f.get('level'))}** {md(f.get('number'))}: "
                f"{md(f.get('message'))}{excepted} ({code(f.get('source'))})")
        if not out.add(line, reserve=RESERVE * 2):
            out.add(f"- &#8230; {len(plan.policy) - index} more finding(s) in the JSON plan")
            break
    out.add("")


def _chart(out: Budget, shown: list[Change], app_names: dict[str, str]) -> None:
    drawn = flowchart(shown, app_names)
    if not drawn:  # nothing it draws (conflicts only): no empty block, which GitHub calls an error
        return
    chart = ["```mermaid", *drawn, "```", ""]
    if sum(len(line) + 1 for line in chart) < out.limit // 4:
        for line in chart:
            out.add(line)


RESERVE = 4000  # room kept for the grouped counts and the closing lines


def _table(out: Budget, shown: list[Change], app_names: dict[str, str]) -> int:
    out.add("| | Number | DID | Action | Changes | Source |")
    out.add("|---|---|---|---|---|---|")
    for index, change in enumerate(shown):
        if not out.add(_row(change, app_names), reserve=RESERVE):
            return index
    return len(shown)


def _groups(out: Budget, shown: list[Change], app_names: dict[str, str], missing: int) -> None:
    counts: Counter = Counter()
    for change in shown:
        live = change.live or {}
        old = live.get("application_id")
        counts[(change.action.value, str(old), str(change.desired.get("application_id", old)))] \
            += 1
    out.add("")
    out.add(f"**{missing} more change(s) are not listed here;** the JSON plan (`mvconf plan "
            "--out plan.json`) has every one. All changes by action and application:")
    out.add("")
    out.add("| Action | From | To | DIDs |")
    out.add("|---|---|---|---|")
    ordered = counts.most_common()
    for index, ((action, old, new), count) in enumerate(ordered):
        row = (f"| {action} | {app_label(None if old == 'None' else old, app_names)} | "
               f"{app_label(None if new == 'None' else new, app_names)} | {count} |")
        if not out.add(row, reserve=200):
            rest = sum(c for _, c in ordered[index:])
            out.add(f"| … | {len(ordered) - index} more groups | | {rest} |")
            return


def _steps(out: Budget, shown: list[Change]) -> None:
    manual = [c for c in shown if c.steps]
    if not manual:
        return
    out.add("")
    out.add("<details><summary>Manual steps</summary>")
    out.add("")
    for change in manual:
        block = [f"**{md(change.number)}**"] + [f"{i}. {md(s)}"
                                               for i, s in enumerate(change.steps, 1)] + [""]
        if not out.fits("\n".join(block), reserve=300):
            out.add("Further steps are in the JSON plan and `mvconf apply`'s output.")
            break
        for line in block:
            out.add(line)
    out.add("</details>")


def _unverified(out: Budget, plan: Plan) -> None:
    unverified = [c for c in plan.changes if c.unverified]
    if unverified:
        text = ", ".join(f"{md(c.number)} {md('/'.join(c.unverified))}" for c in unverified)
        out.add("")
        out.add(("Check by hand (not visible through the API): " + text)[:1000])


def diff_markdown(result, base: str, limit: int = LIMIT) -> str:
    """`mvconf diff --format markdown`: the same marker, inert values and size limit."""
    out = Budget(limit)
    counts = result.summary()
    out.add(MARKER)
    out.add(f"### mvconf diff against {md(base)}: {counts['added']} added, "
            f"{counts['removed']} removed, {counts['changed']} changed")
    out.add("")
    if not result.any:
        out.add("No differences in the desired state.")
        return "\n".join(out.lines) + "\n"
    out.add("| | Number | Changes | Source |")
    out.add("|---|---|---|---|")
    rows = [("+", d, "added") for d in result.added] + \
        [("-", d, "no longer managed") for d in result.removed] + \
        [("~", d, "<br>".join(f"{name}: {md(v['from'])} &#8594; {md(v['to'])}"
                              for name, v in fields.items())) for d, fields in result.changed]
    for index, (sign, did, what) in enumerate(rows):
        if not out.add(f"| {sign} | {md(did.number)} | {what} | {code(did.source)} |",
                       reserve=300):
            out.add("")
            out.add(f"**{len(rows) - index} more difference(s) are not listed here;** "
                    "`mvconf diff --format json` has every one.")
            break
    return "\n".join(out.lines) + "\n"


def every_environment(plans: list[Plan], summaries: list[str], limit: int = LIMIT) -> str:
    """`plan --env all --format markdown`: the one marker first, then each environment's plan
    under its own heading, together within the limit (each gets an equal share)."""
    share = limit // max(len(plans), 1) - 200
    pieces = [MARKER]
    for plan, summary in zip(plans, summaries, strict=True):
        body = markdown(plan, summary, limit=share).removeprefix(MARKER + "\n")
        pieces.append(f"## Environment {md(plan.environment)} ({md(plan.api_url)})\n\n{body}")
    return "\n".join(pieces)
