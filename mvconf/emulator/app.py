"""The emulator over HTTP: a Starlette app that hands every request to `EmulatorApi`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mvconf.emulator.api import EmulatorApi
from mvconf.emulator.faults import Faults
from mvconf.emulator.store import Store

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(store: Store, faults: Faults | None = None, read_only: bool = False) -> Starlette:
    api = EmulatorApi(store, faults, read_only)

    async def endpoint(request: Request) -> Response:
        reply = await api.handle(request.method, request.url.path, request.headers,
                                 await request.body(),
                                 request.client.host if request.client else None)
        return Response(reply.body, reply.status, headers=dict(reply.headers))

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=METHODS)])
    return app
