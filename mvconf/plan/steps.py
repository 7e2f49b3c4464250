"""Account-setup instructions a person follows for a change mvconf cannot make through the API."""

from __future__ import annotations

from typing import Any

from mvconf.plan.change import Action, Change

SETUP = "the MiniVoice account setup"
STEP_FIELDS = ("application_id", "route_mode", "destinations")


def show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(value) if value else "none"
    return str(value)


def _field_step(change: Change, field: str, target: Any, current: Any, known: bool) -> str:
    name = change.label
    now = f" (currently {show(current)})" if known else ""
    if field == "application_id":
        return f"Assign DID {name} to application {target}{now}."
    if field == "route_mode":
        return f"Set the route mode of DID {name} to {target}{now}."
    if field == "status":
        return f"Set the status of DID {name} to {target}{now}."
    return f"Set the destinations of DID {name} to {show(target)}, in this order{now}."


def steps_for(change: Change) -> list[str]:
    """The ordered steps that make `change` by hand."""
    if change.action == Action.missing:
        steps = [f"In {SETUP}, acquire the number {change.number} or assign it to this account "
                 "(it is not in the account now)."]
        for field in STEP_FIELDS:
            if field in change.desired and change.desired[field] != []:
                steps.append(_field_step(change, field, change.desired[field], None, False))
        return steps
    name = change.label
    steps = [f"Open {SETUP} and find DID {name}."]
    status = (change.live or {}).get("status")
    expected = change.desired.get("status", "active")
    held = change.action == Action.blocked and "status" not in change.fields
    if held:  # expected not active, and fields to change: only an active DID can be changed
        steps.append(f"DID {name} has status {status}: make it active in {SETUP} first.")
    elif change.action == Action.blocked and expected == "active":
        steps.append(f"DID {name} has status {status}, not active: make it active in {SETUP} "
                     "(or ask MiniVoice support why it is not).")
    for field in STEP_FIELDS:
        if field in change.fields:
            diff = change.fields[field]
            steps.append(_field_step(change, field, diff.new, diff.old,
                                     not change.hidden_before(field)))
    if "status" in change.fields and expected != "active":
        steps.append(_field_step(change, "status", expected, status, True))
    if held:
        steps.append(f"Set the status of DID {name} back to {status}.")
    steps.append(f"Save DID {name}; then `mvconf plan` shows it unchanged.")
    return steps
