"""Which journal records a rollback undoes (SPEC §4). The plan that undoes them is made by
`plan/undo.py`."""

from __future__ import annotations

from mvconf.apply.journal import CHANGED, read_journal
from mvconf.errors import InputError


def changed_records(path: str, last: int | None) -> list[dict]:
    """The applied or confirmed outcomes to undo: the last N, or those of the last run that
    changed anything; one per DID (its latest), newest first."""
    records, _ = read_journal(path)
    done = [r for r in records if r.get("phase") == "outcome" and r.get("outcome") in CHANGED]
    if not done:
        raise InputError(f"the journal {path} records no applied or confirmed change to roll back")
    if last is None:
        run = done[-1]["run"]
        chosen = [r for r in done if r["run"] == run]
    else:
        chosen = done[-last:]
    latest: dict[str, dict] = {}
    for record in reversed(chosen):
        latest.setdefault(record["number"], record)
    return list(latest.values())
