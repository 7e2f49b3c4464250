"""The desired state at two points in time, compared (SPEC §12, `mvconf diff`). Pure.

DIDs are matched by number: added, removed (no longer managed), and changed, with each changed
field from and to. Only DIDs whose fields differ reach deepdiff, which names the fields that
changed (deep, so a reordered destination list counts); the others cost one comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deepdiff import DeepDiff

from mvconf.manifest.desired import DesiredDid

FIELDS = ("application_id", "route_mode", "destinations", "status", "description")


def fields_of(did: DesiredDid) -> dict[str, Any]:
    values = {name: getattr(did, name) for name in FIELDS}
    values["destinations"] = list(did.destinations)
    return values


@dataclass
class DesiredDiff:
    added: list[DesiredDid] = field(default_factory=list)
    removed: list[DesiredDid] = field(default_factory=list)
    changed: list[tuple[DesiredDid, dict[str, dict[str, Any]]]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed),
                "changed": len(self.changed)}

    def to_data(self, base: str) -> dict[str, Any]:
        def entry(did: DesiredDid) -> dict[str, Any]:
            return {"number": did.number, "source": did.source, **fields_of(did)}

        return {"base": base, "summary": self.summary(),
                "added": [entry(d) for d in self.added],
                "removed": [entry(d) for d in self.removed],
                "changed": [{"number": d.number, "source": d.source, "fields": f}
                            for d, f in self.changed]}


def compare(old: list[DesiredDid], new: list[DesiredDid]) -> DesiredDiff:
    result = DesiredDiff()
    before = {d.number: d for d in old}
    now = {d.number for d in new}
    for did in new:
        previous = before.get(did.number)
        if previous is None:
            result.added.append(did)
            continue
        was, wants = fields_of(previous), fields_of(did)
        if was == wants:
            continue
        names = DeepDiff(was, wants).affected_root_keys
        result.changed.append((did, {name: {"from": was[name], "to": wants[name]}
                                     for name in FIELDS if name in names}))
    result.removed = [d for d in old if d.number not in now]
    return result


def _state(did: DesiredDid) -> tuple[Any, ...]:
    """Everything a DID's plan depends on: its resolved fields, expected status and pinned id.
    Not its source (a line that moved changes nothing) nor its description (never compared
    with the account, SPEC §1)."""
    return (did.application_id, did.route_mode, did.destinations, did.pin_id, did.status)


def differing(old: list[DesiredDid], new: list[DesiredDid]) -> list[DesiredDid]:
    """The DIDs of `new` whose resolved desired state differs from `old`'s, or that `old` does
    not manage, in `new`'s order (SPEC §16 `--changed-since`)."""
    before = {d.number: _state(d) for d in old}
    missing = object()
    return [d for d in new if before.get(d.number, missing) != _state(d)]
