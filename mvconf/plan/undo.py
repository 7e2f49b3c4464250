"""Rollback planning: journal records of applied changes -> the plan that restores their
`before` values. Pure, and through the planner's own `classify` and `assemble`, so a rollback
is checked and carried out exactly like any other plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mvconf.core.errors import PlanError
from mvconf.core.facts import COMPARED, TAKES_DESTINATIONS
from mvconf.core.logs import holds_secret
from mvconf.core.phone import normal_destination
from mvconf.core.text import printable
from mvconf.manifest.values import desired_problem
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Change, Executor
from mvconf.plan.model import Plan
from mvconf.plan.planner import assemble, classify


def undo_change(record: dict, live: LiveDID | None, executor: Executor) -> Change:
    """The change that puts back what `record` (an applied or confirmed outcome) changed."""
    before, after = record.get("before"), record.get("after") or {}
    number, run = record["number"], record["run"]
    if before is None:
        raise PlanError(f"{number} was not in the account before ({run}); mvconf never "
                        "releases a DID, so there is nothing to roll back to")
    if live is None:
        raise PlanError(f"the rollback is stale: {number} is no longer in the account")
    if record.get("did_id") and live.id != record["did_id"]:
        raise PlanError(f"the rollback is stale: {number} is now {live.id}, not "
                        f"{printable(str(record['did_id']))} as run {printable(str(run))} "
                        "recorded")
    now = live.compared()
    names = [k for k in COMPARED if before.get(k) != after.get(k) and before.get(k) is not None]
    moved = [k for k in names if now.get(k) != after.get(k)]
    if moved:
        raise PlanError(f"the rollback is stale: {number} ({live.id}) no longer has the values "
                        f"the journal recorded after run {run} ({', '.join(moved)})")
    desired = _desired(before, names, live, number, run)
    # What a rollback writes comes from a file anyone with the journal can edit: it is held to
    # the rules a saved plan's values are (SPEC §11), and never holds the key.
    known = live.destinations is not None or "destinations" in names  # else left alone
    why = desired_problem(number, desired, destinations_known=known) or next(
        (f"before.{k} holds the API key or its mask" for k in names
         if _secret_like(before[k])), None)
    if why:
        raise PlanError(f"the journal's record of run {run} for {number} cannot be restored: "
                        f"{why}")
    return classify(number=number, source=f"journal run {run}", desired=desired, live=live,
                    executor=executor)


def _secret_like(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and (holds_secret(v) or "***" in v) for v in values)


def _desired(before: dict[str, Any], names: list[str], live: LiveDID,
             number: str = "", run: str = "") -> dict[str, Any]:
    """`before` for the fields the run changed; the live values for the others."""
    desired = {k: before[k] for k in names}
    if "route_mode" in names and "destinations" not in names and \
            before.get("destinations") is None:
        # The API did not show the destinations before the run: a route mode without any is
        # restored with none; one that needs them cannot be, as nobody saw them.
        if before["route_mode"] in TAKES_DESTINATIONS:
            raise PlanError(f"{number} cannot be restored to route_mode "
                            f"{before['route_mode']}: its destinations before run {run} were "
                            "not shown by the API, so nothing was rolled back. Set its route "
                            "mode and destinations by hand in the account setup")
        desired["destinations"] = []
    desired.setdefault("route_mode", live.route_mode)
    if live.status != "active":  # a rollback restores fields; it never asks for a status
        desired["status"] = live.status
    if "destinations" not in desired:
        desired["destinations"] = [normal_destination(d) for d in live.destinations or ()]
    return desired


def undo_plan(records: list[dict], live: Mapping[str, LiveDID | None], *, executor: Executor,
              api_url: str, created_at: str, environment: str | None = None) -> Plan:
    changes = [undo_change(r, live[r["number"]], executor) for r in records]
    return assemble(changes, executor=executor, api_url=api_url, created_at=created_at,
                    environment=environment)
