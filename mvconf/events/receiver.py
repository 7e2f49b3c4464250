"""`mvconf receive-events`: record every JSON webhook body, one line each, append-only.

A real MiniVoice account posts here, so it is a server that must not be easy to break:

- any path (SPEC §7), or only the one `--path` names; POST only, `Content-Type: application/json`
  only (a cross-origin form or `text/plain` POST from a browser is never recorded), and, with a
  shared secret (`--token-env`), the `X-Mvconf-Token` header compared in constant time;
- a body is read only up to 1 MiB (a longer declared length is refused unread, a stream is cut
  there), parsed strictly (no NaN or Infinity, bounded nesting, no lone surrogates), and any
  failure is an answer, never a traceback;
- each event is one `os.write` of one line to a regular file opened for appending, fsynced
  before the 200. A write that failed part-way (a full disk) leaves a torn line; the next event
  then starts on a fresh line, as the journal's records do, so it is never glued to the torn one.
"""

from __future__ import annotations

import hmac
import json
import logging
import os

from mvconf.core.files import open_regular
from mvconf.emulator.replies import error, ok
from mvconf.web.asgi import (
    BodyRefused,
    Receive,
    Scope,
    Send,
    body_reader,
    parse_json,
    request_headers,
    send_reply,
)

MAX_BODY = 1024 * 1024
TOKEN_HEADER = "x-mvconf-token"
log = logging.getLogger("mvconf.events")


def _ends_torn(fd: int) -> bool:
    """Whether the file ends without a newline (a line left torn by an earlier write)."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


class Receiver:
    def __init__(self, out_path: str, path: str | None = None, token: str | None = None):
        # A regular file only (files.py): a FIFO would hang, /dev/full swallow every event.
        self.handle = open_regular(out_path, "the events file", append=True, readable=True)
        self.fd = self.handle.fileno()  # each event is one os.write on it
        self.torn = _ends_torn(self.fd)
        self.path = path
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self.path is not None and scope["path"] != self.path:
            await send_reply(send, error(404, "not_found", "Webhooks are POSTed to one path"))
            return
        if scope["method"] != "POST":
            await send_reply(send, error(405, "method_not_allowed", "Webhooks are POSTed",
                                         {"allow": "POST"}))
            return
        headers = request_headers(scope)
        if self.token is not None and not hmac.compare_digest(
                headers.get(TOKEN_HEADER, "").encode("latin-1"), self.token):
            await send_reply(send, error(401, "unauthorized",
                                         f"Missing or wrong {TOKEN_HEADER} header"))
            return
        kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            await send_reply(send, error(415, "unsupported_media_type",
                                         "Webhook bodies are Content-Type: application/json"))
            return
        try:
            raw = await body_reader(headers, receive)(MAX_BODY)
        except BodyRefused as exc:
            await send_reply(send, error(exc.status, exc.code, str(exc)))
            return
        if raw is None:
            await send_reply(send, error(413, "payload_too_large",
                                         f"Body larger than {MAX_BODY} bytes"))
            return
        try:
            body = parse_json(raw)
        except ValueError as exc:
            await send_reply(send, error(400, "invalid_request", f"Body is not JSON ({exc})"))
            return
        if not isinstance(body, dict):  # an event is an object; nothing else is recorded
            await send_reply(send, error(400, "invalid_request", "Body is not a JSON object"))
            return
        line = json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            self._append(line.encode("utf-8"))
        except OSError as exc:
            log.error("receive-events: cannot record an event: %s", exc.strerror)
            await send_reply(send, error(503, "not_recorded", "The event was not recorded"))
            return
        await send_reply(send, ok({"ok": True}))

    def _append(self, data: bytes) -> None:
        if self.torn:
            data = b"\n" + data  # the torn line ends here; this event has a line of its own
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(self.fd, view[written:])
        except OSError:
            if written:
                self.torn = True  # part of it is in the file
            raise
        self.torn = False
        os.fsync(self.fd)


def create_receiver(out_path: str, path: str | None = None,
                    token: str | None = None) -> Receiver:
    return Receiver(out_path, path, token)
