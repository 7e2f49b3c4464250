"""Manifests: YAML files -> the desired state of each DID (SPEC §1).

Other stages use only what is exported here: `load_desired` (find, read, check and resolve every
manifest under some paths; `ManifestError` lists every problem) and `DesiredDid`.
"""

from mvconf.manifest.desired import DesiredDid, Scope
from mvconf.manifest.resolve import Manifests, load_desired, load_manifests

__all__ = ["DesiredDid", "Manifests", "Scope", "load_desired", "load_manifests"]
