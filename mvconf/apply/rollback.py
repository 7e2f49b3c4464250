"""Rollback: the journal's `before` values as a plan that goes through the normal applier."""

from __future__ import annotations

import asyncio

from mvconf import __version__
from mvconf.apply.journal import CHANGED, read_journal
from mvconf.errors import InputError, PlanError
from mvconf.minivoice.client import read_many
from mvconf.minivoice.connect import Target, open_client
from mvconf.minivoice.models import COMPARED, LiveDID
from mvconf.plan.model import Action, Change, Plan, summarize
from mvconf.plan.safety import assess
from mvconf.plan.steps import steps_for


def changed_records(path: str, last: int | None) -> list[dict]:
    """The applied or confirmed outcomes to undo: the last N, or those of the last run that
    changed anything; one per DID (its latest), newest first."""
    records, _ = read_journal(path)
    done = [r for r in records if r.get("phase") == "outcome" and r.get("outcome") in CHANGED]
    if not done:
        raise InputError(f"the journal {path} records no applied or confirmed change to roll back")
    if last is None:
        run = done[-1]["run"]
        chosen = [r for r in done if r["run"] == run]
    else:
        chosen = done[-last:]
    latest: dict[str, dict] = {}
    for record in reversed(chosen):
        latest.setdefault(record["number"], record)
    return list(latest.values())


def _undo(record: dict, live: LiveDID | None, executor: str) -> Change:
    before, after = record.get("before"), record.get("after") or {}
    number = record["number"]
    if before is None:
        raise PlanError(f"{number} was not in the account before ({record['run']}); mvconf never "
                        "releases a DID, so there is nothing to roll back to")
    if live is None:
        raise PlanError(f"the rollback is stale: {number} is no longer in the account")
    now = live.compared()
    names = [k for k in COMPARED if before.get(k) != after.get(k) and before.get(k) is not None]
    moved = [k for k in names if now.get(k) != after.get(k)]
    if moved:
        raise PlanError(f"the rollback is stale: {number} ({live.id}) no longer has the values "
                        f"the journal recorded after run {record['run']} ({', '.join(moved)})")
    fields = {k: {"from": now.get(k), "to": before[k]} for k in names}
    desired = {k: before[k] for k in names}
    desired.setdefault("route_mode", live.route_mode)
    desired.setdefault("destinations", now["destinations"] if now["destinations"] is not None
                       else [])
    action = Action.update if fields else Action.noop
    change = Change(number=number, did_id=live.id, action=action,
                    executor=executor if fields else None,
                    source=f"journal run {record['run']}", fields=fields, desired=desired,
                    live=live.model_dump(mode="json", exclude_unset=True))
    if executor == "manual" and fields:
        change = change.replace(steps=steps_for(change))
    return change


def rollback_plan(path: str, last: int | None, executor: str, target: Target, created_at: str,
                  parallelism: int) -> Plan:
    records = changed_records(path, last)

    async def read() -> dict[str, LiveDID | None]:
        async with open_client(target, parallelism) as client:
            return await read_many(client, [r["number"] for r in records], parallelism)

    live = asyncio.run(read())
    changes = [_undo(r, live[r["number"]], executor) for r in records]
    return Plan(mvconf_version=__version__, api_url=target.label, created_at=created_at,
                executor=executor, summary=summarize(changes), safety=assess(changes),
                changes=changes)
