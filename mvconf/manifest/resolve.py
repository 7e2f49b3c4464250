"""From loaded manifest files to the desired state of each DID (SPEC §1 rules across files)."""

from __future__ import annotations

import bisect
import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from mvconf.core.errors import ManifestError, Problem
from mvconf.core.facts import APP_ID, MAX_DIDS, TAKES_DESTINATIONS, RouteMode
from mvconf.core.phone import (
    alias_problem,
    country_code,
    e164_problem,
    invisible_problem,
    normal_destination,
)
from mvconf.manifest.desired import DesiredDid, Scope
from mvconf.manifest.loader import LoadedFile, load_all
from mvconf.manifest.models import KNOWN_STATUSES, DidSpec
from mvconf.manifest.ranges import NumberRange, overlapping, parse_range
from mvconf.manifest.values import destination_problem as _destination_problem
from mvconf.manifest.yamlpos import Located
from mvconf.policy.exceptions import Granted


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
    files: dict[str, LoadedFile] = dataclasses.field(default_factory=dict, repr=False)
    warnings: tuple[Problem, ...] = ()  # worth a look, not wrong (an unknown status)

    def position(self, did: DesiredDid, index: int) -> tuple[str, int, int]:
        """Where destination `index` of `did` is written (path, line, column): looked up only
        for a policy finding, as positions this deep cost a second read of the file."""
        path, _, line = did.source.rpartition(":")
        loaded = self.files.get(path)
        if loaded is None or did.entry < 0:
            return path, int(line or 1), 1
        entry, from_defaults = divmod(did.entry, 2)
        at = ("defaults",) if from_defaults else ("dids", entry)
        value = did.destinations[index] if index < len(did.destinations) else ""
        return (path, *loaded.find(at, value, "destinations"))

    def app_names(self) -> dict[str, str]:
        """Application id -> its alias (the first, when several name it), for display."""
        names: dict[str, str] = {}
        for alias, app_id in self.aliases.items():
            names.setdefault(app_id, alias)
        return names


def load_manifests(paths: list[str], strict: bool = False, scope: Scope | None = None,
                   texts: Mapping[str, str] | None = None) -> Manifests:
    """`load_desired`, with the aliases the manifests (and the environment) define.

    Entries are resolved in manifest order. A `number:` entry inside a range overrides the
    range for that number, wherever it is; the range stands for every other number of it."""
    scope = scope or Scope()
    skipped: list[str] = []
    files, problems = load_all(paths, scope.skip_other_yaml, skipped, texts)
    # Files that could not be read at all: their aliases are unknown, which an unknown alias
    # elsewhere says (it may be defined there), instead of pointing at the wrong file alone.
    read = {f.path for f in files}
    unread = tuple(dict.fromkeys(p.path for p in problems if p.path not in read))
    aliases = {**_collect_aliases(files, problems), **scope.applications}
    entries: list[DesiredDid | tuple[NumberRange, DesiredDid]] = []
    warnings: list[Problem] = []
    numbers: dict[str, str] = {}
    ranges: list[tuple[NumberRange, str]] = []
    for loaded in files:
        if not _in_scope(loaded, loaded.manifest.environments, scope, problems, ()):
            continue
        for index, number, names in loaded.invalid:  # reported already; repeats still count
            if isinstance(names, list) and scope.environment is not None and \
                    scope.environment not in names:
                continue
            if number in numbers:
                line, col = loaded.where("dids", index, "number")
                problems.append(Problem(loaded.path, line, col,
                                        f"number {number} is also managed at {numbers[number]}"))
            else:
                numbers[number] = f"{loaded.path}:{loaded.where('dids', index)[0]}"
        for index, spec in loaded.dids:
            if not _in_scope(loaded, spec.environments, scope, problems, ("dids", index)):
                continue
            if spec.status is not None:
                _check_status(loaded, index, spec.status, strict, problems, warnings)
            repeated = spec.number is not None and spec.number in numbers
            if repeated:  # reported whatever else is wrong with either entry
                line, col = loaded.where("dids", index, "number")
                problems.append(Problem(loaded.path, line, col,
                    f"number {spec.number} is also managed at {numbers[spec.number]}"))
            elif spec.number is not None:
                numbers[spec.number] = f"{loaded.path}:{loaded.where('dids', index)[0]}"
            entry = _entry(loaded, index, spec, aliases, strict, problems, unread)
            if entry is None or repeated:
                continue
            if isinstance(entry, tuple):
                ranges.append((entry[0], entry[1].source))
            entries.append(entry)
    problems += _overlaps(ranges)
    # The cap, before any range is expanded or checked number by number (--strict).
    over = _over_cap(entries, numbers, scope.max_dids or MAX_DIDS)
    problems += over if over else (_strict_ranges(entries) if strict else [])
    if problems:
        raise ManifestError(sorted(problems, key=lambda p: (p.path, p.line, p.column)))
    dids = list(_expand(entries, numbers))
    loops = forwarding_loops(dids)
    if loops:
        raise ManifestError(sorted(loops, key=lambda p: (p.path, p.line, p.column)))
    return Manifests(dids, aliases, tuple(skipped), {f.path: _slim(f) for f in files},
                     tuple(warnings))


def _slim(loaded: LoadedFile) -> LoadedFile:
    """What placing a finding needs of a file (its text and positions), without its data and
    models: kept for a whole plan, those held 150 MB of a 100,000-DID one."""
    located = Located(None, loaded.located.positions, loaded.located.text)
    return dataclasses.replace(loaded, manifest=loaded.manifest.model_copy(update={"dids": []}),
                               dids=[], invalid=[], located=located)


def _over_cap(entries, numbers: dict[str, str], cap: int) -> list[Problem]:
    """A problem when the manifests would manage more than `cap` DIDs, counted from the ranges'
    ends (an 87 KB manifest of 1,000 ranges of 100,000 numbers is refused at once)."""
    spans = sorted((e[0] for e in entries if isinstance(e, tuple)),
                   key=lambda r: (r.width, r.start))
    total = sum(len(span) for span in spans)
    if total + len(numbers) <= cap:
        return []
    starts = [(span.width, span.start) for span in spans]
    for number in numbers:  # a number: entry inside a range is counted once
        at = bisect.bisect_right(starts, (len(number), int(number[1:]))) - 1
        if not (at >= 0 and number in spans[at]):
            total += 1
    if total <= cap:
        return []
    biggest = max((e for e in entries if isinstance(e, tuple)), key=lambda e: len(e[0]),
                  default=None)
    source = biggest[1].source if biggest else next(iter(numbers.values()))
    path, _, line = source.rpartition(":")
    at = "; the largest range is here" if biggest else ""
    return [Problem(path, int(line), 1, f"the manifests manage {total:,} DIDs, more than the "
                    f"cap of {cap:,} (set max_dids in mvconf.toml to change it){at}")]


def _strict_ranges(entries) -> list[Problem]:
    """--strict: every number of every range valid for its region (after the cap)."""
    problems = []
    for entry in entries:
        if not isinstance(entry, tuple):
            continue
        span, template = entry
        invalid = next((n for n in span.numbers() if e164_problem(n, True)), None)
        if invalid:
            count = sum(1 for n in span.numbers() if e164_problem(n, True))
            path, _, line = template.source.rpartition(":")
            problems.append(Problem(path, int(line), 1, f"range {span.first}..{span.last}: "
                            f"{count} number(s) are not valid for their region (--strict), "
                            f"first {invalid}"))
    return problems


def forwarding_loops(dids: list[DesiredDid], limit: int = 20) -> list[Problem]:
    """Forwarding loops among managed DIDs (A -> B -> A, or longer): a call to any of them
    would go round. Each loop is reported once, at one of its DIDs; at most `limit` are named.
    Linear in DIDs and destinations (iterative)."""
    forwards = {d.number: d for d in dids if d.route_mode == "forward" and d.destinations}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    problems: list[Problem] = []
    for root in forwards:
        if root in state:
            continue
        path: list[str] = [root]
        stack = [iter(forwards[root].destinations)]
        state[root] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if step not in forwards or state.get(step) == 2:
                continue
            if state.get(step) == 1:
                if len(problems) < limit and step != path[-1]:  # self: reported already
                    cycle = path[path.index(step):] + [step]
                    where, _, line = forwards[step].source.rpartition(":")
                    problems.append(Problem(where, int(line), 1, "forwarding loop among managed "
                                    f"DIDs: {' -> '.join(cycle)}; a call would go round it"))
                continue
            state[step] = 1
            path.append(step)
            stack.append(iter(forwards[step].destinations))
    return problems


def _check_status(loaded: LoadedFile, index: int, status: str, strict: bool,
                  problems: list[Problem], warnings: list[Problem]) -> None:
    """A status mvconf does not know is worth a warning (an error with --strict): it is only
    ever compared with the live one, and a typo would make every plan ask for a change."""
    if status in KNOWN_STATUSES:
        return
    line, col = loaded.where("dids", index, "status")
    hidden = invisible_problem(status)
    if hidden:
        problems.append(Problem(loaded.path, line, col, f"status {ascii(status)} {hidden}"))
        return
    hint = difflib.get_close_matches(status.lower(), KNOWN_STATUSES, n=1, cutoff=0.6)
    message = (f"status {status!r} is not a known DID status (known: "
               f"{', '.join(KNOWN_STATUSES)})" + (f"; did you mean {hint[0]!r}?" if hint else ""))
    if strict:
        problems.append(Problem(loaded.path, line, col, message + " (--strict)"))
    else:
        warnings.append(Problem(loaded.path, line, col, message))


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
           strict: bool, problems: list[Problem], unread: tuple[str, ...] = ()):
    """A DesiredDid for a number: entry, or (range, template DesiredDid) for a range.
    `unread`: the manifests that could not be read (their aliases are unknown)."""
    if spec.range is None:
        return _resolve(loaded, index, spec, aliases, strict, problems, spec.number,
                        unread=unread)
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
    if len(problems) == before:
        first, last = country_code(span.first), country_code(span.last)
        if first != last:  # same length and country code: every number between has it too
            problems.append(Problem(loaded.path, line, col, f"range {spec.range} crosses from "
                            f"+{first} into +{last}: a range stays in one country code"))
    template = _resolve(loaded, index, spec, aliases, strict, problems, span.first, span,
                        unread=unread)
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
            why = alias_problem(alias)
            if why:
                problems.append(Problem(loaded.path, line, col, f"alias {ascii(alias)} {why}"))
                continue
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
    *,
    unread: tuple[str, ...] = (),
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
    application_id = _application(app_ref, aliases, route_mode, report, spec, unread)
    destinations = _destinations(spec, defaults, route_mode, report, strict, number, span)
    if len(problems) > before:
        return None
    line, _ = loaded.where("dids", index)
    from_defaults = spec.destinations is None and bool(destinations)
    return DesiredDid(
        number=number,
        application_id=application_id,
        route_mode=route_mode.value,
        destinations=destinations,
        pin_id=spec.id,
        description=spec.description,
        source=f"{loaded.path}:{line}",
        status=spec.status or "active",
        exceptions=_exceptions(loaded, index, spec),
        entry=index * 2 + from_defaults,
    )


def _exceptions(loaded: LoadedFile, index: int, spec: DidSpec) -> tuple[Granted, ...]:
    """The entry's policy_exceptions, else the file's defaults' (SPEC §15), with positions."""
    own = spec.policy_exceptions
    defaults = loaded.manifest.defaults
    if own is not None:
        items, at = own, ("dids", index)
    elif defaults is not None and defaults.policy_exceptions:
        items, at = defaults.policy_exceptions, ("defaults",)
    else:
        return ()
    out = []
    line = 0
    for item in items:
        line, col = _rule_position(loaded, at, item.rule, line)
        out.append(Granted(item.rule, item.reason, item.expires.isoformat(),
                           f"{loaded.path}:{line}:{col}"))
    return tuple(out)


def _rule_position(loaded: LoadedFile, at: tuple, rule: str, after: int) -> tuple[int, int]:
    """The line of an exception's `rule` (past the previous exception's), and the column of
    its `rule` key."""
    line, col = loaded.find(at, rule, "policy_exceptions")
    lines = loaded.lines()
    if line <= after and lines:
        for number in range(after, min(after + 2000, len(lines))):
            if rule in lines[number]:
                line = number + 1
                break
    text = lines[line - 1] if lines and line <= len(lines) else ""
    key = text.find("rule")
    return line, (key + 1 if key >= 0 else col)


def _application(app_ref, aliases, route_mode, report, spec, unread=()) -> str | None:
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
    if unread:
        more = f" and {len(unread) - 1} other file(s)" if len(unread) > 1 else ""
        known += f"; {unread[0]}{more} could not be read, and may define it"
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

