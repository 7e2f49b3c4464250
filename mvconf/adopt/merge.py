"""Bringing live DIDs into manifests (SPEC §12): new manifests for `mvconf import`, and
`import --into`, which accepts drift made in the account setup into the manifests a team already
has, changing only the entries of the DIDs that differ, comments kept (ruamel.yaml round-trip).

This is what Terraform's `-refresh-only` and octoDNS do not do: they record or report drift,
but never edit the configuration a person wrote."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import stat
from collections.abc import Callable, Mapping

from mvconf.adopt.entries import (
    entries,
    fields_of,
    forwarded,
    looping,
    policy_problem,
    why_not,
)
from mvconf.core.errors import InputError, ManifestError, MvconfError
from mvconf.core.facts import TAKES_DESTINATIONS
from mvconf.core.files import write_output
from mvconf.core.text import printable
from mvconf.manifest import DesiredDid, Manifests, Scope, load_manifests
from mvconf.manifest.edit import entry_map, new_manifest
from mvconf.manifest.loader import read_text
from mvconf.manifest.splice import Entry, ManifestText, find_entry
from mvconf.minivoice.models import LiveDID
from mvconf.plan.planner import desired_fields, matches
from mvconf.policy import PolicyConfig

Echo = Callable[..., None]
Read = Callable[[list[str]], dict[str, LiveDID | None]]
EXIT_COMMENTED = 2


def names_from(paths: list[str], scope: Scope) -> dict[str, str]:
    """Application id -> alias, from the project's manifests and environment, when they load."""
    names = {app_id: alias for alias, app_id in scope.applications.items()}
    if not paths:
        return names
    try:
        return {**load_manifests(paths, scope=scope).app_names(), **names}
    except MvconfError:
        return names  # the manifests do not load: ids are written as they are


def manifest_for(dids: list[LiveDID], names: dict[str, str], ranges: bool, api_label: str,
                 now: str, policy: PolicyConfig | None = None,
                 today: datetime.date | None = None) -> tuple[str, list[str]]:
    """A new, valid manifest for `dids`, and a line for each DID written only as a comment:
    valid by the manifests' rules, the routing `policy` and without forwarding loops."""
    writable, comments, skipped = [], [], []
    reasons = {d.number_e164: why_not(d) or policy_problem(d, policy, today) for d in dids}
    reasons.update(looping([d for d in dids if reasons[d.number_e164] is None]))
    for did in dids:
        reason = reasons.get(did.number_e164)
        if reason is None:
            writable.append(did)
            continue
        # Each is one line of a YAML comment and of stderr: printable, so an API value holding
        # a line break cannot end the comment and write a key of its own.
        skipped.append(printable(f"{did.number_e164} ({did.id}): {reason}"))
        comments.append(printable(
            f"Not imported: {did.number_e164} ({did.id}): {reason}; live: application "
            f"{did.application_id}, route_mode {did.route_mode}, destinations "
            f"{list(did.destinations or [])}, status {did.status}"))
    items = [entry_map(e.first, e.last, e.fields, None if e.is_range else e.did_ids[0])
             for e in entries(writable, names, ranges)]
    used = {names[d.application_id]: d.application_id for d in writable
            if d.application_id in names}
    header = [f"Imported by `mvconf import` from {api_label} at {now}.",
              "Review it, commit it, then `mvconf plan` shows these DIDs unchanged."]
    return new_manifest(items, used, header, comments), skipped


class Refused(Exception):
    """This DID's drift cannot be written safely here; the message says why."""


def accept_drift(read: Read, into: str, wanted: list[str], scope: Scope, echo: Echo,
                 others: Mapping[str, Scope] | None = None,
                 project: list[str] | None = None, policy: PolicyConfig | None = None,
                 today: datetime.date | None = None) -> int:
    """Update the manifests under `into` to the live values of `wanted` (default: every DID
    they manage); new numbers are appended. One line per DID changed.

    What is written is proved before it is written: the edited texts are loaded as a plan
    would load them, and every DID read must then be what the account holds, and every other
    DID exactly what it was, in this environment and in every other one (`others`). Files are
    compared with what was read before the account was, so an edit made meanwhile is never
    overwritten. `project`: the project's manifest paths, for aliases and for numbers managed
    outside `into`."""
    whole = _project_manifests(project, scope)  # read once: aliases, names, other files
    others = {name: _with_aliases(other, _project_manifests(project, other))
              for name, other in (others or {}).items()}
    scope = _with_aliases(scope, whole)
    loaded = load_manifests([into], scope=scope)
    before = {path: read_text(path) for path in loaded.files}
    elsewhere = _managed_outside(whole, into)
    names = {**(whole.app_names() if whole else {}), **loaded.app_names(),
             **{v: k for k, v in scope.applications.items()}}
    kept = {name: _desired_in(into, other, name) for name, other in others.items()}
    managed = {d.number: d for d in loaded.dids}
    forwards = {d.number: d.destinations for d in loaded.dids if d.route_mode == "forward"}
    live = read(wanted or list(managed))
    docs: dict[str, ManifestText] = {}
    absent: set[str] = set()
    code, lines, accepted = 0, [], {}
    env = scope.environment if others else None
    for number in sorted(live, key=lambda n: (len(n), n)):
        did = live[number]
        if did is None:
            echo(f"{number}: not in the account (404 not_found); skipped", err=True)
            continue
        desired = managed.get(number)
        if desired is not None and desired.pin_id and desired.pin_id != did.id:
            echo(f"{number}: its entry at {desired.source} pins id {desired.pin_id} but the live "
                 f"DID is {did.id}; left as it is (check which DID this number is now, then "
                 "change or remove the id)", err=True)
            code = EXIT_COMMENTED
            continue
        if desired is not None and matches(desired_fields(desired), did):
            continue
        reason = why_not(did) or (f"it is managed at {elsewhere[number]}, outside {into}"
                                  if desired is None and number in elsewhere else None) or \
            policy_problem(did, policy, today, desired.exceptions if desired else ()) or \
            _loop_through(did, forwards)
        if reason:
            echo(f"{number}: cannot be written: {reason}; left as it is", err=True)
            code = EXIT_COMMENTED
            continue
        try:
            lines.append(_accept(docs, before, absent, into, desired, did, names, env,
                                 set(others)))
        except Refused as exc:
            echo(f"{number}: {exc}; left as it is", err=True)
            code = EXIT_COMMENTED
            continue
        accepted[number] = did
        forwards[number] = forwarded(did)
    texts = {path: doc.result() for path, doc in docs.items() if doc.changed}
    for path in texts:
        if path in absent and os.path.lexists(path):
            raise InputError(f"{path} was created while the account was being read; nothing "
                             "was written. Run import --into again.")
    _prove(texts, into, scope, loaded, accepted)
    _prove_others(texts, into, others, kept)
    _write(texts, before)
    for line in lines:
        echo(line)
    return code


def _loop_through(did: LiveDID, forwards: dict[str, tuple[str, ...]]) -> str | None:
    """Why writing `did`'s live forward would close a forwarding loop among the managed DIDs
    (a manifest with one is not valid), or None: its destinations are followed through the
    forwards the manifests (as edited so far) hold, back to it or not."""
    start = did.number_e164
    stack, seen = list(forwarded(did)), {start}
    while stack:
        step = stack.pop()
        if step == start:
            return "its live forward would make a forwarding loop among the managed DIDs"
        if step in seen:
            continue
        seen.add(step)
        stack.extend(forwards.get(step, ()))
    return None


def _project_manifests(project: list[str] | None, scope: Scope) -> Manifests | None:
    """The whole project's manifests in `scope`, when it names them and they load."""
    if not project:
        return None
    try:
        return load_manifests(project, scope=scope)
    except MvconfError:
        return None


def _with_aliases(scope: Scope, whole: Manifests | None) -> Scope:
    """`scope` with the aliases the whole project defines (some may live outside `into`); the
    environment's own still win."""
    if whole is None:
        return scope
    return dataclasses.replace(scope, applications={**whole.aliases, **scope.applications})


def _desired_in(into: str, scope: Scope, name: str) -> dict[str, DesiredDid]:
    try:
        return {d.number: d for d in load_manifests([into], scope=scope).dids}
    except ManifestError as exc:
        raise InputError(f"the manifests under {into} do not load in environment {name} "
                         f"({exc.problems[0]}); fix that first") from None


def _managed_outside(whole: Manifests | None, into: str) -> dict[str, str]:
    """Numbers the project's manifests manage in files outside `into`: number -> source."""
    if whole is None:
        return {}
    root = os.path.realpath(into)

    def inside(source: str) -> bool:
        path = os.path.realpath(source.rpartition(":")[0])
        return path == root or path.startswith(root + os.sep)

    return {d.number: d.source for d in whole.dids if not inside(d.source)}


def _doc(docs: dict[str, ManifestText], before: dict[str, str], absent: set[str],
         path: str) -> ManifestText:
    if path not in docs:
        if path not in before and os.path.exists(path):
            before[path] = read_text(path)
        if path in before:
            text = before[path]
            with open(path, "rb") as handle:  # the loader drops a byte-order mark; keep it
                if handle.read(3) == b"\xef\xbb\xbf":
                    text = "\ufeff" + text
        else:
            absent.add(path)
            text = "version: 1\ndids: []\n"
        docs[path] = ManifestText(text, path)
    return docs[path]


def _accept(docs, before, absent, into: str, desired: DesiredDid | None, did: LiveDID,
            names: dict[str, str], env: str | None, other_envs: set[str]) -> str:
    values = fields_of(did, names)
    if desired is None:
        target = into if os.path.isfile(into) else os.path.join(into, "imported.yaml")
        fields = {"number": did.number_e164, **values, "id": did.id}
        if env:  # a number seen in this environment's account is managed for it only
            fields["environments"] = [env]
        _doc(docs, before, absent, target).add_entry(fields)
        return f"added {did.number_e164} to {target}"
    path, _, line = desired.source.rpartition(":")
    doc = _doc(docs, before, absent, path)
    entry = find_entry(doc, did.number_e164, int(line))
    if entry is None:
        raise InputError(f"{desired.source}: cannot find the entry of {did.number_e164}")
    if "range" in entry.keys:
        fields = {"number": did.number_e164, **values}
        environments = entry.keys.get("environments")
        if env:  # the override is for this environment; the others keep the range
            fields["environments"] = [env]
        elif environments is not None:  # the override is for the same environments
            fields["environments"] = [n.value for n in environments[1].value]
        if desired.exceptions:  # the range's reviewed exceptions hold for its override too
            fields["policy_exceptions"] = [
                {"rule": g.rule, "reason": g.reason, "expires": g.expires}
                for g in desired.exceptions]
        doc.add_entry(fields, after=entry)
        return f"overrode {did.number_e164} below its range at {desired.source}"
    shared = sorted(e for e in other_envs if doc.applies_to(entry, e))
    if shared:
        raise Refused(f"its entry at {desired.source} is also used by environment(s) "
                      f"{', '.join(shared)}; give it an entry per environment to accept drift "
                      "here")
    _update(doc, entry, desired, did, values)
    return f"updated {did.number_e164} at {desired.source}"


def _update(doc: ManifestText, entry: Entry, desired: DesiredDid, did: LiveDID,
            values: dict) -> None:
    """Only the keys whose value differs, in the entry's own style."""
    aliased = [k for k in ("application", "route_mode", "destinations", "status")
               if doc.aliased(entry, k)]
    if aliased:
        raise Refused(f"its {aliased[0]} is a YAML anchor or alias shared with other entries; "
                      "edit it by hand")
    if did.route_mode not in TAKES_DESTINATIONS:
        doc.drop_key(entry, "destinations")
    if did.status == "active" and desired.status != "active":
        doc.set_key(entry, "status", "active")  # set, not dropped: a comment beside it stays
    if did.application_id is None and desired.application_id is not None:
        doc.drop_key(entry, "application")
    if did.application_id is not None and desired.application_id != did.application_id:
        doc.set_key(entry, "application", values["application"])
    if desired.route_mode != did.route_mode:
        doc.set_key(entry, "route_mode", did.route_mode)
    if did.route_mode in TAKES_DESTINATIONS and \
            list(desired.destinations) != values["destinations"]:
        doc.set_key(entry, "destinations", values["destinations"])
    if did.status != "active" and desired.status != did.status:
        doc.set_key(entry, "status", did.status)


def _same(a: DesiredDid, b: DesiredDid) -> bool:
    return (a.application_id, a.route_mode, a.destinations, a.pin_id, a.status,
            a.description) == (b.application_id, b.route_mode, b.destinations, b.pin_id,
                               b.status, b.description)


def _prove(texts: dict[str, str], into: str, scope: Scope, loaded, accepted) -> None:
    """Refuse to write unless the edited manifests want exactly the live values of the DIDs
    accepted, and exactly what they wanted before for every other DID."""
    if not texts:
        return
    try:
        after = {d.number: d for d in load_manifests([into], scope=scope, texts=texts).dids}
    except ManifestError as exc:
        first = exc.problems[0]
        raise InputError(f"import --into would leave the manifests invalid ({first}); nothing "
                         "was written") from None
    wrong = [n for n, did in accepted.items()
             if n not in after or not matches(desired_fields(after[n]), did)]
    wrong += [d.number for d in loaded.dids if d.number not in accepted
              and (d.number not in after or not _same(d, after[d.number]))]
    known = {d.number for d in loaded.dids}  # once: per number, it made this quadratic
    wrong += [n for n in after if n not in accepted and n not in known]
    if wrong:
        shown = ", ".join(sorted(set(wrong))[:5])
        raise InputError(f"import --into cannot write the live values of {shown} into these "
                         "manifests without changing what they mean (for example a value set "
                         "in defaults that the entry cannot unset); nothing was written. Edit "
                         "those entries by hand.")


def _prove_others(texts: dict[str, str], into: str, others: Mapping[str, Scope],
                  kept: dict[str, dict[str, DesiredDid]]) -> None:
    """Every other environment wants exactly what it wanted before, DID by DID."""
    for name, scope in others.items() if texts else ():
        try:
            after = {d.number: d for d in load_manifests([into], scope=scope, texts=texts).dids}
        except ManifestError as exc:
            raise InputError(f"import --into would leave the manifests invalid in environment "
                             f"{name} ({exc.problems[0]}); nothing was written") from None
        old = kept[name]
        wrong = sorted(n for n in set(old) | set(after)
                       if n not in old or n not in after or not _same(old[n], after[n]))
        if wrong:
            raise InputError(f"import --into would change what environment {name} wants for "
                             f"{', '.join(wrong[:5])}; nothing was written")


def _write(texts: dict[str, str], before: dict[str, str]) -> None:
    """Every file or none: each must still hold what was read, and be writable. The files are
    locked while that is checked and they are written, so that two runs at once cannot both
    find a file unchanged and the second overwrite the first's edit."""
    with contextlib.ExitStack() as held:
        for path in sorted(texts):  # one order for every run: no deadlock between two
            held.enter_context(_locked(os.path.realpath(path)))
        for path in texts:
            real = os.path.realpath(path)
            try:
                info = os.stat(real)
            except FileNotFoundError:
                continue
            if not info.st_mode & 0o222:
                raise InputError(f"{path} is read-only (mode {stat.S_IMODE(info.st_mode):04o});"
                                 " nothing was written")
            if path in before and read_text(path) != before[path]:
                raise InputError(f"{path} changed while the account was being read; nothing "
                                 "was written. Run import --into again.")
        for path, text in texts.items():
            write_output(path, text)


@contextlib.contextmanager
def _locked(real: str):
    """An exclusive lock on the file at `real` itself (flock: no lock file is left in the
    user's tree), taken on the file the path names once it is held: a run that waited while
    another replaced the file locks the new one, and then finds it changed."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the content check alone
        yield
        return
    while True:
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            yield  # a new file: nothing to lock yet
            return
        except OSError:
            yield  # unreadable: write_output names the problem
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_ino == os.stat(real).st_ino:
                break
        except OSError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)
