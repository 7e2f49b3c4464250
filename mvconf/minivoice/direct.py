"""HTTP/1.1 to the API when no proxy stands between: httptools' parser over asyncio's streams,
one keep-alive connection per lane (a lane per request in flight, `--parallelism` of them).

Why not httpx here: on a network-bound plan (4,000 DIDs, 50 ms away, 16 lanes) httpx cost about
0.4 ms of CPU a request through its client and 0.3 ms through its transport, and more than that
in wall time when the process wakes cold from waiting on the network: the plan took 1.06-1.07x
the floor N x L / C. Why not h11 (httpx's own sans-IO parser): it cost 77 us a request to write
and read, on the path from one answer to the lane's next request; httptools (llhttp, the parser
uvicorn serves the emulator with) reads an answer in under 5 us. A request is a request line and
headers checked once (names are tokens, values hold no control character), so it is written
here. What else is written by hand is the connection's life: connect (TLS with the context httpx
would use, so SSL_CERT_FILE and certifi apply alike), reuse while both sides keep it alive, close
on any doubt. An API behind a proxy goes through httpx (http.py), whose proxy rules are not
repeated here.

The same guards as the httpx sender: an overall deadline per request besides per-step timeouts
(a body that drips a byte at a time still ends), answers counted as they arrive and cut off at
the size limit, no redirects followed (a 3xx is handed back as it is), no compression asked
for, and an answer in any Content-Encoding but identity refused before its body is read.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httptools

from mvconf.core.jsontext import dumps
from mvconf.core.logs import redact
from mvconf.minivoice.transport import (
    LANE_SPREAD_SECONDS,
    Answer,
    AnswerTooLarge,
    TransportFailed,
    check_encoding,
    network_cause,
    unreachable,
)

READ_BYTES = 65536
MAX_HEAD_BYTES = 64 * 1024  # an answer's status line and headers, and its trailers
log = logging.getLogger("mvconf.http")  # --debug: each exchange, never a header

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_TARGET = re.compile(rb"/[\x21-\x7e]*")
_METHODS = {"GET", "PATCH", "PUT", "POST", "DELETE"}


class NotSendable(ValueError):
    """A request that cannot be written as HTTP/1.1 (a control character in a header)."""


def _header_lines(headers: Any) -> bytes:
    """`Name: value\r\n` for each pair, or NotSendable: names are tokens and values hold no
    control character (RFC 9110 §5.1, §5.5), so nothing sent can end a header early."""
    lines = []
    for name, value in headers:
        key, text = str(name).encode("latin-1"), str(value).strip(" \t").encode("latin-1")
        if not _TOKEN.fullmatch(key) or not _FIELD_VALUE.fullmatch(text):
            raise NotSendable(f"the {ascii(str(name))[:60]} header holds a character HTTP "
                              "cannot carry")
        lines.append(b"%s: %s\r\n" % (key, text))
    return b"".join(lines)


class _Reading:
    """httptools' callbacks for one answer at a time on one connection. Whatever follows an
    answer in the same read (the start of another) is ignored, and the connection is then not
    reused."""

    __slots__ = ("parser", "status", "headers", "chunks", "size", "head_done", "done",
                 "keep_alive", "framed", "more", "head_bytes", "trailers")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.start()

    def start(self) -> None:
        self.status, self.headers, self.chunks, self.size = 0, {}, [], 0
        self.head_bytes = self.trailers = 0
        self.head_done = self.done = self.keep_alive = self.framed = self.more = False

    def on_message_begin(self) -> None:
        self.more = self.done

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.done:
            return
        if self.head_done:  # a chunked body's trailer: counted, never kept
            self.trailers += len(name) + len(value) + 4
            return
        self.head_bytes += len(name) + len(value) + 4
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers = self.headers
        headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        if self.done:
            return
        self.head_done = True
        self.status = self.parser.get_status_code()
        headers = self.headers
        self.framed = "content-length" in headers or "transfer-encoding" in headers

    def on_body(self, body: bytes) -> None:
        if self.done:
            return
        self.size += len(body)  # the exchange checks it against the limit after each read
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.done:
            return
        if 100 <= self.status < 200:  # an interim answer (100 Continue): the real one follows
            self.start()
            return
        self.done = True
        self.keep_alive = self.parser.should_keep_alive()


class _Connection:
    __slots__ = ("reader", "writer", "reading", "reusable")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.reading = _Reading()
        self.reusable = True

    def usable(self) -> bool:
        """Still open at both ends between two exchanges (a server may close an idle one), and
        nothing arrived on it since the last answer ended: bytes that came unasked would be
        taken for the next request's answer. (StreamReader has no public way to ask whether it
        holds unread bytes; `_buffer` is where it keeps them, in every Python mvconf runs on.)"""
        return (self.reusable and not self.reader.at_eof() and not self.writer.is_closing()
                and not getattr(self.reader, "_buffer", b"x"))

    def close(self) -> None:
        self.writer.close()


class DirectSender:
    """A `Sender` with `lanes` keep-alive connections to one API, made when first needed."""

    spread = LANE_SPREAD_SECONDS

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
        try:
            self._head: bytes | None = _header_lines(self.headers)
        except (NotSendable, UnicodeEncodeError):
            self._head = None  # refused at the first send, as any request that cannot be sent
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
                if connection.reusable:
                    kept = connection
                return answer
        except TimeoutError:
            if deadline.expired():
                raise TransportFailed(f"{self.host} did not answer within "
                                      f"{self.deadline:g}s") from None
            raise TransportFailed(f"{self.host} did not answer in time (timeout)") from None
        except httptools.HttpParserError as exc:
            why = redact(str(exc))[:200]  # in case a parser quotes the answer's own bytes
            # Before the API has answered at all, that is the wrong port or not an HTTP
            # service (an SSH banner): the client fails at once instead of retrying for
            # --retry-timeout. Once it has answered, a garbled answer is retried.
            raise TransportFailed(f"cannot reach the MiniVoice API at {self.host}: the answer "
                                  f"is not valid HTTP ({why})", unreachable=True) from None
        except (NotSendable, UnicodeEncodeError) as exc:
            why = exc if isinstance(exc, NotSendable) else "a character outside Latin-1"
            raise TransportFailed(f"cannot send the request to {self.host}: {why}",
                                  unreachable=True) from None
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
        target = (self.prefix + path).encode("latin-1")
        if method not in _METHODS or not _TARGET.fullmatch(target) or self._head is None:
            raise NotSendable("the request line or a header holds a character HTTP cannot "
                              "carry")
        payload = b""
        extra = list((headers or {}).items())
        if body is not None:
            payload = dumps(body)
            extra += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        connection.reusable = False  # until this answer has been read to its end
        connection.writer.write(b"%s %s HTTP/1.1\r\n%s%s\r\n%s" % (
            method.encode(), target, self._head, _header_lines(extra) if extra else b"",
            payload))
        reading = connection.reading
        reading.start()
        fed = 0
        while not reading.done:
            async with asyncio.timeout(self.step_timeout):
                data = await _read(connection.reader, before_answer=fed == 0)
            if not data:  # the server closed the connection
                if reading.head_done and not reading.framed:
                    break  # an answer without a length ends where the connection does
                raise ConnectionResetError("the connection was closed before the answer ended")
            fed += len(data)
            head_was_done = reading.head_done
            try:
                reading.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                raise httptools.HttpParserError("the API asked to switch protocols") from None
            except httptools.HttpParserError:
                if not reading.done:
                    raise
                reading.keep_alive = False  # bytes after the answer: the answer stands, alone
            if not head_was_done:
                if reading.head_done:
                    self._check_declared(reading.headers)
                elif fed > MAX_HEAD_BYTES:
                    raise httptools.HttpParserError(
                        f"its headers are longer than {MAX_HEAD_BYTES} bytes")
            if reading.head_bytes > MAX_HEAD_BYTES:
                raise httptools.HttpParserError(
                    f"its headers are longer than {MAX_HEAD_BYTES} bytes")
            if reading.trailers > MAX_HEAD_BYTES:
                raise httptools.HttpParserError(
                    f"its trailers are longer than {MAX_HEAD_BYTES} bytes")
            if fed > self.max_bytes + 2 * MAX_HEAD_BYTES:  # chunk framing and extensions too
                raise AnswerTooLarge(f"the API answer took more than {self.max_bytes} bytes "
                                     "to send; it was cut off")
            if reading.size > self.max_bytes:
                raise AnswerTooLarge(f"the API answer is larger than {self.max_bytes} bytes;"
                                     " it was cut off")
        connection.reusable = reading.done and reading.keep_alive and not reading.more
        return Answer(reading.status, reading.headers, b"".join(reading.chunks))

    def _check_declared(self, headers: Mapping[str, str]) -> None:
        check_encoding(headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise AnswerTooLarge(f"the API answer is {int(declared)} bytes, more than the "
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
