"""A loopback HTTP server that misbehaves on purpose, for testing the client against it.

It runs in a thread of the test process; `behave` is called for each request with the request
handler and writes whatever answer the test wants (or none). Every request is recorded, so a test
can assert that nothing was sent.

The server's threads never write to sys.stderr: the CLI's tests swap it for the whole process
while they run, so a traceback from here would land in the output under test. Whatever goes
wrong in a handler (the client hanging up, as it should on a hostile answer, or anything else)
is kept in `Recorder.errors` instead."""

from __future__ import annotations

import json
import ssl
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder:
    def __init__(self):
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.errors: list[str] = []  # what went wrong in the server's threads, never printed


def send_json(handler: BaseHTTPRequestHandler, status: int, body: object,
              headers: dict[str, str] | None = None) -> None:
    send_bytes(handler, status, json.dumps(body).encode(),
               {"Content-Type": "application/json", **(headers or {})})


def send_bytes(handler: BaseHTTPRequestHandler, status: int, data: bytes,
               headers: dict[str, str] | None = None) -> None:
    """An answer of exactly `data`, with its Content-Length and `headers`."""
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def hostile_server(behave: Callable[[BaseHTTPRequestHandler], None],
                   tls: tuple[str, str] | None = None) -> Iterator[tuple[str, Recorder]]:
    """With `tls` (certificate and key files), the server speaks HTTPS."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _any(self):
            recorder.requests.append((self.command, self.path, dict(self.headers)))
            try:
                behave(self)
            except Exception:  # noqa: BLE001 (kept for the test, never printed)
                recorder.errors.append(traceback.format_exc())
                self.close_connection = True

        do_GET = do_PATCH = do_POST = do_PUT = _any

        def do_CONNECT(self):  # noqa: N802 (a proxy request)
            recorder.requests.append((self.command, self.path, dict(self.headers)))
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):  # not socketserver's print to stderr
            recorder.errors.append(traceback.format_exc())

    server = Server(("127.0.0.1", 0), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls else "http"
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()
