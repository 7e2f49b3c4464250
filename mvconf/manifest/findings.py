"""Routing policy (SPEC §15) on what the manifests say, for `validate`: every DID's findings
at the line of the offending value, and the exceptions that no longer fire."""

from __future__ import annotations

import datetime

from mvconf.manifest.desired import DesiredDid
from mvconf.manifest.resolve import Manifests
from mvconf.policy import Finding, Granted, PolicyConfig, judge_did, stale_exceptions


def manifest_findings(manifests: Manifests, config: PolicyConfig,
                      today: datetime.date) -> list[Finding]:
    """Findings on every DID the manifests manage, each at the line of the offending value,
    then a warning for each exception whose rule fires on none of the DIDs that carry it."""
    findings: list[Finding] = []
    carried: dict[str, tuple[Granted, str, set[str]]] = {}  # exception source -> ...
    for did in manifests.dids:
        fired: set[str] = set()
        findings += did_findings(did, config, today, manifests, fired)
        for grant in did.exceptions:
            _, number, rules = carried.setdefault(grant.source, (grant, did.number, set()))
            rules |= fired
    for grant, number, fired in carried.values():
        findings += stale_exceptions([grant], fired, number)
    return findings


def did_findings(did: DesiredDid, config: PolicyConfig, today: datetime.date,
                 manifests: Manifests | None = None,
                 fired: set[str] | None = None) -> list[Finding]:
    path, _, line = did.source.rpartition(":")
    return judge_did(did.number, did.route_mode, did.destinations, config, today,
                     did.exceptions,
                     locate=(lambda i: manifests.position(did, i)) if manifests else None,
                     fallback=(path, int(line) if line.isdigit() else 1, 1), fired=fired)
