"""The project file, `mvconf.toml`, and its environments (SPEC §9).

Found in the working directory or its parents (or given with `--project FILE`); optional. It
names the default manifest paths, settings shared by every environment (`[defaults]`), and one
`[environments.NAME]` table per MiniVoice account: its API URL, the variable holding its key,
its application aliases (which win over the manifests'), its journal and settings. Parsed with
the standard library's tomllib; every problem is reported as `path:line:column: message`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvconf.core.errors import ConfigError

if TYPE_CHECKING:
    from mvconf.config.file import Environment, Project

PROJECT_FILE = "mvconf.toml"


@dataclass(frozen=True)
class Context:
    """What a command runs with: the project (if any) and the environment chosen (if any)."""

    project: Project | None = None
    path: Path | None = None
    environment: str | None = None
    names: tuple[str, ...] = field(default=())

    @property
    def env(self) -> Environment | None:
        return self.project.environments[self.environment] if self.environment else None

    def setting(self, name: str) -> Any:
        """An environment's setting, else the project's default, else None."""
        for source in (self.env, self.project.defaults if self.project else None):
            value = getattr(source, name, None) if source is not None else None
            if value is not None:
                return value
        return None

    def key_variable(self) -> str:
        """The one variable this environment's key may come from (SPEC §9)."""
        if self.env is None:
            return "MINIVOICE_API_KEY"
        from mvconf.config.file import key_variable  # loaded already: there is a project

        return key_variable(self.environment, self.env)

    def emulator(self, given: str | None) -> str | None:
        """--emulator, else the environment's `emulator` state file (relative to the project)."""
        if given or self.env is None or not self.env.emulator:
            return given
        base = self.path.parent if self.path else Path(".")
        return os.path.relpath(base / self.env.emulator)

    def manifest_paths(self, given: tuple[str, ...]) -> list[str]:
        if given or self.project is None or not self.project.manifests:
            return list(given)
        base = self.path.parent if self.path else Path(".")
        return [os.path.relpath(base / p) for p in self.project.manifests]

    def journal(self, given: str | None, default: str) -> str:
        if given:
            return given
        configured = self.setting("journal")
        if configured:
            base = self.path.parent if self.path else Path(".")
            return os.path.relpath(base / configured)
        if self.environment:
            return os.path.join(".mvconf", f"journal-{self.environment}.jsonl")
        return default


def find_project(explicit: str | None, start: Path | None = None) -> Path | None:
    """`--project FILE`, else the first mvconf.toml in the working directory or its parents,
    which must be safe to trust (`unsafe_reason`)."""
    if explicit:
        return Path(explicit)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            why = unsafe_reason(candidate)
            if why:
                raise ConfigError(f"{candidate} {why}, so it is not used: whoever can change it "
                                  "can redirect your DIDs, journal and thresholds. Fix its "
                                  f"owner or mode, or name it explicitly with --project "
                                  f"{candidate} if you trust it")
            return candidate
    return None


def unsafe_reason(path: Path) -> str | None:
    """Why a project file found by searching could have been written by someone else, or None:
    like git's safe.directory, the file (and its directory) must belong to the user running
    mvconf (or root) and not be writable by group or others; a directory others may write
    must be sticky (as /tmp is), so that they cannot replace the file."""
    uid = os.geteuid()
    real = Path(os.path.realpath(path))  # a symlink's target is what is read
    items = [(path.parent, "is in a directory"), (real, "is"), (real.parent, "is in a directory")]
    if path.is_symlink():
        items.insert(0, (path, "is"))
    for item, kind in dict.fromkeys(items):
        info = item.lstat() if item.is_symlink() else item.stat()
        # Through a link, the message names what it found: the target, or the target's folder.
        target = f"links to {real}, which " if item in (real, real.parent) and \
            real != path else ""
        folder = f" ({item})" if kind != "is" else ""
        if info.st_uid not in (uid, 0):
            return f"{target}{kind} owned by another user (uid {info.st_uid}){folder}"
        writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if item.is_symlink():
            continue  # a link's own mode means nothing; its owner was checked
        if writable and not (kind != "is" and info.st_mode & stat.S_ISVTX):
            who = "group and others" if writable == stat.S_IWGRP | stat.S_IWOTH else (
                "its group" if writable == stat.S_IWGRP else "others")
            return f"{target}{kind} writable by {who}{folder}"
    return None


def load_project(path: Path) -> Project:
    """The project file, checked; ManifestError lists its problems with positions. pydantic
    and tomllib are loaded only here: a run without a project file never pays for them."""
    from mvconf.config.file import load_project as load

    return load(path)


def choose(project_flag: str | None, env_flag: str | None, *, needs_api: bool) -> Context:
    """The project and environment a command runs with. With environments defined, a command
    that talks to the API must name one: there is no silent default (SPEC §9)."""
    path = find_project(project_flag)
    project = load_project(path) if path else None
    names = tuple(sorted(project.environments)) if project else ()
    if env_flag is None:
        if names and needs_api:
            raise ConfigError(f"{path} defines environments ({', '.join(names)}): pass "
                              "--env NAME to say which account to use")
        return Context(project, path, None, names)
    if not names:
        raise ConfigError(f"--env {env_flag}: no environments are defined (add "
                          f"[environments.{env_flag}] to {path or PROJECT_FILE})")
    if env_flag not in names:
        raise ConfigError(f"--env {env_flag}: not an environment of {path}; choose one of "
                          f"{', '.join(names)}")
    return Context(project, path, env_flag, names)


def policy_of(context: Context, environment: str | None = None):
    """The routing policy (SPEC §15) a run judges with: the project's top-level [policy], then
    the environment's table key by key; the built-in defaults without a project file."""
    from mvconf.policy.config import merge_tables

    project = context.project
    name = environment or context.environment
    env = project.environments.get(name) if project and name else None
    return merge_tables(project.policy if project else None, env.policy if env else None)
