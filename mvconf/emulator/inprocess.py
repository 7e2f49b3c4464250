"""`--emulator`: the client talks to the emulator in the same process, without HTTP.

Requests go through `EmulatorApi.handle`, exactly as the HTTP server's do, with the headers and
JSON body an HTTP request would carry; only sockets, HTTP parsing and ASGI are skipped.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from mvconf.core.jsontext import dumps
from mvconf.core.logs import redact, register_secret
from mvconf.emulator.api import EmulatorApi
from mvconf.emulator.store import Store
from mvconf.minivoice.connect import KEY_VARIABLE, Endpoint
from mvconf.minivoice.transport import Answer, TransportFailed

YIELD_EVERY = 64  # requests between two turns of the event loop


class InProcessSender:
    """A `Sender` that hands each request to the emulator's behaviour directly."""

    def __init__(self, store: Store, headers: dict[str, str]):
        self.api = EmulatorApi(store)
        self.headers = {name.lower(): value for name, value in headers.items()}
        self._sent = 0

    async def send(self, method: str, path: str, body: Any = None,
                   headers: Mapping[str, str] | None = None) -> Answer:
        self._sent += 1
        if self._sent % YIELD_EVERY == 0:
            # An answer here never waits for anything, so the event loop would not run until
            # the last one: Ctrl-C (handled by the loop) went unseen until the plan was done.
            await asyncio.sleep(0)
        raw = b"" if body is None else dumps(body)
        sent = {**self.headers, **{k.lower(): v for k, v in headers.items()}} if headers \
            else self.headers
        reply = await self.api.handle(method, unquote(path) if "%" in path else path, sent,
                                      raw, "127.0.0.1")
        if reply.dropped:
            raise TransportFailed("connection failed (the emulator dropped it)")
        return Answer(reply.status, reply.headers, reply.body)


def open_emulator(state_path: str, *, lock: bool = False, lock_timeout: float = 0.0,
                  key_variable: str = KEY_VARIABLE) -> tuple[Endpoint, Store]:
    """The emulator on `state_path` as an endpoint, with the state file's first key unless
    `key_variable` names another of its keys (SPEC §5, §9), and its loaded store (locked, for a
    run that may write, until the store is closed)."""
    wanted = os.environ.get(key_variable, "").strip()
    if wanted:  # masked from the start: the state file's name, in any error, may hold it
        register_secret(wanted)
    store = Store(state_path, lock="mvconf --emulator" if lock else None,
                  lock_timeout=lock_timeout)
    # Masked already: the store registers every key of its file as it reads it.
    key = wanted if wanted and store.customer_of(wanted) else store.first_key()
    # The label is a plan's api_url: a state file named after its key does not show the key.
    return Endpoint(label=f"emulator:{redact(state_path)}", key=key), store
