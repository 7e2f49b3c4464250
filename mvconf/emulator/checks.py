"""What the emulator accepts in a DID, through the API (PATCH) and the account setup
(`/_account/`): the same types and rules either way, so the state file stays loadable."""

from __future__ import annotations

import re
from typing import Any

from mvconf.core.facts import APP_ID, E164_SHAPE, ROUTE_MODES
from mvconf.emulator.replies import Reply, error

PATCHABLE = frozenset({"application_id", "route_mode", "destinations"})
ACCOUNT_PATCHABLE = PATCHABLE | {"status"}
PUTTABLE = ACCOUNT_PATCHABLE | {"id", "customer_id", "number_e164", "provider", "created_at",
                                "updated_at"}
STATUSES = ("active", "inactive", "suspended", "pending")
DID_ID = re.compile(r"^did_[A-Za-z0-9_-]{1,64}$")
TEXT = re.compile(r"^[\x21-\x7e]{1,128}$")  # ids, providers, timestamps: printable ASCII
MAX_DESTINATIONS, MAX_DESTINATION = 50, 512
DESTINATION_PATTERN = f"^[^\\x00-\\x1f\\x7f-\\x9f]{{1,{MAX_DESTINATION}}}$"
DESTINATION = re.compile(DESTINATION_PATTERN)


def _destinations_problem(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_DESTINATIONS:
        return f"destinations must be a list of at most {MAX_DESTINATIONS} strings"
    for item in value:
        if not isinstance(item, str) or not DESTINATION.match(item):
            return (f"each destination must be a string of 1 to {MAX_DESTINATION} characters "
                    "without control characters")
    return None


def field_problem(name: str, value: Any, customers: frozenset[str] = frozenset()) -> str | None:
    if name == "route_mode":
        return None if value in ROUTE_MODES else \
            f"route_mode must be one of {', '.join(sorted(ROUTE_MODES))}"
    if name == "application_id":
        return None if isinstance(value, str) and APP_ID.match(value) and len(value) <= 128 \
            else "application_id must be an application id such as app_123"
    if name == "destinations":
        return _destinations_problem(value)
    if name == "status":
        return None if value in STATUSES else f"status must be {', '.join(STATUSES)}"
    if name == "id":
        return None if isinstance(value, str) and DID_ID.match(value) else \
            "id must be a DID id such as did_123"
    if name == "customer_id":
        return None if isinstance(value, str) and value in customers else \
            "customer_id must be a customer of one of the state file's API keys"
    if name == "number_e164":
        return None if isinstance(value, str) and E164_SHAPE.match(value) else \
            "number_e164 must be an E.164 number such as +15551230002"
    return None if isinstance(value, str) and TEXT.match(value) else \
        f"{name} must be printable text"


def changes(body: dict, allowed: frozenset[str],
            customers: frozenset[str] = frozenset()) -> dict | Reply:
    """`body` when every field is allowed and well-formed, else the 400 answer."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        shown = ", ".join(repr(name)[:40] for name in unknown[:5])
        return error(400, "invalid_request", f"Unknown field(s): {shown}")
    for name, value in body.items():
        problem = field_problem(name, value, customers)
        if problem:
            return error(400, "invalid_request", problem)
    return body
