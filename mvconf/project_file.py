"""The project file's format (SPEC §9), checked with pydantic; errors as path:line:column."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from mvconf.errors import ConfigError, ManifestError, Problem
from mvconf.facts import APP_ID_PATTERN

MAX_PROJECT_BYTES = 1024 * 1024
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Variable = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Strict):
    parallelism: Annotated[int, Field(ge=1, le=256)] | None = None
    max_change_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    min_managed: Annotated[int, Field(ge=0)] | None = None
    journal: str | None = None
    executor: Literal["api", "manual"] | None = None  # what --executor means when not given


class Environment(Settings):
    api_url: str | None = None
    api_key_env: Variable | None = None
    emulator: str | None = None  # ours: an emulator state file stands in for this account
    applications: dict[str, Annotated[str, StringConstraints(pattern=APP_ID_PATTERN)]] = {}


class Project(_Strict):
    manifests: list[str] = []
    defaults: Settings = Settings()
    environments: dict[EnvName, Environment] = {}


def load_project(path: Path) -> Project:
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        text_of = str(exc)
        at = re.search(r"\(at line (\d+), column (\d+)\)", text_of)
        line, col = (int(at.group(1)), int(at.group(2))) if at else (1, 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", text_of)
        raise ManifestError([Problem(str(path), line, col, f"not valid TOML: {message}")]) \
            from None
    try:
        return Project.model_validate(data)
    except ValidationError as exc:
        raise ManifestError([_problem(path, text, err) for err in exc.errors()]) from None


def _read(path: Path) -> str:
    try:
        if not path.is_file():
            raise ConfigError(f"the project file {path} is not a regular file")
        if path.stat().st_size > MAX_PROJECT_BYTES:
            raise ConfigError(f"the project file {path} is larger than {MAX_PROJECT_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the project file {path}: "
                          f"{getattr(exc, 'strerror', None) or 'not UTF-8 text'}") from None


PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\[\]-]*")
KNOWN = {"": set(Project.model_fields), "defaults": set(Settings.model_fields),
         "environment": set(Environment.model_fields)}


def _problem(path: Path, text: str, err: dict) -> Problem:
    loc = [str(part) for part in err["loc"]]
    line, col = locate(text, loc)
    # A key is shown as written only when it is plain; else quoted, so a newline in it cannot
    # start a line of a terminal or a CI log.
    plain = all(PLAIN_KEY.fullmatch(part) for part in loc)
    where = ".".join(part if PLAIN_KEY.fullmatch(part) else repr(part) for part in loc)
    if err["type"] == "extra_forbidden":
        table = "environment" if loc[0] == "environments" and len(loc) == 3 else (
            "defaults" if loc[0] == "defaults" else "")
        hint = difflib.get_close_matches(loc[-1], sorted(KNOWN[table]), n=1)
        message = f"unknown key {repr(where) if plain else where}" + (
            f"; did you mean {hint[0]!r}?" if hint else "")
    else:
        message = f"{where}: {err['msg']}"
    return Problem(str(path), line, col, message)


def locate(text: str, loc: list[str]) -> tuple[int, int]:
    """The line and column of a key in TOML text: found by its table header and its name.
    tomllib gives no positions; this is good enough to point at the line to fix."""
    lines = text.splitlines()
    *tables, key = loc if loc else [""]
    start = 0
    if tables:
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(
            re.escape(t) + '|"' + re.escape(t) + '"' for t in tables[:2]) + r"\s*\]")
        for number, line in enumerate(lines):
            if header.match(line):
                start = number
                break
    key_pattern = re.compile(r"^(\s*)(" + re.escape(key) + r'|"' + re.escape(key) + r'")\s*=')
    for number in range(start, len(lines)):
        found = key_pattern.match(lines[number])
        if found:
            return number + 1, len(found.group(1)) + 1
    return start + 1, 1


