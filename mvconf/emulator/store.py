"""The emulator's account state: API keys and DIDs, loaded from and saved atomically to a file."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from mvconf.core.clock import utc_after, utc_now
from mvconf.core.errors import InputError
from mvconf.core.files import read_bounded, replace_file
from mvconf.core.lockfile import RunLock
from mvconf.core.logs import register_secret
from mvconf.core.phone import to_e164

log = logging.getLogger("mvconf.emulator")

DOCUMENTED_FIELDS = ("id", "customer_id", "application_id", "number_e164", "provider", "status",
                     "route_mode", "created_at", "updated_at")


# Values most DIDs of a state share.
REPEATED = ("customer_id", "application_id", "provider", "status", "route_mode", "created_at",
            "updated_at")


class SaveFailed(Exception):
    """The state file could not be written; the changes it would have saved were undone."""


class Store:
    """DIDs by id and by number, for the keys in a state file.

    Changes are made in memory by `update` and `put`; `commit` returns once a save that includes
    them is on disk. Writes that arrive while a save is running share the next one (a group
    commit), and each DID's JSON is kept encoded, so a save re-encodes only what changed: applying
    1,000 changes to a 10,000-DID state took 99 s when every write re-encoded and saved the whole
    file on its own."""

    def __init__(self, path: str | os.PathLike, *, lock: str | None = None,
                 lock_timeout: float = 0.0):
        """With `lock` (the holder's name), the state file is locked (`PATH.lock`) from before
        it is read until `close`, so two processes never each save their own copy of it."""
        self.path = Path(path)
        self._run_lock = RunLock(self.path, lock, lock_timeout,
                                 "the emulator state file").__enter__() if lock else None
        self._changed = 0  # changes made in memory
        self._saved = 0  # changes known to be on disk
        self._save_lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._encoded: dict[str, str] = {}
        self._undo: list[tuple[int, str, dict | None]] = []  # (change number, id, before)
        self._lost, self._lost_why = 0, ""  # changes up to _lost were undone by a failed save
        # Taken before the file is read: one replaced while it is read is loaded again.
        seen = self._signature()
        data = _read_state(self.path)
        self.is_yaml = self.path.suffix in (".yaml", ".yml")
        self.api_keys: list[dict] = data["api_keys"]
        # Optional fault injection: {"did_id": {"status": 403, "code": ..., "message": ...}}
        self.write_errors: dict[str, dict] = data.get("write_errors") or {}
        self.dids: dict[str, dict] = {}
        self.by_number: dict[str, str] = {}
        self._load(data)
        self._seen = seen
        self._bad_seen: tuple | None = None

    def _load(self, data: dict) -> None:
        self.api_keys = data["api_keys"]
        self.write_errors = data.get("write_errors") or {}
        self.dids, self.by_number, self._encoded = {}, {}, {}
        for record in data["dids"]:
            self._index(record)

    def _signature(self) -> tuple | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def refresh(self) -> None:
        """Load the state file again if it changed on disk (mtime, size or inode) since it was
        last read or written, so that a person can simulate drift by editing it. Never while a
        change of ours is not yet saved. A file that no longer parses is logged once and the
        last good state is kept."""
        now = self._signature()
        if now is None or now == self._seen or now == self._bad_seen \
                or self._changed != self._saved:
            return
        try:
            data = _read_state(self.path)
        except InputError as exc:
            self._bad_seen = now
            log.error("emulator: %s; keeping the last good state", exc)
            return
        self._load(data)
        self._seen, self._bad_seen = now, None
        self._undo.clear()
        log.warning("emulator: %s changed on disk; its DIDs were loaded again", self.path)

    def _index(self, record: dict) -> None:
        self.dids[record["id"]] = record
        self._encoded.pop(record["id"], None)
        self.by_number[to_e164(record["number_e164"]) or record["number_e164"]] = record["id"]

    def close(self) -> None:
        if self._run_lock is not None:
            self._run_lock.__exit__(None, None, None)
            self._run_lock = None

    def customer_of(self, key: str | None) -> str | None:
        if not key:
            return None
        given = key.encode("utf-8", "surrogateescape")  # any header bytes, never an error
        for entry in self.api_keys:
            if secrets.compare_digest(str(entry.get("key", "")).encode(), given):
                return entry.get("customer_id")
        return None

    def customers(self) -> frozenset[str]:
        return frozenset(str(entry["customer_id"]) for entry in self.api_keys)

    def first_key(self) -> str:
        return self.api_keys[0]["key"]

    def find_number(self, number: str) -> dict | None:
        did_id = self.by_number.get(to_e164(number) or number)
        return self.dids.get(did_id) if did_id else None

    def _remember(self, did_id: str, before: dict | None) -> None:
        """Keep what to restore if the save of this change fails."""
        self._changed += 1
        self._undo.append((self._changed, did_id, copy.deepcopy(before)))

    def update(self, record: dict, changes: dict[str, Any]) -> dict:
        """Change a DID in memory; `commit` saves it."""
        self._remember(record["id"], record)
        record.update(changes)
        record["updated_at"] = utc_after(record.get("updated_at"))
        self._encoded.pop(record["id"], None)
        return record

    def put(self, number: str, body: dict) -> dict:
        """Create or replace the DID with this number (the account setup's doing)."""
        old = self.find_number(number)
        record = {
            "id": body.get("id") or (old or {}).get("id") or f"did_{secrets.token_hex(6)}",
            "customer_id": body.get("customer_id") or self.api_keys[0]["customer_id"],
            "application_id": body.get("application_id"),
            "number_e164": to_e164(number) or number,
            "provider": body.get("provider", "didww"),
            "status": body.get("status", "active"),
            "route_mode": body.get("route_mode", "webhook"),
            "created_at": (old or {}).get("created_at") or utc_now(precise=True),
        }
        record["updated_at"] = utc_after((old or {}).get("updated_at"))
        if "destinations" in body:
            record["destinations"] = list(body["destinations"])
        if old is not None:
            self._remember(old["id"], old)
            self._drop(old["id"])
        self._remember(record["id"], self.dids.get(record["id"]))
        self._index(record)
        return record

    def _drop(self, did_id: str) -> None:
        record = self.dids.pop(did_id, None)
        self._encoded.pop(did_id, None)
        if record is not None:
            number = to_e164(record["number_e164"]) or record["number_e164"]
            if self.by_number.get(number) == did_id:
                del self.by_number[number]

    def _revert(self) -> None:
        """Undo every change not on disk, newest first: memory equals the file again."""
        for _, did_id, before in reversed(self._undo):
            self._drop(did_id)
            if before is not None:
                self._index(before)
        self._undo.clear()

    async def commit(self) -> None:
        """Return once every change made so far is saved (SPEC §7: atomically, so a crash never
        leaves a half-written file, and before the API answers the write)."""
        wanted = self._changed
        loop = asyncio.get_running_loop()
        if self._save_lock is None or self._lock_loop is not loop:  # one lock per event loop
            self._save_lock, self._lock_loop = asyncio.Lock(), loop
        async with self._save_lock:
            if wanted <= self._lost:
                raise SaveFailed(self._lost_why)
            if self._saved >= wanted:
                return  # a save that started after our change already covered it
            if self._signature() != self._seen and self._bad_seen != self._signature():
                # A person edited the file since it was read or written: their edit wins. The
                # changes not yet saved are undone, the file is loaded again, the write fails.
                self._revert()
                self._lost, self._lost_why = self._changed, ("the state file was edited on "
                                                             "disk meanwhile; it was loaded again")
                self._saved = self._changed
                self.refresh()
                raise SaveFailed(self._lost_why)
            covered, text = self._changed, self._render()
            try:
                await asyncio.to_thread(replace_file, self.path, text)
            except (OSError, InputError) as exc:
                self._revert()
                why = getattr(exc, "strerror", None) or str(exc)
                self._lost, self._lost_why = self._changed, why
                raise SaveFailed(self._lost_why) from None
            self._saved = covered
            self._seen = self._signature()  # our own write is not a change to load
            self._undo = [entry for entry in self._undo if entry[0] > covered]

    def _render(self) -> str:
        if self.is_yaml:
            import io

            from ruamel.yaml import YAML

            data: dict = {"api_keys": self.api_keys, "dids": list(self.dids.values())}
            if self.write_errors:
                data["write_errors"] = self.write_errors
            buffer = io.StringIO()
            YAML(typ="safe", pure=True).dump(data, buffer)
            return buffer.getvalue()
        # One DID per line: readable, and each line is kept encoded until its DID changes.
        encoded = self._encoded
        lines = []
        for did_id, record in self.dids.items():
            line = encoded.get(did_id)
            if line is None:
                line = encoded[did_id] = json.dumps(record, ensure_ascii=False)
            lines.append(line)
        head = json.dumps(self.api_keys, ensure_ascii=False)
        tail = (f',\n "write_errors": {json.dumps(self.write_errors, ensure_ascii=False)}'
                if self.write_errors else "")
        return (f'{{"api_keys": {head},\n "dids": [\n  ' + ",\n  ".join(lines)
                + f"\n ]{tail}\n}}\n")


MAX_STATE_BYTES = 512 * 1024 * 1024  # 100,000 DIDs are about 30 MB


def _read_state(path: Path) -> dict:
    try:  # a regular file of bounded size only: /dev/zero or a FIFO is refused (files.py)
        text = read_bounded(path, "the emulator state file", MAX_STATE_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"cannot read emulator state file {path}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read emulator state file {path}: not UTF-8 text") from None
    try:
        if path.suffix in (".yaml", ".yml"):  # as manifests are read: bounded depth and
            from mvconf.manifest.yamlpos import YamlProblem, load_located  # alias expansion

            try:
                located = load_located(text)
            except YamlProblem as exc:
                raise InputError(f"emulator state file {path}:{exc.line}:{exc.column}: "
                                 f"{exc.message}") from None
            data = located.data if located is not None else None
        else:
            # The standard library, not orjson: orjson's objects for 100,000 DIDs took 80 MB
            # more (a 100,000-DID plan's peak, 278 -> 355 MB) to save 20 ms per 10,000.
            data = json.loads(text)
    except InputError:
        raise
    except Exception as exc:  # any parse failure is bad input, said plainly
        raise InputError(f"emulator state file {path} is not valid JSON/YAML: {exc}") from None
    return _check_state(path, data)


def _check_state(path: Path, data: Any) -> dict:
    def bad(why: str) -> InputError:
        return InputError(f"emulator state file {path}: {why}")

    if not isinstance(data, dict):
        raise bad("must be a mapping with 'api_keys' and 'dids'")
    keys, dids = data.get("api_keys"), data.get("dids", [])
    for entry in keys if isinstance(keys, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            register_secret(entry["key"])  # masked from here on: the file's name may hold one
    if not isinstance(keys, list) or not keys:
        raise bad("'api_keys' must be a non-empty list of {key, customer_id, application_id}")
    for i, entry in enumerate(keys):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"]:
            raise bad(f"api_keys[{i}] needs a non-empty string 'key'")
        if not isinstance(entry.get("customer_id"), str):
            raise bad(f"api_keys[{i}] needs a string 'customer_id'")
    if not isinstance(dids, list):
        raise bad("'dids' must be a list")
    seen: set[str] = set()
    shared: dict[str, str] = {}  # one string for a value many DIDs have (30 MB of 100,000)
    for i, record in enumerate(dids):
        if not isinstance(record, dict):
            raise bad(f"dids[{i}] must be a mapping")
        for field in ("id", "number_e164"):
            if not isinstance(record.get(field), str) or not record[field]:
                raise bad(f"dids[{i}] needs a string {field!r}")
        if record["id"] in seen:
            raise bad(f"dids[{i}] repeats id {record['id']}")
        seen.add(record["id"])
        record.setdefault("customer_id", keys[0]["customer_id"])
        record.setdefault("status", "active")
        record.setdefault("route_mode", "webhook")
        record.setdefault("application_id", None)
        record.setdefault("provider", "didww")
        record.setdefault("created_at", "2026-01-01T00:00:00Z")
        record.setdefault("updated_at", record["created_at"])
        for name in REPEATED:
            value = record[name]
            if type(value) is str:
                record[name] = shared.setdefault(value, value)
    write_errors = data.get("write_errors") or {}
    if not isinstance(write_errors, dict) or not all(
            isinstance(v, dict) for v in write_errors.values()):
        raise bad("'write_errors' must map DID ids to {status, code, message}")
    return {"api_keys": keys, "dids": dids, "write_errors": write_errors}
