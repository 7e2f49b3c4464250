"""The stop flag a signal sets, in a module of its own: the runtime holds one from its start,
before the rest of the applier is imported."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Stop:
    """Set by SIGINT or SIGTERM (SPEC §11): no new write starts; writes under way finish."""

    signum: int | None = None
    writing: bool = False  # set once writes may have begun: a signal no longer cancels at once

    def is_set(self) -> bool:
        return self.signum is not None
