"""Which journal records a rollback undoes (SPEC §4, §11). The plan that undoes them is made by
`plan/undo.py`."""

from __future__ import annotations

from dataclasses import dataclass

from mvconf.apply.journal import CHANGED, read_journal
from mvconf.errors import InputError


@dataclass(frozen=True)
class Selection:
    records: list[dict]  # one per DID, its latest applied or confirmed outcome, newest first
    managed: int | None  # how many DIDs the rolled-back run managed, when the journal says
    unreadable: list[int]  # line numbers of lines that are not records
    legacy: int  # records written before journals named their API


def changed_records(path: str, last: int | None, api_url: str,
                    environment: str | None = None, run: str | None = None) -> Selection:
    """The applied or confirmed outcomes of this API to undo: the last N, or those of the last
    run that changed anything. Records of another API are never chosen (a staging journal
    never rolls back production); records that name no API (older journals) are."""
    records, bad = read_journal(path)
    done = [r for r in records if r.get("phase") == "outcome" and r.get("outcome") in CHANGED
            and r.get("api_url") in (None, api_url)
            and r.get("environment") in (None, environment)]
    if not done:
        others = sorted({str(r.get("api_url")) for r in records if r.get("api_url")} - {api_url})
        elsewhere = f" (it has changes for {', '.join(others)})" if others else ""
        raise InputError(f"the journal {path} records no applied or confirmed change made "
                         f"against {api_url} to roll back{elsewhere}")
    if run is not None:  # one run's changes (a failed wave check undoes its own run)
        chosen = [r for r in done if r["run"] == run]
    elif last is None:
        run = done[-1]["run"]
        chosen = [r for r in done if r["run"] == run]
        undone = next((r["undoes"] for r in chosen if isinstance(r.get("undoes"), str)), None)
        if undone is not None:  # an interrupted wave rollback: finish it first
            chosen = unfinished(done, undone) or chosen
    else:
        chosen = done[-last:]
    latest: dict[str, dict] = {}
    for record in reversed(chosen):
        latest.setdefault(record["number"], record)
    counts = [r["managed"] for r in chosen if isinstance(r.get("managed"), int)]
    return Selection(list(latest.values()), max(counts) if counts else None, bad,
                     sum(1 for r in chosen if r.get("api_url") is None))


def unfinished(done: list[dict], run: str) -> list[dict]:
    """The changes of `run` that no later change has replaced: what the automatic rollback of a
    failed wave check (records with `undoes: run`) had not yet restored when it was stopped."""
    latest: dict[str, dict] = {}
    for record in done:
        latest[record["number"]] = record
    return [r for r in done if r["run"] == run and latest[r["number"]] is r]
