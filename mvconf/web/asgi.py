"""What mvconf's two servers (the emulator and receive-events) share below any framework:
request headers, bodies read under a limit, strict JSON, and sending a whole answer.

A body is bounded three ways: its own size (`limit`), the time it may take to arrive
(`BODY_SECONDS` from the first read), and the bytes held by all unfinished bodies at once
(`BODY_BUDGET`): a body that would pass the budget is refused (`BodyRefused`) rather than held,
so slow or unfinished bodies cannot fill memory however many there are."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mvconf.core.jsontext import loads

# The ASGI callables' types (ASGI 3.0), written here rather than taken from a framework.
Scope = MutableMapping[str, Any]
# The scope key our server (serve.py) sets to the moment a request's first byte was parsed
# (time.monotonic()): what an app that answers a set time after a request arrived counts from.
ARRIVED = "mvconf.arrived"
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def parse_json(raw: bytes) -> Any:
    """Strict JSON: ValueError for NaN/Infinity, nesting too deep, or text that cannot be
    written back out (lone surrogates)."""
    return loads(raw)


BODY_SECONDS = 10.0
BODY_BUDGET = 64 * 1024 * 1024
_held = [0]  # bytes held by unfinished bodies, over all requests of the process


class BodyRefused(Exception):
    """The body did not arrive in time, or the server holds too many bytes of bodies already.
    `status` and `code` are the answer to give (408 or 503)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


def body_reader(headers: dict[str, str], receive: Receive):
    """`await read(limit)`: the body, or None once it is known to be longer than `limit`;
    BodyRefused when it is too slow or the budget is spent."""
    declared = headers.get("content-length", "")

    async def read(limit: int) -> bytes | None:
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks, size = [], 0
        try:
            async with asyncio.timeout(BODY_SECONDS):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        return None
                    if _held[0] + len(chunk) > BODY_BUDGET:
                        raise BodyRefused(503, "busy", "The server is holding too many "
                                          "unfinished bodies; try again")
                    _held[0] += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            raise BodyRefused(408, "request_timeout",
                              f"The body did not arrive within {BODY_SECONDS:g}s") from None
        finally:
            _held[0] -= sum(len(c) for c in chunks)
        return b"".join(chunks)

    return read


def request_headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


async def send_reply(send: Send, reply: Any) -> None:
    """Send `reply` (status, body bytes, headers mapping) as the whole answer."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
