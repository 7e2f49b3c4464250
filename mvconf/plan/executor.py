"""Who makes a change, on its own: the `--executor` option reads it before anything else of a
plan is imported (pydantic, which a change's fields need, costs 40-60 ms)."""

from enum import StrEnum


class Executor(StrEnum):
    """Who makes a change: the API, or a person following account-setup steps."""

    api = "api"
    manual = "manual"
