"""One managed DID's change: what it is, what it should be, and who makes the difference.

Typed like Terraform's plan actions and kopf's diffs: a small `Action` enum, an `Executor` enum,
and a `FieldDiff` per differing field, written in JSON as `{"from": ..., "to": ...}` (SPEC §3).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import BeforeValidator, PlainSerializer

from mvconf.core.facts import COMPARED, did_label
from mvconf.core.jsontext import dumps
from mvconf.plan.executor import Executor  # noqa: F401 (part of a change, re-exported)


class Action(StrEnum):
    noop = "noop"
    update = "update"
    missing = "missing"
    blocked = "blocked"
    conflict = "conflict"


ACTIONS = tuple(Action)
CHANGES = (Action.update, Action.missing, Action.blocked)


class FieldDiff(NamedTuple):
    """One differing field: the live value (`old`) and the desired one (`new`)."""

    old: Any
    new: Any


def _field_diff(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return FieldDiff(value["from"], value["to"])
    if isinstance(value, FieldDiff):
        return value
    raise ValueError('a field difference is {"from": ..., "to": ...}')


FieldDiffJson = Annotated[
    FieldDiff,
    BeforeValidator(_field_diff),
    PlainSerializer(lambda d: {"from": d.old, "to": d.new}),
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One managed DID in a plan.

    A plain slotted dataclass, not a pydantic model: a plan holds one per managed DID, and a
    model instance costs more each. Pydantic still checks every field when a saved plan is
    loaded (`Plan.changes`), and writes it as JSON. `unverified` and `steps` are tuples, and a
    change with no differing field shares one empty `fields` (a change is never edited, only
    replaced): most DIDs of a plan are noops, and each held three empty containers."""

    number: str
    did_id: str | None
    action: Action
    executor: Executor | None  # None for noop and conflict
    source: str
    fields: dict[str, FieldDiffJson]
    unverified: tuple[str, ...] = ()
    desired: dict[str, Any]  # the compared fields mvconf wants (absent: left as it is)
    live: dict[str, Any] | None
    live_etag: str | None = None  # ours (SPEC §10): sent as If-Match by the api executor
    steps: tuple[str, ...] = ()
    pin_id: str | None = None
    message: str | None = None  # why a DID is blocked or in conflict

    @property
    def is_change(self) -> bool:
        return self.action in CHANGES

    @property
    def label(self) -> str:
        return did_label(self.number, self.did_id)

    def wanted(self) -> dict[str, Any]:
        """The values a write sends: every differing managed field's desired value (never a
        status, a customer_id or any other field a saved plan may carry)."""
        return {name: diff.new for name, diff in self.fields.items() if name in COMPARED}

    def hidden_before(self, name: str) -> bool:
        """Whether `name`'s current value is unknown: the API does not show it (`unverified`),
        and the change writes it from None."""
        diff = self.fields.get(name)
        return diff is not None and diff.old is None and name in self.unverified

    def replace(self, **values: Any) -> Change:
        return dataclasses.replace(self, **values)

    def to_data(self) -> dict[str, Any]:
        """The change as JSON values, in the saved plan's order of keys (SPEC §3)."""
        return {
            "number": self.number, "did_id": self.did_id, "action": self.action.value,
            "executor": None if self.executor is None else self.executor.value,
            "source": self.source,
            "fields": {name: {"from": diff.old, "to": diff.new}
                       for name, diff in self.fields.items()},
            "unverified": self.unverified, "desired": self.desired, "live": self.live,
            "live_etag": self.live_etag, "steps": self.steps, "pin_id": self.pin_id,
            "message": self.message,
        }

    def to_json(self, indent: bool = False) -> bytes:
        """Compact JSON (the checksum's canonical form), or indented by two spaces: the bytes
        pydantic's serializer wrote, in about a fifth of the time (mvconf/jsontext.py)."""
        return dumps(self.to_data(), indent)
