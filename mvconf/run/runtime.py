"""One command's session with one API: the stages joined.

Commands call this module and nothing below it joins stages: it loads manifests, connects, reads
the live account, plans, and hands plans to the applier. It owns the only `asyncio.run` of a
command and the command's one client, and it is the one place that chooses between HTTP and the
in-process emulator (`--emulator`), so the API client never knows the emulator exists.

It also owns what surrounds a run (SPEC §11): the journal's lock, the resolution of intents a
killed run left dangling, and SIGINT/SIGTERM. A signal before the first write cancels the run at
once; during writes it stops new writes and lets those under way finish; a second one exits at
once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from mvconf.apply.applier import ApplyOptions, Stop, apply_plan
from mvconf.apply.journal import Journal
from mvconf.apply.policy import enforce, rollback_findings, saved_plan_findings
from mvconf.apply.recover import resolve_dangling
from mvconf.apply.rollback import changed_records
from mvconf.apply.view import ApplyView, ReadView, Tick
from mvconf.config.project import Context, policy_of
from mvconf.config.scope import scope_of
from mvconf.core import clock
from mvconf.core.api_settings import ApiSettings
from mvconf.core.clock import utc_now
from mvconf.core.errors import ApiError, ConfigError, Interrupted, MvconfError
from mvconf.core.facts import MAX_DIDS
from mvconf.core.lockfile import RunLock
from mvconf.core.phone import to_e164
from mvconf.manifest import DesiredDid, Scope, load_manifests
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.minivoice.connect import Endpoint, api_endpoint
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Change, Executor
from mvconf.plan.model import Plan, PlanScope
from mvconf.plan.planner import assemble, plan_change, retarget
from mvconf.plan.policy import change_findings
from mvconf.plan.undo import undo_plan

T = TypeVar("T")
__all__ = ["ApiSettings", "QuietView", "Session", "guard_wrong_account", "scope_of",
           "select_numbers", "select_targets"]
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class QuietView:
    """A view that shows nothing (JSON output, tests)."""

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Tick]:
        yield lambda: None


class Session:
    """Runs one command's stages against one API, in one event loop with one client."""

    def __init__(self, conn: ApiSettings, view: ReadView | None = None, *, writes: bool = False,
                 lock_timeout: float = 0.0, context: Context | None = None):
        self.conn = conn
        self.context = context or Context()
        self.view = view or QuietView()
        self.writes, self.lock_timeout = writes, lock_timeout
        self.stop = Stop()
        self._endpoint: Endpoint | None = None
        self._store: Any = None
        self.aliases: dict[str, str] = {}  # application id -> alias, for display
        self._manifests = None  # the loaded manifests, to place policy findings

    @property
    def endpoint(self) -> Endpoint:
        """The API in use; the key is read (and the emulator's state loaded) on first use."""
        if self._endpoint is None:
            if self.conn.emulator:
                from mvconf.emulator.inprocess import open_emulator

                self._endpoint, self._store = open_emulator(
                    self.conn.emulator, lock=self.writes, lock_timeout=self.lock_timeout,
                    key_variable=self.context.key_variable())
            else:
                env = self.context.env
                self._endpoint = api_endpoint(
                    self.conn.api_url, self.conn.api_key_file,
                    key_variable=self.context.key_variable(),
                    configured_url=env.api_url if env else None)
        return self._endpoint

    @property
    def environment(self) -> str | None:
        return self.context.environment

    @property
    def scope(self) -> Scope:
        return scope_of(self.context)

    def load(self, paths: list[str], strict: bool = False,
             targets: tuple[str, ...] = ()) -> list[DesiredDid]:
        loaded = load_manifests(paths, strict=strict, scope=self.scope)
        self.aliases = loaded.names()
        self._manifests = loaded
        warn = getattr(self.view, "warn", None)
        for path in loaded.skipped if warn else ():
            warn(f"{path}: not a regular file; skipped")
        for problem in loaded.warnings if warn else ():
            warn(str(problem))
        return select_targets(loaded.dids, targets)

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[MiniVoiceClient]:
        endpoint = self.endpoint
        if endpoint.url is None:
            from mvconf.emulator.inprocess import InProcessSender

            sender = InProcessSender(self._store, endpoint.headers())
            yield MiniVoiceClient(sender, retry_timeout=self.conn.retry_timeout,
                                  on_retry=self._retrying)
            return
        from mvconf.minivoice.network import open_network_sender

        async with open_network_sender(endpoint, self.conn.parallelism,
                                       self.conn.retry_timeout) as sender:
            yield MiniVoiceClient(sender, retry_timeout=self.conn.retry_timeout,
                                  on_retry=self._retrying)

    def _retrying(self, message: str) -> None:
        """The client has begun retrying: said through the view (a line on stderr)."""
        warn = getattr(self.view, "warn", None)
        if warn is not None:
            warn(message)

    def run(self, work: Callable[[MiniVoiceClient], Awaitable[T]]) -> T:
        """Run `work` with this session's client: the command's one event loop."""
        try:
            self.endpoint  # noqa: B018  (configuration errors before any loop starts)

            async def main() -> T:
                with self._signals(asyncio.current_task()):
                    async with self._client() as client:
                        return await work(client)

            try:
                return asyncio.run(main())
            except asyncio.CancelledError:
                if self.stop.signum is None:
                    raise
                raise Interrupted(self.stop.signum) from None
            except ApiError as exc:
                if exc.status != 401 or self._endpoint is None or self._endpoint.url is None:
                    raise
                raise exc.with_hint(f"the key was read from {self._endpoint.key_source}; check "
                                    "that it is this account's application API key") from None
        finally:
            if self._store is not None:
                self._store.close()

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

    async def read(self, client: MiniVoiceClient, numbers: list[str],
                   keep: Callable[[str, LiveDID | None], Any] | None = None) -> dict[str, Any]:
        with self.view.progress(len(numbers), "Reading DIDs") as tick:
            return await read_many(client, numbers, self.conn.parallelism, tick, keep)

    def scoped(self, paths: tuple[str, ...], desired: list[DesiredDid],
               changed_since: str | None) -> tuple[list[DesiredDid], PlanScope | None]:
        """`--changed-since REV`: only the DIDs whose desired state differs from REV's, or
        that REV did not manage, and the plan's scope saying so (SPEC §16)."""
        if changed_since is None:
            return desired, None
        from mvconf.run.since import changed_since as changed_since_of  # git, only when asked

        since = changed_since_of(changed_since, self.context, paths, desired)
        return since.read, PlanScope(changed_since=since.revision, revision=since.commit,
                                     read=len(since.read), unchanged=since.unchanged)

    async def plan_with(self, client: MiniVoiceClient, desired: list[DesiredDid],
                        executor: Executor, allow_all_missing: bool = False,
                        scope: PlanScope | None = None) -> Plan:
        by_number = {d.number: d for d in desired}

        def plan_one(number: str, live: LiveDID | None) -> Change:
            # Planned as each answer arrives: the live DIDs are never all held at once.
            return plan_change(by_number[number], live, executor)

        changes = await self.read(client, list(by_number), plan_one)
        plan = assemble(list(changes.values()), executor=executor, api_url=self.endpoint.label,
                        created_at=utc_now(), environment=self.environment,
                        aliases=self.aliases, scope=scope)
        if not allow_all_missing:  # SPEC §16: of the DIDs read
            guard_wrong_account(plan)
        findings = change_findings(plan.changes, policy_of(self.context), clock.today(),
                                   {d.number: d.exceptions for d in desired if d.exceptions},
                                   by_number, self._manifests)
        return plan.with_policy([f.to_data() for f in findings]) if findings else plan

    def plan(self, paths: list[str], *, executor: Executor, strict: bool = False,
             targets: tuple[str, ...] = (), allow_all_missing: bool = False,
             changed_since: str | None = None, given: tuple[str, ...] = ()) -> Plan:
        desired, scope = self.scoped(given, self.load(paths, strict, targets), changed_since)
        return self.run(lambda client: self.plan_with(client, desired, executor,
                                                      allow_all_missing, scope))

    def _journaled(self, opts: ApplyOptions, view: ApplyView,
                   work: Callable[[MiniVoiceClient, Journal], Awaitable[int]]) -> int:
        """Run `work` holding the journal's lock, after resolving dangling intents."""
        opts.stop = self.stop
        with RunLock(opts.journal, f"mvconf {opts.command}", opts.lock_timeout,
                     "the journal") as lock:
            if lock.took_over:
                view.warn(f"took over the lock {lock.path} left by {lock.took_over}, which is "
                          "no longer running")

            async def go(client: MiniVoiceClient) -> int:
                journal = Journal(opts.journal, api_url=self.endpoint.label,
                                  environment=self.environment)
                resolved, bad = await resolve_dangling(client, journal)
                _report_recovery(view, opts.journal, resolved, bad)
                return await work(client, journal)

            return self.run(go)

    def apply(self, paths: list[str], *, executor: Executor, targets: tuple[str, ...],
              opts: ApplyOptions, view: ApplyView, show: Callable[[Plan], None],
              allow_all_missing: bool = False, changed_since: str | None = None,
              given: tuple[str, ...] = ()) -> int:
        """Plan the manifests, show the plan, and apply it, all with one client."""
        desired, scope = self.scoped(given, self.load(paths, targets=targets), changed_since)

        opts.judge_undo = self._judge_undo(opts)

        async def work(client: MiniVoiceClient, journal: Journal) -> int:
            plan = await self.plan_with(client, desired, executor, allow_all_missing, scope)
            show(plan)
            enforce("apply", plan.policy, journal)  # SPEC §15: before any write
            return await apply_plan(plan, client, journal, opts, view)

        return self._journaled(opts, view, work)

    def apply_saved(self, plan: Plan, *, executor: Executor | None, targets: tuple[str, ...],
                    opts: ApplyOptions, view: ApplyView) -> int:
        """Carry out a reviewed saved plan: exactly it, or its `--target` part."""
        keep = select_numbers([c.number for c in plan.changes], targets)
        if targets or executor:
            from mvconf.plan.model import require_checksum

            require_checksum(plan, opts.checksum)  # the reviewed plan, before it is cut
            opts.checksum = None
        plan = retarget(plan, executor, keep)
        opts.reviewed = True
        opts.judge_undo = self._judge_undo(opts)
        findings = saved_plan_findings(plan, policy_of(self.context), clock.today(),
                                       self._granted())
        enforce("apply", findings)  # SPEC §15: judged again, before connecting

        async def work(client: MiniVoiceClient, journal: Journal) -> int:
            enforce("apply", findings, journal)
            return await apply_plan(plan, client, journal, opts, view)

        return self._journaled(opts, view, work)

    def _granted(self) -> dict[str, set[tuple[str, str, str]]]:
        """The policy exceptions the project's manifests grant, by number: the only ones a saved
        plan or a journal may be applied under (their files can be edited). Without a project
        that names its manifests, none."""
        paths = self.context.manifest_paths(()) if self.context.project else []
        if not paths:
            return {}
        try:
            dids = load_manifests(paths, scope=self.scope).dids
        except MvconfError:
            return {}
        return {d.number: {(g.rule, g.reason, g.expires) for g in d.exceptions}
                for d in dids if d.exceptions}

    def _judge_undo(self, opts: ApplyOptions) -> Callable[[Plan, Journal], None]:
        """The undo of a failed wave is judged as `mvconf rollback` is (SPEC §15, §17)."""

        def judge(plan: Plan, journal: Journal) -> None:
            enforce("rollback", rollback_findings(plan, policy_of(self.context), clock.today(),
                                                  opts.journal, self._granted()), journal)

        return judge

    def rollback(self, last: int | None, *, executor: Executor, opts: ApplyOptions,
                 view: ApplyView, show: Callable[[Plan], None]) -> int:
        async def work(client: MiniVoiceClient, journal: Journal) -> int:
            chosen = changed_records(opts.journal, last, self.endpoint.label, self.environment,
                                     self.scope.max_dids or MAX_DIDS)
            if chosen.legacy:
                view.warn(f"{chosen.legacy} journal record(s) name no API (written by an older "
                          f"mvconf); they are taken to be about {self.endpoint.label}")
            opts.baseline_managed = chosen.managed
            live = await self.read(client, [r["number"] for r in chosen.records])
            plan = undo_plan(chosen.records, live, executor=executor,
                             api_url=self.endpoint.label, created_at=utc_now(),
                             environment=self.environment)
            show(plan)
            enforce("rollback", rollback_findings(plan, policy_of(self.context), clock.today(),
                                                  opts.journal, self._granted()), journal)
            return await apply_plan(plan, client, journal, opts, view)

        return self._journaled(opts, view, work)

    def read_numbers(self, numbers: list[str]) -> dict[str, LiveDID | None]:
        return self.run(lambda client: self.read(client, numbers))


def _report_recovery(view: ApplyView, path: str, resolved: list, bad: list[int]) -> None:
    if bad:
        shown = ", ".join(map(str, bad[:20])) + (" ..." if len(bad) > 20 else "")
        view.warn(f"{path}: line(s) {shown} are not journal records (a torn last line after a "
                  "crash, or a foreign line); they were skipped")
    for item in resolved:
        view.warn(f"resolved an interrupted write of run {item.run}: {item.number} "
                  f"({item.did_id}) is {item.result.value}"
                  + (": its live values are neither the old nor the new ones; check it"
                     if item.result.value == "unknown" else ""))


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
