"""`mvconf receive-events`: record every JSON webhook body, one line each, append-only.

A real MiniVoice account posts here, so it is a server that must not be easy to break: a body
is read only up to 1 MiB (a longer declared length is refused unread, a stream is cut there),
parsed strictly (no NaN or Infinity, bounded nesting, no lone surrogates), and any failure is an
answer, never a traceback.
"""

from __future__ import annotations

import io
import json
import logging
import os

from starlette.types import Receive, Scope, Send

from mvconf.asgi import body_reader, parse_json, request_headers, send_reply
from mvconf.emulator.replies import error, ok
from mvconf.files import open_regular

MAX_BODY = 1024 * 1024
log = logging.getLogger("mvconf.events")


class Receiver:
    def __init__(self, out_path: str):
        # A regular file only (files.py): a FIFO would hang, /dev/full swallow every event.
        self.handle = io.TextIOWrapper(open_regular(out_path, "the events file", append=True),
                                       encoding="utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await send_reply(send, error(405, "method_not_allowed", "Webhooks are POSTed",
                                         {"allow": "POST"}))
            return
        raw = await body_reader(request_headers(scope), receive)(MAX_BODY)
        if raw is None:
            await send_reply(send, error(413, "payload_too_large",
                                         f"Body larger than {MAX_BODY} bytes"))
            return
        try:
            body = parse_json(raw)
        except ValueError as exc:
            await send_reply(send, error(400, "invalid_request", f"Body is not JSON ({exc})"))
            return
        try:
            self.handle.write(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as exc:
            log.error("receive-events: cannot record an event: %s", exc.strerror)
            await send_reply(send, error(503, "not_recorded", "The event was not recorded"))
            return
        await send_reply(send, ok({"ok": True}))


def create_receiver(out_path: str) -> Receiver:
    return Receiver(out_path)
