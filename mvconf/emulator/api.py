"""The emulator's behaviour, free of any web framework (SPEC §2, §7, §10, §13).

Documented: GET /v1/dids/{id}, GET /v1/dids/by-number/{e164}, the error envelope, 401 and 404.
Ours: PATCH /v1/dids/{id} with ETag/If-Match, 405 for read-only accounts, 429 and 503 from fault
injection, the OpenAPI description at /openapi.json, and the /_account/ routes (account.py)
that stand in for the person using the MiniVoice account setup.

`EmulatorApi.handle` takes a request as plain values and returns a `Reply`. The HTTP server
(`app.py`) and the in-process connection used by `--emulator` (`inprocess.py`) both call it, so
both behave the same; the in-process one just skips HTTP. Every answer under /v1/ is JSON, errors
in the documented envelope, unknown paths and methods included; the key is checked before a
body is read.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Mapping

from mvconf.emulator.account import AccountSetup
from mvconf.emulator.checks import PATCHABLE, changes
from mvconf.emulator.faults import Faults
from mvconf.emulator.replies import (
    NOT_FOUND,
    BodySource,
    Reply,
    did_reply,
    error,
    etag,
    not_allowed,
    read_object,
    saved,
)
from mvconf.emulator.store import Store

_BY_NUMBER = re.compile(r"^/v1/dids/by-number/([^/]+)$")
_BY_ID = re.compile(r"^/v1/dids/([^/]+)$")
ALLOWED = {_BY_NUMBER: ("GET",), _BY_ID: ("GET", "PATCH")}


class EmulatorApi:
    """One account's API, over a Store, with optional faults and a read-only switch."""

    def __init__(self, store: Store, faults: Faults | None = None, read_only: bool = False,
                 remote_webhooks: bool = False):
        self.store = store
        self.faults = faults or Faults()
        self.read_only = read_only
        self.account = AccountSetup(store, remote_webhooks)

    async def handle(self, method: str, path: str, headers: Mapping[str, str],
                     body: BodySource, client_host: str | None,
                     arrived: float | None = None) -> Reply:
        """`path` is already percent-decoded; `headers` has lower-case names; `arrived` is
        when the request's first byte came in (time.monotonic()), by default now."""
        self.store.refresh()
        if path.startswith("/v1/"):
            if arrived is None:
                arrived = self.faults.arrived()
            reply = await self._api(method, path, headers, body, arrived)
            if self.faults.latency_ms:  # how late it left is learnt by the server (app.py)
                await self.faults.answer(arrived)
            if self.faults.should_drop():  # carried out, but the answer never arrives
                return dataclasses.replace(reply, dropped=True)
            return reply
        if path == "/openapi.json":
            from mvconf.emulator.openapi import openapi_reply

            return openapi_reply() if method == "GET" else not_allowed(method, ("GET",))
        if path.startswith("/_account/"):
            return await self.account.handle(method, path, body, client_host)
        return error(404, "not_found", "Not found")

    def customer(self, headers: Mapping[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        if auth[:7].lower() != "bearer ":
            return None
        return self.store.customer_of(auth[7:].strip())

    async def _gate(self, headers: Mapping[str, str], arrived: float) -> str | Reply:
        """Faults first (they act before anything is done, once the request has reached the
        account), then the API key."""
        faults = self.faults
        if faults.latency_ms:
            await faults.reach(arrived)
        wait = faults.rate_limited()
        if wait is not None:
            return error(429, "rate_limited", "Too many requests", {"retry-after": f"{wait:g}"})
        if faults.should_fail():
            return error(503, "service_unavailable", "Service temporarily unavailable")
        customer = self.customer(headers)
        if customer is None:
            return error(401, "unauthorized", "Invalid or missing API key")
        return customer

    async def _api(self, method: str, path: str, headers: Mapping[str, str],
                   body: BodySource, arrived: float) -> Reply:
        pattern, match = _BY_NUMBER, _BY_NUMBER.match(path)
        if match is None:
            pattern, match = _BY_ID, _BY_ID.match(path)
            if match is None:
                return error(404, "not_found", "Not found")
        allowed = ALLOWED[pattern]
        if method not in allowed:
            return not_allowed(method, allowed)
        customer = await self._gate(headers, arrived)
        if isinstance(customer, Reply):
            return customer
        if pattern is _BY_NUMBER:
            return self._visible(self.store.find_number(match.group(1)), customer)
        if method == "GET":
            return self._visible(self.store.dids.get(match.group(1)), customer)
        return await self._patch(match.group(1), customer, body, headers.get("if-match"))

    @staticmethod
    def _visible(record: dict | None, customer: str) -> Reply:
        if record is None or not secrets.compare_digest(
                str(record.get("customer_id")).encode(), customer.encode()):
            return error(404, *NOT_FOUND)
        return did_reply(record)

    async def _patch(self, did_id: str, customer: str, source: BodySource,
                     if_match: str | None) -> Reply:
        record = self.store.dids.get(did_id)
        if record is None or record.get("customer_id") != customer:
            return error(404, *NOT_FOUND)
        body = await read_object(source)
        if isinstance(body, Reply):
            return body
        checked = changes(body, PATCHABLE)
        if isinstance(checked, Reply):
            return checked
        if if_match and if_match.strip() not in ("*", etag(record)):
            return error(412, "precondition_failed",
                         "The DID has changed since it was read (If-Match does not match)")
        if self.read_only:
            return error(405, "method_not_allowed", "API writes are not enabled for this account",
                         {"allow": "GET"})
        refusal = self.store.write_errors.get(record["id"])
        if refusal:  # fault injection from the state file: this DID refuses API writes
            return error(int(refusal.get("status", 403)), str(refusal.get("code", "forbidden")),
                         str(refusal.get("message", "This DID cannot be changed")))
        return await saved(self.store, lambda: self.store.update(record, checked))
