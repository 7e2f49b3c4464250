"""From loaded manifest files to the desired state of each DID (SPEC §1 rules across files)."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

from mvconf.errors import ManifestError, Problem
from mvconf.facts import APP_ID, E164_SHAPE, TAKES_DESTINATIONS, RouteMode
from mvconf.manifest.desired import DesiredDid, Scope
from mvconf.manifest.loader import LoadedFile, load_all
from mvconf.manifest.models import DidSpec
from mvconf.manifest.ranges import NumberRange, overlapping, parse_range
from mvconf.numbers import e164_problem, invisible_problem, is_sip_uri, normal_destination


def load_desired(paths: list[str], strict: bool = False,
                 scope: Scope | None = None) -> list[DesiredDid]:
    """Load, check and resolve every manifest under `paths` (of `scope`'s environment, when it
    names one); ManifestError lists every problem."""
    return load_manifests(paths, strict, scope).dids


@dataclass(frozen=True)
class Manifests:
    dids: list[DesiredDid]
    aliases: dict[str, str]  # alias -> application id, the environment's winning
    skipped: tuple[str, ...] = ()  # FIFOs, devices... named like manifests, not read

    def names(self) -> dict[str, str]:
        """Application id -> its alias (the first, when several name it), for display."""
        names: dict[str, str] = {}
        for alias, app_id in self.aliases.items():
            names.setdefault(app_id, alias)
        return names


def load_manifests(paths: list[str], strict: bool = False,
                   scope: Scope | None = None) -> Manifests:
    """`load_desired`, with the aliases the manifests (and the environment) define.

    Entries are resolved in manifest order. A `number:` entry inside a range overrides the
    range for that number, wherever it is; the range stands for every other number of it."""
    scope = scope or Scope()
    skipped: list[str] = []
    files, problems = load_all(paths, scope.skip_other_yaml, skipped)
    aliases = {**_collect_aliases(files, problems), **scope.applications}
    entries: list[DesiredDid | tuple[NumberRange, DesiredDid]] = []
    numbers: dict[str, str] = {}
    ranges: list[tuple[NumberRange, str]] = []
    for loaded in files:
        if not _in_scope(loaded, loaded.manifest.environments, scope, problems, ()):
            continue
        for index, spec in loaded.dids:
            if not _in_scope(loaded, spec.environments, scope, problems, ("dids", index)):
                continue
            entry = _entry(loaded, index, spec, aliases, strict, problems)
            if entry is None:
                continue
            if isinstance(entry, tuple):
                ranges.append((entry[0], entry[1].source))
            elif entry.number in numbers:
                line, col = loaded.where("dids", index, "number")
                problems.append(Problem(loaded.path, line, col,
                    f"number {entry.number} is also managed at {numbers[entry.number]}"))
                continue
            else:
                numbers[entry.number] = entry.source
            entries.append(entry)
    problems += _overlaps(ranges)
    if problems:
        raise ManifestError(sorted(problems, key=lambda p: (p.path, p.line, p.column)))
    return Manifests(list(_expand(entries, numbers)), aliases, tuple(skipped))


def _expand(entries, numbers: dict[str, str]):
    for entry in entries:
        if not isinstance(entry, tuple):
            yield entry
            continue
        span, template = entry
        for number in span.numbers():
            if number not in numbers:  # a number: entry overrides the range
                yield dataclasses.replace(template, number=number)


def _overlaps(ranges: list[tuple[NumberRange, str]]) -> list[Problem]:
    problems = []
    for a, b in overlapping(ranges):
        for mine, other in ((a, b), (b, a)):
            span, source = ranges[mine]
            path, _, line = source.rpartition(":")
            problems.append(Problem(path, int(line), 1, f"range {span.first}..{span.last} "
                                    f"overlaps the range at {ranges[other][1]}"))
    return problems


def _entry(loaded: LoadedFile, index: int, spec: DidSpec, aliases: dict[str, str],
           strict: bool, problems: list[Problem]):
    """A DesiredDid for a number: entry, or (range, template DesiredDid) for a range."""
    if spec.range is None:
        return _resolve(loaded, index, spec, aliases, strict, problems, spec.number)
    span, why = parse_range(spec.range)
    line, col = loaded.where("dids", index, "range")
    if span is None:
        problems.append(Problem(loaded.path, line, col, why))
        return None
    before = len(problems)
    for end in {span.first, span.last}:
        hidden = e164_problem(end)
        if hidden:
            problems.append(Problem(loaded.path, line, col, f"range end {end} {hidden}"))
    if strict and len(problems) == before:
        invalid = [n for n in span.numbers() if e164_problem(n, True)]
        if invalid:
            problems.append(Problem(loaded.path, line, col, f"range {spec.range}: "
                            f"{len(invalid)} number(s) are not valid for their region "
                            f"(--strict), first {invalid[0]}"))
    template = _resolve(loaded, index, spec, aliases, strict, problems, span.first, span)
    return None if template is None or len(problems) > before else (span, template)


def _in_scope(loaded: LoadedFile, names: list[str] | None, scope: Scope,
              problems: list[Problem], at: tuple) -> bool:
    """Whether an entry with these `environments:` is loaded for the scope's environment; an
    unknown name is reported wherever it is."""
    if names is None:
        return True
    for i, name in enumerate(names):
        if name not in scope.known:
            line, col = loaded.where(*at, "environments", i)
            known = (f"known: {', '.join(sorted(scope.known))}" if scope.known
                     else "no environments are defined in mvconf.toml")
            problems.append(Problem(loaded.path, line, col,
                                    f"unknown environment {name!r} ({known})"))
    return scope.environment is None or scope.environment in names


def _collect_aliases(files: list[LoadedFile], problems: list[Problem]) -> dict[str, str]:
    aliases: dict[str, tuple[str, str]] = {}
    for loaded in files:
        for alias, app_id in loaded.manifest.applications.items():
            line, col = loaded.where("applications", alias)
            if alias in aliases and aliases[alias][0] != app_id:
                first_id, first_at = aliases[alias]
                problems.append(Problem(loaded.path, line, col,
                    f"alias {alias!r} is {app_id} here but {first_id} at {first_at}"))
                continue
            aliases.setdefault(alias, (app_id, f"{loaded.path}:{line}"))
    return {alias: app_id for alias, (app_id, _) in aliases.items()}


def _resolve(
    loaded: LoadedFile,
    index: int,
    spec: DidSpec,
    aliases: dict[str, str],
    strict: bool,
    problems: list[Problem],
    number: str,
    span: NumberRange | None = None,
) -> DesiredDid | None:
    before = len(problems)

    def report(message: str, *key: object) -> None:
        line, col = loaded.where("dids", index, *key)
        problems.append(Problem(loaded.path, line, col, message))

    defaults = loaded.manifest.defaults
    number_problem = None if span else e164_problem(number, strict)
    if number_problem:
        report(f"number {number} {number_problem}", "number")
    route_mode = spec.route_mode or (defaults.route_mode if defaults else None)
    if route_mode is None:
        report("missing required key 'route_mode' (set it here or in defaults)")
        return None
    app_ref = spec.application or (defaults.application if defaults else None)
    application_id = _application(app_ref, aliases, route_mode, report, spec)
    destinations = _destinations(spec, defaults, route_mode, report, strict, number, span)
    if len(problems) > before:
        return None
    line, _ = loaded.where("dids", index)
    return DesiredDid(
        number=number,
        application_id=application_id,
        route_mode=route_mode.value,
        destinations=destinations,
        pin_id=spec.id,
        description=spec.description,
        source=f"{loaded.path}:{line}",
        status=spec.status or "active",
    )


def _application(app_ref, aliases, route_mode, report, spec) -> str | None:
    key = ("application",) if spec.application else ()
    if app_ref is None:
        if route_mode != RouteMode.reject:
            report(f"missing required key 'application' (every route mode but reject needs one; "
                   f"this DID is {route_mode.value})")
        return None
    if app_ref in aliases:
        return aliases[app_ref]
    if APP_ID.match(app_ref):
        return app_ref
    hint = difflib.get_close_matches(app_ref, list(aliases), n=1)
    known = f"; did you mean {hint[0]!r}?" if hint else (
        f" (known aliases: {', '.join(sorted(aliases))})" if aliases else "")
    report(f"application {app_ref!r} is neither an alias from 'applications' nor an id like "
           f"app_123{known}", *key)
    return None


def _destinations(spec, defaults, route_mode, report, strict, number,
                  span=None) -> tuple[str, ...]:
    values = spec.destinations
    from_defaults = values is None
    if values is None and route_mode in TAKES_DESTINATIONS and defaults is not None:
        values = defaults.destinations
    values = list(values or [])
    key = ("destinations",) if not from_defaults else ()
    if route_mode not in TAKES_DESTINATIONS:
        if values:
            report(f"route_mode {route_mode.value} takes no destinations; remove them", *key)
        return ()
    if not values:
        kind = "an E.164 number" if route_mode == RouteMode.forward else "a sip: or sips: URI"
        report(f"route_mode {route_mode.value} needs at least one destination ({kind})", *key)
        return ()
    result: list[str] = []
    seen: set[str] = set()  # linear: 200,000 destinations are checked in one pass
    for i, value in enumerate(values):
        where = ("destinations", i) if not from_defaults else ()
        problem = _destination_problem(value, route_mode, number, strict, span)
        if problem:
            report(problem, *where)
            continue
        normal = normal_destination(value)
        if normal in seen:
            report(f"destination {value} is listed twice", *where)
        seen.add(normal)
        result.append(normal)
    return _shared(tuple(result))


# Destination lists most DIDs share (a few call centres, a few SIP trunks): kept once each, a
# 100,000-DID plan of forwards holds one tuple and one string per list rather than per DID.
# Bounded, for manifests whose lists are all different.
_SHARED: dict[tuple[str, ...], tuple[str, ...]] = {}


def _shared(values: tuple[str, ...]) -> tuple[str, ...]:
    kept = _SHARED.get(values)
    if kept is not None:
        return kept
    if len(_SHARED) < 4096:
        _SHARED[values] = values
    return values


def _destination_problem(
    value: str, route_mode: RouteMode, own_number: str, strict: bool,
    span: NumberRange | None = None,
) -> str | None:
    hidden = None if E164_SHAPE.match(value) else invisible_problem(value)
    if hidden:
        return f"destination {ascii(value)} {hidden}"
    if route_mode == RouteMode.sip:
        if not is_sip_uri(value):
            return f"destination {value!r} must be a sip: or sips: URI for route_mode sip"
        return None
    problem = e164_problem(value, strict)
    if problem:
        return f"destination {value!r} {problem}"
    if value == own_number or (span is not None and value in span):
        return f"destination {value} is the DID's own number; a DID may not forward to itself"
    return None
