"""Bringing live DIDs into manifests (SPEC §12): new manifests for `mvconf import`, and
`import --into`, which accepts drift made in the account setup into the manifests a team already
has, changing only the entries of the DIDs that differ, comments kept (ruamel.yaml round-trip).

This is what Terraform's `-refresh-only` and octoDNS do not do: they record or report drift,
but never edit the configuration a person wrote."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mvconf.errors import InputError, MvconfError
from mvconf.facts import TAKES_DESTINATIONS
from mvconf.importer import entries, fields_of, why_not
from mvconf.manifest import DesiredDid, Scope, load_manifests
from mvconf.manifest.edit import EditableManifest, entry_map, new_manifest
from mvconf.minivoice.models import LiveDID
from mvconf.plan.planner import desired_fields, matches

Echo = Callable[..., None]
Read = Callable[[list[str]], dict[str, LiveDID | None]]
EXIT_COMMENTED = 2


def names_from(paths: list[str], scope: Scope) -> dict[str, str]:
    """Application id -> alias, from the project's manifests and environment, when they load."""
    names = {app_id: alias for alias, app_id in scope.applications.items()}
    if not paths:
        return names
    try:
        return {**load_manifests(paths, scope=scope).names(), **names}
    except MvconfError:
        return names  # the manifests do not load: ids are written as they are


def manifest_for(dids: list[LiveDID], names: dict[str, str], ranges: bool, api_label: str,
                 now: str) -> tuple[str, list[str]]:
    """A new, valid manifest for `dids`, and a line for each DID written only as a comment."""
    writable, comments, skipped = [], [], []
    for did in dids:
        reason = why_not(did)
        if reason is None:
            writable.append(did)
            continue
        skipped.append(f"{did.number_e164} ({did.id}): {reason}")
        comments.append(f"Not imported: {did.number_e164} ({did.id}): {reason}; live: "
                        f"application {did.application_id}, route_mode {did.route_mode}, "
                        f"destinations {list(did.destinations or [])}, status {did.status}")
    items = [entry_map(e.first, e.last, e.fields, None if e.is_range else e.did_ids[0])
             for e in entries(writable, names, ranges)]
    used = {names[d.application_id]: d.application_id for d in writable
            if d.application_id in names}
    header = [f"Imported by `mvconf import` from {api_label} at {now}.",
              "Review it, commit it, then `mvconf plan` shows these DIDs unchanged."]
    return new_manifest(items, used, header, comments), skipped


def accept_drift(read: Read, into: str, wanted: list[str], scope: Scope, echo: Echo) -> int:
    """Update the manifests under `into` to the live values of `wanted` (default: every DID
    they manage); new numbers are appended. One line per DID changed."""
    loaded = load_manifests([into], scope=scope)
    names = {**loaded.names(), **{v: k for k, v in scope.applications.items()}}
    managed = {d.number: d for d in loaded.dids}
    live = read(wanted or list(managed))
    files: dict[str, EditableManifest] = {}
    code = 0
    for number, did in live.items():
        if did is None:
            echo(f"{number}: not in the account (404 not_found); skipped", err=True)
            continue
        desired = managed.get(number)
        if desired is not None and matches(desired_fields(desired), did):
            continue
        reason = why_not(did)
        if reason:
            echo(f"{number}: cannot be written: {reason}; left as it is", err=True)
            code = EXIT_COMMENTED
            continue
        echo(_apply(files, into, desired, did, names))
    for manifest in files.values():
        manifest.save()
    return code


def _file(files: dict[str, EditableManifest], path: str) -> EditableManifest:
    if path not in files:
        files[path] = EditableManifest(Path(path))
    return files[path]


def _apply(files, into: str, desired: DesiredDid | None, did: LiveDID,
           names: dict[str, str]) -> str:
    values = fields_of(did, names)
    if desired is None:
        target = into if os.path.isfile(into) else os.path.join(into, "imported.yaml")
        _file(files, target).append(entry_map(did.number_e164, did.number_e164, values, did.id))
        return f"added {did.number_e164} to {target}"
    path, _, line = desired.source.rpartition(":")
    manifest = _file(files, path)
    index = manifest.index_at(int(line))
    if index is None:
        raise InputError(f"{desired.source}: cannot find the entry of {did.number_e164}")
    if "range" in manifest.dids[index]:
        manifest.insert_after(index, entry_map(did.number_e164, did.number_e164, values))
        return f"overrode {did.number_e164} below its range at {desired.source}"
    drop = {"destinations"} if did.route_mode not in TAKES_DESTINATIONS else set()
    if did.status == "active":
        drop.add("status")
    if did.application_id is None:
        drop.add("application")
    manifest.update(index, values, drop)
    return f"updated {did.number_e164} at {desired.source}"
