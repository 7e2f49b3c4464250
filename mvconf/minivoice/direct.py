"""HTTP/1.1 to the API when no proxy stands between: h11 over asyncio's streams, one keep-alive
connection per lane (a lane per request in flight, `--parallelism` of them).

Why not httpx here: on a network-bound plan (4,000 DIDs, 50 ms away, 16 lanes) httpx cost about
0.4 ms of CPU a request through its client and 0.3 ms through its transport, and more than that
in wall time when the process wakes cold from waiting on the network: the plan took 1.06-1.07x
the floor N x L / C. h11, the sans-IO HTTP/1.1 library httpx itself parses with, over asyncio's
streams costs 0.09 ms. What is written by hand is only the connection's life: connect (TLS with
the context httpx would use, so SSL_CERT_FILE and certifi apply alike), reuse while both sides
keep it alive, close on any doubt. An API behind a proxy goes through httpx (http.py), whose
proxy rules are not repeated here.

The same guards as the httpx sender: an overall deadline per request besides per-step timeouts
(a body that drips a byte at a time still ends), answers counted as they arrive and cut off at
the size limit, no redirects followed (a 3xx is handed back as it is), no compression asked
for, and an answer in any Content-Encoding but identity refused before its body is read.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import h11

from mvconf.core.jsontext import dumps
from mvconf.core.logs import redact
from mvconf.minivoice.transport import (
    Answer,
    AnswerTooLarge,
    TransportFailed,
    check_encoding,
    network_cause,
    unreachable,
)

READ_BYTES = 65536
log = logging.getLogger("mvconf.http")  # --debug: each exchange, never a header


class _Connection:
    __slots__ = ("reader", "writer", "protocol")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.protocol = h11.Connection(h11.CLIENT)

    def usable(self) -> bool:
        """Still open at both ends, between two exchanges (a server may close an idle one)."""
        return (self.protocol.our_state is h11.IDLE and not self.reader.at_eof()
                and not self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class DirectSender:
    """A `Sender` with `lanes` keep-alive connections to one API, made when first needed."""

    def __init__(self, url: str, headers: Mapping[str, str], lanes: int, *,
                 tls: ssl.SSLContext | None, deadline: float, step_timeout: float,
                 connect_timeout: float, max_bytes: int):
        parts = urlsplit(url)
        self.host = parts.hostname or "the API"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = tls if parts.scheme == "https" else None
        self.prefix = parts.path.rstrip("/")
        named = f"[{self.host}]" if ":" in self.host else self.host
        default_port = self.port == (443 if self.tls else 80)
        self.headers = [("Host", named if default_port else f"{named}:{self.port}"),
                        *headers.items()]
        self.deadline, self.step_timeout = deadline, step_timeout
        self.connect_timeout, self.max_bytes = connect_timeout, max_bytes
        self.lanes: asyncio.Queue[_Connection | None] = asyncio.Queue()
        for _ in range(max(1, lanes)):
            self.lanes.put_nowait(None)  # connected on first use

    async def send(self, method: str, path: str, body: Any = None,
                   headers: Mapping[str, str] | None = None) -> Answer:
        connection = await self.lanes.get()
        kept: _Connection | None = None
        deadline = asyncio.timeout(self.deadline)
        try:
            async with deadline:
                reused = connection is not None and connection.usable()
                if not reused:
                    if connection is not None:
                        connection.close()
                    connection = None
                    connection = await self._connect()
                try:
                    answer = await self._exchange(connection, method, path, body, headers)
                except _ClosedBeforeAnswer:
                    # A kept connection the server had closed while idle (RFC 9112 §9.3.1):
                    # a GET is sent again, once, on a new one. Anything else is not, so the
                    # client's rules for a write whose answer was lost apply.
                    if not (reused and method == "GET"):
                        raise
                    log.debug("the kept connection was closed by the server; reconnecting")
                    connection.close()
                    connection = None
                    connection = await self._connect()
                    answer = await self._exchange(connection, method, path, body, headers)
                log.debug("%s %s%s -> %s", method, self.prefix, path, answer.status)
                if connection.protocol.our_state is h11.DONE \
                        and connection.protocol.their_state is h11.DONE:
                    connection.protocol.start_next_cycle()
                    kept = connection
                return answer
        except TimeoutError:
            if deadline.expired():
                raise TransportFailed(f"{self.host} did not answer within "
                                      f"{self.deadline:g}s") from None
            raise TransportFailed(f"{self.host} did not answer in time (timeout)") from None
        except h11.ProtocolError as exc:
            why = redact(str(exc))[:200]  # h11 may quote the answer's own bytes
            raise TransportFailed(f"cannot reach the MiniVoice API at {self.host}: the answer "
                                  f"is not valid HTTP ({why})") from None
        except OSError as exc:  # refused, reset, DNS, TLS (ssl.SSLError is an OSError)
            cause = network_cause(exc)
            raise TransportFailed(f"cannot reach the MiniVoice API at {self.host}: {cause}",
                                  unreachable=unreachable(cause)) from None
        finally:
            if kept is None and connection is not None:
                connection.close()  # anything unfinished: never reused
            self.lanes.put_nowait(kept)

    def close(self) -> None:
        """Close every connection not in use (all of them, once the run's requests are done)."""
        while not self.lanes.empty():
            connection = self.lanes.get_nowait()
            if connection is not None:
                connection.close()

    async def _connect(self) -> _Connection:
        log.debug("connecting to %s port %s%s", self.host, self.port, " (TLS)" if self.tls else "")
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls,
                server_hostname=self.host if self.tls else None)
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, method: str, path: str, body: Any,
                        headers: Mapping[str, str] | None) -> Answer:
        sent = [*self.headers, *(headers or {}).items()]
        payload = b""
        if body is not None:
            payload = dumps(body)
            sent += [("Content-Type", "application/json"),
                     ("Content-Length", str(len(payload)))]
        protocol = connection.protocol
        data = protocol.send(h11.Request(method=method, target=self.prefix + path,
                                         headers=sent))
        if payload:
            data += protocol.send(h11.Data(data=payload))
        data += protocol.send(h11.EndOfMessage())
        connection.writer.write(data)
        response, chunks, size, received = None, [], 0, False
        while True:
            event = protocol.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(self.step_timeout):
                    data = await _read(connection.reader, before_answer=not received)
                received = received or bool(data)
                protocol.receive_data(data)
                continue
            kind = type(event)
            if kind is h11.Response:
                response = event
                self._check_declared(event)
            elif kind is h11.Data:
                size += len(event.data)
                if size > self.max_bytes:
                    raise AnswerTooLarge(f"the API answer is larger than {self.max_bytes} bytes;"
                                         " it was cut off")
                chunks.append(event.data)
            elif kind is h11.EndOfMessage:
                break
            elif kind is h11.ConnectionClosed:
                raise ConnectionResetError("the connection was closed before the answer ended")
        assert response is not None  # h11 gives a Response before any Data or EndOfMessage
        return Answer(response.status_code, _headers(response), b"".join(chunks))

    def _check_declared(self, response: h11.Response) -> None:
        check_encoding(_headers(response))
        for name, value in response.headers:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise AnswerTooLarge(f"the API answer is {int(value)} bytes, more than the "
                                     f"{self.max_bytes} mvconf reads")


class _ClosedBeforeAnswer(ConnectionResetError):
    """The connection ended before the first byte of an answer."""


async def _read(reader: asyncio.StreamReader, before_answer: bool) -> bytes:
    try:
        data = await reader.read(READ_BYTES)
    except (ConnectionResetError, BrokenPipeError):
        if before_answer:
            raise _ClosedBeforeAnswer from None
        raise
    if not data and before_answer:
        raise _ClosedBeforeAnswer
    return data


def _headers(response: h11.Response) -> dict[str, str]:
    """Header names in lower case (h11 gives them so); a repeated header joined by commas."""
    found: dict[str, str] = {}
    for name, value in response.headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        found[key] = f"{found[key]}, {text}" if key in found else text
    return found
