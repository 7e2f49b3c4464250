"""The desired state of one DID: what the manifests say, after defaults and aliases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DesiredDid:
    """What one DID should look like, with the manifest location it came from."""

    number: str
    application_id: str | None  # None: leave the assignment as it is (reject only)
    route_mode: str
    destinations: tuple[str, ...]
    pin_id: str | None = None
    description: str | None = None
    source: str = ""
