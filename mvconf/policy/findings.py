"""A finding: one rule firing on one value mvconf would write, where it is written, and the
exception that excuses it, if any."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from mvconf.core.errors import MvconfError
from mvconf.core.text import printable


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    level: str  # error | warning
    number: str
    field: str  # destinations | policy_exceptions
    value: str
    message: str
    path: str = ""
    line: int = 1
    column: int = 1
    exception: dict[str, str] | None = field(default=None, compare=False)

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}" if self.path else ""

    @property
    def blocks(self) -> bool:
        """An error no exception excuses: it stops validate, plan, apply and rollback."""
        return self.level == "error" and self.exception is None

    def to_data(self) -> dict[str, Any]:
        return {"rule": self.rule, "level": self.level, "number": self.number,
                "field": self.field, "value": self.value, "message": self.message,
                "source": self.source, "exception": self.exception}


def fingerprint(finding: Finding) -> str:
    """The finding's identity across moved lines: SHA-256 of rule, number, field and value."""
    text = "\x1f".join((finding.rule, finding.number, finding.field, finding.value))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def describe(finding: Finding) -> str:
    """`path:line:column: MV101 error: message`, as validate and the Policy section show it."""
    excepted = (f" (excepted until {finding.exception['expires']}: "
                f"{finding.exception['reason']})" if finding.exception else "")
    where = f"{finding.path}:{finding.line}:{finding.column}: " if finding.path else ""
    return printable(f"{where}{finding.rule} {finding.level}{excepted}: {finding.message}")


class PolicyRefused(MvconfError):
    """apply or rollback would write values that break the policy: nothing was written."""


def blocking(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings (as data) that are errors no exception excuses."""
    return [f for f in findings if f.get("level") == "error" and not f.get("exception")]


def refusal(command: str, findings: list[dict[str, Any]]) -> PolicyRefused:
    """`apply refused: 2 changes break policy: +15551230002 MV101 ...` (SPEC §15)."""
    blocking_ = blocking(findings)
    numbers = list(dict.fromkeys(str(f.get("number")) for f in blocking_))
    shown = ", ".join(printable(f"{f.get('number')} {f.get('rule')} {f.get('message')}")
                      for f in blocking_[:10])
    more = f" (and {len(blocking_) - 10} more)" if len(blocking_) > 10 else ""
    return PolicyRefused(f"{command} refused: {len(numbers)} changes break policy: "
                         f"{shown}{more}. Nothing was written.")
