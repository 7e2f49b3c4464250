"""The desired state of one DID: what the manifests say, after defaults and aliases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mvconf.policy.exceptions import Granted


@dataclass(frozen=True, slots=True)
class DesiredDid:
    """What one DID should look like, with the manifest location it came from (slotted: a
    plan of 100,000 DIDs holds one each)."""

    number: str
    application_id: str | None  # None: leave the assignment as it is (reject only)
    route_mode: str
    destinations: tuple[str, ...]
    pin_id: str | None = None
    description: str | None = None
    source: str = ""
    status: str = "active"  # the live status it is expected to have (SPEC §8)
    exceptions: tuple[Granted, ...] = ()  # policy_exceptions (SPEC §15), its own or defaults'
    # Its entry's index times 2, plus 1 when its destinations come from defaults (-1: unknown);
    # one int, as a plan of 100,000 DIDs holds one each, to place policy findings.
    entry: int = -1


@dataclass(frozen=True)
class Scope:
    """Which DIDs a run loads (SPEC §8-§9): those of `environment` (None: every DID), with
    `environments:` names checked against `known` (None: no project file, so any name is
    unknown) and the environment's `applications` winning over the manifests' aliases."""

    environment: str | None = None
    known: frozenset[str] = frozenset()
    applications: Mapping[str, str] = field(default_factory=dict)
    skip_other_yaml: bool = False  # in directories, only files that look like manifests
    max_dids: int | None = None  # mvconf.toml's cap on managed DIDs (None: facts.MAX_DIDS)
