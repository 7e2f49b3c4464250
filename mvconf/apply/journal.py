"""The change journal: JSON lines, appended to and never rewritten (SPEC §4).

Each record is flushed and fsynced before the next change starts, so a run that dies midway
leaves a journal that says which DIDs it was changing (intent) and which it changed (outcome).
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from mvconf.clock import new_run_id, utc_now
from mvconf.errors import InputError

DEFAULT_PATH = os.path.join(".mvconf", "journal.jsonl")


class Result(StrEnum):
    """What became of one change. The journal records the first four as `outcome` (SPEC §4);
    `manual` and `skipped` are what an executor reports for a change it left to a person or
    never started."""

    applied = "applied"
    failed = "failed"
    confirmed = "confirmed"
    unknown = "unknown"
    manual = "manual"
    skipped = "skipped"


CHANGED = (Result.applied.value, Result.confirmed.value)


class Journal:
    def __init__(self, path: str, run: str | None = None):
        self.path = Path(path)
        self.run = run or new_run_id()
        self._handle = None

    def _open(self):
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept for the run)
        return self._handle

    def write(self, phase: str, number: str, did_id: str | None, before: dict | None,
              after: dict | None, outcome: Result | None = None, error: str | None = None) -> None:
        record: dict[str, Any] = {
            "run": self.run, "at": utc_now(precise=True),
            "phase": phase, "number": number, "did_id": did_id, "before": before, "after": after,
        }
        if phase == "outcome":
            record["outcome"] = None if outcome is None else Result(outcome).value
            record["error"] = error
        handle = self._open()
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_journal(path: str) -> tuple[list[dict], list[int]]:
    """Records in order, and the line numbers of lines that could not be read (a torn last line
    after a crash is expected and harmless)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        raise InputError(f"no journal at {path}: nothing has been applied from here yet") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the journal {path}: {exc}") from None
    records, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad.append(number)
            continue
        if isinstance(record, dict) and "run" in record and "number" in record:
            records.append(record)
        else:
            bad.append(number)
    return records, bad
