"""Serving an ASGI app with uvicorn: bind first (so --port 0 works), announce when ready.

Both servers (the emulator and receive-events) may face whatever can reach them, so each
connection is bounded (`GuardedProtocol`, over uvicorn's httptools protocol):

- a request's headers must arrive within `HEADER_SECONDS` and be at most `MAX_HEADER_BYTES`
  (431 beyond), and an idle kept-alive connection is closed after `IDLE_SECONDS`;
- at most `max_connections` are open at once (below the process's file limit, which is raised
  to its hard limit): one more closes the oldest connection that has no request under way, so
  idle connections can never keep a webhook out;
- bodies are bounded where they are read (mvconf/asgi.py): in time and, over all requests at
  once, in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mvconf.core.errors import ConfigError
from mvconf.web.asgi import ARRIVED


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux. Without it, a response written in two parts
    # (headers, then body) waits for the client's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(512)
    sock.setblocking(False)
    return sock


HEADER_SECONDS = 10.0
IDLE_SECONDS = 5
MAX_HEADER_BYTES = 64 * 1024
MAX_CONNECTIONS = 1000


def _file_limit() -> int:
    """The number of connections allowed: under the (raised) limit of open files."""
    try:
        import resource
    except ImportError:  # Windows
        return MAX_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return max(16, min(MAX_CONNECTIONS, soft - 64))


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a header deadline and size limit, and a cap on open
    connections that closes the oldest idle one to make room."""

    max_connections = MAX_CONNECTIONS

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = time.monotonic()
        self._header_bytes = 0
        self._in_headers = True
        self._header_timer = self.loop.call_later(HEADER_SECONDS, self._headers_too_slow)
        if len(self.connections) > self.max_connections:
            self._make_room()

    def _idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _make_room(self) -> None:
        idle = [c for c in self.connections if c is not self and isinstance(c, GuardedProtocol)
                and c._idle() and not c.transport.is_closing()]
        for victim in sorted(idle, key=lambda c: c._opened)[:len(self.connections)
                                                            - self.max_connections]:
            victim.transport.close()

    def _headers_too_slow(self) -> None:
        if self._in_headers and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            # Counted before the parser sees them: headers that end in this same piece end the
            # headers before the check after feeding could run. What follows them is a body.
            ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
            self._header_bytes += min(ends) if ends else len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse_headers()
                return
        super().data_received(data)
        if self._in_headers and self._header_bytes > MAX_HEADER_BYTES:
            self._refuse_headers()

    def _refuse_headers(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                 b"content-type: application/json\r\ncontent-length: "
                                 + str(len(_TOO_LARGE)).encode()
                                 + b"\r\nconnection: close\r\n\r\n" + _TOO_LARGE)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[ARRIVED] = time.monotonic()  # type: ignore[literal-required]
        if not self._in_headers:  # the next request on a kept-alive connection
            self._in_headers, self._header_bytes = True, 0
            self._header_timer.cancel()
            self._header_timer = self.loop.call_later(HEADER_SECONDS, self._headers_too_slow)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._header_timer.cancel()
        super().on_headers_complete()


_TOO_LARGE = (b'{"error": {"code": "headers_too_large", "message": "Request headers are larger '
              b'than 64 KiB"}}')


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after shutting down; we stop cleanly with exit 0."""

    @contextlib.contextmanager
    def capture_signals(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _stop(self) -> None:
        self.should_exit = True


def serve(app, host: str, port: int) -> int:
    """Serve until SIGINT or SIGTERM; print `listening on http://HOST:PORT` once ready."""
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    GuardedProtocol.max_connections = _file_limit()
    # proxy_headers off: the peer's own address is who asked (the emulator lets only loopback
    # use /_account/), never what an X-Forwarded-For header says.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2, http=GuardedProtocol,
                            timeout_keep_alive=IDLE_SECONDS, proxy_headers=False,
                            server_header=False)
    server = _Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            sys.stdout.write(f"listening on http://{shown}:{bound}\n")
            sys.stdout.flush()
        await task

    try:  # uvloop halves the emulator's CPU per request; Windows has none
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(run())
    return 0
