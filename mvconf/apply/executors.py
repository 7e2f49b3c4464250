"""Executors: the API one makes a change; the manual one turns it into account-setup steps.

Falling back from one to the other is a per-change decision: an account that answers 405 to a
write gets steps for what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mvconf.apply.journal import Journal
from mvconf.errors import ApiError
from mvconf.minivoice.client import MiniVoiceClient
from mvconf.minivoice.models import COMPARED, LiveDID
from mvconf.plan.model import Change
from mvconf.plan.planner import diff


def before_values(change: Change) -> dict[str, Any] | None:
    if change.live is None:
        return None
    return {k: change.live.get(k) for k in COMPARED}


def after_values(change: Change) -> dict[str, Any]:
    after = dict(before_values(change) or {})
    after.update({name: d["to"] for name, d in change.fields.items()})
    return after


def matches(change: Change, live: LiveDID | None) -> bool:
    """Whether the live DID is what the change wants (active, and no differing field)."""
    if live is None or live.status != "active":
        return False
    fields, _ = diff(change.desired, live)
    return not fields


@dataclass
class Outcome:
    change: Change
    result: str  # applied | failed | unknown | manual | skipped
    error: str | None = None
    fields_left: dict[str, dict] = field(default_factory=dict)


class Fatal(Exception):
    """An answer that would repeat for every DID (401): stop sending."""


class ApiExecutor:
    """PATCH every differing field of a DID at once, then read it back to confirm."""

    def __init__(self, client: MiniVoiceClient, journal: Journal):
        self.client = client
        self.journal = journal
        self.writes_refused = False  # set by the first 405: the account has no API writes

    async def apply(self, change: Change) -> Outcome:
        if self.writes_refused:
            return Outcome(change, "manual", fields_left=change.fields)
        before, after = before_values(change), after_values(change)
        body = {name: d["to"] for name, d in change.fields.items()}
        self.journal.write("intent", change.number, change.did_id, before, after)
        try:
            await self.client.patch(change.did_id, body, change.number)
        except ApiError as exc:
            return await self._refused(change, exc, before, after)
        live = await self._read_back(change)
        if matches(change, live):
            self.journal.write("outcome", change.number, change.did_id, before, after, "applied")
            return Outcome(change, "applied")
        error = "the account accepted the change but the DID reads back differently"
        self.journal.write("outcome", change.number, change.did_id, before,
                           live.compared() if live else None, "failed", error)
        return Outcome(change, "failed", error)

    async def _read_back(self, change: Change) -> LiveDID | None:
        try:
            return await self.client.get(change.did_id)
        except ApiError:
            return None

    async def _refused(self, change, exc: ApiError, before, after) -> Outcome:
        if exc.status == 405:
            self.writes_refused = True
            self.journal.write("outcome", change.number, change.did_id, before, before, "failed",
                               "405 method_not_allowed: the account does not allow API writes")
            return Outcome(change, "manual", fields_left=change.fields)
        if exc.status == 401:
            self.journal.write("outcome", change.number, change.did_id, before, before, "failed",
                               str(exc))
            raise Fatal(str(exc)) from exc
        if exc.retryable:  # timeout, dropped connection or 5xx after retries: did it land?
            live = await self._read_back(change)
            if matches(change, live):
                self.journal.write("outcome", change.number, change.did_id, before, after,
                                   "applied")
                return Outcome(change, "applied")
            untouched = live is not None and before is not None and all(
                live.compared().get(k) == before.get(k) for k in change.fields)
            result = "failed" if untouched else "unknown"
            self.journal.write("outcome", change.number, change.did_id, before,
                               live.compared() if live else None, result, str(exc))
            return Outcome(change, result, str(exc))
        self.journal.write("outcome", change.number, change.did_id, before, before, "failed",
                           str(exc))
        return Outcome(change, "failed", str(exc))
