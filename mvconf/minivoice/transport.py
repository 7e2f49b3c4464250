"""The transport seam: how the client sends one request and gets one answer.

    Sender.send(method, path, body, headers) -> Answer(status, headers, content)
                                     or raises TransportFailed when no answer came

`MiniVoiceClient` (client.py) does everything above this line: retries, error envelopes, DID
parsing. Three senders implement it: `DirectSender` (direct.py, httptools over asyncio's streams,
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
# A network sender's `spread`: read_many starts its lanes this far apart, so that their answers
# do not come back in bursts that wait for each other's reading, on both sides (4,000 DIDs 50 ms
# away over 16 lanes: 13.30-13.40 s started together, 13.21-13.29 s 1 ms apart).
LANE_SPREAD_SECONDS = 0.001


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer: status, headers with lower-case names, and the raw body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class Sender(Protocol):
    """`spread` (optional, seconds; 0 when absent): how far apart read_many starts its lanes."""

    async def send(self, method: str, path: str, body: Any = None,
                   headers: Mapping[str, str] | None = None) -> Answer:
        """Send one request (`body` is JSON-able, or None; `headers` are added to the
        sender's own); raise TransportFailed when no answer came."""


class AnswerRefused(Exception):
    """An answer came, but the sender would not read it: not retried."""


class AnswerTooLarge(AnswerRefused):
    """An answer came, but it was larger than the client will hold; it was cut off unread."""


class TransportFailed(Exception):
    """No answer: the connection failed or the API did not answer in time. `unreachable`: the
    cause is one that asking again will not change (the name is not in DNS, nothing listens on
    the port, the certificate is not trusted), unless the API was answering before."""

    def __init__(self, message: str, *, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


DNS = "the host name was not found (DNS)"
REFUSED = "connection refused"
UNTRUSTED = "TLS failure: the certificate was not accepted"


def unreachable(cause: str) -> bool:
    """Whether `network_cause`'s words name a cause that sending again will not change."""
    return cause in (DNS, REFUSED) or cause.startswith(UNTRUSTED)


class BadEncoding(AnswerRefused):
    """An answer in a Content-Encoding other than identity: never decoded (a small compressed
    body can stand for gigabytes), refused unread."""


def check_encoding(headers: Mapping[str, str]) -> None:
    """Raise BadEncoding unless the answer is sent as it is (no Content-Encoding, or identity)."""
    given = headers.get("content-encoding", "").strip()
    encoding = given.lower()
    if encoding and encoding != "identity":
        from mvconf.core.logs import redact

        shown = ascii(redact(given))[1:-1][:40]  # masked before it is cut or changed
        raise BadEncoding(f"the API answered with Content-Encoding {shown}; mvconf asks for "
                          "and reads only uncompressed answers (identity)")


def network_cause(exc: BaseException,
                  timeouts: tuple[type[BaseException], ...] = (TimeoutError,)) -> str:
    """What went wrong on the network, in words: the innermost cause a library wraps."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return DNS
        if isinstance(current, ConnectionRefusedError):
            return REFUSED
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"{UNTRUSTED} ({current.verify_message})"
        if isinstance(current, ssl.SSLError):
            return f"TLS failure ({current.reason or type(current).__name__})"
        if isinstance(current, timeouts):
            return "timed out"
        if isinstance(current, ConnectionResetError | BrokenPipeError):
            return "the connection was closed by the other side"
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "name" in text.lower() and "resolution" in text.lower():
        return DNS
    if "refused" in text.lower():
        return REFUSED
    if "ssl" in text.lower() or "certificate" in text.lower():
        return "TLS failure"
    return f"connection failed ({type(exc).__name__})"
