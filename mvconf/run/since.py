"""`--changed-since REV` (SPEC §16): which managed DIDs a plan reads.

The desired state at REV is resolved offline, as `mvconf diff --base` reads it (from git, never
checked out), with the project file as it was at REV too: its manifest paths, aliases and
environments. A DID is read when its resolved state differs from REV's or REV did not manage
it; every other DID is left out of the plan and counted as unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mvconf.config.project import Context, load_project
from mvconf.config.scope import scope_of
from mvconf.core.errors import ManifestError, Problem
from mvconf.manifest import DesiredDid, load_desired
from mvconf.manifest.compare import differing
from mvconf.manifest.revision import Revision, Snapshot

FLAG = "--changed-since"


@dataclass(frozen=True)
class Since:
    revision: str  # as given
    commit: str  # the commit it named
    read: list[DesiredDid]  # the DIDs that differ from REV's or are new, in manifest order
    unchanged: int  # managed DIDs left unread


def changed_since(revision: str, context: Context, given: tuple[str, ...],
                  desired: list[DesiredDid]) -> Since:
    """The part of `desired` (the working tree's resolved DIDs) that differs from `revision`."""
    rev = Revision(revision, FLAG)
    project_text = rev.text(str(context.path)) if context.path else None
    with rev.snapshot(_paths_at(context, given, project_text),
                      {str(context.path): project_text} if project_text is not None else None
                      ) as snap:
        at = _context_at(context, snap, project_text)
        # An environment pointed at another account since (API URL, key variable, emulator):
        # none of its DIDs has been planned against this one, so all of them are read.
        same_account = at is not None and _account(at) == _account(context)
        old = _desired_at(snap, at) if same_account else []
    read = differing(old, desired)
    return Since(revision, rev.commit, read, len(desired) - len(read))


def _context_at(context: Context, snap: Snapshot, project_text: str | None
                ) -> Context | None:
    """The project context as it was at the revision (None: it had no such environment, so
    every DID of it is new)."""
    if context.path is None:
        return context
    if project_text is None or str(context.path) not in snap.extra:
        if context.environment is not None:
            return None
        return Context(None, context.path, None, ())
    try:
        project = load_project(Path(snap.extra[str(context.path)]))
    except ManifestError as exc:
        raise _named(exc, snap) from None
    names = tuple(sorted(project.environments))
    if context.environment is not None and context.environment not in names:
        return None
    return Context(project, context.path, context.environment, names)


def _paths_at(context: Context, given: tuple[str, ...], project_text: str | None
              ) -> list[str]:
    """The manifest paths at the revision: those given, else its project file's `manifests`."""
    if given or context.path is None:
        return list(given)
    import tomllib

    try:
        manifests = tomllib.loads(project_text or "").get("manifests", [])
    except tomllib.TOMLDecodeError:
        manifests = []  # reported with its position when the project file is loaded
    if not isinstance(manifests, list) or not all(isinstance(m, str) for m in manifests):
        return []
    return [os.path.relpath(context.path.parent / m) for m in manifests]


def _account(context: Context) -> tuple[str | None, ...]:
    """Which account a context's plan reads: its environment's API URL, key variable and
    emulator state file (none of them without an environment)."""
    env = context.env
    if env is None:
        return ()
    return env.api_url, context.key_variable(), env.emulator


def _desired_at(snap: Snapshot, at: Context) -> list[DesiredDid]:
    if not snap.paths:
        return []
    try:
        return load_desired(snap.paths, scope=scope_of(at))
    except ManifestError as exc:
        raise _named(exc, snap) from None


def _named(exc: ManifestError, snap: Snapshot) -> ManifestError:
    return ManifestError([Problem(snap.named(p.path), p.line, p.column,
                                  f"(at {FLAG} {snap.revision}) {p.message}")
                          for p in exc.problems])
