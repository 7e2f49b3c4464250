"""The emulator's behaviour, free of any web framework (SPEC §2, §7).

Documented: GET /v1/dids/{id}, GET /v1/dids/by-number/{e164}, the error envelope, 401 and 404.
Ours: PATCH /v1/dids/{id}, 405 for read-only accounts, 429 and 503 from fault injection, and the
/_account/ routes that stand in for the person using the MiniVoice account setup.

`EmulatorApi.handle` takes a request as plain values and returns a `Reply`. The HTTP server
(`app.py`) and the in-process connection used by `--emulator` (`inprocess.py`) both call it, so
both behave the same; the in-process one just skips HTTP.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mvconf.emulator.faults import Faults
from mvconf.emulator.store import Store
from mvconf.facts import APP_ID, ROUTE_MODES
from mvconf.hosts import is_loopback

PATCHABLE = {"application_id", "route_mode", "destinations"}
ACCOUNT_PATCHABLE = PATCHABLE | {"status"}
MAX_BODY = 64 * 1024
JSON_HEADERS = {"content-type": "application/json"}

_BY_NUMBER = re.compile(r"^/v1/dids/by-number/([^/]+)$")
_BY_ID = re.compile(r"^/v1/dids/([^/]+)$")
_ACCOUNT_DID = re.compile(r"^/_account/dids/([^/]+)$")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer as plain values; `body` is JSON text."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: JSON_HEADERS)
    dropped: bool = False  # the connection is closed instead of answering (--drop-rate)


def ok(record: Any, headers: Mapping[str, str] | None = None) -> Reply:
    body = json.dumps(record, separators=(",", ":")).encode()
    return Reply(200, body, {**JSON_HEADERS, **headers} if headers else JSON_HEADERS)


def etag(record: dict) -> str:
    """Ours (SPEC §10): a DID's version. Every write moves updated_at strictly on (SPEC §7),
    so it identifies the version without hashing the record."""
    return f'"{record.get("updated_at")}"'


def did_reply(record: dict) -> Reply:
    return ok(record, {"etag": etag(record)})


def error(status: int, code: str, message: str, headers: dict | None = None) -> Reply:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Reply(status, body, {**JSON_HEADERS, **(headers or {})})


NOT_FOUND = ("not_found", "DID not found")


def _json_body(raw: bytes) -> dict | Reply:
    if len(raw) > MAX_BODY:
        return error(413, "payload_too_large", "Request body is too large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid_request", "Request body must be a JSON object")
    if not isinstance(body, dict):
        return error(400, "invalid_request", "Request body must be a JSON object")
    return body


def _field_problem(name: str, value: Any) -> str | None:
    if name == "route_mode" and value not in ROUTE_MODES:
        return f"route_mode must be one of {', '.join(sorted(ROUTE_MODES))}"
    if name == "application_id" and not (isinstance(value, str) and APP_ID.match(value)):
        return "application_id must be an application id such as app_123"
    if name == "destinations" and not (
        isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    ):
        return "destinations must be a list of strings"
    if name == "status" and value not in ("active", "inactive", "suspended", "pending"):
        return "status must be active, inactive, suspended or pending"
    return None


def _changes(body: dict, allowed: set[str]) -> dict | Reply:
    unknown = sorted(set(body) - allowed)
    if unknown:
        return error(400, "invalid_request", f"Unknown field(s): {', '.join(unknown)}")
    for name, value in body.items():
        problem = _field_problem(name, value)
        if problem:
            return error(400, "invalid_request", problem)
    return body


class EmulatorApi:
    """One account's API, over a Store, with optional faults and a read-only switch."""

    def __init__(self, store: Store, faults: Faults | None = None, read_only: bool = False):
        self.store = store
        self.faults = faults or Faults()
        self.read_only = read_only

    async def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes,
                     client_host: str | None) -> Reply:
        """`path` is already percent-decoded; `headers` has lower-case names."""
        if path.startswith("/v1/"):
            reply = await self._api(method, path, headers, body)
            if self.faults.should_drop():  # carried out, but the answer never arrives
                return dataclasses.replace(reply, dropped=True)
            return reply
        if path in ("/_account/dids", "/_account/calls") or _ACCOUNT_DID.match(path):
            if not is_loopback(client_host):
                return error(403, "forbidden", "The account setup is served to loopback only")
            return await self._account(method, path, body)
        return error(404, "not_found", "Not found")

    async def _gate(self, headers: Mapping[str, str]) -> str | Reply:
        """Faults first (they act before anything is done), then the API key."""
        faults = self.faults
        await faults.delay()
        wait = faults.rate_limited()
        if wait is not None:
            return error(429, "rate_limited", "Too many requests", {"retry-after": str(wait)})
        if faults.should_fail():
            return error(503, "service_unavailable", "Service temporarily unavailable")
        auth = headers.get("authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        customer = self.store.customer_of(key)
        if customer is None:
            return error(401, "unauthorized", "Invalid or missing API key")
        return customer

    async def _api(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        customer = await self._gate(headers)
        if isinstance(customer, Reply):
            return customer
        store = self.store
        match = _BY_NUMBER.match(path)
        if match and method == "GET":
            return self._visible(store.find_number(match.group(1)), customer)
        match = _BY_ID.match(path)
        if match and method == "GET":
            return self._visible(store.dids.get(match.group(1)), customer)
        if match and method == "PATCH":
            return await self._patch(match.group(1), customer, body, headers.get("if-match"))
        return error(404, "not_found", "Not found")

    @staticmethod
    def _visible(record: dict | None, customer: str) -> Reply:
        if record is None or record.get("customer_id") != customer:
            return error(404, *NOT_FOUND)
        return did_reply(record)

    async def _patch(self, did_id: str, customer: str, raw: bytes,
                     if_match: str | None) -> Reply:
        record = self.store.dids.get(did_id)
        if record is None or record.get("customer_id") != customer:
            return error(404, *NOT_FOUND)
        if if_match is not None and if_match.strip() not in ("*", etag(record)):
            return error(412, "precondition_failed",
                         "The DID has changed since it was read (If-Match does not match)")
        if self.read_only:
            return error(405, "method_not_allowed", "API writes are not enabled for this account")
        refusal = self.store.write_errors.get(record["id"])
        if refusal:  # fault injection from the state file: this DID refuses API writes
            return error(int(refusal.get("status", 403)), str(refusal.get("code", "forbidden")),
                         str(refusal.get("message", "This DID cannot be changed")))
        body = _json_body(raw)
        if isinstance(body, Reply):
            return body
        changes = _changes(body, PATCHABLE)
        if isinstance(changes, Reply):
            return changes
        return await self._saved(self.store.update(record, changes))

    async def _account(self, method: str, path: str, raw: bytes) -> Reply:
        store = self.store
        if path == "/_account/calls":
            if method != "POST":
                return error(405, "method_not_allowed", f"{method} is not allowed here")
            return await self._call(raw)
        if path == "/_account/dids":
            if method != "GET":
                return error(405, "method_not_allowed", f"{method} is not allowed here")
            return ok({"dids": list(store.dids.values())})
        number = path.rsplit("/", 1)[1]
        if method == "GET":
            record = store.find_number(number)
            return ok(record) if record else error(404, *NOT_FOUND)
        if method not in ("PUT", "PATCH"):
            return error(405, "method_not_allowed", f"{method} is not allowed here")
        body = _json_body(raw)
        if isinstance(body, Reply):
            return body
        if method == "PUT":
            checked = _changes({k: v for k, v in body.items() if k in ACCOUNT_PATCHABLE},
                               ACCOUNT_PATCHABLE)
            if isinstance(checked, Reply):
                return checked
            return await self._saved(store.put(number, body))
        record = store.find_number(number)
        if record is None:
            return error(404, *NOT_FOUND)
        changes = _changes(body, ACCOUNT_PATCHABLE)
        if isinstance(changes, Reply):
            return changes
        return await self._saved(store.update(record, changes))

    async def _call(self, raw: bytes) -> Reply:
        """Place a test call: {"to": E164, "from"?: E164, "webhook_url"?: URL}."""
        from mvconf.emulator.calls import DEFAULT_CALLER, call_event, deliver

        body = _json_body(raw)
        if isinstance(body, Reply):
            return body
        to, caller, url = body.get("to"), body.get("from", DEFAULT_CALLER), body.get("webhook_url")
        if not isinstance(to, str) or not isinstance(caller, str):
            return error(400, "invalid_request", "'to' (and 'from', if given) must be numbers")
        if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            return error(400, "invalid_request", "'webhook_url' must be an http(s) URL")
        record = self.store.find_number(to)
        if record is None:
            return error(404, *NOT_FOUND)
        event = call_event(record, caller)
        problem = await deliver(url, event) if url else None
        if problem:
            return error(502, "webhook_failed", f"the call was placed but {problem}")
        return Reply(201, ok(event).body)

    async def _saved(self, record: dict) -> Reply:
        """Answer a write only once it is on disk."""
        await self.store.commit()
        return did_reply(record)
