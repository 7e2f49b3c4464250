"""The mass-change threshold (SPEC §4), computed from a plan's changes and enforced by apply."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from mvconf.errors import PlanError
from mvconf.plan.change import Action, Change

MINIMUM_MANAGED = 10
THRESHOLD_PERCENT = 30


class Safety(BaseModel):
    model_config = ConfigDict(frozen=True)

    managed: int
    updates: int
    threshold_percent: int
    minimum_managed: int
    exceeds_threshold: bool


def assess(changes: Iterable[Change]) -> Safety:
    managed = updates = 0
    for change in changes:
        managed += 1
        updates += change.action == Action.update
    exceeds = managed >= MINIMUM_MANAGED and updates * 100 > THRESHOLD_PERCENT * managed
    return Safety(managed=managed, updates=updates, threshold_percent=THRESHOLD_PERCENT,
                  minimum_managed=MINIMUM_MANAGED, exceeds_threshold=exceeds)


def describe(safety: Safety) -> str:
    percent = round(100 * safety.updates / safety.managed) if safety.managed else 0
    return (f"{safety.updates} of {safety.managed} managed DIDs would change ({percent}% > "
            f"{safety.threshold_percent}%)")


def enforce(safety: Safety, allow_mass_change: bool) -> None:
    if safety.exceeds_threshold and not allow_mass_change:
        raise PlanError(f"refusing a mass change: {describe(safety)}. Review the plan, then pass "
                        "--allow-mass-change if this is intended.")
