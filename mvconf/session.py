"""One command's session with one API: the stages joined.

Commands call this module and nothing below it joins stages: it loads manifests, connects, reads
the live account, plans, and hands plans to the applier. It owns the only `asyncio.run` of a
command and the command's one client, and it is the one place that chooses between HTTP and the
in-process emulator (`--emulator`), so the API client never knows the emulator exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from mvconf.apply.applier import ApplyOptions, apply_plan
from mvconf.apply.rollback import changed_records
from mvconf.apply.view import ApplyView, ReadView, Tick
from mvconf.clock import utc_now
from mvconf.errors import ApiError, ConfigError
from mvconf.manifest import DesiredDid, load_desired
from mvconf.minivoice.client import DEFAULT_RETRY_TIMEOUT, MiniVoiceClient, read_many
from mvconf.minivoice.connect import Endpoint, api_endpoint
from mvconf.minivoice.models import LiveDID
from mvconf.numbers import to_e164
from mvconf.plan.change import Change, Executor
from mvconf.plan.model import Plan
from mvconf.plan.planner import assemble, plan_change, retarget
from mvconf.plan.undo import undo_plan

T = TypeVar("T")


class QuietView:
    """A view that shows nothing (JSON output, tests)."""

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Tick]:
        yield lambda: None


@dataclass(frozen=True)
class Connection:
    """How to reach the API, from the flags every API-using command takes."""

    api_url: str | None = None
    api_key_file: str | None = None
    emulator: str | None = None
    parallelism: int = 8
    retry_timeout: float = DEFAULT_RETRY_TIMEOUT


class Session:
    """Runs one command's stages against one API, in one event loop with one client."""

    def __init__(self, conn: Connection, view: ReadView | None = None):
        self.conn = conn
        self.view = view or QuietView()
        self._endpoint: Endpoint | None = None
        self._store: Any = None

    @property
    def endpoint(self) -> Endpoint:
        """The API in use; the key is read (and the emulator's state loaded) on first use."""
        if self._endpoint is None:
            if self.conn.emulator:
                from mvconf.emulator.inprocess import open_emulator

                self._endpoint, self._store = open_emulator(self.conn.emulator)
            else:
                self._endpoint = api_endpoint(self.conn.api_url, self.conn.api_key_file)
        return self._endpoint

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[MiniVoiceClient]:
        endpoint = self.endpoint
        if endpoint.url is None:
            from mvconf.emulator.inprocess import InProcessSender

            sender = InProcessSender(self._store, endpoint.headers())
            yield MiniVoiceClient(sender, retry_timeout=self.conn.retry_timeout)
            return
        from mvconf.minivoice.http import open_http_sender

        async with open_http_sender(endpoint, self.conn.parallelism,
                                    self.conn.retry_timeout) as sender:
            yield MiniVoiceClient(sender, retry_timeout=self.conn.retry_timeout)

    def run(self, work: Callable[[MiniVoiceClient], Awaitable[T]]) -> T:
        """Run `work` with this session's client: the command's one event loop."""
        self.endpoint  # noqa: B018  (configuration errors before any loop starts)

        async def main() -> T:
            async with self._client() as client:
                return await work(client)

        return asyncio.run(main())

    async def read(self, client: MiniVoiceClient, numbers: list[str],
                   keep: Callable[[str, LiveDID | None], Any] | None = None) -> dict[str, Any]:
        with self.view.progress(len(numbers), "Reading DIDs") as tick:
            return await read_many(client, numbers, self.conn.parallelism, tick, keep)

    async def plan_with(self, client: MiniVoiceClient, desired: list[DesiredDid],
                        executor: Executor, allow_all_missing: bool = False) -> Plan:
        by_number = {d.number: d for d in desired}

        def plan_one(number: str, live: LiveDID | None) -> Change:
            # Planned as each answer arrives: the live DIDs are never all held at once.
            return plan_change(by_number[number], live, executor)

        changes = await self.read(client, list(by_number), plan_one)
        plan = assemble(list(changes.values()), executor=executor, api_url=self.endpoint.label,
                        created_at=utc_now())
        if not allow_all_missing:
            guard_wrong_account(plan)
        return plan

    def plan(self, paths: list[str], *, executor: Executor, strict: bool = False,
             targets: tuple[str, ...] = (), allow_all_missing: bool = False) -> Plan:
        desired = select_targets(load_desired(paths, strict=strict), targets)
        return self.run(lambda client: self.plan_with(client, desired, executor,
                                                      allow_all_missing))

    def apply(self, paths: list[str], *, executor: Executor, targets: tuple[str, ...],
              opts: ApplyOptions, view: ApplyView, show: Callable[[Plan], None],
              allow_all_missing: bool = False) -> int:
        """Plan the manifests, show the plan, and apply it, all with one client."""
        desired = select_targets(load_desired(paths), targets)

        async def work(client: MiniVoiceClient) -> int:
            plan = await self.plan_with(client, desired, executor, allow_all_missing)
            show(plan)
            return await apply_plan(plan, client, self.endpoint.label, opts, view)

        return self.run(work)

    def apply_saved(self, plan: Plan, *, executor: Executor | None, targets: tuple[str, ...],
                    opts: ApplyOptions, view: ApplyView) -> int:
        """Carry out a reviewed saved plan: exactly it, or its `--target` part."""
        keep = select_numbers([c.number for c in plan.changes], targets)
        plan = retarget(plan, executor, keep)
        opts.reviewed = True
        return self.run(lambda client: apply_plan(plan, client, self.endpoint.label, opts, view))

    def rollback(self, journal: str, last: int | None, *, executor: Executor, opts: ApplyOptions,
                 view: ApplyView, show: Callable[[Plan], None]) -> int:
        records = changed_records(journal, last)

        async def work(client: MiniVoiceClient) -> int:
            live = await self.read(client, [r["number"] for r in records])
            plan = undo_plan(records, live, executor=executor, api_url=self.endpoint.label,
                             created_at=utc_now())
            show(plan)
            return await apply_plan(plan, client, self.endpoint.label, opts, view)

        return self.run(work)

    def read_numbers(self, numbers: list[str]) -> dict[str, LiveDID | None]:
        return self.run(lambda client: self.read(client, numbers))


WRONG_ACCOUNT_MINIMUM = 3


def guard_wrong_account(plan: Plan) -> None:
    """SPEC §10: every managed number missing is a wrong URL or key far more often than an
    account that lost all its numbers."""
    count = len(plan.changes)
    if count >= WRONG_ACCOUNT_MINIMUM and plan.summary["missing"] == count:
        raise ApiError(f"none of the {count} numbers is in this account: check "
                       "MINIVOICE_API_URL and that the key belongs to the right account "
                       "(pass --allow-all-missing if the account really has none of them)")


def select_targets(desired: list[DesiredDid], targets: tuple[str, ...]) -> list[DesiredDid]:
    """Terraform-style -target: only these numbers; each must be managed."""
    if not targets:
        return desired
    wanted = select_numbers([d.number for d in desired], targets)
    return [d for d in desired if d.number in wanted]


def select_numbers(managed: list[str], targets: tuple[str, ...]) -> set[str]:
    if not targets:
        return set(managed)
    wanted = {}
    for raw in targets:
        number = to_e164(raw)
        if number is None:
            raise ConfigError(f"--target {raw!r} is not a phone number in E.164 form")
        wanted[number] = raw
    known = set(managed)
    unknown = [raw for number, raw in wanted.items() if number not in known]
    if unknown:
        raise ConfigError(f"--target {', '.join(unknown)}: not managed by any loaded manifest")
    return set(wanted)
