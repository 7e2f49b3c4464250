"""The account setup, served under /_account/ to loopback only: the person who follows the
printed steps, played by tests and demos (SPEC §7, ours). It validates like the API, so what it
saves always loads again, and it never loses a DID: a PUT cannot take another DID's id.

    GET   /_account/dids                  every DID
    GET   /_account/dids/{e164}           one DID
    PUT   /_account/dids/{e164}           create or replace one (missing fields filled in)
    PATCH /_account/dids/{e164}           change application_id, route_mode, destinations, status
    POST  /_account/calls                 place a test call (calls.py)
"""

from __future__ import annotations

import re

from mvconf.core.facts import E164_SHAPE
from mvconf.core.hosts import is_loopback
from mvconf.core.phone import to_e164
from mvconf.emulator.checks import ACCOUNT_PATCHABLE, PUTTABLE, changes
from mvconf.emulator.replies import (
    NOT_FOUND,
    BodySource,
    Reply,
    did_reply,
    error,
    not_allowed,
    ok,
    read_object,
    saved,
)
from mvconf.emulator.store import Store

_ACCOUNT_DID = re.compile(r"^/_account/dids/([^/]+)$")


class AccountSetup:
    def __init__(self, store: Store, remote_webhooks: bool = False):
        self.store = store
        self.remote_webhooks = remote_webhooks

    async def handle(self, method: str, path: str, source: BodySource,
                     client_host: str | None) -> Reply:
        match = _ACCOUNT_DID.match(path)
        if path not in ("/_account/dids", "/_account/calls") and not match:
            return error(404, "not_found", "Not found")
        if not is_loopback(client_host):
            return error(403, "forbidden", "The account setup is served to loopback only")
        if path == "/_account/calls":
            if method != "POST":
                return not_allowed(method, ("POST",))
            return await self._call(source)
        if path == "/_account/dids":
            if method != "GET":
                return not_allowed(method, ("GET",))
            return ok({"dids": list(self.store.dids.values())})
        return await self._did(method, match.group(1), source)

    async def _did(self, method: str, raw_number: str, source: BodySource) -> Reply:
        if method not in ("GET", "PUT", "PATCH"):
            return not_allowed(method, ("GET", "PUT", "PATCH"))
        number = to_e164(raw_number) or raw_number
        if not E164_SHAPE.match(number):
            return error(400, "invalid_request", "the path must end in an E.164 number")
        store = self.store
        if method == "GET":
            record = store.find_number(number)
            return did_reply(record) if record else error(404, *NOT_FOUND)
        body = await read_object(source)
        if isinstance(body, Reply):
            return body
        if method == "PATCH":
            record = store.find_number(number)
            if record is None:
                return error(404, *NOT_FOUND)
            checked = changes(body, ACCOUNT_PATCHABLE)
            if isinstance(checked, Reply):
                return checked
            return await saved(store, lambda: store.update(record, checked))
        checked = changes(body, PUTTABLE, store.customers())
        if isinstance(checked, Reply):
            return checked
        conflict = self._put_conflict(number, checked)
        if conflict:
            return conflict
        return await saved(store, lambda: store.put(number, checked))

    def _put_conflict(self, number: str, body: dict) -> Reply | None:
        if "number_e164" in body and to_e164(body["number_e164"]) != number:
            return error(400, "invalid_request", "number_e164 differs from the number in the path")
        wanted = body.get("id")
        if wanted is not None:
            holder = self.store.dids.get(wanted)
            if holder is not None and to_e164(holder["number_e164"]) != number:
                return error(409, "conflict", f"{wanted} is the id of another DID "
                             f"({holder['number_e164']})")
        return None

    async def _call(self, source: BodySource) -> Reply:
        """Place a test call: {"to": E164, "from"?: E164, "webhook_url"?: URL}."""
        from mvconf.emulator.calls import DEFAULT_CALLER, call_event, deliver, webhook_problem

        body = await read_object(source)
        if isinstance(body, Reply):
            return body
        to, caller, url = body.get("to"), body.get("from", DEFAULT_CALLER), body.get("webhook_url")
        if not isinstance(to, str) or not isinstance(caller, str):
            return error(400, "invalid_request", "'to' (and 'from', if given) must be numbers")
        if url is not None:
            problem = webhook_problem(url, self.remote_webhooks)
            if problem:
                return error(400, "invalid_request", problem)
        record = self.store.find_number(to)
        if record is None:
            return error(404, *NOT_FOUND)
        event = call_event(record, caller)
        problem = await deliver(url, event) if url else None
        if problem:
            return error(502, "webhook_failed", f"the call was placed but {problem}")
        return ok(event, status=201)
