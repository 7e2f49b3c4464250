"""Routing policy (SPEC §15) on what a run would write: the manifests' DIDs (validate) or a
plan's changes (plan, apply, a saved plan, a rollback), judged by mvconf.policy."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from mvconf.manifest import DesiredDid, Manifests
from mvconf.plan.change import Change
from mvconf.policy import Finding, Granted, PolicyConfig, judge_did

WRITES_ROUTING = ("route_mode", "destinations")


def writes_routing(change: Change) -> bool:
    """Whether applying `change` writes a route mode or destinations: only what mvconf would
    write is judged, never a live value it leaves alone."""
    return change.is_change and any(name in change.fields for name in WRITES_ROUTING)


def change_findings(changes: Iterable[Change], config: PolicyConfig, today: datetime.date,
                    granted: Mapping[str, Iterable[Granted]] | None = None,
                    located: Mapping[str, DesiredDid] | None = None,
                    manifests: Manifests | None = None) -> list[Finding]:
    """Findings on the routing each change would leave: its desired route mode and
    destinations. `granted` gives each number's exceptions (from manifests, a saved plan or a
    journal); `located` and `manifests` place findings at their values in the manifests."""
    findings: list[Finding] = []
    granted = granted or {}
    for change in changes:
        if not writes_routing(change):
            continue
        route_mode = change.desired.get("route_mode")
        destinations = change.desired.get("destinations") or []
        if not isinstance(route_mode, str) or not isinstance(destinations, list):
            continue
        did = located.get(change.number) if located else None
        path, _, line = change.source.rpartition(":")
        locate = (lambda i, did=did: manifests.position(did, i)) if did and manifests else None
        findings += judge_did(change.number, route_mode, destinations, config, today,
                              granted.get(change.number, ()), locate=locate,
                              fallback=(path, int(line) if line.isdigit() else 1, 1))
    return findings


def granted_in_findings(entries: Iterable[object]) -> dict[str, list[Granted]]:
    """The exceptions a saved plan's `policy` findings recorded, by number."""
    out: dict[str, list[Granted]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("number"), str):
            continue
        grant = Granted.from_data(entry.get("exception"))
        if grant is not None:
            out.setdefault(entry["number"], []).append(grant)
    return out
