"""`[policy]` in mvconf.toml (SPEC §15): the table as written, and the settings a run uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Literal

from phonenumbers import SUPPORTED_REGIONS
from pydantic import AfterValidator, BaseModel, ConfigDict

from mvconf.policy.catalog import RULES

RuleId = Literal["MV101", "MV102", "MV103", "MV104", "MV105"]
Level = Literal["error", "warning", "off"]
assert set(RuleId.__args__) == set(RULES)  # noqa: S101 (kept in step with the catalog)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOST_PATTERN = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


def _region(value: str) -> str:
    if value not in SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not an ISO 3166 region code libphonenumber knows "
                         "(two capital letters, such as US or GB)")
    return value


def _domain(value: str) -> str:
    lowered = value.lower().rstrip(".")
    if len(lowered) > 253 or not HOST_PATTERN.match(lowered):
        raise ValueError(f"{value!r} is not a host name or a *.domain wildcard")
    return lowered


class PolicyTable(BaseModel):
    """`[policy]` or `[environments.NAME.policy]`: every key optional (an environment's table
    wins key by key over the top-level one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_countries: list[Annotated[str, AfterValidator(_region)]] | None = None
    allowed_sip_domains: list[Annotated[str, AfterValidator(_domain)]] | None = None
    rules: dict[RuleId, Level] | None = None


@dataclass(frozen=True)
class PolicyConfig:
    """The settings one run judges with (hashable: evaluations are cached per config)."""

    allowed_countries: frozenset[str] | None = None
    allowed_sip_domains: tuple[str, ...] | None = None
    levels: tuple[tuple[str, str], ...] = ()  # (rule id, level) for every rule
    # Each destination's rules, judged once per run (not part of the settings' identity).
    cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def level(self, rule: str) -> str:
        return dict(self.levels)[rule]


def merge_tables(*tables: PolicyTable | None) -> PolicyConfig:
    """The settings from the top-level table then the environment's, later winning key by key
    (rules rule by rule), with each rule's default level where none is configured."""
    countries = domains = None
    levels: dict[str, str] = {}
    for table in tables:
        if table is None:
            continue
        if table.allowed_countries is not None:
            countries = frozenset(table.allowed_countries)
        if table.allowed_sip_domains is not None:
            domains = tuple(table.allowed_sip_domains)
        levels.update(table.rules or {})
    for rule_id, rule in RULES.items():
        if rule_id not in levels:
            default = rule.default
            if rule_id == "MV103" and countries is not None or \
                    rule_id == "MV104" and domains is not None:
                default = "error"
            levels[rule_id] = default
    return PolicyConfig(countries, domains, tuple(sorted(levels.items())))
