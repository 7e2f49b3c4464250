"""Manifests as they were at a git revision, read with `git ls-tree` and `git show`, never by
checking the revision out over the working tree (SPEC §12, `mvconf diff`). Offline: git only."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mvconf.errors import InputError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_FILES = 20_000


def _git(*args: str, cwd: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120)
    except FileNotFoundError:
        raise InputError("mvconf diff needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise InputError(f"git {args[0]} did not finish in 120 s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]}: {message[-1] if message else 'failed'}")
    return done.stdout


@contextmanager
def manifests_at(revision: str, paths: list[str]) -> Iterator[tuple[list[str], str]]:
    """A temporary copy of the manifest files under `paths` as they were at `revision`: the
    paths to load from it, and the temporary root (to name the revision in messages)."""
    here = os.getcwd()
    try:
        top = _git("rev-parse", "--show-toplevel", cwd=here).decode().strip()
    except InputError as exc:
        raise InputError(f"mvconf diff compares with git history, and {here} is not in a git "
                         f"repository ({exc})") from None
    try:
        commit = _git("rev-parse", "--verify", "--quiet", "--end-of-options",
                      f"{revision}^{{commit}}", cwd=here).decode().strip()
    except InputError:
        raise InputError(f"--base {revision}: no such revision in this git repository "
                         "(fetch it first, e.g. `git fetch origin main`)") from None
    relative = [os.path.relpath(os.path.abspath(p), top) for p in (paths or ["."])]
    if any(r.startswith("..") for r in relative):
        raise InputError("mvconf diff compares manifests inside this git repository")
    listed = _git("ls-tree", "-r", "-z", "--name-only", commit, "--",
                  *[r for r in relative if r != "."] or ["."], cwd=top)
    files = [f for f in listed.decode("utf-8", "surrogateescape").split("\0")
             if f.endswith((".yaml", ".yml")) and not any(part.startswith(".")
                                                          for part in f.split("/"))]
    if len(files) > MAX_FILES:
        raise InputError(f"{revision} has more than {MAX_FILES} manifest files under the paths")
    with tempfile.TemporaryDirectory(prefix="mvconf-diff-") as root:
        for name in files:
            size = int(_git("cat-file", "-s", f"{commit}:{name}", cwd=top).strip() or 0)
            if size > MAX_FILE_BYTES:
                raise InputError(f"{revision}:{name} is larger than {MAX_FILE_BYTES} bytes")
            target = Path(root, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git("show", f"{commit}:{name}", cwd=top))
        loaded = [str(Path(root, r)) for r in relative if Path(root, r).exists()] if files else []
        yield loaded, root
