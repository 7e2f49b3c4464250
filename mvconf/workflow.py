"""The steps commands share: load manifests, read the live account, make a plan."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mvconf.console import progress
from mvconf.errors import ConfigError
from mvconf.manifest.resolve import DesiredDid, load_desired
from mvconf.minivoice.client import read_many
from mvconf.minivoice.connect import Target, open_client, resolve_target
from mvconf.minivoice.models import LiveDID
from mvconf.numbers import to_e164
from mvconf.plan.model import Change, Plan
from mvconf.plan.planner import assemble, plan_change


@dataclass(frozen=True)
class Connection:
    """How to reach the API, from the flags every API-using command takes."""

    api_url: str | None = None
    api_key_file: str | None = None
    emulator: str | None = None
    parallelism: int = 8

    def target(self) -> Target:
        return resolve_target(self.api_url, self.api_key_file, self.emulator)


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def select_targets(desired: list[DesiredDid], targets: tuple[str, ...]) -> list[DesiredDid]:
    """Terraform-style -target: only these numbers; each must be managed."""
    if not targets:
        return desired
    wanted = select_targets_numbers([d.number for d in desired], targets)
    return [d for d in desired if d.number in wanted]


def select_targets_numbers(managed: list[str], targets: tuple[str, ...]) -> set[str]:
    if not targets:
        return set(managed)
    wanted = {}
    for raw in targets:
        number = to_e164(raw)
        if number is None:
            raise ConfigError(f"--target {raw!r} is not a phone number in E.164 form")
        wanted[number] = raw
    unknown = [raw for number, raw in wanted.items() if number not in set(managed)]
    if unknown:
        raise ConfigError(f"--target {', '.join(unknown)}: not managed by any loaded manifest")
    return set(wanted)


async def read_live(target: Target, numbers: list[str], parallelism: int,
                    keep: Callable[[str, LiveDID | None], Any] | None = None) -> dict[str, Any]:
    async with open_client(target, parallelism) as client:
        with progress(len(numbers), "Reading DIDs") as tick:
            return await read_many(client, numbers, parallelism, tick, keep)


def plan_from_manifests(
    paths: list[str], conn: Connection, *, executor: str, strict: bool = False,
    targets: tuple[str, ...] = (), target: Target | None = None,
) -> Plan:
    desired = select_targets(load_desired(paths, strict=strict), targets)
    target = target or conn.target()
    by_number = {d.number: d for d in desired}

    def plan_one(number: str, live: LiveDID | None) -> Change:
        # Planned as each answer arrives: the live DIDs are never all held at once.
        return plan_change(by_number[number], live, executor)

    changes = asyncio.run(read_live(target, list(by_number), conn.parallelism, plan_one))
    return assemble(list(changes.values()), executor=executor, api_url=target.label,
                    created_at=now_utc())
