"""The emulator over HTTP: a small ASGI app that hands every request to `EmulatorApi`.

Plain ASGI rather than a framework's router, so that nothing answers before the emulator does
(a router's own 404 and 405 were text/plain, SPEC §13) and so that a body is read only when the
emulator asks for it, after the key is checked, and only up to the limit: a declared length over
the limit is refused unread, and a stream is cut where it passes it.
"""

from __future__ import annotations

import logging

from mvconf.emulator.api import EmulatorApi
from mvconf.emulator.faults import Faults
from mvconf.emulator.replies import error
from mvconf.emulator.store import Store
from mvconf.web.asgi import ARRIVED, Receive, Scope, Send, body_reader, request_headers, send_reply

log = logging.getLogger("mvconf.emulator")


class DroppedOnPurpose(Exception):
    """Raised after the status line to make the server close the connection (--drop-rate)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedOnPurpose))


class EmulatorApp:
    def __init__(self, api: EmulatorApi):
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = request_headers(scope)
        client = scope.get("client")
        arrived = scope.get(ARRIVED)
        if arrived is None:  # served by another ASGI server
            arrived = self.api.faults.arrived()
        try:
            reply = await self.api.handle(scope["method"], scope["path"], headers,
                                          body_reader(headers, receive),
                                          client[0] if client else None, arrived)
        except Exception as exc:  # never a traceback in the log, never a text/plain 500
            log.error("emulator: %s %r failed: %s", scope.get("method"), scope.get("path"),
                      type(exc).__name__)
            reply = error(500, "internal_error", "The emulator failed on this request")
        if reply.dropped:
            await send({"type": "http.response.start", "status": reply.status,
                        "headers": [(b"content-length", str(len(reply.body)).encode())]})
            raise DroppedOnPurpose
        await send_reply(send, reply)
        if scope["path"].startswith("/v1/"):
            self.api.faults.sent(arrived)


def create_app(store: Store, faults: Faults | None = None, read_only: bool = False,
               remote_webhooks: bool = False) -> EmulatorApp:
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(_QuietDrops())
    return EmulatorApp(EmulatorApi(store, faults, read_only, remote_webhooks))
