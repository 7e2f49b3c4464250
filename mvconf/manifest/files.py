"""Finding manifest files: which paths are read as manifests, and how much of each. Kept apart
from the loader (and its pydantic models) so that `plan` can find the files before the rest of
mvconf is imported (run/early.py)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from mvconf.core.errors import ManifestError, Problem

MAX_FILE_BYTES = 16 * 1024 * 1024
SUFFIXES = (".yaml", ".yml")

MANIFEST_SHAPE = re.compile(rb"^(version:[ \t]*1[ \t]*(#.*)?|dids:.*)\r?$", re.MULTILINE)


class Unreadable(Exception):
    """A manifest path that is not read: not a regular file, or larger than MAX_FILE_BYTES."""

    def __init__(self, reason: str, size: int | None = None):
        super().__init__(reason)
        self.size = size


def read_bytes(path: str) -> bytes:
    """The bytes of the manifest file `path`, read as the loader reads it: opened without
    blocking (a FIFO never hangs the run), only a regular file of at most MAX_FILE_BYTES.
    OSError as the system gives it; Unreadable for the rest."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise Unreadable("too large", info.st_size)
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:  # it grew since fstat
        raise Unreadable("too large", len(raw))
    return raw


def looks_like_manifest(path: str) -> bool:
    """Whether a YAML file found in a directory is an mvconf manifest: a top-level `version: 1`
    or `dids:` line. For `--skip-other-yaml`, so that a repository's other YAML (CI files,
    docker-compose.yml with its `version: "3"`) is not validated as manifests."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(256 * 1024)
    except OSError:
        return True  # let the reader report it
    return bool(MANIFEST_SHAPE.search(head))


def find_manifests(paths: list[str], skip_other: bool = False,
                   skipped: list[str] | None = None) -> list[str]:
    """Manifest files under `paths`, each directory searched recursively in sorted order. Only
    regular files are read: a FIFO or device named like a manifest is added to `skipped`."""
    found: list[str] = []
    problems: list[Problem] = []
    for given in paths or ["."]:
        if os.path.isdir(given):
            files = _walk(given, skipped if skipped is not None else [])
            if skip_other:
                files = [f for f in files if looks_like_manifest(f)]
            if not files:
                problems.append(Problem(given, 1, 1, "no manifest (*.yaml, *.yml) found here"))
            found.extend(files)
        elif os.path.isfile(given):
            found.append(given)
        elif os.path.exists(given):
            problems.append(Problem(given, 1, 1, "not a regular file (a FIFO, socket or device "
                                    "is never read as a manifest)"))
        else:
            problems.append(Problem(given, 1, 1, "no such file or directory"))
    if problems:
        raise ManifestError(problems)
    return list(dict.fromkeys(os.path.normpath(p) for p in found))


def _walk(root: str, skipped: list[str]) -> list[str]:
    files: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or not name.endswith(SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            try:
                regular = stat.S_ISREG(os.stat(full).st_mode)
            except OSError:
                regular = False
            if not regular:
                skipped.append(full)
                continue
            files.append((Path(os.path.relpath(full, root)).as_posix(), full))
    return [full for _, full in sorted(files)]
