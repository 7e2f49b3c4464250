"""The planner: (desired DIDs, live lookups) -> Plan. Pure: no I/O, no clock, no randomness."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from mvconf import __version__
from mvconf.core.phone import normal_destination
from mvconf.manifest import DesiredDid
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Action, Change, Executor, FieldDiff
from mvconf.plan.model import Plan, PlanScope
from mvconf.plan.steps import steps_for

ACTIVE = "active"


def desired_fields(did: DesiredDid) -> dict[str, Any]:
    """The compared fields mvconf wants; application_id is absent when it is left as it is.

    One dict for every DID that wants the same (never changed once made: a plan's values are
    read, not edited): most DIDs of a plan want the same few things, and 100,000 copies held
    24 MB."""
    return _desired(did.application_id, did.route_mode, did.destinations, did.status)


@lru_cache(maxsize=4096)
def _desired(application_id: str | None, route_mode: str, destinations: tuple[str, ...],
             status: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"route_mode": route_mode, "destinations": list(destinations)}
    if application_id is not None:
        fields = {"application_id": application_id, **fields}
    if status != ACTIVE:  # only when not the default, so most plans read as before
        fields["status"] = status
    return fields


# The `fields` of every change with none (a change's values are read, never edited).
NO_FIELDS: dict[str, FieldDiff] = {}


def diff(desired: dict[str, Any], live: LiveDID) -> tuple[dict[str, FieldDiff], tuple[str, ...]]:
    """Fields that differ and desired fields the API did not let us see."""
    fields: dict[str, FieldDiff] = {}
    unverified: tuple[str, ...] = ()
    if "application_id" in desired and live.application_id != desired["application_id"]:
        fields["application_id"] = FieldDiff(live.application_id, desired["application_id"])
    if live.route_mode != desired["route_mode"]:
        fields["route_mode"] = FieldDiff(live.route_mode, desired["route_mode"])
    wanted = desired["destinations"]
    if live.destinations is None:
        if wanted:
            unverified = ("destinations",)
            if "route_mode" in fields:
                # Routing that changes is written whole: a PATCH sets absolute values, and a
                # DID switched to forward (or sip) must not route to destinations the API
                # hides, which nobody here saw or judged. From unknown (None) to the manifest's.
                fields["destinations"] = FieldDiff(None, wanted)
    elif [normal_destination(d) for d in live.destinations] != wanted:
        fields["destinations"] = FieldDiff(list(live.destinations), wanted)
    return fields or NO_FIELDS, unverified


def matches(desired: dict[str, Any], live: LiveDID | None) -> bool:
    """Whether the live DID is what `desired` wants: the expected status (active unless the
    manifest says otherwise), and no differing field."""
    return (live is not None and live.status == desired.get("status", ACTIVE)
            and not diff(desired, live)[0])


def with_steps(change: Change) -> Change:
    """A manual change carries its account-setup steps; any other carries none."""
    steps = steps_for(change) if change.executor == Executor.manual else ()
    return change.replace(steps=tuple(steps))


def classify(*, number: str, source: str, desired: dict[str, Any], live: LiveDID | None,
             executor: Executor, pin_id: str | None = None) -> Change:
    """The change that takes `live` to `desired`. The one rule both plans and rollbacks use."""
    common = {"number": number, "source": source, "desired": desired, "pin_id": pin_id}
    if live is None:
        return with_steps(Change(
            did_id=None, action=Action.missing, executor=Executor.manual, live=None,
            fields={k: FieldDiff(None, v) for k, v in desired.items()},
            message="the number is not in the account", **common))
    fields, unverified = diff(desired, live)
    base = dict(did_id=live.id, live=live.data(),
                live_etag=live.etag, fields=fields, unverified=unverified, **common)
    if pin_id and live.id != pin_id:
        return Change(action=Action.conflict, executor=None, **base,
                      message=f"the manifest pins {pin_id} but {number} is {live.id}")
    expected = desired.get("status", ACTIVE)
    if live.status != expected:  # SPEC §8: mvconf never changes a status; a person does
        base["fields"] = {**fields, "status": FieldDiff(live.status, expected)}
        return with_steps(Change(action=Action.blocked, executor=Executor.manual, **base,
                                 message=f"status is {live.status}, not {expected}"))
    if live.status != ACTIVE and fields:
        return with_steps(Change(action=Action.blocked, executor=Executor.manual, **base,
                                 message=f"status is {live.status}: it cannot be changed until "
                                 "it is active"))
    if not fields:
        return Change(action=Action.noop, executor=None, **base)
    return with_steps(Change(action=Action.update, executor=executor, **base))


def plan_change(did: DesiredDid, live: LiveDID | None, executor: Executor) -> Change:
    return classify(number=did.number, source=did.source, desired=desired_fields(did),
                    live=live, executor=Executor(executor), pin_id=did.pin_id)


def make_plan(
    desired: list[DesiredDid],
    live: Mapping[str, LiveDID | None],
    *,
    executor: Executor,
    api_url: str,
    created_at: str,
) -> Plan:
    return assemble([plan_change(did, live[did.number], executor) for did in desired],
                    executor=executor, api_url=api_url, created_at=created_at)


def assemble(changes: list[Change], *, executor: Executor, api_url: str,
             created_at: str, environment: str | None = None,
             app_names: dict[str, str] | None = None, scope: PlanScope | None = None) -> Plan:
    """The plan of these changes (from `plan_change`, in manifest order)."""
    return Plan(mvconf_version=__version__, api_url=api_url, environment=environment,
                created_at=created_at, executor=Executor(executor), scope=scope,
                changes=changes, app_names=app_names or {})


def retarget(plan: Plan, executor: Executor | None, keep: set[str]) -> Plan:
    """The plan for `--target` numbers only, its updates given to `executor` when one is named
    (a saved plan applied with `--executor`)."""
    changes = []
    for change in plan.changes:
        if change.number not in keep:
            continue
        if executor and change.action == Action.update and change.executor != executor:
            change = with_steps(change.replace(executor=Executor(executor)))
        changes.append(change)
    return plan.with_changes(changes)
