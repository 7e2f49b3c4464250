"""The mass-change threshold (SPEC §4), computed from a plan's changes and enforced by apply."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from mvconf.core.errors import PlanError
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


def assess(changes: Iterable[Change], *, percent: int = THRESHOLD_PERCENT,
           minimum: int = MINIMUM_MANAGED, managed: int | None = None) -> Safety:
    """The threshold figures of `changes`. `managed` replaces their count as the base (a
    rollback is measured against the DIDs the rolled-back run managed, SPEC §11)."""
    count = updates = 0
    for change in changes:
        count += 1
        updates += change.action == Action.update
    base = max(count, managed or 0)
    exceeds = base >= minimum and updates * 100 > percent * base
    return Safety(managed=base, updates=updates, threshold_percent=percent,
                  minimum_managed=minimum, exceeds_threshold=exceeds)


def describe(safety: Safety) -> str:
    percent = round(100 * safety.updates / safety.managed) if safety.managed else 0
    return (f"{safety.updates} of {safety.managed} managed DIDs would change ({percent}% > "
            f"{safety.threshold_percent}%)")


def enforce(safety: Safety, allow_mass_change: bool) -> None:
    if safety.exceeds_threshold and not allow_mass_change:
        raise PlanError(f"refusing a mass change: {describe(safety)}, with at least "
                        f"{safety.minimum_managed} managed. Review the plan, then pass "
                        "--allow-mass-change if this is intended (the limits are "
                        "--max-change-percent and --min-managed).")
