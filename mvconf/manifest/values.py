"""The rules for one DID's values, shared by manifests and saved plans: a saved plan edited
by hand (and its checksum recomputed) is held to the same rules as the manifests it came from."""

from __future__ import annotations

import re
from typing import Any

from mvconf.core.facts import APP_ID, COMPARED, ROUTE_MODES, TAKES_DESTINATIONS, RouteMode
from mvconf.core.phone import e164_problem, invisible_problem, is_sip_uri, normal_destination
from mvconf.manifest.models import STATUS_PATTERN
from mvconf.manifest.ranges import NumberRange

STATUS = re.compile(STATUS_PATTERN.replace("$", r"\Z"))
WRITTEN = (*COMPARED, "status")  # what a plan may want; mvconf writes COMPARED only


def destination_problem(
    value: str, route_mode: RouteMode, own_number: str, strict: bool,
    span: NumberRange | None = None,
) -> str | None:
    hidden = invisible_problem(value)
    if hidden:
        return f"destination {ascii(value)} {hidden}"
    if route_mode == RouteMode.sip:
        if not is_sip_uri(value):
            return f"destination {value!r} must be a sip: or sips: URI for route_mode sip"
        return None
    problem = e164_problem(value, strict)
    if problem:
        return f"destination {value!r} {problem}"
    if value == own_number or (span is not None and value in span):
        return f"destination {value} is the DID's own number; a DID may not forward to itself"
    return None


def desired_problem(number: Any, desired: Any, destinations_known: bool = True) -> str | None:
    """Why a DID's desired values (a saved plan's `desired`) break the manifests' rules, or
    None: an E.164 number, an application id, a route mode, destinations of the right kind
    (none for webhook and reject), nothing but the fields mvconf manages. Without
    `destinations_known` (a rollback that leaves destinations the API hides alone), no
    destinations are not a problem."""
    if not isinstance(number, str):
        return "number must be a string"
    why = e164_problem(number)
    if why:
        return f"number {ascii(number)} {why}"
    if not isinstance(desired, dict):
        return "desired must be a mapping"
    unknown = sorted(set(desired) - set(WRITTEN))
    if unknown:
        return f"desired.{unknown[0]} is not a field mvconf manages ({', '.join(COMPARED)})"
    app = desired.get("application_id")
    if app is not None and (not isinstance(app, str) or not APP_ID.match(app)):
        return f"desired.application_id {app!r} is not an application id like app_123"
    mode = desired.get("route_mode")
    if mode not in ROUTE_MODES:
        return f"desired.route_mode {mode!r} is not one of {', '.join(ROUTE_MODES)}"
    status = desired.get("status", "active")
    if not isinstance(status, str) or not STATUS.match(status):
        return f"desired.status {status!r} is not a status"
    values = desired.get("destinations", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return "desired.destinations must be a list of strings"
    if not destinations_known and not values:
        return None  # the API hides them and nothing writes them: nothing to judge
    if mode not in TAKES_DESTINATIONS:
        return f"route_mode {mode} takes no destinations" if values else None
    if not values:
        return f"route_mode {mode} needs at least one destination"
    for value in values:
        why = destination_problem(value, RouteMode(mode), number, False)
        if why:
            return why
        if normal_destination(value) != value:
            return f"destination {value!r} is not in its normal form {normal_destination(value)}"
    if len(set(values)) != len(values):
        return "a destination is listed twice"
    return None


def change_problem(number: Any, desired: Any, fields: dict[str, Any]) -> str | None:
    """`desired_problem`, and a change's `fields` only of managed fields, each going to its
    desired value (a `to` edited apart from `desired` is not what was reviewed)."""
    why = desired_problem(number, desired)
    if why:
        return why
    for name, diff in fields.items():
        if name not in WRITTEN:
            return f"fields.{name} is not a field mvconf manages ({', '.join(COMPARED)})"
        wanted = desired.get(name, "active" if name == "status" else None)
        if diff.new != wanted:
            return f"fields.{name} goes to {diff.new!r} but desired.{name} is {wanted!r}"
    return None
