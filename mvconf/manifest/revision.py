"""Manifests as they were at a git revision, read with `git ls-tree` and `git cat-file`, never
by checking the revision out over the working tree (SPEC §12 `mvconf diff`, §16
`--changed-since`). Offline: git only."""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mvconf.core.errors import InputError
from mvconf.manifest.files import MAX_FILE_BYTES  # the same limit as the working tree's

MAX_FILES = 20_000
MAX_LINK_HOPS = 8  # a link to a link ...: as far as a working tree's own lookups would go
LINK_MODE = "120000"  # git's mode for a symbolic link
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 object names


class GitMissing(InputError):
    """git is not installed (not on PATH)."""


def _git(*args: str, cwd: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120,
                              input=stdin)
    except FileNotFoundError:
        raise GitMissing("comparing with a git revision needs git, which is not installed") \
            from None
    except subprocess.TimeoutExpired:
        raise InputError(f"git {args[0]} did not finish in 120 s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]}: {message[-1] if message else 'failed'}")
    return done.stdout


@dataclass
class Snapshot:
    """The manifest files under some paths (and a few named files) as they were at a commit,
    copied under `root`: `paths` are the ones to load, `extra` maps each named file that
    existed at the commit to its copy."""

    revision: str
    commit: str
    root: str
    paths: list[str]
    extra: dict[str, str] = field(default_factory=dict)

    def named(self, path: str) -> str:
        """A path inside the copy as the revision's name for it (`REV:dids/a.yaml`)."""
        return path.replace(self.root + "/", f"{self.revision}:", 1)


def _printable(revision: str, flag: str) -> None:
    if not revision or any(ord(ch) < 32 or ord(ch) == 127 for ch in revision) \
            or len(revision) > 1000:
        raise InputError(f"{flag}: not a git revision (empty, too long, or with control "
                         "characters)")


class Revision:
    """A git revision of the repository around the working directory, resolved to its commit
    (an error names `flag` when there is no repository or no such revision)."""

    def __init__(self, revision: str, flag: str = "--base"):
        _printable(revision, flag)
        self.revision, self.flag = revision, flag
        here = os.getcwd()
        try:
            self.top = _git("rev-parse", "--show-toplevel", cwd=here).decode().strip()
        except GitMissing as exc:
            raise InputError(f"{flag}: {exc}") from None
        except InputError as exc:
            raise InputError(f"{flag} compares with git history, and {here} is not in a git "
                             f"repository ({exc})") from None
        try:
            self.commit = _git("rev-parse", "--verify", "--quiet", "--end-of-options",
                               f"{revision}^{{commit}}", cwd=here).decode().strip()
            if not _COMMIT.fullmatch(self.commit):  # `^HEAD` names an exclusion, not a commit
                raise InputError("not one commit")
        except InputError:
            raise InputError(f"{flag} {revision}: no such revision in this git repository "
                             "(fetch it first, e.g. `git fetch origin main`)") from None

    def inside(self, path: str) -> str | None:
        """`path` relative to the repository's top, or None when it is outside."""
        relative = os.path.relpath(os.path.abspath(path), self.top)
        return None if relative.startswith("..") else relative

    def text(self, path: str) -> str | None:
        """One file as it was at the revision (None: outside the repository or absent); a
        symbolic link is followed as in the working tree."""
        inside = self.inside(path)
        if not inside:
            return None
        entry = _entry(self.commit, self.top, inside)
        data = self._contents([inside], {inside} if entry and entry[0] == LINK_MODE else set())
        return data[inside].decode("utf-8", "replace") if inside in data else None

    def _contents(self, names: list[str], links: set[str]) -> dict[str, bytes]:
        """The files `names` at the revision. A symbolic link among them (`links`) stands for
        the file it names, as the working tree follows it: a link that leaves the repository,
        dangles, names a directory or goes round in circles has no content at the revision,
        so the DIDs the working tree reads through it count as new (read, never skipped)."""
        blobs = _blobs(self.commit, names, self.top, self.revision)
        targets = {}
        for link in links:
            text = blobs.pop(link, None)
            target = self._follow(link, text) if text is not None else None
            if target is not None:
                targets[link] = target
        found = _blobs(self.commit, sorted(set(targets.values())), self.top, self.revision)
        blobs.update({link: found[target] for link, target in targets.items() if target in found})
        return blobs

    def _follow(self, link: str, text: bytes | None) -> str | None:
        """The regular file that `link` (whose own text is `text`) leads to at the revision,
        within the repository."""
        path = link
        for hop in range(MAX_LINK_HOPS):
            if hop:  # the next link of a chain
                text = _blobs(self.commit, [path], self.top, self.revision).get(path)
            if text is None or text.startswith(b"/") or b"\0" in text:
                return None
            path = posixpath.normpath(posixpath.join(posixpath.dirname(path),
                                                     text.decode("utf-8", "surrogateescape")))
            if path == ".." or path.startswith("../") or "\n" in path:
                return None
            entry = _entry(self.commit, self.top, path)
            if entry is None or entry[1] != "blob":
                return None
            if entry[0] != LINK_MODE:
                return path
        return None

    @contextmanager
    def snapshot(self, paths: list[str], extra: dict[str, str] | None = None
                 ) -> Iterator[Snapshot]:
        """A temporary copy of the manifest files under `paths` as they were; `extra` maps
        more paths to their text (the project file as it was), written into the copy too."""
        relative = [self.inside(p) for p in (paths or ["."])]
        if any(r is None for r in relative):
            raise InputError(f"{self.flag} compares manifests inside this git repository")
        names = [r for r in relative if r and r != "."] or ["."]
        listed = _git("ls-tree", "-r", "-z", self.commit, "--", *names, cwd=self.top)
        files, links = [], set()
        for entry in listed.decode("utf-8", "surrogateescape").split("\0"):
            head, _, name = entry.partition("\t")
            mode = head.split(" ", 1)[0]
            if name.endswith((".yaml", ".yml")) and not any(part.startswith(".")
                                                            for part in name.split("/")):
                files.append(name)
                if mode == LINK_MODE:
                    links.add(name)
        if len(files) > MAX_FILES:
            raise InputError(f"{self.revision} has more than {MAX_FILES} manifest files under "
                             "the paths")
        with tempfile.TemporaryDirectory(prefix="mvconf-rev-") as root:
            for name, data in self._contents(files, links).items():
                target = Path(root, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            copies = {}
            for path, text in (extra or {}).items():
                inside = self.inside(path)
                if inside is not None:
                    target = Path(root, inside)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
                    copies[path] = str(target)
            loaded = [str(Path(root, r)) for r in relative
                      if r is not None and Path(root, r).exists()] if files else []
            yield Snapshot(self.revision, self.commit, root, loaded, copies)


def _entry(commit: str, top: str, path: str) -> tuple[str, str] | None:
    """The mode and type of `path` in `commit`'s tree (None when it has no such entry)."""
    listed = _git("ls-tree", "-z", commit, "--", path, cwd=top).decode("utf-8",
                                                                        "surrogateescape")
    for entry in listed.split("\0"):
        head, _, name = entry.partition("\t")
        parts = head.split()
        if name == path and len(parts) == 3:
            return parts[0], parts[1]
    return None


def _blobs(commit: str, names: list[str], top: str, revision: str) -> dict[str, bytes]:
    """The files `names` at `commit` (those that exist there), in one `git cat-file --batch`:
    one process for the whole tree rather than two per file."""
    if not names:
        return {}
    request = "".join(f"{commit}:{name}\n" for name in names)
    if any("\n" in name for name in names):
        raise InputError(f"{revision} has a manifest path with a newline in it")
    encoded = request.encode("utf-8", "surrogateescape")
    checked = _git("cat-file", "--batch-check", cwd=top, stdin=encoded).splitlines()
    for name, line in zip(names, checked, strict=False):
        header = line.split()  # sizes first: a huge file at the revision is never read
        if len(header) == 3 and header[1] == b"blob" and int(header[2]) > MAX_FILE_BYTES:
            raise InputError(f"{revision}:{name} is larger than {MAX_FILE_BYTES} bytes")
    out = _git("cat-file", "--batch", cwd=top, stdin=encoded)
    blobs: dict[str, bytes] = {}
    at = 0
    for name in names:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3 or header[-1] == b"missing":
            continue
        kind, size = header[1], int(header[2])
        if kind == b"blob":
            blobs[name] = out[at:at + size]
        at += size + 1
    return blobs


@contextmanager
def manifests_at(revision: str, paths: list[str]) -> Iterator[tuple[list[str], str]]:
    """The manifest files under `paths` at `revision`: the paths to load from the copy, and
    the copy's root (to name the revision in messages)."""
    with Revision(revision).snapshot(paths) as snap:
        yield snap.paths, snap.root
