"""`mvconf import`: live DIDs -> manifest entries (SPEC §12). Decides; writes nothing.

Each live DID becomes an entry that `mvconf validate` accepts and `mvconf plan` shows as noop,
or, when the manifest format cannot express it validly (an unknown route mode, destinations the
API hides, a forward to itself...), a reason: the DID is then written only as a comment. Runs of
three or more consecutive numbers that agree on application, route mode, destinations and status
become one `range:` entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mvconf.core.facts import APP_ID, ROUTE_MODES, TAKES_DESTINATIONS
from mvconf.core.phone import e164_problem, invisible_problem, is_sip_uri, normal_destination
from mvconf.manifest.desired import DesiredDid
from mvconf.manifest.models import STATUS_PATTERN
from mvconf.manifest.resolve import forwarding_loops
from mvconf.minivoice.models import LiveDID
from mvconf.policy import Granted, PolicyConfig, judge_did

MIN_RUN = 3


@dataclass
class Entry:
    """One manifest entry: a number (with its DID id) or a range of numbers."""

    first: str
    last: str
    fields: dict[str, Any]  # application, route_mode, destinations, status (as written)
    did_ids: list[str] = field(default_factory=list)

    @property
    def is_range(self) -> bool:
        return self.first != self.last


STATUS = re.compile(STATUS_PATTERN)


def why_not(did: LiveDID) -> str | None:
    """Why this DID cannot be written as a valid manifest entry, or None."""
    number = did.number_e164
    if e164_problem(number):
        return f"its number {number!r} {e164_problem(number)}"
    if did.route_mode not in ROUTE_MODES:
        return f"route_mode {did.route_mode!r} is not one mvconf manages"
    if did.application_id is None and did.route_mode != "reject":
        return "it has no application"
    if did.application_id is not None and not APP_ID.match(did.application_id):
        return f"its application id {did.application_id!r} is not of the form app_…"
    if not STATUS.fullmatch(did.status):
        return f"its status {did.status!r} cannot be written"
    return _destinations_problem(did)


def policy_problem(did: LiveDID, config: PolicyConfig | None, today,
                   granted: tuple[Granted, ...] = ()) -> str | None:
    """Why this DID's live routing may not be written into a manifest: a routing-policy error
    (SPEC §15) that none of `granted` (the exceptions of the entry it would update) excuses.
    Written, it would make the manifests fail `validate`, and accept a toll-fraud re-route."""
    if config is None or did.route_mode not in TAKES_DESTINATIONS:
        return None
    destinations = [normal_destination(d) for d in did.destinations or ()]
    for finding in judge_did(did.number_e164, did.route_mode, destinations, config, today,
                             granted):
        if finding.level == "error" and finding.exception is None:
            return f"its live routing breaks the routing policy ({finding.rule}: " \
                   f"{finding.message})"
    return None


def forwarded(did: LiveDID) -> tuple[str, ...]:
    """Where a live DID forwards, in normal form (none unless its route mode is forward)."""
    if did.route_mode != "forward":
        return ()
    return tuple(normal_destination(d) for d in did.destinations or ())


def looping(dids: list[LiveDID]) -> dict[str, str]:
    """The DIDs to leave out so that no forwarding loop remains among `dids` (A -> B -> A):
    one per loop, with the reason. A manifest with a loop is not valid."""
    left: dict[str, str] = {}
    while True:
        kept = [DesiredDid(d.number_e164, d.application_id, d.route_mode, forwarded(d),
                           source=f"{d.number_e164}:1")
                for d in dids if d.number_e164 not in left and d.route_mode == "forward"]
        loops = forwarding_loops(kept)
        if not loops:
            return left
        for problem in loops:
            left[problem.path] = f"it is part of a forwarding loop ({problem.message})"


def _destinations_problem(did: LiveDID) -> str | None:
    wanted = list(did.destinations or [])
    if did.route_mode not in TAKES_DESTINATIONS:
        return (f"route_mode {did.route_mode} takes no destinations but it has "
                f"{len(wanted)}") if wanted else None
    if did.destinations is None:
        return "its destinations are not visible through the API"
    if not wanted:
        return f"route_mode {did.route_mode} needs destinations and it has none"
    seen = set()
    for value in wanted:
        problem = invisible_problem(value) or (
            None if did.route_mode != "sip" or is_sip_uri(value) else "is not a sip: URI") or (
            e164_problem(value) if did.route_mode == "forward" else None)
        if problem:
            return f"destination {ascii(value)} {problem}"
        if did.route_mode == "forward" and normal_destination(value) == did.number_e164:
            return "it forwards to its own number"
        if normal_destination(value) in seen:
            return f"destination {value} is listed twice"
        seen.add(normal_destination(value))
    return None


def fields_of(did: LiveDID, names: dict[str, str]) -> dict[str, Any]:
    """The entry's fields, with application ids written as their aliases where one exists."""
    values: dict[str, Any] = {}
    if did.application_id is not None:
        values["application"] = names.get(did.application_id, did.application_id)
    values["route_mode"] = did.route_mode
    if did.route_mode in TAKES_DESTINATIONS:
        values["destinations"] = [normal_destination(d) for d in did.destinations or []]
    if did.status != "active":
        values["status"] = did.status
    return values


def entries(dids: list[LiveDID], names: dict[str, str], ranges: bool = True) -> list[Entry]:
    """Entries for writable DIDs, in number order; runs of 3+ alike numbers as ranges."""
    ordered = sorted(dids, key=lambda d: (len(d.number_e164), d.number_e164))
    out: list[Entry] = []
    for did in ordered:
        values = fields_of(did, names)
        last = out[-1] if out else None
        if (ranges and last is not None and last.fields == values
                and _follows(last.last, did.number_e164)
                and not _forwards_into(values, last.first, did.number_e164)):
            last.last = did.number_e164
            last.did_ids.append(did.id)
            continue
        out.append(Entry(did.number_e164, did.number_e164, values, [did.id]))
    result: list[Entry] = []
    for entry in out:  # a run shorter than MIN_RUN is written number by number
        if entry.is_range and len(entry.did_ids) < MIN_RUN:
            for offset, did_id in enumerate(entry.did_ids):
                number = _plus(entry.first, offset)
                result.append(Entry(number, number, entry.fields, [did_id]))
        else:
            result.append(entry)
    return result


def _follows(previous: str, number: str) -> bool:
    return len(previous) == len(number) and int(number[1:]) == int(previous[1:]) + 1


def _plus(number: str, offset: int) -> str:
    return f"+{int(number[1:]) + offset:0{len(number) - 1}d}"


def _forwards_into(values: dict[str, Any], first: str, last: str) -> bool:
    """A forward to a number inside the run would be a forward to itself for that number."""
    for value in values.get("destinations", []):
        if len(value) == len(first) and value[1:].isdigit() and \
                int(first[1:]) <= int(value[1:]) <= int(last[1:]):
            return True
    return False
