"""The Plan as data. Its JSON form (SPEC §3) is the saved-plan file; loading it gives an equal
Plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from mvconf.errors import PlanError

FORMAT_VERSION = 1


class Action(StrEnum):
    noop = "noop"
    update = "update"
    missing = "missing"
    blocked = "blocked"
    conflict = "conflict"


ACTIONS = tuple(Action)
CHANGES = (Action.update, Action.missing, Action.blocked)


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One managed DID: what it is, what it should be, and who makes the difference.

    A plain slotted dataclass, not a pydantic model: a plan holds one per managed DID, and a
    model instance costs about 1.3 KB more each. Pydantic still checks every field when a saved
    plan is loaded (`Plan.changes`), and writes it as JSON."""

    number: str
    did_id: str | None
    action: Action
    executor: str | None  # "api" | "manual"; None for noop and conflict
    source: str
    fields: dict[str, dict[str, Any]]  # name -> {"from": live, "to": desired}
    unverified: list[str] = field(default_factory=list)
    desired: dict[str, Any]  # the compared fields mvconf wants (absent: left as it is)
    live: dict[str, Any] | None
    steps: list[str] = field(default_factory=list)
    pin_id: str | None = None
    message: str | None = None  # why a DID is blocked or in conflict

    @property
    def is_change(self) -> bool:
        return self.action in CHANGES

    def replace(self, **values: Any) -> Change:
        return dataclasses.replace(self, **values)

    def to_json(self, indent: int | None = None) -> str:
        return _CHANGE_JSON.dump_json(self, indent=indent).decode()


class Safety(BaseModel):
    model_config = ConfigDict(frozen=True)

    managed: int
    updates: int
    threshold_percent: int
    minimum_managed: int
    exceeds_threshold: bool


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    format_version: int = FORMAT_VERSION
    mvconf_version: str
    api_url: str
    created_at: str
    executor: str
    summary: dict[str, int]
    safety: Safety
    changes: list[Change]

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.changes)

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action == Action.conflict]

    def to_json(self) -> str:
        return "".join(self.json_chunks())

    def json_chunks(self) -> Iterator[str]:
        """The JSON plan in pieces, one change at a time, so that a plan of 10,000 DIDs is never
        held in memory as one string. Joined, the pieces equal `model_dump_json(indent=2)`."""
        head = self.model_dump_json(indent=2, exclude={"changes"})
        if not self.changes:
            yield head[:-2] + ',\n  "changes": []\n}\n'
            return
        yield head[:-2] + ',\n  "changes": [\n    '
        last = len(self.changes) - 1
        for index, change in enumerate(self.changes):
            text = change.to_json(indent=2).replace("\n", "\n    ")
            yield text + (",\n    " if index < last else "\n  ]\n}\n")


_CHANGE_JSON = TypeAdapter(Change)


def summarize(changes: list[Change]) -> dict[str, int]:
    counts = {action.value: 0 for action in ACTIONS}
    for change in changes:
        counts[change.action.value] += 1
    return counts


def load_plan(text: str, path: str) -> Plan:
    import json

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PlanError(f"{path} is not a saved plan: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanError(f"{path} is not a saved plan (no format_version)")
    if data["format_version"] != FORMAT_VERSION:
        raise PlanError(f"{path} has plan format_version {data['format_version']!r}; this mvconf "
                        f"reads format_version {FORMAT_VERSION}")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanError(f"{path} is not a usable saved plan: {where}: {first['msg']}") from None


def with_changes(plan: Plan, changes: list[Change], safety: Safety) -> Plan:
    return plan.model_copy(update={"changes": changes, "summary": summarize(changes),
                                   "safety": safety})
