"""`policy_exceptions` in manifests (SPEC §15): a rule, a reason and an expiry date."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from mvconf.core import clock
from mvconf.core.text import visible
from mvconf.policy.config import RuleId

MAX_DAYS_AHEAD = 400


class PolicyException(BaseModel):
    """A reviewed exception to one rule, for this DID (or range, or file's DIDs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Annotated[RuleId, Field(description="The rule excepted: MV101 ... MV105")]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1),
                      Field(description="Why the exception is right (a ticket, a name); "
                            "required, non-empty")]
    expires: Annotated[datetime.date, Field(
        description=f"The last day it applies (YYYY-MM-DD), at most {MAX_DAYS_AHEAD} days ahead")]

    @field_validator("reason")
    @classmethod
    def _shows_something(cls, value: str) -> str:
        if not visible(value):
            raise ValueError("the reason shows no text (only spaces or invisible characters)")
        return value

    @field_validator("expires")
    @classmethod
    def _not_too_far(cls, value: datetime.date) -> datetime.date:
        limit = clock.today() + datetime.timedelta(days=MAX_DAYS_AHEAD)
        if value > limit:
            raise ValueError(f"expires {value.isoformat()} is more than {MAX_DAYS_AHEAD} days "
                             f"ahead (at most {limit.isoformat()}); exceptions are reviewed "
                             "again when they expire")
        return value


@dataclass(frozen=True, slots=True)
class Granted:
    """An exception with the place it is written (`path:line:column`), as a DID carries it."""

    rule: str
    reason: str
    expires: str  # YYYY-MM-DD
    source: str

    def active(self, today: datetime.date) -> bool:
        """It applies through its expiry day, and never beyond the 400 days it may reach."""
        try:
            expires = datetime.date.fromisoformat(self.expires)
        except ValueError:
            return False
        return visible(self.reason) and today <= expires <= \
            today + datetime.timedelta(days=MAX_DAYS_AHEAD)

    def to_data(self) -> dict[str, str]:
        return {"rule": self.rule, "reason": self.reason, "expires": self.expires,
                "source": self.source}

    @classmethod
    def from_data(cls, data: object) -> Granted | None:
        if not isinstance(data, dict):
            return None
        values = [data.get(k) for k in ("rule", "reason", "expires")]
        if not all(isinstance(v, str) for v in values):
            return None
        source = data.get("source")
        return cls(*values, source if isinstance(source, str) else "")
