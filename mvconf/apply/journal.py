"""The change journal: JSON lines, appended to and never rewritten (SPEC §4).

Each record is flushed and fsynced before the next change starts, so a run that dies midway
leaves a journal that says which DIDs it was changing (intent) and which it changed (outcome).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from mvconf.core.clock import MICROSECONDS, new_run_id
from mvconf.core.errors import InputError, MvconfError
from mvconf.core.facts import E164_SHAPE, JOURNAL_PATH, MAX_DIDS_CEILING
from mvconf.core.files import iter_lines, open_regular

DEFAULT_PATH = JOURNAL_PATH


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
            handle = open_regular(self.path, "the journal", append=True)  # kept for the run
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
    A wave's `check` records are records but not changes: they are left out. Holds every
    record: for tests and small journals; runs use `scan_journal`, which streams."""
    records, bad = [], []
    for number, record in scan_journal(path):
        if record is None:
            bad.append(number)
        else:
            records.append(record)
    return records, bad


# A run manages at most this many DIDs (the ceiling of mvconf.toml's max_dids); a journal
# record claiming more is not one mvconf wrote.
MAX_MANAGED = MAX_DIDS_CEILING
_COMPARED_TYPES = {"application_id": str, "route_mode": str, "destinations": list}


def _is_check(record: Any) -> bool:
    return (isinstance(record, dict) and record.get("phase") == "check"
            and isinstance(record.get("run"), str))


def scan_journal(path: str) -> Iterator[tuple[int, dict | None]]:
    """(line number, record) for each line, read in bounded pieces whatever the journal's size;
    record is None for a line that is not JSON or not a record (a torn last line after a crash,
    a foreign line). A line that is a record with a wrong value (`before.destinations: [1, 2]`,
    `managed: 10**12`, one run with two different `managed`) is not one mvconf wrote: InputError
    names `path:line`. Only regular files are read (mvconf/files.py)."""
    try:
        handle = open_regular(path, "the journal")
    except FileNotFoundError:
        raise InputError(f"no journal at {path}: nothing has been applied from here yet") from None
    managed: dict[str, int | None] = {}
    with handle:
        try:
            for number, line in iter_lines(handle):
                if line is None or not line.strip():
                    if line is None:
                        yield number, None
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    yield number, None
                    continue
                if _is_check(record):
                    continue  # a wave's check (SPEC §17): a record, but not a change
                if not _looks_like_record(record):
                    yield number, None
                    continue
                why = record_problem(record)
                if why is None and record.get("managed") is not None:
                    seen = managed.setdefault(record["run"], record["managed"])
                    if seen != record["managed"]:
                        why = (f"'managed' is {record['managed']} but earlier records of run "
                               f"{record['run']} say {seen}")
                if why:
                    raise InputError(f"{path}:{number}: not a journal record mvconf wrote: {why}; "
                                     "fix or remove that line")
                yield number, record
        except OSError as exc:
            raise InputError(f"cannot read the journal {path}: {exc.strerror}") from None


def _looks_like_record(record: Any) -> bool:
    return isinstance(record, dict) and isinstance(record.get("run"), str) and \
        record.get("phase") in ("intent", "outcome")


def record_problem(record: dict) -> str | None:
    """Why a journal record's values are not ones mvconf writes, or None."""
    if not record["run"] or len(record["run"]) > 200:
        return "'run' must be a short non-empty string"
    if not isinstance(record.get("number"), str) or not E164_SHAPE.match(record["number"]):
        return "'number' must be an E.164 number"
    for name in ("did_id", "api_url", "environment", "at", "error"):
        if not isinstance(record.get(name), str | None):
            return f"{name!r} must be a string or null"
    for side in ("before", "after"):
        values = record.get(side)
        if values is None:
            continue
        if not isinstance(values, dict):
            return f"{side!r} must be a mapping or null"
        for name, kind in _COMPARED_TYPES.items():
            value = values.get(name)
            if value is not None and not isinstance(value, kind):
                return f"{side}.{name} must be a {kind.__name__} or null"
        destinations = values.get("destinations") or []
        if not all(isinstance(d, str) for d in destinations):
            return f"{side}.destinations must hold strings only"
    count = record.get("managed")
    if count is not None and (type(count) is not int or not 0 <= count <= MAX_MANAGED):
        return f"'managed' must be a whole number from 0 to {MAX_MANAGED:,}"
    if record["phase"] == "outcome" and record.get("outcome") not in (
            None, *(r.value for r in Result)):
        return f"'outcome' {record.get('outcome')!r} is not one of {', '.join(Result)}"
    return None


def dangling(records: Iterable[dict]) -> list[dict]:
    """Intents with no outcome after them: writes a killed run may or may not have made. Holds
    only the intents still open, so a journal streamed through it costs little memory."""
    open_intents: dict[tuple[str, str], dict] = {}
    for record in records:
        key = (record["run"], record["number"])
        if record["phase"] == "intent":
            open_intents[key] = record
        else:
            open_intents.pop(key, None)
    return list(open_intents.values())
