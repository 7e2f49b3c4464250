"""Refusing stale plans: re-read every DID a plan would change and compare with what it recorded."""

from __future__ import annotations

from mvconf.core.errors import PlanError
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Change

TRACKED = ("application_id", "route_mode", "destinations", "updated_at", "id", "status")


def why_stale(change: Change, now: LiveDID | None) -> str | None:
    if change.live is None:
        return "now exists in the account" if now is not None else None
    if now is None:
        return "is no longer in the account"
    if change.did_id is not None and now.id != change.did_id:
        return f"is {now.id} in the account, not {change.did_id} as the plan says"
    current = now.data()
    moved = [k for k in TRACKED if current.get(k) != change.live.get(k)]
    return f"changed since planning ({', '.join(moved)})" if moved else None


async def check_stale(client: MiniVoiceClient, changes: list[Change],
                      parallelism: int) -> dict[str, LiveDID | None]:
    """Fresh live state of `changes`; PlanError naming every DID that moved since the plan."""
    fresh = await read_many(client, [c.number for c in changes], parallelism)
    stale = []
    for change in changes:
        reason = why_stale(change, fresh[change.number])
        if reason:
            stale.append(f"{change.label} {reason}")
    if stale:
        raise PlanError("the plan is stale, nothing was changed: " + "; ".join(stale)
                        + ". Plan again and review the new plan.")
    return fresh
