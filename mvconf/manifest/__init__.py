"""Manifests: YAML files -> the desired state of each DID (SPEC §1).

Other stages use only what is exported here: `load_desired` (find, read, check and resolve every
manifest under some paths; `ManifestError` lists every problem) and `DesiredDid`. They are
imported when first asked for, so that a light module of this package (files.py) can be
imported without the loader's models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mvconf.manifest.desired import DesiredDid, Scope
    from mvconf.manifest.resolve import Manifests, load_desired, load_manifests

__all__ = ["DesiredDid", "Manifests", "Scope", "load_desired", "load_manifests"]


def __getattr__(name: str) -> Any:
    if name in ("DesiredDid", "Scope"):
        from mvconf.manifest import desired

        return getattr(desired, name)
    if name in ("Manifests", "load_desired", "load_manifests"):
        from mvconf.manifest import resolve

        return getattr(resolve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
