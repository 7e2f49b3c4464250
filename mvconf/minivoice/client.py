"""The MiniVoice API client: reads, writes, retries (SPEC §2).

It sends through a `Sender` (transport.py). Every transport failure and error body becomes an
`ApiError` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote

from mvconf.errors import ApiError
from mvconf.facts import did_label
from mvconf.minivoice.models import LiveDID, parse_did
from mvconf.minivoice.transport import Answer, Sender, TransportFailed

log = logging.getLogger("mvconf.client")
MAX_BODY_BYTES = 1024 * 1024
MAX_RETRY_AFTER = 120.0


class MiniVoiceClient:
    """One client per run. Reads and PATCHes (absolute values, so safe to repeat) are retried on
    timeouts, connection errors, 429 (honouring Retry-After) and 5xx, with exponential backoff and
    full jitter, up to `attempts` tries."""

    def __init__(
        self,
        sender: Sender,
        *,
        attempts: int = 6,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ):
        self.sender = sender
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.retries = 0

    async def get_by_number(self, number: str) -> LiveDID | None:
        """The DID with this E.164 number, or None when the account has no such DID (404)."""
        what = f"reading DID {number}"
        body = await self._call("GET", f"/v1/dids/by-number/{quote(number, safe='+')}", what,
                                none_on_404=True)
        return None if body is None else parse_did(body, what)

    async def get(self, did_id: str) -> LiveDID | None:
        what = f"reading DID {did_id}"
        body = await self._call("GET", f"/v1/dids/{quote(did_id, safe='')}", what, none_on_404=True)
        return None if body is None else parse_did(body, what)

    async def patch(self, did_id: str, fields: dict, number: str = "") -> LiveDID:
        what = f"updating DID {did_label(number, did_id) if number else did_id}"
        body = await self._call("PATCH", f"/v1/dids/{quote(did_id, safe='')}", what, json=fields)
        return parse_did(body, what)

    async def _call(self, method: str, path: str, what: str, *, json: Any = None,
                    none_on_404: bool = False) -> Any:
        for attempt in range(1, self.attempts + 1):
            try:
                return await self._once(method, path, what, json, none_on_404)
            except ApiError as exc:
                if not exc.retryable or attempt == self.attempts:
                    if exc.retryable:
                        raise ApiError(f"{exc.summary} (gave up after {attempt} attempts)",
                                       status=exc.status, code=exc.code,
                                       message=exc.api_message) from None
                    raise
                delay = self._delay(attempt, getattr(exc, "retry_after", None))
                log.debug("%s: %s; retrying in %.2fs", what, exc, delay)
                self.retries += 1
                await self.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER) + self.rng.uniform(0, self.backoff)
        return self.rng.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    async def _once(self, method, path, what, body, none_on_404):
        try:
            response = await self.sender.send(method, path, body)
        except TransportFailed as exc:
            raise ApiError(f"{what}: {exc}") from None
        if response.status == 404 and none_on_404 and _error_code(response) == "not_found":
            return None
        if response.status >= 400:
            raise _api_error(response, what)
        if len(response.content) > MAX_BODY_BYTES:
            raise ApiError(f"{what}: the API answer is larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(response.content)
        except ValueError:
            raise ApiError(f"{what}: the API answered {response.status} with a body that is "
                           "not JSON") from None


def _envelope(response: Answer) -> tuple[str | None, str | None]:
    try:
        body = json.loads(response.content[:MAX_BODY_BYTES])
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            code, message = err.get("code"), err.get("message")
            return (str(code) if code is not None else None,
                    str(message) if message is not None else None)
    except ValueError:
        pass
    return None, None


def _error_code(response: Answer) -> str | None:
    return _envelope(response)[0]


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _api_error(response: Answer, what: str) -> ApiError:
    code, message = _envelope(response)
    status = response.status
    if code is None:
        summary = f"{what}: the API answered HTTP {status} without an error body"
        error = ApiError(summary, status=status)
    else:
        error = ApiError(what, status=status, code=code, message=message)
    if status == 429:
        try:
            error.retry_after = _retry_after(response)
        except (TypeError, ValueError, OverflowError):
            error.retry_after = None
    return error


async def read_many(
    client: MiniVoiceClient,
    numbers: Iterable[str],
    parallelism: int,
    on_done: Callable[[], None] | None = None,
    keep: Callable[[str, LiveDID | None], Any] | None = None,
) -> dict[str, Any]:
    """Look up every number with at most `parallelism` requests in flight; fails on the first
    lookup that fails for good, after its retries. With `keep`, what it returns for each number
    is kept instead of the DID, so the DIDs need not all be held at once."""
    pending = list(numbers)
    results: dict[str, Any] = {}
    queue = iter(pending)

    async def worker() -> None:
        for number in queue:
            live = await client.get_by_number(number)
            results[number] = keep(number, live) if keep else live
            if on_done:
                on_done()

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(parallelism, len(pending))))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return {number: results[number] for number in pending}
