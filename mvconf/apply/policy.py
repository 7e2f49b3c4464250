"""The routing policy before every write (SPEC §15): apply and rollback judge the values they
are about to write, whatever their source, and refuse the whole run on an error."""

from __future__ import annotations

import datetime
from typing import Any

from mvconf.apply.journal import Journal, read_journal
from mvconf.core.errors import InputError
from mvconf.plan.model import Plan
from mvconf.plan.policy import change_findings, granted_in_findings
from mvconf.policy import Granted, PolicyConfig, refusal


def enforce(command: str, findings: list[dict[str, Any]], journal: Journal | None = None) -> None:
    """Refuse on a finding no exception excuses; otherwise have the journal record, with each
    change made under an exception, the exceptions it was made under."""
    if any(f.get("level") == "error" and not f.get("exception") for f in findings):
        raise refusal(command, findings)
    if journal is not None:
        for finding in findings:
            if finding.get("exception"):
                granted = journal.exceptions.setdefault(finding["number"], [])
                item = {"rule": finding["rule"], **finding["exception"]}
                if item not in granted:
                    granted.append(item)


Grants = dict[str, set[tuple[str, str, str]]]  # number -> (rule, reason, expires)


def only_granted(recorded: dict[str, list[Granted]], allowed: Grants) -> dict[str, list[Granted]]:
    """The recorded exceptions that the manifests grant too. A saved plan or a journal can be
    edited (and a checksum recomputed): an exception counts only where it is reviewed, in the
    manifests (SPEC §15)."""
    return {number: kept for number, grants in recorded.items()
            if (kept := [g for g in grants
                         if (g.rule, g.reason, g.expires) in allowed.get(number, set())])}


def saved_plan_findings(plan: Plan, config: PolicyConfig, today: datetime.date,
                        allowed: Grants) -> list[dict[str, Any]]:
    """A saved plan's changes judged again with today's settings; the only exceptions are those
    the plan recorded that the manifests still grant, and only while they are in force."""
    granted = only_granted(granted_in_findings(plan.policy), allowed)
    return [f.to_data() for f in change_findings(plan.changes, config, today, granted)]


def journal_granted(path: str, numbers: set[str]) -> dict[str, list[Granted]]:
    """The exceptions the journal recorded for these numbers, for a rollback's judgement."""
    try:
        records, _ = read_journal(path)
    except InputError:
        return {}
    out: dict[str, list[Granted]] = {}
    for record in records:
        number = record.get("number")
        items = record.get("policy_exceptions")
        if number in numbers and isinstance(items, list):
            for item in items:
                grant = Granted.from_data(item)
                if grant is not None and grant not in out.get(number, []):
                    out.setdefault(number, []).append(grant)
    return out


def rollback_findings(plan: Plan, config: PolicyConfig, today: datetime.date,
                      journal_path: str, allowed: Grants) -> list[dict[str, Any]]:
    numbers = {c.number for c in plan.changes if c.is_change}
    granted = only_granted(journal_granted(journal_path, numbers), allowed)
    return [f.to_data() for f in change_findings(plan.changes, config, today, granted)]
