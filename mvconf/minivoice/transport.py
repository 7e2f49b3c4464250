"""The transport seam: how the client sends one request and gets one answer.

    Sender.send(method, path, body, headers) -> Answer(status, headers, content)
                                     or raises TransportFailed when no answer came

`MiniVoiceClient` (client.py) does everything above this line: retries, error envelopes, DID
parsing. Two senders implement it: `HttpSender` (http.py, httpx over the network, or an httpx
mock transport in tests) and the emulator's in-process sender (`emulator/inprocess.py`), which
calls the emulator directly without HTTP. Like httpx's one-method transports, a sender knows
nothing of MiniVoice: it moves bytes and says when none came back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


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
