"""What makes a plan unsafe to carry out: the mass-change threshold (SPEC §4), computed from a
plan's changes and enforced by apply, and every managed number missing (SPEC §10)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from mvconf.core.errors import ApiError, PlanError
from mvconf.plan.change import Action, Change

MINIMUM_MANAGED = 10
THRESHOLD_PERCENT = 30
WRONG_ACCOUNT_MINIMUM = 3


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
    exact = 100 * safety.updates / safety.managed if safety.managed else 0
    percent = f"{exact:.1f}".rstrip("0").rstrip(".")  # 30.4% > 30%, never "30% > 30%"
    return (f"{safety.updates} of {safety.managed} managed DIDs would change ({percent}% > "
            f"{safety.threshold_percent}%)")


def enforce(safety: Safety, allow_mass_change: bool) -> None:
    if safety.exceeds_threshold and not allow_mass_change:
        raise PlanError(f"refusing a mass change: {describe(safety)}, with at least "
                        f"{safety.minimum_managed} managed. Review the plan, then pass "
                        "--allow-mass-change if this is intended (the limits are "
                        "--max-change-percent and --min-managed).")


def guard_wrong_account(changes: Sequence[Change]) -> None:
    """SPEC §10: every managed number missing is a wrong URL or key far more often than an
    account that lost all its numbers."""
    count = len(changes)
    if count >= WRONG_ACCOUNT_MINIMUM and all(c.action is Action.missing for c in changes):
        raise ApiError(f"none of the {count} numbers is in this account: check "
                       "MINIVOICE_API_URL and that the key belongs to the right account "
                       "(pass --allow-all-missing if the account really has none of them)")
