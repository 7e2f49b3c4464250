"""A Mermaid flowchart of the routing a plan changes (SPEC §13): the numbers, grouped under the
application they leave and the application they join, each edge labelled with the route mode and
destinations. A large plan is drawn per pair of applications, with counts."""

from __future__ import annotations

from collections import defaultdict

from mvconf.plan.change import Action, Change
from mvconf.render.escape import mermaid_label

SMALL = 20  # changes drawn number by number; beyond, per pair of applications
MAX_EDGES = 60


def _app(value: object, app_names: dict[str, str]) -> str:
    if value is None:
        return "no application"
    alias = app_names.get(str(value))
    return f"{value} ({alias})" if alias else str(value)


def _before_after(change: Change) -> tuple[str | None, str | None, str, str]:
    live = change.live or {}
    old_app = live.get("application_id")
    new_app = change.desired.get("application_id", old_app)
    old_mode = live.get("route_mode") or "none"
    new_mode = change.desired.get("route_mode") or old_mode
    return old_app, new_app, str(old_mode), str(new_mode)


def _routing(change: Change, old_mode: str, new_mode: str) -> str:
    route = old_mode if old_mode == new_mode else f"{old_mode} to {new_mode}"
    if "destinations" in change.fields:
        wanted = change.fields["destinations"].new or []
        route += f", destinations {', '.join(wanted) if wanted else 'none'}"
    return route


def flowchart(changes: list[Change], app_names: dict[str, str]) -> list[str]:
    shown = [c for c in changes if c.action in (Action.update, Action.missing, Action.blocked)]
    if not shown:
        return []
    nodes: dict[str, str] = {}

    def node(side: str, app: object) -> str:
        key = f"{side}:{app}"
        if key not in nodes:
            nodes[key] = f"{side}{len(nodes)}"
        return nodes[key]

    lines = ["flowchart LR"]
    if len(shown) <= SMALL:
        body = _numbered(shown, app_names, node)
    else:
        body = _grouped(shown, app_names, node)
    for key, name in nodes.items():
        side, app = key.split(":", 1)
        label = ("from " if side == "old" else "to ") + _app(None if app == "None" else app,
                                                             app_names)
        lines.append(f'  {name}["{mermaid_label(label)}"]')
    return lines + body


def _numbered(changes: list[Change], app_names, node) -> list[str]:
    lines = []
    for index, change in enumerate(changes):
        old_app, new_app, old_mode, new_mode = _before_after(change)
        did = f"did{index}"
        lines.append(f'  {did}(["{mermaid_label(change.number)}"])')
        lines.append(f"  {node('old', old_app)} --- {did}")
        label = mermaid_label(f"{change.action.value}: {_routing(change, old_mode, new_mode)}")
        lines.append(f'  {did} -->|"{label}"| {node("new", new_app)}')
    return lines


def _grouped(changes: list[Change], app_names, node) -> list[str]:
    groups: dict[tuple, int] = defaultdict(int)
    for change in changes:
        old_app, new_app, old_mode, new_mode = _before_after(change)
        groups[(str(old_app), str(new_app), change.action.value,
                old_mode if old_mode == new_mode else f"{old_mode} to {new_mode}")] += 1
    lines = []
    ordered = sorted(groups.items(), key=lambda item: -item[1])
    for (old_app, new_app, action, route), count in ordered[:MAX_EDGES]:
        label = mermaid_label(f"{count} {action}: {route}")
        lines.append(f'  {node("old", old_app)} -->|"{label}"| {node("new", new_app)}')
    if len(ordered) > MAX_EDGES:
        rest = sum(count for _, count in ordered[MAX_EDGES:])
        lines.append(f'  more["{mermaid_label(f"{rest} more changes in other groups")}"]')
    return lines
