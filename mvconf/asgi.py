"""What mvconf's two servers (the emulator and receive-events) share below any framework:
request headers, bodies read under a limit, strict JSON, and sending a whole answer."""

from __future__ import annotations

from typing import Any

from starlette.types import Receive, Scope, Send

from mvconf.jsontext import loads


def parse_json(raw: bytes) -> Any:
    """Strict JSON: ValueError for NaN/Infinity, nesting too deep, or text that cannot be
    written back out (lone surrogates)."""
    return loads(raw)


def body_reader(headers: dict[str, str], receive: Receive):
    """`await read(limit)`: the body, or None once it is known to be longer than `limit`."""
    declared = headers.get("content-length", "")

    async def read(limit: int) -> bytes | None:
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
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
