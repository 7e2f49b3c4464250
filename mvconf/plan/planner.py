"""The planner: (desired DIDs, live lookups) -> Plan. Pure: no I/O, no clock, no randomness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mvconf import __version__
from mvconf.manifest.resolve import DesiredDid
from mvconf.minivoice.models import LiveDID
from mvconf.numbers import normal_destination
from mvconf.plan.model import Action, Change, Plan, summarize
from mvconf.plan.safety import assess
from mvconf.plan.steps import steps_for


def desired_fields(did: DesiredDid) -> dict[str, Any]:
    """The compared fields mvconf wants; application_id is absent when it is left as it is."""
    fields: dict[str, Any] = {"route_mode": did.route_mode, "destinations": list(did.destinations)}
    if did.application_id is not None:
        fields = {"application_id": did.application_id, **fields}
    return fields


def diff(desired: dict[str, Any], live: LiveDID) -> tuple[dict[str, dict], list[str]]:
    """Fields that differ ({name: {from, to}}) and desired fields the API did not let us see."""
    fields: dict[str, dict] = {}
    unverified: list[str] = []
    if "application_id" in desired and live.application_id != desired["application_id"]:
        fields["application_id"] = {"from": live.application_id, "to": desired["application_id"]}
    if live.route_mode != desired["route_mode"]:
        fields["route_mode"] = {"from": live.route_mode, "to": desired["route_mode"]}
    wanted = desired["destinations"]
    if live.destinations is None:
        if wanted:
            unverified.append("destinations")
    elif [normal_destination(d) for d in live.destinations] != wanted:
        fields["destinations"] = {"from": list(live.destinations), "to": wanted}
    return fields, unverified


def plan_change(did: DesiredDid, live: LiveDID | None, executor: str) -> Change:
    desired = desired_fields(did)
    common = {"number": did.number, "source": did.source, "desired": desired, "pin_id": did.pin_id}
    if live is None:
        change = Change(did_id=None, action=Action.missing, executor="manual", live=None,
                        fields={k: {"from": None, "to": v} for k, v in desired.items()},
                        message="the number is not in the account", **common)
        return change.replace(steps=steps_for(change))
    fields, unverified = diff(desired, live)
    base = dict(did_id=live.id, live=live.model_dump(mode="json", exclude_unset=True),
                fields=fields, unverified=unverified, **common)
    if did.pin_id and live.id != did.pin_id:
        return Change(action=Action.conflict, executor=None, **base,
                      message=f"the manifest pins {did.pin_id} but {did.number} is {live.id}")
    if live.status != "active":
        change = Change(action=Action.blocked, executor="manual", **base,
                        message=f"status is {live.status}, not active")
        return change.replace(steps=steps_for(change))
    if not fields:
        return Change(action=Action.noop, executor=None, **base)
    change = Change(action=Action.update, executor=executor, **base)
    if executor == "manual":
        change = change.replace(steps=steps_for(change))
    return change


def make_plan(
    desired: list[DesiredDid],
    live: Mapping[str, LiveDID | None],
    *,
    executor: str,
    api_url: str,
    created_at: str,
) -> Plan:
    return assemble([plan_change(did, live[did.number], executor) for did in desired],
                    executor=executor, api_url=api_url, created_at=created_at)


def assemble(changes: list[Change], *, executor: str, api_url: str, created_at: str) -> Plan:
    """The plan of these changes (from `plan_change`, in manifest order)."""
    return Plan(mvconf_version=__version__, api_url=api_url, created_at=created_at,
                executor=executor, summary=summarize(changes), safety=assess(changes),
                changes=changes)
