"""Sending requests over HTTP with httpx (an API behind a proxy, and tests' mock transports);
its exceptions become TransportFailed. Without a proxy, direct.py sends instead.

Each request in flight has a client of its own with one keep-alive connection (a "lane").
httpx's connection pool scans every connection for every queued request, so one shared pool of
16 connections cost about 2 ms of CPU per request; sixteen pools of one cost about 0.5 ms.

Every request has an overall deadline (httpx's timeouts are per socket operation, so a body that
drips one byte at a time would never end), and answers are read as a stream and cut off at the
size limit before they are held. A plain-http API (loopback only, SPEC §2) is never reached
through a proxy, so the key is never handed to one in clear.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from mvconf.minivoice.connect import Endpoint
from mvconf.minivoice.transport import (
    CONNECT_TIMEOUT_SECONDS,
    DEADLINE_SECONDS,
    LANE_SPREAD_SECONDS,
    MAX_ANSWER_BYTES,
    TIMEOUT_SECONDS,
    Answer,
    AnswerTooLarge,
    TransportFailed,
    check_encoding,
    unreachable,
)
from mvconf.minivoice.transport import network_cause as transport_cause


class HttpSender:
    """A `Sender` over httpx: each request takes a free lane (a client of one connection)."""

    def __init__(self, *lanes: httpx.AsyncClient, deadline: float = DEADLINE_SECONDS,
                 max_bytes: int = MAX_ANSWER_BYTES):
        self.lanes: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for lane in lanes:
            self.lanes.put_nowait(lane)
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.spread = 0.0  # open_http_sender spreads a network run's lanes
        host = urlsplit(str(lanes[0].base_url)).hostname if lanes else None
        self.host = host or "the API"

    async def send(self, method: str, path: str, body: Any = None,
                   headers: Mapping[str, str] | None = None) -> Answer:
        lane = await self.lanes.get()
        try:
            async with asyncio.timeout(self.deadline):
                return await self._exchange(lane, method, path, body, headers)
        except TimeoutError:
            raise TransportFailed(f"{self.host} did not answer within {self.deadline:g}s") from None
        except httpx.TimeoutException:
            raise TransportFailed(f"{self.host} did not answer in time (timeout)") from None
        except httpx.TransportError as exc:
            cause = network_cause(exc)
            raise TransportFailed(f"cannot reach the MiniVoice API at {self.host}: {cause}",
                                  unreachable=unreachable(cause)) from None
        except httpx.HTTPError as exc:  # an answer that could not be read, for one
            raise TransportFailed(f"the request to {self.host} failed "
                                  f"({type(exc).__name__})") from None
        finally:
            self.lanes.put_nowait(lane)

    async def _exchange(self, lane: httpx.AsyncClient, method: str, path: str,
                        body: Any, headers: Mapping[str, str] | None) -> Answer:
        # The client's headers and base URL, without build_request's merging of cookies,
        # params and headers on every call (about 10% of the CPU of a request).
        sent = lane.headers if not headers else {**lane.headers, **headers}
        request = httpx.Request(method, f"{lane.base_url}".rstrip("/") + path,
                                headers=sent, json=body)
        response = await lane.send(request, stream=True)
        try:
            return Answer(response.status_code, response.headers,
                          await self._read(response))
        finally:
            await response.aclose()

    async def _read(self, response: httpx.Response) -> bytes:
        """The body as sent: an answer in any Content-Encoding but identity is refused before
        its body is read (httpx would inflate a gzip bomb), so aiter_bytes decodes nothing."""
        check_encoding(response.headers)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise AnswerTooLarge(f"the API answer is {int(declared)} bytes, more than the "
                                 f"{self.max_bytes} mvconf reads")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise AnswerTooLarge(f"the API answer is larger than {self.max_bytes} bytes; "
                                     "it was cut off")
            chunks.append(chunk)
        return b"".join(chunks)


def network_cause(exc: BaseException) -> str:
    """What went wrong on the network, in words (httpx's timeouts count as timeouts)."""
    return transport_cause(exc, timeouts=(TimeoutError, httpx.TimeoutException))


@asynccontextmanager
async def open_lanes(count: int, **options: Any) -> AsyncIterator[HttpSender]:
    """`count` httpx clients made with `options`, sharing one TLS context, closed on exit."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = httpx.create_ssl_context()
    async with AsyncExitStack() as stack:
        lanes = [await stack.enter_async_context(
                     httpx.AsyncClient(limits=limits, verify=tls, **options))
                 for _ in range(max(1, count))]
        yield HttpSender(*lanes)


@asynccontextmanager
async def open_http_sender(endpoint: Endpoint, parallelism: int,
                           deadline: float = DEADLINE_SECONDS) -> AsyncIterator[HttpSender]:
    """One lane per request in flight, with keep-alive, for the whole run; no redirects.
    Proxy variables apply to https only: a plain-http API is loopback and reached directly.
    `deadline` bounds each request from sending to its last byte (network.py keeps it between
    one second and DEADLINE_SECONDS)."""
    timeout = httpx.Timeout(min(TIMEOUT_SECONDS, deadline),
                            connect=min(CONNECT_TIMEOUT_SECONDS, deadline))
    trust_env = urlsplit(endpoint.url or "").scheme == "https"
    async with open_lanes(parallelism, base_url=endpoint.url, headers=endpoint.headers(),
                          timeout=timeout, follow_redirects=False,
                          trust_env=trust_env) as sender:
        sender.deadline = deadline
        sender.spread = LANE_SPREAD_SECONDS
        yield sender
