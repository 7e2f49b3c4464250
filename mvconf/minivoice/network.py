"""Which sender reaches a remote API: its own keep-alive lanes (direct.py), or httpx (http.py)
when a proxy is configured for https. A plain-http API is loopback only (SPEC §2) and is never
reached through a proxy, so the key is never handed to one in clear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from mvconf.minivoice.connect import Endpoint
from mvconf.minivoice.direct import DirectSender
from mvconf.minivoice.transport import (
    CONNECT_TIMEOUT_SECONDS,
    DEADLINE_SECONDS,
    MAX_ANSWER_BYTES,
    TIMEOUT_SECONDS,
    Sender,
)


def proxied() -> bool:
    """Whether the environment names a proxy for https (HTTPS_PROXY or ALL_PROXY, in either
    case). httpx then decides, NO_PROXY included, as it always has."""
    from urllib.request import getproxies

    found = getproxies()
    return bool(found.get("https") or found.get("all"))


@asynccontextmanager
async def open_network_sender(endpoint: Endpoint, parallelism: int,
                              deadline: float = DEADLINE_SECONDS) -> AsyncIterator[Sender]:
    """One lane per request in flight, with keep-alive, for the whole run; no redirects.
    `deadline` bounds each request from sending to its last byte (at least one second)."""
    url = endpoint.url or ""
    https = urlsplit(url).scheme == "https"
    deadline = max(1.0, min(DEADLINE_SECONDS, deadline))
    if https and proxied():
        from mvconf.minivoice.http import open_http_sender

        async with open_http_sender(endpoint, parallelism, deadline) as sender:
            yield sender
        return
    tls = None
    if https:
        from httpx import create_ssl_context  # the trust httpx gives: certifi, SSL_CERT_FILE

        tls = create_ssl_context()
    sender = DirectSender(url, endpoint.headers(), parallelism, tls=tls, deadline=deadline,
                          step_timeout=min(TIMEOUT_SECONDS, deadline),
                          connect_timeout=min(CONNECT_TIMEOUT_SECONDS, deadline),
                          max_bytes=MAX_ANSWER_BYTES)
    try:
        yield sender
    finally:
        sender.close()
