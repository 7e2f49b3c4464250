"""`--emulator`: the client talks to the emulator in the same process, without HTTP.

Requests go through `EmulatorApi.handle`, exactly as the HTTP server's do, with the headers and
JSON body an HTTP request would carry; only sockets, HTTP parsing and ASGI are skipped.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from mvconf.emulator.api import EmulatorApi
from mvconf.emulator.store import Store
from mvconf.minivoice.client import Answer, TransportFailed


class InProcessSender:
    def __init__(self, store: Store, headers: dict[str, str]):
        self.api = EmulatorApi(store)
        self.headers = {name.lower(): value for name, value in headers.items()}

    async def send(self, method: str, path: str, body: Any = None) -> Answer:
        raw = b"" if body is None else json.dumps(body).encode()
        reply = await self.api.handle(method, unquote(path), self.headers, raw, "127.0.0.1")
        if reply.dropped:
            raise TransportFailed("connection failed (the emulator dropped it)")
        return Answer(reply.status, reply.headers, reply.body)
