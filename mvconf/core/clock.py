"""Timestamps, in the two forms mvconf writes: to the second (plans) and to the microsecond
(journal records and emulator writes, which must order changes made within one second)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

SECONDS = "%Y-%m-%dT%H:%M:%SZ"
MICROSECONDS = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now(precise: bool = False) -> str:
    return datetime.now(UTC).strftime(MICROSECONDS if precise else SECONDS)


def utc_after(previous: str | None) -> str:
    """The current UTC time to the microsecond, strictly later than `previous` when that is a
    timestamp (SPEC §7: every write moves updated_at on)."""
    now = datetime.now(UTC)
    if previous:
        try:
            earlier = datetime.fromisoformat(previous.replace("Z", "+00:00"))
            if now <= earlier:
                now = earlier + timedelta(microseconds=1)
        except ValueError:
            pass
    return now.strftime(MICROSECONDS)


def new_run_id() -> str:
    """One id per apply or rollback run: sortable by time, unique by a random tail."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def today() -> date:
    """Today's UTC date: policy exceptions apply through their `expires` day (SPEC §15). Read
    through this module (`clock.today()`) so that tests can set the date."""
    return datetime.now(UTC).date()
