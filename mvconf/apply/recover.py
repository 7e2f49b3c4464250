"""Dangling intents (SPEC §11): an intent with no outcome is a write a killed run may or may not
have made. Before anything else, the next apply or rollback reads each such DID and appends the
outcome the journal lacks, under the killed run's id, so rollback sees every change it made."""

from __future__ import annotations

from dataclasses import dataclass

from mvconf.apply.journal import Journal, Result, dangling, scan_journal
from mvconf.minivoice.client import MiniVoiceClient


@dataclass(frozen=True)
class Resolved:
    number: str
    did_id: str | None
    run: str
    result: Result


def _written(intent: dict) -> list[str]:
    before, after = intent.get("before") or {}, intent.get("after") or {}
    return [k for k in after if after.get(k) != before.get(k)]


def verdict(intent: dict, now: dict | None) -> Result:
    """applied when the DID holds what the write set, failed when it holds what was there
    before, unknown otherwise (someone else changed it, or it is gone)."""
    if now is None:
        return Result.unknown
    names = _written(intent)
    before, after = intent.get("before") or {}, intent.get("after") or {}
    if all(now.get(k) == after.get(k) for k in names):
        return Result.applied
    if all(now.get(k) == before.get(k) for k in names):
        return Result.failed
    return Result.unknown


async def resolve_dangling(client: MiniVoiceClient, journal: Journal) -> tuple[list[Resolved],
                                                                              list[int]]:
    """Append outcomes for this API's dangling intents; return them, and the journal's unreadable
    line numbers."""
    if not journal.path.exists():
        return [], []
    bad: list[int] = []

    def records():  # streamed: only the open intents are held, whatever the journal's size
        for number, record in scan_journal(str(journal.path)):
            if record is None:
                bad.append(number)
            else:
                yield record

    resolved = []
    for intent in dangling(records()):
        if intent.get("api_url") not in (None, journal.api_url):
            continue
        live = await (client.get(intent["did_id"]) if intent.get("did_id")
                      else client.get_by_number(intent["number"]))
        now = live.compared() if live else None
        result = verdict(intent, now)
        after = intent.get("after") if result == Result.applied else (
            intent.get("before") if result == Result.failed else now)
        journal.write("outcome", intent["number"], intent.get("did_id"), intent.get("before"),
                      after, result, "resolved by a later run: the run that wrote the intent "
                      "ended before its outcome", run=intent["run"],
                      wave=intent.get("wave") if isinstance(intent.get("wave"), int) else None)
        resolved.append(Resolved(intent["number"], intent.get("did_id"), intent["run"], result))
    return resolved, bad
