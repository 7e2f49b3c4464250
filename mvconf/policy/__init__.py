"""Routing policy (SPEC §15): built-in rules MV101-MV105 judged on the values mvconf would
write, their configuration in mvconf.toml, and the exceptions manifests grant.

Offline and pure: `validate`, `plan`, `apply` and `rollback` all judge through `judge`, so the
same value gets the same finding wherever it comes from (manifests, a saved plan, a journal)."""

from mvconf.policy.catalog import LEVELS, RULES, Rule
from mvconf.policy.config import PolicyConfig, PolicyTable, merge_tables
from mvconf.policy.exceptions import Granted, PolicyException
from mvconf.policy.findings import Finding, PolicyRefused, describe, fingerprint, printable, refusal
from mvconf.policy.judge import judge, judge_did, stale_exceptions

__all__ = ["LEVELS", "RULES", "Finding", "Granted", "PolicyConfig", "PolicyException",
           "PolicyRefused", "PolicyTable", "Rule", "describe", "fingerprint", "judge",
           "judge_did", "merge_tables", "printable", "refusal", "stale_exceptions"]
