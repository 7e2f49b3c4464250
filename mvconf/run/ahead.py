"""`plan --emulator` (and `import --into`): the DIDs read in a child process while this one
loads the manifests.

With the in-process emulator, reading a DID costs CPU, not waiting: a 10,000-DID plan spent a
third of its time loading the manifests and another third reading, one after the other (a
thread would only take turns with the load for the GIL). Where a second CPU is free
(core/forked.py), `plan` finds the numbers written plainly on the manifests' `number:` lines
(run/early.py's line pattern), and a forked child opens the same state file and reads those
DIDs, exactly as this process would (the same key, requests and checks, one attempt each),
while this process loads the manifests. The answers come back CHUNK at a time, and wait in the
child until the plan takes them: this process never holds more than a chunk of them. The plan
takes each answer it needs, parsed and checked here as any answer is, and reads every other
DID as usual: one the child could not read, or whose answer is refused here (its error is then
this process's own, in its turn, with retries), one whose number is not on a `number:` line (a
range), and all that the child did not send (it failed, or was killed).

Only from FORK_AT numbers (below that, a child costs more than it saves), and not with --debug
(the child's requests would not be logged in order) or --target.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mvconf.core import forked
from mvconf.core.facts import MAX_DIDS

if TYPE_CHECKING:
    from mvconf.config.project import Context
    from mvconf.core.api_settings import ApiSettings

FORK_AT = 2_000
CHUNK = 1_000  # answers sent at a time
Answers = dict[str, "tuple[Any, str | None] | None"]  # number -> (body, ETag); None: a 404


def read_ahead(api: ApiSettings, context: Context, paths: list[str],
               targets: tuple[str, ...] = ()) -> forked.Forked | None:
    """The child reading the manifests' numbers from the emulator, or None where it would not
    help (then the plan reads as usual)."""
    if not api.emulator or targets or not forked.usable() or \
            logging.getLogger("mvconf").isEnabledFor(logging.DEBUG):
        return None
    from mvconf.run.early import numbers_in

    numbers = numbers_in(paths, MAX_DIDS)
    if len(numbers) < FORK_AT:
        return None
    try:
        return forked.Forked(lambda: _read(api, context, numbers))
    except OSError:  # no process or pipe to be had (a limit reached): read as usual
        return None


def _read(api: ApiSettings, context: Context, numbers: list[str]) -> Iterator[Answers]:
    """In the child: each number read once, through the client, CHUNK answers at a time; one
    that fails is left out. Nothing is logged here: what goes wrong is met again, and told, by
    the parent."""
    from mvconf.core.errors import MvconfError
    from mvconf.emulator.inprocess import InProcessSender, open_emulator
    from mvconf.minivoice.client import NOT_IN_ACCOUNT, MiniVoiceClient
    from mvconf.minivoice.models import share_repeated

    logging.disable(logging.CRITICAL)
    endpoint, store = open_emulator(api.emulator, key_variable=context.key_variable())
    client = MiniVoiceClient(InProcessSender(store, endpoint.headers()),
                             retry_timeout=api.retry_timeout)
    loop = asyncio.new_event_loop()

    async def read(chunk: list[str]) -> Answers:
        answers: Answers = {}
        for number in chunk:
            try:
                body, tag = await client.read_number(number, once=True)
            except MvconfError:
                continue
            if body is NOT_IN_ACCOUNT:
                answers[number] = None
                continue
            if isinstance(body, dict):
                share_repeated(body)  # pickled once each, so shared in the parent too
            answers[number] = (body, tag)
        return answers

    for start in range(0, len(numbers), CHUNK):
        yield loop.run_until_complete(read(numbers[start:start + CHUNK]))
