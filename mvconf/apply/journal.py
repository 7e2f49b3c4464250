"""The change journal: JSON lines, appended to and never rewritten (SPEC §4).

Each record is flushed and fsynced before the next change starts, so a run that dies midway
leaves a journal that says which DIDs it was changing (intent) and which it changed (outcome).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from mvconf.clock import MICROSECONDS, new_run_id
from mvconf.errors import InputError, MvconfError

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


class JournalError(MvconfError):
    """The journal could not be written: the run stops before its next change."""


class Journal:
    """Appends records for one run. Every record names the API (and environment) it is about,
    and the number of DIDs the run managed, which rollback's threshold is measured against."""

    def __init__(self, path: str, run: str | None = None, *, api_url: str | None = None,
                 environment: str | None = None, managed: int | None = None):
        self.path = Path(path)
        self.run = run or new_run_id()
        self.api_url, self.environment, self.managed = api_url, environment, managed
        # number -> the policy exceptions its change is made under (SPEC §15), in its records
        self.exceptions: dict[str, list[dict[str, str]]] = {}
        self.wave: int | None = None  # SPEC §17: the wave the records being written belong to
        self.last_at: datetime | None = None  # when the last record was written
        self.undoes: str | None = None  # the run a failed wave check is undoing (SPEC §17)
        self._handle = None

    def _open(self):
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "ab")  # noqa: SIM115 (kept for the run)
            if handle.tell() > 0 and not _ends_with_newline(self.path):
                handle.write(b"\n")  # after a torn last line, begin on a fresh one
            self._handle = handle
        return self._handle

    def write(self, phase: str, number: str, did_id: str | None, before: dict | None,
              after: dict | None, outcome: Result | None = None, error: str | None = None,
              run: str | None = None, wave: int | None = None) -> None:
        record: dict[str, Any] = {
            "run": run or self.run, "at": self._now(),
            "phase": phase, "number": number, "did_id": did_id, "before": before, "after": after,
            "api_url": self.api_url, "environment": self.environment, "managed": self.managed,
        }
        if number in self.exceptions:
            record["policy_exceptions"] = self.exceptions[number]
        if phase == "outcome":
            record["outcome"] = None if outcome is None else Result(outcome).value
            record["error"] = error
        if wave is not None or self.wave is not None:
            record["wave"] = wave if wave is not None else self.wave
        if self.undoes is not None:
            record["undoes"] = self.undoes
        self._append(record)

    def check(self, wave: int, passed: bool, reason: str | None) -> None:
        """A wave's check and its verdict (SPEC §17). Not a change: readers of changes skip it."""
        self._append({"run": self.run, "at": self._now(), "phase": "check", "wave": wave,
                      "passed": passed, "reason": reason, "api_url": self.api_url,
                      "environment": self.environment, "managed": self.managed})

    def _now(self) -> str:
        now = datetime.now(UTC)
        self.last_at = now
        return now.strftime(MICROSECONDS)

    def _append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        try:
            handle = self._open()
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path}: "
                               f"{exc.strerror or exc}") from None

    def close(self) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:
                pass  # every record was already flushed and fsynced, or reported
            self._handle = None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def read_journal(path: str) -> tuple[list[dict], list[int]]:
    """Change records (intents and outcomes) in order, and the line numbers of lines that are
    not records (a torn last line after a crash, or a foreign line), for the caller to report.
    A wave's `check` records are records but not changes: they are left out."""
    try:
        with open(path, "rb") as handle:
            lines = handle.read().split(b"\n")
    except FileNotFoundError:
        raise InputError(f"no journal at {path}: nothing has been applied from here yet") from None
    except OSError as exc:
        raise InputError(f"cannot read the journal {path}: {exc.strerror}") from None
    records, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            bad.append(number)
            continue
        if _is_record(record):
            records.append(record)
        elif not _is_check(record):
            bad.append(number)
    return records, bad


def _is_record(record: Any) -> bool:
    return (isinstance(record, dict) and isinstance(record.get("run"), str)
            and isinstance(record.get("number"), str)
            and record.get("phase") in ("intent", "outcome")
            and all(isinstance(record.get(k), dict | None) for k in ("before", "after")))


def _is_check(record: Any) -> bool:
    return (isinstance(record, dict) and record.get("phase") == "check"
            and isinstance(record.get("run"), str))


def dangling(records: list[dict]) -> list[dict]:
    """Intents with no outcome after them: writes a killed run may or may not have made."""
    open_intents: dict[tuple[str, str], dict] = {}
    for record in records:
        key = (record["run"], record["number"])
        if record["phase"] == "intent":
            open_intents[key] = record
        else:
            open_intents.pop(key, None)
    return list(open_intents.values())
