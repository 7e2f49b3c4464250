"""The emulator's answers and request bodies, as plain values (SPEC §2, §7, §13).

Every answer is JSON with the documented error envelope for errors. Request bodies are read
under a size limit (the HTTP adapter cuts a stream at the limit instead of holding it), parsed
strictly (no NaN or Infinity, bounded nesting, no lone surrogates) and must be objects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mvconf.core.jsontext import dumps
from mvconf.emulator.store import SaveFailed, Store
from mvconf.web.asgi import BodyRefused, parse_json

MAX_BODY = 64 * 1024
JSON_HEADERS = {"content-type": "application/json"}
NOT_FOUND = ("not_found", "DID not found")

# A body is given as bytes, or as a reader: `await reader(limit)` returns the body, or None when
# it is longer than `limit` (the HTTP adapter stops reading there).
BodySource = bytes | Callable[[int], Awaitable[bytes | None]]


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer as plain values; `body` is JSON text."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: JSON_HEADERS)
    dropped: bool = False  # the connection is closed instead of answering (--drop-rate)


def ok(record: Any, headers: Mapping[str, str] | None = None, status: int = 200) -> Reply:
    body = dumps(record)
    return Reply(status, body, {**JSON_HEADERS, **headers} if headers else JSON_HEADERS)


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    body = dumps({"error": {"code": code, "message": message}})
    return Reply(status, body, {**JSON_HEADERS, **(headers or {})})


def not_allowed(method: str, allowed: tuple[str, ...]) -> Reply:
    return error(405, "method_not_allowed", f"{method} is not allowed here",
                 {"allow": ", ".join(allowed)})


def etag(record: dict) -> str:
    """Ours (SPEC §10): a DID's version. Every write moves updated_at strictly on (SPEC §7),
    so it identifies the version without hashing the record."""
    return f'"{record.get("updated_at")}"'


def did_reply(record: dict, status: int = 200) -> Reply:
    return ok(record, {"etag": etag(record)}, status)


async def read_object(source: BodySource) -> dict | Reply:
    """The request body as a JSON object, or the error answer."""
    if isinstance(source, bytes):
        raw: bytes | None = source if len(source) <= MAX_BODY else None
    else:
        try:
            raw = await source(MAX_BODY)
        except BodyRefused as exc:  # too slow, or too many bodies held at once
            return error(exc.status, exc.code, str(exc))
    if raw is None:
        return error(413, "payload_too_large", f"Request body is larger than {MAX_BODY} bytes")
    try:
        body = parse_json(raw)
    except ValueError as exc:
        return error(400, "invalid_request", f"Request body must be a JSON object ({exc})")
    if not isinstance(body, dict):
        return error(400, "invalid_request", "Request body must be a JSON object")
    return body


async def saved(store: Store, change: Callable[[], dict]) -> Reply:
    """Make `change` and answer only once it is on disk; if the save fails, the change is
    undone in memory too, and the answer says so (SPEC §7)."""
    record = change()
    try:
        await store.commit()
    except SaveFailed as exc:
        return error(503, "save_failed", f"The change was not saved and was undone: {exc}")
    return did_reply(record)
