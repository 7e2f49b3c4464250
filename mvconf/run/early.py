"""`plan` reading while the manifests load: the same reads, sent sooner.

A network-bound plan spent its first half second importing mvconf and loading the manifests
before its first request. Here `plan` opens the API first, finds the numbers written plainly on
the manifests' `number:` lines (a line pattern over their text, not YAML), and starts
`--parallelism` lanes reading those DIDs while a worker thread imports the rest of mvconf and
loads the manifests as always. When the load is done the lanes take no new number, and:

- a DID the manifests manage that was read early is taken from that answer, once (the client's
  `early`): the same request with the same checks, sent sooner. Those still in flight are taken
  first, so the lanes are never held waiting behind answers already in;
- an answer for a number the manifests do not manage (another environment's entry, a number
  line in a block scalar) is dropped unseen; one in flight finishes on its connection, so the
  server never has more than --parallelism requests of the run at once;
- a read that failed early in a way that would be retried (a timeout, a 5xx, a 429 past the
  deadline: there are no retries early) is forgotten: the DID is read as usual, with its
  retries, notices and errors, as if the early one was never sent. Any other error (a 401, an
  answer refused) is the DID's, as it would be read again;
- every other DID is read as usual.

Only GETs are sent early, through the run's one client: its governor and checks apply, and no
more than `--parallelism` requests are ever in flight (the sender has that many lanes). An
error ends the early reads, and is shown only as the error of a DID the plan reads. A 429 early
is waited out through the run's governor like any other: the API's limit is the account's.
A manifest that fails to load costs the reads already sent and nothing else: its error is the
one shown. At most MAX_EARLY numbers are read early, so the answers held stay small whatever the
size of the manifests.

Used by `plan` without --target, --changed-since, --env all or --emulator, and only when the API
opens (a missing key or a bad URL is reported as before, after the manifests' own errors).
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mvconf.core.api_settings import ApiSettings
from mvconf.core.errors import MvconfError
from mvconf.manifest.files import Unreadable, find_manifests, read_bytes
from mvconf.minivoice.client import MiniVoiceClient
from mvconf.run.runtime import Runtime

if TYPE_CHECKING:
    from mvconf.apply.view import ReadView
    from mvconf.config.project import Context
    from mvconf.plan.model import Plan
    from mvconf.run.planning import PlanRequest

MAX_EARLY = 2048  # numbers read early at most (about 3 MB of answers held)
# While the worker thread loads, the loop thread waits for the GIL at each answer; Python's
# default 5 ms switch interval made the early reads 0.1-0.2 s slower over a 4,000-DID load.
LOADING_SWITCH_INTERVAL = 0.0005
# A `number:` line with an E.164 value, plain or quoted, as a list item or a key of one.
NUMBER_LINE = re.compile(rb"^[ \t]*(?:-[ \t]+)?number:[ \t]*([\"']?)(\+[1-9][0-9]{6,14})\1"
                         rb"[ \t]*(?:#[^\r\n]*)?\r?$", re.MULTILINE)

Prepare = Callable[[], "tuple[PlanRequest, ReadView]"]


def numbers_in(paths: list[str], limit: int = MAX_EARLY) -> list[str]:
    """The E.164 numbers on `number:` lines of the manifest files under `paths`, in order, each
    once, at most `limit`. Only files the loader would read (read_bytes); anything it cannot
    read here is left for the loader to report."""
    try:
        files = find_manifests(paths, False, [])
    except MvconfError:
        return []
    found: dict[str, None] = {}
    for path in files:
        for match in NUMBER_LINE.finditer(_text(path)):
            found.setdefault(match.group(2).decode("ascii"), None)
            if len(found) >= limit:
                return list(found)
    return list(found)


def _text(path: str) -> bytes:
    try:
        return read_bytes(path)
    except (OSError, Unreadable):
        return b""  # the loader reports it


class EarlyReads:
    """Lanes reading `numbers` through `client` until `end()`; what they read waits in
    `client.early` for get_by_number."""

    def __init__(self, client: MiniVoiceClient, numbers: Iterable[str]):
        self.client = client
        self._numbers = iter(numbers)
        self._lanes: list[asyncio.Task] = []
        self._stopped = False

    def start(self, lanes: int, spread: float = 0.0) -> None:
        self._lanes = [asyncio.create_task(self._lane(index * spread)) for index in range(lanes)]

    async def _lane(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        for number in self._numbers:
            if self._stopped or number in self.client.early:
                return
            task = asyncio.ensure_future(self.client.read_number(number, once=True))
            task.add_done_callback(_retrieve)  # an error the run ends before taking is not logged
            self.client.early[number] = task
            await asyncio.wait((task,))  # never cancels the read: it may have been taken
            if task.cancelled() or task.exception() is not None:
                self._stopped = True  # a failed read is read again, as usual, if the plan needs it
                return

    def end(self, managed: list[str], *, cancel: bool = False) -> list[str]:
        """Stop, drop what the plan does not read, and return `managed` in the order to read
        it: in flight first, then the others with the answers already in between them. Reads
        in flight that the plan does not need finish unseen, on their connections, unless
        `cancel`: the server never has more than --parallelism requests of this run at once."""
        self._stopped = True
        for lane in self._lanes:
            lane.cancel()
        early = self.client.early
        wanted = set(managed)
        for number in [n for n in early if n not in wanted]:
            _drop(early.pop(number), cancel)
        flying = [n for n in managed if n in early and not early[n].done()]
        landed = [n for n in managed if n in early and early[n].done()]
        rest = [n for n in managed if n not in early]
        mixed: list[str] = []
        for index, number in enumerate(rest):
            mixed.append(number)
            if index < len(landed):
                mixed.append(landed[index])
        return flying + mixed + landed[len(rest):]

    def abandon(self) -> None:
        """Stop and cancel everything (the load failed or the run was stopped: it ends)."""
        self.end([], cancel=True)


def _drop(task: asyncio.Future, cancel: bool) -> None:
    if not task.done():
        if cancel:
            task.cancel()
        else:
            task.add_done_callback(_retrieve)
    else:
        _retrieve(task)


def _retrieve(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an error nobody needs is not logged at exit


class _Waiting:
    """The view until the command's own is imported: a retry notice is kept for it."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def warn(self, message: str) -> None:
        self.notes.append(message)


def plan_early(api: ApiSettings, context: Context, paths: list[str], prepare: Prepare, *,
               strict: bool = False) -> Plan | None:
    """A new plan of the manifests under `paths`, reading while they load; None when that
    cannot start (the API does not open, no number is found): plan as usual then. `prepare`
    is called in the worker thread and gives the plan's request and the command's view."""
    waiting = _Waiting()
    runtime = Runtime(api, context, waiting)  # type: ignore[arg-type]
    try:
        runtime.open()
    except MvconfError:
        return None
    numbers = numbers_in(paths)
    if not numbers:
        return None

    async def work(client: MiniVoiceClient) -> Plan:
        reads = EarlyReads(client, numbers)
        reads.start(max(1, min(api.parallelism, len(numbers))),
                    getattr(client.sender, "spread", 0.0))
        switch = sys.getswitchinterval()
        sys.setswitchinterval(LOADING_SWITCH_INTERVAL)
        try:
            request, loaded, desired = await in_thread(lambda: _load(runtime, paths, prepare,
                                                                     strict, waiting))
        except BaseException:
            reads.abandon()
            raise
        finally:
            sys.setswitchinterval(switch)
        from mvconf.run.planning import plan_with

        order = reads.end([d.number for d in desired])
        return await plan_with(runtime, client, loaded, desired, request, None, order=order)

    return runtime.run(work)


def _load(runtime: Runtime, paths: list[str], prepare: Prepare, strict: bool,
          waiting: _Waiting) -> tuple[PlanRequest, Any, list]:
    """In the worker thread: the rest of mvconf imported, the command's view in place (with the
    notices kept for it), and the manifests loaded."""
    from mvconf.run.planning import load

    request, view = prepare()
    runtime.view = view
    for note in waiting.notes:
        view.warn(note)
    loaded, desired = load(runtime, paths, request.targets, strict)
    return request, loaded, desired


async def in_thread(work: Callable[[], Any]) -> Any:
    """`work()` run in a daemon thread, awaited: a signal that stops the run does not wait for
    it (the process ends; nothing it does writes)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def run() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (work(), None)
        except BaseException as exc:  # handed to the loop, raised there
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:
            pass  # the loop has closed: the run was stopped

    threading.Thread(target=run, name="mvconf-load", daemon=True).start()
    return await done
