"""The MiniVoice API client: reads, writes, retries (SPEC §2, §10).

It sends through a `Sender` (transport.py), and every transport failure and error body becomes
an `ApiError` here and nowhere else. Three rules keep a real API from fooling it:

- Rate limits are the shared `RateGovernor`'s business: a 429 waits, it is not a failed attempt.
- Transient failures (no answer, 5xx) are retried with stamina, exponential backoff and jitter,
  until `retry_timeout` seconds have passed for that request; the first attempt runs outside
  stamina, so a run without failures pays nothing for it. The budget is the request's own,
  from its first attempt: no pause (a backoff, a Retry-After) goes past it; a pause that would
  is not taken, the request gives up at once. The first retry of a run is said (`on_retry`: a
  line on stderr), and again at most every `RETRY_NOTICE_SECONDS` while retries go on.
- A name that does not resolve, a port where nothing listens, a certificate not trusted: before
  the API has answered anything in this run, these are a wrong URL, not a passing fault, and
  fail at once.
- An answer is trusted only when it is what was asked for: JSON, a DID, for the number or id
  asked about. A redirect, a non-JSON body or another number's DID is an error, never retried.
  Anything that echoes the API key is masked before it goes further.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mvconf.core.api_settings import DEFAULT_RETRY_TIMEOUT
from mvconf.core.errors import ApiError, ApiUnreachable
from mvconf.core.facts import COMPARED, E164_SHAPE, ENTITY_TAG, MAX_ETAG_LENGTH, did_label
from mvconf.core.jsontext import loads
from mvconf.core.logs import contains_secret, holds_secret, redact, redact_data
from mvconf.core.text import clipped
from mvconf.minivoice.governor import RateGovernor
from mvconf.minivoice.transport import Answer, AnswerRefused, Sender, TransportFailed

if TYPE_CHECKING:
    from mvconf.minivoice.models import LiveDID

log = logging.getLogger("mvconf.client")
# A DID object is about 400 bytes; a plan keeps the ones it changes (`live`), so one far larger
# (fields the API added, a huge value) is refused rather than kept, whatever the account's size.
MAX_DID_BYTES = 8 * 1024
# What a 404 not_found reads as: never None, which is also what a body of `null` parses to (and
# that is not a DID, not an absent one).
NOT_IN_ACCOUNT = object()
MAX_RETRY_AFTER = 120.0
RETRY_NOTICE_SECONDS = 30.0


def _stamina():
    """stamina, imported at the first retry: a run without failures never needs it."""
    import stamina
    import stamina.instrumentation

    # Retries are logged by us at --debug; stamina's own hooks would log each one to stderr.
    stamina.instrumentation.set_on_retry_hooks([])
    return stamina


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and exc.retryable and exc.status != 429


class MiniVoiceClient:
    """One client per run, shared by every request of the run (and so is its governor)."""

    def __init__(
        self,
        sender: Sender,
        *,
        retry_timeout: float = DEFAULT_RETRY_TIMEOUT,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        governor: RateGovernor | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[str], None] | None = None,
    ):
        self.sender = sender
        self.retry_timeout = retry_timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.governor = governor or RateGovernor(clock=clock)
        self.clock = clock
        self.on_retry = on_retry
        self.retries = 0
        self.answered = False  # whether any answer has come in this run
        self._noticed: float | None = None  # when the last retry notice was given
        # number -> the task reading it early (run/early.py), taken by get_by_number
        self.early: dict[str, asyncio.Future] = {}

    async def get_by_number(self, number: str) -> LiveDID | None:
        """The DID with this E.164 number, or None when the account has no such DID (404).
        An answer read early for this number (`early`, run/early.py) is taken, once, instead
        of asking again: the same request, sent sooner."""
        answer = None
        early = self.early.pop(number, None) if self.early else None
        if early is not None:
            try:
                answer = await early
            except ApiError as exc:
                if not (_transient(exc) or exc.status == 429):
                    raise  # asked again, the API would answer the same, and it is not retried
                # else read again below as if never sent: its retries and notices as usual
        body, tag = answer if answer is not None else await self.read_number(number)
        return self.did_of(number, body, tag)

    def did_of(self, number: str, body: Any, tag: str | None, *,
               shared: bool = False) -> LiveDID | None:
        """The DID in `read_number`'s answer for `number`, checked to be that number's
        (`shared`: see parse_did)."""
        from mvconf.core.phone import to_e164
        from mvconf.minivoice.models import parse_did

        if body is NOT_IN_ACCOUNT:
            return None
        what = f"reading DID {number}"
        did = parse_did(body, what, tag, shared=shared)
        if did.number_e164 != number and to_e164(did.number_e164) != number:
            raise ApiError(f"{what}: the API answered with the DID of another number "
                           f"({clipped(did.number_e164, 40)}, {did.id}); the answer is not "
                           "trusted",
                           transient=False)
        return did

    async def read_number(self, number: str, *, once: bool = False) -> tuple[Any, str | None]:
        """GET the DID of `number`, unparsed: its body (NOT_IN_ACCOUNT for a 404 not_found)
        and its ETag, for `get_by_number`. `once` (an early read, run/early.py): one attempt,
        no retries and no retry notices (a 429 is still waited out through the governor); a
        failure that would be retried is for get_by_number to read again."""
        segment = number if E164_SHAPE.match(number) else quote(number, safe="+")
        path, what = f"/v1/dids/by-number/{segment}", f"reading DID {number}"
        if once:
            deadline = self.clock() + max(0.0, self.retry_timeout)
            return await self._governed("GET", path, what, None, True, None, deadline)
        return await self._call("GET", path, what, none_on_404=True)

    async def get(self, did_id: str) -> LiveDID | None:
        from mvconf.minivoice.models import parse_did

        what = f"reading DID {did_id}"
        body, tag = await self._call("GET", f"/v1/dids/{quote(did_id, safe='')}", what,
                                     none_on_404=True)
        if body is NOT_IN_ACCOUNT:
            return None
        return _same_id(parse_did(body, what, tag), did_id, what)

    async def patch(self, did_id: str, fields: dict, number: str = "",
                    if_match: str | None = None) -> LiveDID:
        """PATCH absolute values; with `if_match`, only if the DID is still that version
        (a 412 is then an ApiError with code precondition_failed, not retried)."""
        from mvconf.minivoice.models import parse_did

        what = f"updating DID {did_label(number, did_id) if number else did_id}"
        fields = {k: v for k, v in fields.items() if k in COMPARED}  # only what mvconf manages
        headers = {"If-Match": if_match} if if_match else None
        body, tag = await self._call("PATCH", f"/v1/dids/{quote(did_id, safe='')}", what,
                                     json=fields, headers=headers)
        return _same_id(parse_did(body, what, tag), did_id, what)

    async def _call(self, method: str, path: str, what: str, *, json: Any = None,
                    none_on_404: bool = False,
                    headers: dict[str, str] | None = None) -> tuple[Any, str | None]:
        """The parsed body (NOT_IN_ACCOUNT for a 404 not_found when `none_on_404`) and the
        ETag."""
        started = self.clock()
        deadline = started + max(0.0, self.retry_timeout)
        try:
            return await self._governed(method, path, what, json, none_on_404, headers,
                                        deadline)
        except ApiError as exc:
            if not _transient(exc):
                raise
            first = exc
        if self.retry_timeout <= 0:  # --retry-timeout 0: no retries
            raise _gave_up(first, 1, 0.0) from None
        attempts = 1
        self._notice(what, first)

        def pause(exc: BaseException) -> bool | float:
            """stamina's hook: the pause before the next attempt, or False to give up (the
            pause would pass the deadline)."""
            if not _transient(exc):
                return False
            wait = min(self.max_backoff, self.backoff * 2 ** min(attempts - 1, 30))
            wait += random.uniform(0, self.backoff)  # noqa: S311 (jitter, not a secret)
            if self.clock() + wait >= deadline:
                return False
            return wait

        stamina = _stamina()
        try:
            async for attempt in stamina.retry_context(on=pause, attempts=None, timeout=None):
                with attempt:
                    if attempt.num == 1:
                        raise first  # already tried: let stamina wait before the next one
                    attempts += 1
                    self.retries += 1
                    return await self._governed(method, path, what, json, none_on_404,
                                                headers, deadline)
        except ApiError as exc:
            if not _transient(exc):
                raise
            raise _gave_up(exc, attempts, self.clock() - started) from None
        raise AssertionError("unreachable")

    def _notice(self, what: str, error: ApiError) -> None:  # `error` names `what` already
        """Say that retrying has begun: once, then at most every RETRY_NOTICE_SECONDS."""
        log.debug("%s: %s; retrying for up to %gs", what, error, self.retry_timeout)
        now = self.clock()
        if self.on_retry is None or (self._noticed is not None
                                     and now - self._noticed < RETRY_NOTICE_SECONDS):
            return
        self._noticed = now
        self.on_retry(f"{error}; retrying for up to {self.retry_timeout:g}s (--retry-timeout)")

    async def _governed(self, method, path, what, body, none_on_404, headers,
                        deadline: float) -> tuple[Any, str | None]:
        """One attempt: sent when the governor allows, sent again after each 429, until
        `deadline` (a pause that would end after it is not taken)."""
        governor = self.governor
        while True:
            if not governor.open() and not await governor.acquire(deadline):
                raise ApiError(f"{what}: still rate limited (429): the next attempt the API's "
                               "limit allows would come after --retry-timeout "
                               f"{self.retry_timeout:g}s", status=429, transient=False)
            try:
                answer = await self.sender.send(method, path, body, headers)
            except TransportFailed as exc:
                # Before any answer, a wrong host or port is a wrong URL: no retrying.
                final = exc.unreachable and not self.answered
                raise ApiUnreachable(f"{what}: {exc}",
                                     transient=False if final else None) from None
            except AnswerRefused as exc:
                raise ApiError(f"{what}: {exc}", transient=False) from None
            self.answered = True
            if answer.status != 429:
                governor.accepted()
                return _interpret(answer, what, none_on_404), _etag(answer, what)
            alone = governor.throttled(_retry_after(answer))  # > 0: a stray, waited alone
            if self.clock() + alone >= deadline:  # however short the pauses asked for
                raise ApiError(f"{what}: still rate limited (429) after --retry-timeout "
                               f"{self.retry_timeout:g}s", status=429, transient=False)
            if alone:
                await governor.sleep(alone)


def _same_id(did: LiveDID, did_id: str, what: str) -> LiveDID:
    if did.id != did_id:
        raise ApiError(f"{what}: the API answered with another DID ({did.id}); the answer is "
                       "not trusted", transient=False)
    return did


def _etag(answer: Answer, what: str) -> str | None:
    """The answer's ETag, which a write sends back as If-Match: visible ASCII only (RFC 9110
    §8.8.3 allows bytes above 0x7F, but they cannot be sent back unchanged and shown safely)."""
    tag = answer.headers.get("etag")
    if tag is None:
        return None
    if not (tag.isascii() and tag.isprintable()):
        raise ApiError(f"{what}: the API answered with an ETag that is not printable ASCII "
                       f"({ascii(redact(tag))[:80]}); the answer is not trusted",
                       transient=False)
    secret = holds_secret(tag)
    if secret or len(tag) > MAX_ETAG_LENGTH:  # kept in plans, sent back as If-Match
        why = "holds the API key" if secret else f"is {len(tag)} characters long"
        raise ApiError(f"{what}: the API answered with an ETag that {why}; the answer is not "
                       "trusted", transient=False)
    if not ENTITY_TAG.fullmatch(tag):
        # Not one entity-tag (RFC 9110 §8.8.3): `*` or a list, sent back as If-Match, would
        # match any version. Taken as no ETag: the DID is read again before it is written.
        log.debug("%s: the ETag %r is not one entity-tag; not used", what, tag)
        return None
    return tag


def _gave_up(exc: ApiError, attempts: int, seconds: float) -> ApiError:
    tail = f" (gave up after {attempts} attempts in {seconds:.0f}s)"
    cls = ApiUnreachable if isinstance(exc, ApiUnreachable) else ApiError
    return cls(exc.summary + tail, status=exc.status, code=exc.code, message=exc.api_message)


def _interpret(answer: Answer, what: str, none_on_404: bool) -> Any:
    status = answer.status
    if status == 404 and none_on_404 and _envelope(answer)[0] == "not_found":
        return NOT_IN_ACCOUNT
    if status >= 400:
        raise _api_error(answer, what)
    if not 200 <= status < 300:
        where = answer.headers.get("location")
        if where and status in (301, 302, 303, 307, 308):
            raise ApiError(f"{what}: the API answered HTTP {status} to "
                           f"{clipped(redact(where), 200)!r}; mvconf does not follow redirects "
                           "(check MINIVOICE_API_URL)", status=status, transient=False)
        raise ApiError(f"{what}: the API answered HTTP {status}, which is not an answer to "
                       "this request (check MINIVOICE_API_URL)", status=status, transient=False)
    if len(answer.content) > MAX_DID_BYTES:  # every answer mvconf reads is one DID object
        raise ApiError(f"{what}: the API answered with {len(answer.content)} bytes, more than "
                       f"the {MAX_DID_BYTES} a DID object may take; the answer is not trusted",
                       transient=False)
    try:
        body = loads(answer.content)
    except ValueError:
        raise ApiError(f"{what}: the API answered {status} with a body that is not JSON "
                       "(or is nested too deeply)", status=status, transient=False) from None
    if b"\\" in answer.content or contains_secret(answer.content):
        body = redact_data(body)  # an API that echoes the key never gets it into a plan
    return body


def _envelope(answer: Answer) -> tuple[str | None, str | None]:
    try:
        body = loads(answer.content)
    except ValueError:
        return None, None
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return None, None
    code, message = err.get("code"), err.get("message")
    # One printable line each, wherever they are shown (a terminal, a log, a PR comment).
    return (clipped(redact(str(code)), 200) if code is not None else None,
            clipped(redact(str(message)), 1000) if message is not None else None)


MIN_RETRY_AFTER = 0.02


def _retry_after(answer: Answer) -> float | None:
    value = answer.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # an HTTP date: rare

        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = parsed.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    # At least 20 ms: a pause of nothing would have a run send 429s back to back.
    return min(max(MIN_RETRY_AFTER, seconds), MAX_RETRY_AFTER)


def _api_error(answer: Answer, what: str) -> ApiError:
    code, message = _envelope(answer)
    if code is None:
        return ApiError(f"{what}: the API answered HTTP {answer.status} without an error body",
                        status=answer.status)
    return ApiError(what, status=answer.status, code=code, message=message)


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
    answered: list[tuple[str, LiveDID | None]] = []
    failed: list[Exception] = []
    loop = asyncio.get_running_loop()

    def drain() -> None:
        # What is done with answers runs after the lanes that answered have sent their next
        # request: a burst of answers is not made to wait for each other's planning.
        try:
            while answered:
                number, live = answered.pop()
                results[number] = keep(number, live) if keep else live
                if on_done:
                    on_done()
        except Exception as exc:  # handed to read_many's caller, never to the event loop
            answered.clear()
            failed.append(exc)
            for task in workers:
                task.cancel()

    async def worker(index: int) -> None:
        if index and spread:
            await asyncio.sleep(index * spread)
        for number in queue:
            live = await client.get_by_number(number)
            if failed:
                return
            answered.append((number, live))
            if len(answered) == 1:
                loop.call_soon(drain)
            elif len(answered) >= lanes:  # answers that came without waiting (in-process)
                drain()

    lanes = max(1, min(parallelism, len(pending)))
    spread = getattr(client.sender, "spread", 0.0)  # network lanes start a little apart
    workers = [asyncio.create_task(worker(index)) for index in range(lanes)]
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:
        if not failed:
            raise
    finally:
        for task in workers:
            task.cancel()
    drain()
    if failed:
        raise failed[0]
    return {number: results[number] for number in pending}
