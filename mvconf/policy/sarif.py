"""Findings as SARIF 2.1.0 for GitHub code scanning (SPEC §15)."""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from mvconf.core.errors import Problem
from mvconf.policy.catalog import RULES
from mvconf.policy.findings import Finding, fingerprint

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "off": "none"}


def _uri(path: str) -> str:
    """The manifest's path relative to the working directory, with forward slashes, as a URI
    reference (SARIF 2.1.0 §3.10): `#`, `?`, `%` and the like percent-encoded, so that
    `c#d.yaml` is not `c` with a fragment."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        relative = path
    return quote(PurePath(relative).as_posix(), safe="/")


def _location(path: str, line: int, column: int) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(path)},
                                 "region": {"startLine": max(line, 1),
                                            "startColumn": max(column, 1)}}}


def sarif_log(findings: list[Finding], version: str,
              problems: list[Problem] = ()) -> dict[str, Any]:
    """One run: every rule, one result per finding. Manifest problems (which stop the rules
    from being judged) are tool notifications of a run that did not succeed."""
    index = {rule_id: i for i, rule_id in enumerate(RULES)}
    rules = [{
        "id": rule.id, "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.help},
        "defaultConfiguration": {"level": LEVEL[rule.default]},
        "help": {"text": rule.help,
                 "markdown": f"**{rule.id} {rule.name}**\n\n{rule.help}\n\nSee the README "
                 "section *Routing policy*."},
        "properties": {"tags": ["security", "routing"]},
    } for rule in RULES.values()]
    results = []
    for finding in findings:
        result: dict[str, Any] = {
            "ruleId": finding.rule, "ruleIndex": index[finding.rule],
            "level": LEVEL[finding.level],
            "message": {"text": finding.message},
            "locations": [_location(finding.path, finding.line, finding.column)],
            "partialFingerprints": {"mvconf/v1": fingerprint(finding)},
            "properties": {"number": finding.number, "field": finding.field,
                           "value": finding.value},
        }
        if finding.exception is not None:
            result["suppressions"] = [{
                "kind": "inSource",
                "justification": f"{finding.exception['reason']} (expires "
                                 f"{finding.exception['expires']})"}]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "mvconf", "version": version, "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{
            "executionSuccessful": not problems,
            "toolExecutionNotifications": [{
                "level": "error", "message": {"text": p.message},
                "locations": [_location(p.path, p.line, p.column)]} for p in problems],
        }],
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
