"""The transport seam: how the client sends one request and gets one answer.

    Sender.send(method, path, body, headers) -> Answer(status, headers, content)
                                     or raises TransportFailed when no answer came

`MiniVoiceClient` (client.py) does everything above this line: retries, error envelopes, DID
parsing. Three senders implement it: `DirectSender` (direct.py, h11 over asyncio's streams,
for an API reached without a proxy), `HttpSender` (http.py, httpx: through a proxy, or an httpx
mock transport in tests) and the emulator's in-process sender (`emulator/inprocess.py`), which
calls the emulator directly without HTTP. network.py picks between the first two. Like httpx's
one-method transports, a sender knows nothing of MiniVoice: it moves bytes and says when none
came back.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# Per step (connect; each read), per request from sending to the last byte, and per answer.
TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS = 15.0, 5.0
DEADLINE_SECONDS = 60.0
MAX_ANSWER_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer: status, headers with lower-case names, and the raw body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class Sender(Protocol):
    async def send(self, method: str, path: str, body: Any = None,
                   headers: Mapping[str, str] | None = None) -> Answer:
        """Send one request (`body` is JSON-able, or None; `headers` are added to the
        sender's own); raise TransportFailed when no answer came."""


class TransportFailed(Exception):
    """No answer: the connection failed or the API did not answer in time."""


class AnswerTooLarge(Exception):
    """An answer came, but it was larger than the client will hold; it was cut off unread."""


def network_cause(exc: BaseException,
                  timeouts: tuple[type[BaseException], ...] = (TimeoutError,)) -> str:
    """What went wrong on the network, in words: the innermost cause a library wraps."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "the host name was not found (DNS)"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"TLS failure: the certificate was not accepted ({current.verify_message})"
        if isinstance(current, ssl.SSLError):
            return f"TLS failure ({current.reason or type(current).__name__})"
        if isinstance(current, timeouts):
            return "timed out"
        if isinstance(current, ConnectionResetError | BrokenPipeError):
            return "the connection was closed by the other side"
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "name" in text.lower() and "resolution" in text.lower():
        return "the host name was not found (DNS)"
    if "refused" in text.lower():
        return "connection refused"
    if "ssl" in text.lower() or "certificate" in text.lower():
        return "TLS failure"
    return f"connection failed ({type(exc).__name__})"
