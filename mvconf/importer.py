"""`mvconf import`: a valid, commented manifest written from live DIDs."""

from __future__ import annotations

import json

from mvconf.facts import ROUTE_MODES, TAKES_DESTINATIONS
from mvconf.minivoice.models import LiveDID


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def manifest_text(dids: list[LiveDID], api_url: str, created_at: str) -> tuple[str, list[str]]:
    """The manifest, and warnings for DIDs that could only be written as comments."""
    lines = [f"# Imported by `mvconf import` from {api_url} at {created_at}.",
             "# Review it, commit it, then `mvconf plan` should show only unchanged DIDs.",
             "version: 1", "dids:"]
    warnings: list[str] = []
    written = 0
    for did in dids:
        block, why = _did_block(did)
        if why:
            warnings.append(f"{did.number_e164} ({did.id}): {why}; written as a comment")
            lines.append(f"  # {did.number_e164} ({did.id}) not imported: {why}")
            lines += [f"  # {line}" for line in block]
            continue
        written += 1
        lines += [f"  {line}" for line in block]
    if not written:
        lines[-1] = "dids: []"
    return "\n".join(lines) + "\n", warnings


def _did_block(did: LiveDID) -> tuple[list[str], str | None]:
    block = [f"- number: {_q(did.number_e164)}"]
    block.append(f"  # status {did.status}, provider {did.provider}")
    if did.application_id:
        block.append(f"  application: {_q(did.application_id)}")
    block.append(f"  route_mode: {_q(did.route_mode)}")
    why = None
    if did.route_mode not in ROUTE_MODES:
        why = f"route_mode {did.route_mode!r} is not one mvconf manages"
    if did.destinations:
        block.append("  destinations:")
        block += [f"    - {_q(d)}" for d in did.destinations]
    elif did.route_mode in TAKES_DESTINATIONS:
        why = why or "its destinations are not visible through the API"
    if not did.application_id and did.route_mode != "reject":
        why = why or "it has no application"
    block.append(f"  id: {_q(did.id)}  # pinned: plan reports a conflict if the number moves")
    return block, why
