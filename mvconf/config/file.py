"""The project file's format (SPEC §9), checked with pydantic; errors as path:line:column."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from mvconf.core.errors import ConfigError, ManifestError, Problem
from mvconf.core.facts import APP_ID_PATTERN, MAX_DIDS_CEILING
from mvconf.core.phone import alias_problem
from mvconf.policy.catalog import LEVELS, RULES
from mvconf.policy.config import PolicyTable

MAX_PROJECT_BYTES = 1024 * 1024
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Variable = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
SHARED_KEY_VARIABLE = "MINIVOICE_API_KEY"  # the key of runs without an environment
RESERVED_ENVIRONMENTS = ("all",)  # `--env all` means every environment
# A variable named as holding a secret: PATH, HOME or MINIVOICE_API_URL would send their
# value as the key (ours, a rule of mvconf).
SECRET_WORDS = ("KEY", "TOKEN", "SECRET")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # TOML has types


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
    policy: PolicyTable | None = None  # SPEC §15: wins key by key over the top-level [policy]


class Project(_Strict):
    manifests: list[str] = []
    max_dids: Annotated[int, Field(ge=1, le=MAX_DIDS_CEILING)] | None = None
    defaults: Settings = Settings()
    policy: PolicyTable | None = None
    environments: dict[EnvName, Environment] = {}


def key_variable(name: str, environment: Environment) -> str:
    """The one variable an environment's key may come from: `api_key_env`, else
    MINIVOICE_API_KEY_<NAME> (SPEC §9)."""
    return environment.api_key_env or "MINIVOICE_API_KEY_" + re.sub(r"[^A-Z0-9]", "_",
                                                                    name.upper())


def _rules(path: Path, text: str, project: Project) -> list[Problem]:
    """What one key's type cannot say: reserved environment names, the key variables (one per
    environment, never the shared one, named as a secret), aliases."""
    problems = []

    def report(loc: list[str], message: str) -> None:
        line, col = locate(text, loc)
        problems.append(Problem(str(path), line, col, message))

    owners: dict[str, str] = {}
    for name, environment in project.environments.items():
        if name.lower() in RESERVED_ENVIRONMENTS:
            report(["environments", name, ""], f"the environment name {name!r} is reserved "
                   "(`--env all` means every environment); choose another name")
        variable = key_variable(name, environment)
        at = ["environments", name, "api_key_env"]
        if variable == SHARED_KEY_VARIABLE:
            report(at, f"environments.{name}.api_key_env: {SHARED_KEY_VARIABLE} is the key of "
                   "runs without an environment; give this environment a variable of its own, "
                   f"e.g. {SHARED_KEY_VARIABLE}_{name.upper().replace('-', '_')}")
        elif not any(word in variable for word in SECRET_WORDS):
            report(at, f"environments.{name}.api_key_env: {variable!r} does not look like a "
                   f"variable holding a key: its name must contain {', '.join(SECRET_WORDS[:-1])}"
                   f" or {SECRET_WORDS[-1]}")
        if variable in owners:
            report(at, f"environments.{name}.api_key_env: {variable} is also the key variable "
                   f"of environment {owners[variable]!r}; each environment needs its own, so "
                   "that one account's key is never sent to another")
        owners.setdefault(variable, name)
        for alias in environment.applications:
            why = alias_problem(alias)
            if why:
                report(["environments", name, "applications"],
                       f"environments.{name}.applications: alias {ascii(alias)} {why}")
    return problems


def load_project(path: Path) -> Project:
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ManifestError([Problem(str(path), *_deepest(text), "nested too deeply: "
                                     "mvconf.toml holds tables and lists a few levels deep")]) \
            from None
    except tomllib.TOMLDecodeError as exc:
        text_of = str(exc)
        at = re.search(r"\(at line (\d+), column (\d+)\)", text_of)
        line, col = (int(at.group(1)), int(at.group(2))) if at else (1, 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", text_of)
        raise ManifestError([Problem(str(path), line, col, f"not valid TOML: {message}")]) \
            from None
    try:
        project = Project.model_validate(data)
    except ValidationError as exc:
        raise ManifestError([_problem(path, text, err) for err in exc.errors()]) from None
    except RecursionError:
        raise ManifestError([Problem(str(path), *_deepest(text), "nested too deeply")]) from None
    problems = _rules(path, text, project)
    if problems:
        raise ManifestError(problems)
    return project


def _deepest(text: str) -> tuple[int, int]:
    """Where the brackets of `text` nest deepest (tomllib names no position on a RecursionError):
    the line and column of the first bracket at the greatest depth."""
    depth, best, at, line, col = 0, -1, (1, 1), 1, 0
    for char in text:
        col += 1
        if char == "\n":
            line, col = line + 1, 0
        elif char in "[{":
            depth += 1
            if depth > best:
                best, at = depth, (line, col)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return at


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
         "environment": set(Environment.model_fields), "policy": set(PolicyTable.model_fields)}


def _problem(path: Path, text: str, err: dict) -> Problem:
    loc = [str(part) for part in err["loc"]]
    if "policy" in loc[:3]:
        return _policy_problem(path, text, loc, err)
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
    lines = text.split("\n")  # TOML lines end at a newline only
    *tables, key = loc if loc else [""]
    start = 0
    if tables:
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(
            "(?:" + re.escape(t) + '|"' + re.escape(t) + '")' for t in tables[:2]) + r"\s*\]")
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




def _policy_problem(path: Path, text: str, loc: list[str], err: dict) -> Problem:
    """A problem in `[policy]` or `[environments.NAME.policy]` (SPEC §15), at its line."""
    table = loc[:loc.index("policy") + 1]
    inner = [part for part in loc[len(table):] if part != "[key]"]
    value = err.get("input")
    if loc[-1] == "[key]":
        message = (f"unknown rule {value!r} in {'.'.join(table)}.rules; the rules are "
                   f"{', '.join(RULES)}")
        target = str(value)
    elif inner[:1] == ["rules"] and len(inner) == 2:
        message = (f"{'.'.join(table)}.rules.{inner[1]}: the level must be "
                   f"{', '.join(LEVELS[:-1])} or {LEVELS[-1]}, not {value!r}")
        target = inner[1]
    elif err["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(loc[-1], sorted(KNOWN["policy"]), n=1)
        message = f"unknown key {'.'.join(loc)!r}" + (
            f"; did you mean {hint[0]!r}?" if hint else "")
        target = loc[-1]
    else:
        text_of = err["msg"].removeprefix("Value error, ")
        message = f"{'.'.join(loc)}: {text_of}"
        target = str(value) if isinstance(value, str) else (inner[0] if inner else "policy")
    line, col = _locate_in_table(text, table, inner[:1], target)
    return Problem(str(path), line, col, message)


def _locate_in_table(text: str, table: list[str], key: list[str], target: str) -> tuple[int, int]:
    """The line and column of `target` (a rule id, a value) under `key` of the TOML `table`,
    written as a [table] header, a [table.key] header or an inline table."""
    lines = text.split("\n")
    dotted = r"\s*\.\s*".join(rf'(?:{re.escape(t)}|"{re.escape(t)}")' for t in table)
    header = re.compile(rf"^\s*\[\s*{dotted}(\s*\.\s*[^\]]*)?\s*\]")
    start = next((n for n, line in enumerate(lines) if header.match(line)), None)
    if start is None:  # an inline `policy = {...}` or `[environments.X] policy.rules = ...`
        start = next((n for n, line in enumerate(lines) if re.search(r"\bpolicy\b", line)), 0)
    end = next((n for n in range(start + 1, len(lines))
                if re.match(r"^\s*\[", lines[n]) and not header.match(lines[n])), len(lines))
    found_key = start
    if key:
        found_key = next((n for n in range(start, end)
                          if re.search(rf"(^|[\s.\[]){re.escape(key[0])}\b", lines[n])), start)
    quoted = re.compile(rf'(?<![A-Za-z0-9_]){re.escape(target)}(?![A-Za-z0-9_])')
    for n in range(found_key, end):
        hit = quoted.search(lines[n])
        if hit:
            return n + 1, hit.start() + 1 - (1 if hit.start() and lines[n][hit.start() - 1]
                                             in "\"'" else 0)
    return found_key + 1, 1
