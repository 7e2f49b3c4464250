"""Test calls for the emulator: `POST /_account/calls` "places" an inbound call to a DID and
produces the `call.completed` webhook the seeds show, following the DID's live routing. It stands
in for the person who places real test calls after a routing change (SPEC §5a, our addition).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from mvconf.core.clock import utc_now
from mvconf.core.hosts import is_loopback

DEFAULT_CALLER = "+15551230001"


def call_event(record: dict, caller: str) -> dict[str, Any]:
    """The webhook body for one inbound call to the DID `record`, as its routing handles it."""
    mode = record.get("route_mode")
    if record.get("status") != "active":
        status, data = "failed", {"reason": f"DID is {record.get('status')}"}
    elif mode == "reject":
        status, data = "rejected", {}
    elif mode == "forward":
        status, data = "completed", {"forwarded_to": (record.get("destinations") or [None])[0]}
    elif mode == "sip":
        status, data = "completed", {"sip_uri": (record.get("destinations") or [None])[0]}
    else:
        status, data = "completed", {}
    return {
        "event": "call.completed",
        "created_at": utc_now(precise=True),
        "call": {
            "id": f"call_{secrets.token_hex(6)}",
            "customer_id": record.get("customer_id"),
            "application_id": record.get("application_id"),
            "status": status,
            "direction": "inbound",
            "from": caller,
            "to": record["number_e164"],
        },
        "variables": {},
        "data": data,
    }


def webhook_problem(url: object, remote_allowed: bool) -> str | None:
    """Why the emulator will not post to `url`: anyone who can reach the account setup could
    otherwise make it send requests anywhere. Loopback only, unless the emulator was started
    with --allow-remote-webhooks."""
    if not isinstance(url, str) or len(url) > 2048:
        return "'webhook_url' must be an http(s) URL"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "'webhook_url' must be an http(s) URL"
    if not remote_allowed and not is_loopback(parts.hostname):
        return ("'webhook_url' must be on this machine (loopback); start the emulator with "
                "--allow-remote-webhooks to post elsewhere")
    return None


async def deliver(url: str, event: dict) -> str | None:
    """POST the event to a webhook URL; why it failed, or None."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.post(url, json=event)
    except httpx.HTTPError as exc:
        return f"could not reach {url}: {type(exc).__name__}"
    if response.status_code >= 300:
        return f"{url} answered HTTP {response.status_code}"
    return None
