"""Which journal records a rollback undoes (SPEC §4, §11). The plan that undoes them is made by
`plan/undo.py`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from mvconf.apply.journal import CHANGED, scan_journal
from mvconf.core.errors import InputError
from mvconf.core.facts import MAX_DIDS
from mvconf.core.text import printable


@dataclass(frozen=True)
class Selection:
    records: list[dict]  # one per DID, its latest applied or confirmed outcome, newest first
    managed: int | None  # how many DIDs the rolled-back run managed, when the journal says
    unreadable: list[int]  # line numbers of lines that are not records
    legacy: int  # records written before journals named their API


def changed_records(path: str, last: int | None, api_url: str,
                    environment: str | None = None, max_managed: int = MAX_DIDS,
                    run: str | None = None) -> Selection:
    """The applied or confirmed outcomes of this API to undo: the last N, or those of the last
    run that changed anything. Records of another API are never chosen (a staging journal
    never rolls back production); records that name no API (older journals) are.

    The journal is streamed: only the candidates are held (the last N, or the last run's). A DID
    that several chosen records changed is restored to the `before` of the oldest of them, and
    checked against the `after` of the newest (`--last 2` over two runs that changed it undoes
    both). A `managed` count above `max_managed` (the project's cap on managed DIDs) is refused,
    naming its line: it would lower the rollback's change percentage below any threshold."""
    bad: list[int] = []
    others: set[str] = set()
    window: deque[tuple[int, dict]] = deque(maxlen=last) if last is not None else deque()
    for number, record in scan_journal(path):
        if record is None:
            bad.append(number)
            continue
        if not _changed(record):
            continue
        if not _ours(record, api_url, environment):
            if record.get("api_url"):
                others.add(str(record["api_url"]))
            continue
        if run is not None:  # one run's changes (a failed wave check undoes its own run)
            if record["run"] == run:
                window.append((number, record))
            continue
        if last is None and window and window[-1][1]["run"] != record["run"]:
            window.clear()  # a later run changed something: only its records are chosen
        window.append((number, record))
    if not window:
        elsewhere = (f" (it has changes for {printable(', '.join(sorted(others))[:500])})"
                     if others else "")
        raise InputError(f"the journal {path} records no applied or confirmed change made "
                         f"against {api_url} to roll back{elsewhere}")
    for number, record in window:
        if isinstance(record.get("managed"), int) and record["managed"] > max_managed:
            raise InputError(f"{path}:{number}: 'managed' is {record['managed']:,}, more than "
                             f"the cap of {max_managed:,} managed DIDs (max_dids in mvconf.toml)"
                             "; this record was not written by a run of this project")
    chosen = [record for _, record in window]
    if run is None and last is None:
        undone = next((r["undoes"] for r in chosen if isinstance(r.get("undoes"), str)), None)
        if undone is not None:  # an interrupted wave rollback: finish it first
            done = [r for _, r in _done(path, api_url, environment)]
            chosen = unfinished(done, undone) or chosen
    latest: dict[str, dict] = {}
    for record in reversed(chosen):  # newest first
        if record["number"] in latest:  # an older change of the same DID: restore its before
            latest[record["number"]] = {**latest[record["number"]], "before": record["before"]}
        else:
            latest[record["number"]] = record
    counts = [r["managed"] for r in chosen if isinstance(r.get("managed"), int)]
    return Selection(list(latest.values()), max(counts) if counts else None, bad,
                     sum(1 for r in chosen if r.get("api_url") is None))


def _changed(record: dict) -> bool:
    """An applied or confirmed outcome: a change a rollback can undo."""
    return record["phase"] == "outcome" and record.get("outcome") in CHANGED


def _ours(record: dict, api_url: str, environment: str | None) -> bool:
    """Made against this API and environment (records that name none are older mvconf's)."""
    return record.get("api_url") in (None, api_url) and \
        record.get("environment") in (None, environment)


def _done(path: str, api_url: str, environment: str | None):
    """(line, record) of the changes made against this API, streamed."""
    for number, record in scan_journal(path):
        if record is not None and _changed(record) and _ours(record, api_url, environment):
            yield number, record


def unfinished(done: list[dict], run: str) -> list[dict]:
    """The changes of `run` that no later change has replaced: what the automatic rollback of a
    failed wave check (records with `undoes: run`) had not yet restored when it was stopped."""
    latest: dict[str, dict] = {}
    for record in done:
        latest[record["number"]] = record
    return [r for r in done if r["run"] == run and latest[r["number"]] is r]
