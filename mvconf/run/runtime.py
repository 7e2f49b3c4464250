"""The runtime one command runs in: its endpoint, its one client, the one event loop, signals and
the journal's lock.

It is the one place that chooses between HTTP and the in-process emulator (`--emulator`), so the
API client never knows the emulator exists. It owns the only `asyncio.run` of a command and the
command's one client. SIGINT/SIGTERM (SPEC §11): a signal before the first write cancels the run
at once; during writes it stops new writes and lets those under way finish; a second one exits
at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
)
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from mvconf.apply.stop import Stop
from mvconf.config.project import Context
from mvconf.core.api_settings import ApiSettings
from mvconf.core.errors import ApiError, Interrupted
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.minivoice.connect import KEY_VARIABLE, Endpoint, api_endpoint

if TYPE_CHECKING:  # imported when used: `plan` starts reading before the rest is imported
    from mvconf.apply.view import ApplyView, ReadView
    from mvconf.minivoice.models import LiveDID

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Runtime:
    """One command's API, client and event loop. `open()` reads the key (or loads the
    emulator's state); `run(work)` opens it if need be and runs `work` with the client."""

    def __init__(self, api: ApiSettings, context: Context | None = None,
                 view: ReadView | None = None, *, writes: bool = False,
                 lock_timeout: float = 0.0):
        self.api = api
        self.context = context or Context()
        if view is None:
            from mvconf.apply.view import QuietView

            view = QuietView()
        self.view = view
        self.writes, self.lock_timeout = writes, lock_timeout
        self.stop = Stop()
        self.endpoint: Endpoint | None = None  # set by open()
        self._store: Any = None  # the in-process emulator's state, closed after run()

    def open(self) -> Endpoint:
        """The API in use: configuration errors (a missing key, a bad URL, an unreadable state
        file) come from here, before any loop starts."""
        if self.endpoint is not None:
            return self.endpoint
        key_variable = self.context.key_variable()
        if self.api.emulator:
            from mvconf.emulator.inprocess import open_emulator

            self.endpoint, self._store = open_emulator(
                self.api.emulator, lock=self.writes, lock_timeout=self.lock_timeout,
                key_variable=key_variable)
        else:
            env = self.context.env
            self.endpoint = api_endpoint(self.api.api_url, self.api.api_key_file,
                                         key_variable=key_variable,
                                         configured_url=env.api_url if env else None,
                                         other_keys=self._other_keys(key_variable))
        return self.endpoint

    def _other_keys(self, own: str) -> tuple[str, ...]:
        """The keys the project's other environments would use (and the shared variable's),
        as set in this process: the URL must hold none of them (`--env all` holds them all)."""
        import dataclasses

        names = tuple(self.context.project.environments) if self.context.project else ()
        variables = {KEY_VARIABLE} | {
            dataclasses.replace(self.context, environment=name).key_variable() for name in names}
        values = (os.environ.get(variable, "").strip() for variable in variables - {own})
        return tuple(value for value in values if value)

    def run(self, work: Callable[[MiniVoiceClient], Awaitable[T]]) -> T:
        """Run `work` with this runtime's client: the command's one event loop."""
        try:
            endpoint = self.open()

            async def main() -> T:
                with self._signals(asyncio.current_task()):
                    async with self._client(endpoint) as client:
                        return await work(client)

            try:
                result = asyncio.run(main())
            except asyncio.CancelledError:
                if self.stop.signum is None:
                    raise
                raise Interrupted(self.stop.signum) from None
            except ApiError as exc:
                if exc.status != 401 or endpoint.url is None:
                    raise
                raise exc.with_hint(f"the key was read from {endpoint.key_source}; check "
                                    "that it is this account's application API key") from None
            if self.stop.signum is not None and not self.stop.writing:
                # The signal came as the work ended: it finished without waiting again, so
                # the cancel never reached it. Nothing was written: stopped all the same.
                raise Interrupted(self.stop.signum)
            return result
        finally:
            if self._store is not None:
                self._store.close()

    async def read(self, client: MiniVoiceClient, numbers: list[str],
                   keep: Callable[[str, LiveDID | None], Any] | None = None,
                   ready: AsyncIterable[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """Read `numbers` concurrently (`--parallelism`), with the view's progress. `ready`:
        answers read already (run/ahead.py), in chunks, each (body, ETag) as `read_number`
        gives it with its repeated values shared, or None for a 404."""
        with self.view.progress(len(numbers), "Reading DIDs") as tick:
            taken: dict[str, Any] = {}
            if ready is not None:
                wanted = set(numbers)
                async for chunk in ready:
                    for number, answer in chunk.items():
                        if number not in wanted or number in taken:
                            continue
                        try:
                            live = None if answer is None else client.did_of(
                                number, *answer, shared=True)
                        except ApiError:  # read again as usual: its error in its turn
                            continue
                        taken[number] = keep(number, live) if keep else live
                        tick()
                numbers = [number for number in numbers if number not in taken]
            return {**taken, **await read_many(client, numbers, self.api.parallelism, tick,
                                               keep)}

    @contextmanager
    def journal_lock(self, journal: str, command: str, timeout: float,
                     view: ApplyView) -> Iterator[None]:
        """One run at a time per journal (SPEC §11); a lock its dead holder left is taken over."""
        from mvconf.core.lockfile import RunLock

        with RunLock(journal, f"mvconf {command}", timeout, "the journal") as lock:
            if lock.took_over:
                view.lock_taken_over(lock.path, lock.took_over)
            yield

    @asynccontextmanager
    async def _client(self, endpoint: Endpoint) -> AsyncIterator[MiniVoiceClient]:
        retry_timeout = self.api.retry_timeout
        if endpoint.url is None:
            from mvconf.emulator.inprocess import InProcessSender

            sender = InProcessSender(self._store, endpoint.headers())
            yield MiniVoiceClient(sender, retry_timeout=retry_timeout, on_retry=self._warn)
            return
        from mvconf.minivoice.network import open_network_sender

        async with open_network_sender(endpoint, self.api.parallelism, retry_timeout) as sender:
            yield MiniVoiceClient(sender, retry_timeout=retry_timeout, on_retry=self._warn)

    def _warn(self, message: str) -> None:
        self.view.warn(message)  # the view in use now: `plan` sets its own once it is imported

    @contextmanager
    def _signals(self, task: asyncio.Task | None) -> Iterator[None]:
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if self.stop.signum is not None:  # the second one: at once
                sys.stderr.write("Interrupted again: exiting at once.\n")
                sys.stderr.flush()
                os._exit(128 + signum)
            self.stop.signum = signum
            if not self.stop.writing and task is not None:
                task.cancel()  # nothing written yet: stop now
            else:
                sys.stderr.write(f"{signal.Signals(signum).name}: no new change will start; "
                                 "finishing those under way (again to exit at once).\n")
                sys.stderr.flush()

        installed = []
        for signum in SIGNALS:
            try:
                loop.add_signal_handler(signum, on_signal, signum)
                installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or no signals here
        try:
            yield
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
