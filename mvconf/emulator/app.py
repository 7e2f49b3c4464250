"""The emulator over HTTP: a Starlette app that hands every request to `EmulatorApi`."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mvconf.emulator.api import EmulatorApi
from mvconf.emulator.faults import Faults
from mvconf.emulator.store import Store

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class DroppedOnPurpose(Exception):
    """Raised after the status line to make the server close the connection (--drop-rate)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedOnPurpose))


class _Endpoint:
    """A plain ASGI endpoint, so that it can break off an answer it has begun."""

    def __init__(self, api: EmulatorApi):
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        reply = await self.api.handle(request.method, request.url.path, request.headers,
                                      await request.body(),
                                      request.client.host if request.client else None)
        if reply.dropped:
            await send({"type": "http.response.start", "status": reply.status,
                        "headers": [(b"content-length", str(len(reply.body)).encode())]})
            raise DroppedOnPurpose
        await Response(reply.body, reply.status, headers=dict(reply.headers))(scope, receive,
                                                                               send)


def create_app(store: Store, faults: Faults | None = None, read_only: bool = False) -> Starlette:
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(_QuietDrops())
    endpoint = _Endpoint(EmulatorApi(store, faults, read_only))
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=METHODS)])
