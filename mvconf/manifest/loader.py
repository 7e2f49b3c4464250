"""Finding manifest files and reading each into a validated ManifestFile, with positions."""

from __future__ import annotations

import difflib
import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from mvconf.core.errors import InputError, Problem
from mvconf.core.facts import ROUTE_MODES
from mvconf.manifest.files import Unreadable, find_manifests, read_bytes
from mvconf.manifest.models import KNOWN_KEYS, DidSpec, ManifestFile
from mvconf.manifest.yamlpos import Located, YamlProblem, load_located


class _Lines:
    """The lines of `text` by number, cut out when asked for."""

    def __init__(self, text: str, starts: array):
        self.text, self.starts = text, starts

    def __len__(self) -> int:
        return len(self.starts) - (1 if self.starts[-1] == len(self.text) else 0)

    def __getitem__(self, number: int) -> str:
        end = self.starts[number + 1] if number + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[number]:end].rstrip("\r\n")


@dataclass
class LoadedFile:
    """A file whose header is valid, with its valid DIDs by index (the others were reported)."""

    path: str
    manifest: ManifestFile
    located: Located
    dids: list[tuple[int, DidSpec]]
    _lines: array | None = None
    # (index, number, environments) of entries too wrong to check further: their numbers are
    # still checked for repeats (validate reports every problem of every DID)
    invalid: list[tuple[int, str, object]] = field(default_factory=list)

    def where(self, *path: object) -> tuple[int, int]:
        return self.located.position(tuple(path))

    def lines(self) -> _Lines | None:
        """The file's lines by number (None once its text is not kept)."""
        text = self.located.text
        if text is None:
            return None
        if self._lines is None:  # where each line starts: 4 bytes a line, not a string each
            self._lines = array("L", [0])
            self._lines.extend(m.end() for m in re.finditer("\n", text))
        return _Lines(text, self._lines)

    def find(self, entry: tuple, needle: str, key: str | None = None) -> tuple[int, int]:
        """Where `needle` is first written inside `entry` (a DID or `defaults`), after `key`
        when given: found in the text from the entry's line, so that placing one policy finding
        does not read a large file a second time; else the entry's position. The column is the
        opening quote's for a quoted value, as YAML positions are."""
        start, column = self.where(*entry)
        text = self.located.text
        if text is None:
            return start, column
        lines = self.lines()
        end = len(lines)
        if isinstance(entry[-1], int):
            following = self.where(*entry[:-1], entry[-1] + 1)[0]
            end = following if following > start else end
        end = min(end, start + 2000)
        seen_key = key is None
        for number in range(start - 1, end):
            line = lines[number]
            if not seen_key:
                if key not in line:
                    continue
                seen_key = True
            # A value is compared as written: SIP: and sip: are one scheme, and an ASCII
            # line lower-cased keeps its columns.
            if line.isascii() and needle.isascii():
                line, needle = line.lower(), needle.lower()
            at = line.find(needle)
            while at >= 0 and at + len(needle) < len(line) and \
                    line[at + len(needle)].isalnum():  # a longer value that starts the same
                at = line.find(needle, at + 1)
            if at >= 0:
                quoted = at > 0 and line[at - 1] in "\"'"
                return number + 1, at + (0 if quoted else 1)
        return start, column


def read_manifest(path: str, text: str | None = None) -> tuple[LoadedFile | None, list[Problem]]:
    """Read (unless `text` is given) and check the shape of one file; problems instead of
    exceptions."""
    try:
        text = _read_text(path) if text is None else text
        located = load_located(text, past_duplicates=True)
    except YamlProblem as exc:
        return None, [Problem(path, line, column, message) for message, line, column in exc.all()]
    if located is None:
        return None, [Problem(path, 1, 1,
                              "the file is empty; a manifest needs at least 'version: 1'")]
    # Duplicate keys are problems of the file, reported with its others (read with the later
    # value), and its aliases still count: one run shows everything to fix.
    duplicates = [Problem(path, line, column, message)
                  for message, line, column in located.duplicates]
    if not isinstance(located.data, dict):
        kind = type(located.data).__name__
        kind = {"list": "a list", "str": "a plain value", "NoneType": "empty"}.get(kind, kind)
        return None, [Problem(path, 1, 1, "a manifest must be a mapping with 'version' and "
                              f"'dids', not {kind}"), *duplicates]
    try:
        manifest = ManifestFile.model_validate(located.data)
    except ValidationError as exc:
        problems = [_problem(path, located, err) for err in exc.errors()]
        return _salvage(path, located, exc.errors()), duplicates + problems
    return LoadedFile(path, manifest, located, list(enumerate(manifest.dids))), duplicates


def _salvage(path: str, located: Located, errors: list) -> LoadedFile | None:
    """Keep the valid DIDs of a file with invalid ones, so their problems are reported too.

    A DID whose only problems are unknown keys is kept without those keys, so that its other
    rules (a forward without destinations, say) are reported in the same run."""
    did_errors = [e for e in errors if e["loc"][:1] == ("dids",)]
    if any(len(e["loc"]) < 2 or not isinstance(e["loc"][1], int) for e in did_errors) or \
            not isinstance(located.data.get("dids", []), list):
        return None  # the list itself is wrong: no DID to check
    header = _salvage_header(located.data, [e for e in errors if e not in did_errors])
    if header is None:
        return None
    unknown: dict[int, set] = {}
    bad: set[int] = set()
    for e in did_errors:
        index = e["loc"][1]
        if e["type"] == "extra_forbidden" and len(e["loc"]) == 3:
            unknown.setdefault(index, set()).add(e["loc"][2])
        elif len(e["loc"]) >= 3 and e["loc"][2] in _SET_ASIDE:
            # reported; the entry's other rules (its number, its alias) are still checked
            unknown.setdefault(index, set()).add(e["loc"][2])
        else:
            bad.add(index)
    manifest = header
    dids = []
    invalid = []
    for i, item in enumerate(located.data.get("dids") or []):
        if i in bad:
            if isinstance(item, dict) and isinstance(item.get("number"), str):
                invalid.append((i, item["number"], item.get("environments")))
            continue
        if i in unknown:
            item = {k: v for k, v in item.items() if k not in unknown[i]}
        try:
            dids.append((i, DidSpec.model_validate(item)))
        except ValidationError:
            continue  # already reported
    return LoadedFile(path, manifest, located, dids, invalid=invalid)


# Keys whose wrong value hides nothing else: an entry without them is still a DID to check.
_SET_ASIDE = ("status", "description", "id", "policy_exceptions")


def _salvage_header(data: dict, errors: list) -> ManifestFile | None:
    """The file's header with what is wrong in it left out (all reported already), so that a
    misspelt top-level key or a bad `defaults` entry does not hide the DIDs' problems."""
    header = {k: v for k, v in data.items() if k in HEADER_KEYS}
    for error in errors:
        loc = error["loc"]
        if loc[0] == "version":
            header["version"] = 1
        elif loc[0] in ("defaults", "applications") and len(loc) > 1 and \
                isinstance(header.get(loc[0]), dict):
            header[loc[0]] = {k: v for k, v in header[loc[0]].items() if k != loc[1]}
        elif loc[0] in HEADER_KEYS:
            header.pop(loc[0], None)
    header.setdefault("version", 1)
    try:
        return ManifestFile.model_validate(header)
    except ValidationError:
        return None


HEADER_KEYS = ("version", "applications", "defaults", "environments")


def _read_text(path: str) -> str:
    try:
        raw = read_bytes(path)
    except Unreadable as exc:
        if exc.size is None:
            raise YamlProblem("not a regular file; it is not read") from None
        raise YamlProblem(f"the file is {exc.size / 2**20:.1f} MiB; manifests are limited to "
                          "16 MiB") from None
    except OSError as exc:
        raise YamlProblem(f"cannot read the file: {exc.strerror}") from None
    if b"\x00" in raw:
        raise YamlProblem("this is a binary file, not a YAML manifest")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem("the file is not UTF-8 text", line, 1) from None


def _problem(path: str, located: Located, err: dict) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "missing":
        line, col = located.position(loc[:-1])
    else:
        line, col = located.position(loc)
    return Problem(path, line, col, _message(loc, kind, err))


def _section(loc: tuple) -> str:
    if "policy_exceptions" in loc:
        return "exception"
    if len(loc) >= 2 and loc[0] == "dids":
        return "did"
    if loc and loc[0] == "defaults":
        return "defaults"
    return "file"


def _message(loc: tuple, kind: str, err: dict) -> str:
    name = str(loc[-1]) if loc else "manifest"
    where = _describe(loc[:-1])
    if kind == "extra_forbidden":
        allowed = KNOWN_KEYS[_section(loc)]
        hint = difflib.get_close_matches(name, allowed, n=1)
        text = f"unknown key {name!r}{where}"
        text += f"; did you mean {hint[0]!r}?" if hint else f" (allowed: {', '.join(allowed)})"
        return text
    if kind == "missing":
        return f"missing required key {name!r}{where}"
    if "policy_exceptions" in loc:
        return _exception_message(loc, name, kind, err)
    if kind == "value_error" and "exactly one of 'number' and 'range'" in err["msg"]:
        given = err.get("input") if isinstance(err.get("input"), dict) else {}
        if "number" in given and "range" in given:
            return f"an entry has 'number' or 'range', not both ({_label(loc)})"
        return f"missing required key 'number' in {_label(loc)} (or give a 'range')"
    if kind == "value_error" and "cannot pin an 'id'" in err["msg"]:
        return f"a range cannot pin an 'id' ({_label(loc)}); pin ids on number: entries"
    if kind == "value_error" and name == "version":
        return f"version must be the integer 1, not {err.get('input')!r}"
    if name == "range" and kind == "string_pattern_mismatch":
        return (f"range {err['input']!r} must be two E.164 numbers joined by '..', e.g. "
                '"+14155550100..+14155550199"')
    if name == "version":
        return f"version must be 1, not {err.get('input')!r}"
    if name == "environments" and (kind == "too_short" or err.get("input", 0) is None):
        return (f"environments is empty{where}: name the environments it is for, or remove the "
                "key to manage it in every environment")
    if name == "route_mode" and kind == "enum":
        return f"route_mode must be one of {', '.join(ROUTE_MODES)}, not {err.get('input')!r}"
    if name == "number" and isinstance(err.get("input"), int | float):
        return (
            f"number must be a quoted string such as \"+{err['input']}\": unquoted, YAML reads it "
            "as an integer"
        )
    if name == "number" and kind == "string_pattern_mismatch":
        return (
            f"number {err['input']!r} must be in E.164 form: '+', country code and digits, "
            'e.g. "+15551230002"'
        )
    if kind == "string_pattern_mismatch" and len(loc) == 2 and loc[0] == "applications":
        return f"alias {name!r} must name an application id like app_123, not {err['input']!r}"
    return f"{_label(loc)}: {err['msg'][0].lower()}{err['msg'][1:]}"


def _exception_message(loc: tuple, name: str, kind: str, err: dict) -> str:
    """A problem in a `policy_exceptions` entry (SPEC §15), in the manifest's own words."""
    if name == "rule":
        return (f"{_label(loc)}: unknown rule {err.get('input')!r}; the rules are "
                "MV101, MV102, MV103, MV104 and MV105")
    if name == "reason":
        return f"{_label(loc)}: a reason is required (why the exception is right, a ticket)"
    if name == "expires" and kind != "value_error":
        return f"{_label(loc)}: must be a date such as 2027-03-01, not {err.get('input')!r}"
    return f"{_label(loc)}: {err['msg'].removeprefix('Value error, ')}"


def _describe(parent: tuple) -> str:
    if not parent:
        return ""
    return f" in {_label(parent)}"


def _label(loc: tuple) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts) or "manifest"


def read_text(path: str) -> str:
    """A manifest's text, read as the loader reads it (bounded, regular files only, UTF-8);
    InputError names the path."""
    try:
        return _read_text(path)
    except YamlProblem as exc:
        raise InputError(f"{path}: {exc.message}") from None


def load_all(paths: list[str], skip_other: bool = False, skipped: list[str] | None = None,
             texts: Mapping[str, str] | None = None) -> tuple[list[LoadedFile], list[Problem]]:
    """Every manifest under `paths`, shape-checked, with the problems of those that failed.
    `texts` stands in for what some files hold (or would hold: paths not yet on disk)."""
    loaded: list[LoadedFile] = []
    problems: list[Problem] = []
    texts = texts or {}
    found = find_manifests(paths, skip_other, skipped)
    found += [p for p in texts if p not in found]
    for path in found:
        item, found_problems = read_manifest(path, texts.get(path))
        problems.extend(found_problems)
        if item is not None:
            loaded.append(item)
    return loaded, problems

