"""The Plan as data. Its JSON form (SPEC §3) is the saved-plan file; loading it gives an equal
Plan, with `summary` and `safety` computed again from the changes rather than trusted."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    computed_field,
)

from mvconf.core.errors import PlanError
from mvconf.core.facts import ENTITY_TAG, MAX_DIDS_CEILING, MAX_ETAG_LENGTH
from mvconf.core.jsontext import dumps, inert, loads
from mvconf.manifest.values import change_problem
from mvconf.plan.change import ACTIONS, Action, Change, Executor, FieldDiff
from mvconf.plan.safety import Safety, assess

__all__ = ["Action", "Change", "Executor", "FieldDiff", "Plan", "PlanScope", "load_plan",
           "summarize"]

FORMAT_VERSION = 1
CHUNK_CHANGES = 256  # changes written by one orjson call (json_chunks)
_BATCH_HEAD = len('{\n  "changes": [\n    ')  # what json_chunks cuts off each piece
_BATCH_TAIL = len('\n  ]\n}')


def summarize(changes: list[Change]) -> dict[str, int]:
    counts = {action.value: 0 for action in ACTIONS}
    for change in changes:
        counts[change.action.value] += 1
    return counts


class PlanScope(BaseModel):
    """SPEC §16: a plan made with `--changed-since` read only the DIDs whose desired state
    differs from the revision's (`read`); `unchanged` managed DIDs were not read."""

    # Strict, as a saved plan is untrusted: `"read": "1"` is not a count. `changed_since` is
    # bounded as a revision is (manifest/revision.py); the commit is a git object name.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    changed_since: Annotated[str, StringConstraints(min_length=1, max_length=1000,
                                                    pattern=r"^[^\x00-\x1f\x7f]*$")]
    revision: Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{40}|[0-9a-f]{64})$")]
    read: Annotated[int, Field(ge=0, le=MAX_DIDS_CEILING)]
    unchanged: Annotated[int, Field(ge=0, le=MAX_DIDS_CEILING)]  # what a journal can record

    def checksummed(self) -> bytes:
        """What the plan's checksum covers: the commit and the counts, not how the revision
        was spelled, so that a pull request's plan `--changed-since origin/main` and the
        merge's `--changed-since HEAD^1` naming the same commit have the same checksum."""
        return self.model_dump_json(include={"revision", "read", "unchanged"}).encode()


class Plan(BaseModel):
    """A frozen plan. `summary` and `safety` are derived from `changes` (a saved plan's own
    figures are ignored on load), so a padded or edited plan cannot misstate them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    format_version: int = FORMAT_VERSION
    mvconf_version: str
    api_url: str
    environment: str | None = None  # SPEC §9: the project environment planned for
    created_at: str
    executor: Executor
    scope: PlanScope | None = None  # SPEC §16: None for a full plan
    changes: list[Change]
    # SPEC §15: the routing-policy findings on what the plan would write (Finding.to_data()).
    policy: list[dict[str, Any]] = Field(default_factory=list)
    # Application id -> alias, for the text and markdown renderings only (JSON stays ids).
    app_names: dict[str, str] = Field(default_factory=dict, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def summary(self) -> dict[str, int]:
        return summarize(self.changes)

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def safety(self) -> Safety:
        return assess(self.changes, managed=self.managed)

    @property
    def managed(self) -> int:
        """Every DID the manifests manage: those in the plan and those a scoped plan did not
        read. The threshold is measured against all of them (SPEC §16)."""
        return len(self.changes) + (self.scope.unchanged if self.scope else 0)

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def checksum(self) -> str:
        """SHA-256 over the canonical changes: each change as compact JSON, one per line, in
        order, after the scope when the plan has one (so a full plan's checksum is what it always
        was). What a reviewer approved is exactly what has this checksum (`apply --checksum`)."""
        digest = hashlib.sha256()
        if self.scope is not None:
            digest.update(b"scope " + self.scope.checksummed() + b"\n")
        for change in self.changes:
            digest.update(change.to_json())
            digest.update(b"\n")
        if self.policy:  # the exceptions it was reviewed under (a plan without findings: as before)
            digest.update(dumps({"policy": self.policy}, False))
            digest.update(b"\n")
        return digest.hexdigest()

    @property
    def policy_errors(self) -> list[dict[str, Any]]:
        """Findings that stop the plan: errors that no exception excuses."""
        return [f for f in self.policy if f.get("level") == "error" and not f.get("exception")]

    def with_policy(self, findings: list[dict[str, Any]]) -> Plan:
        return Plan(mvconf_version=self.mvconf_version, api_url=self.api_url,
                    environment=self.environment, created_at=self.created_at,
                    executor=self.executor, changes=self.changes, policy=findings,
                    app_names=self.app_names, scope=self.scope)

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.changes)

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action == Action.conflict]

    def with_changes(self, changes: list[Change]) -> Plan:
        """The same plan over other changes (for `--target`), its figures computed anew."""
        numbers = {c.number for c in changes}
        return Plan(mvconf_version=self.mvconf_version, api_url=self.api_url,
                    environment=self.environment, created_at=self.created_at,
                    executor=self.executor, scope=self.scope, changes=changes,
                    app_names=self.app_names,
                    policy=[f for f in self.policy if f.get("number") in numbers])

    def to_json(self) -> str:
        return "".join(self.json_chunks())

    def json_chunks(self) -> Iterator[str]:
        """The JSON plan in pieces of CHUNK_CHANGES changes, so that a plan of 100,000 DIDs is
        never held in memory as one string. Joined, the pieces hold `model_dump_json`'s values,
        indented by two, `changes` last, with characters that act on a terminal (C1 controls,
        direction overrides) written as \\u escapes (core/jsontext.inert): safe to print.
        Each piece is one orjson call over `{"changes": [...]}`, which indents the changes as
        deep as the plan does, cut out of its braces: the bytes of each change written and
        re-indented on its own, as before, in about half the time (4,000 changes: 18.7 ms
        before, 10.0 ms)."""
        head = inert(self.model_dump_json(indent=2, exclude={"changes"}))
        if not self.changes:
            yield head[:-2] + ',\n  "changes": []\n}\n'
            return
        yield head[:-2] + ',\n  "changes": [\n    '
        total = len(self.changes)
        for start in range(0, total, CHUNK_CHANGES):
            batch = self.changes[start:start + CHUNK_CHANGES]
            text = dumps({"changes": [change.to_data() for change in batch]}, True).decode()
            text = inert(text[_BATCH_HEAD:-_BATCH_TAIL])
            yield text + (",\n    " if start + CHUNK_CHANGES < total else "\n  ]\n}\n")


def load_plan(text: str, path: str) -> Plan:
    try:
        data = loads(text.encode("utf-8", "surrogatepass"))
    except ValueError as exc:
        raise PlanError(f"{path} is not a saved plan: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanError(f"{path} is not a saved plan (no format_version)")
    if type(data["format_version"]) is not int or data["format_version"] != FORMAT_VERSION:
        raise PlanError(f"{path} has plan format_version {data['format_version']!r}; this mvconf "
                        f"reads format_version {FORMAT_VERSION}")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanError(f"{path} is not a usable saved plan: {where}: {first['msg']}") from None
    written = data.get("checksum")
    # SPEC §3 does not require a checksum (0.1.0 wrote none): a plan without one is held to
    # every check below all the same, and only `apply --checksum HEX` proves it is the
    # reviewed one. One that is there must be the checksum of these changes.
    if written is not None and not isinstance(written, str):
        raise PlanError(f"{path} has a checksum that is not a string; plan again and review "
                        "the new plan.")
    if written is not None and written != plan.checksum:
        raise PlanError(f"{path} was changed after it was made: its checksum does not match its "
                        "changes. Plan again and review the new plan.")
    seen: set[str] = set()
    for index, change in enumerate(plan.changes):  # held to the manifests' rules (values.py)
        why = change_problem(change.number, change.desired, change.fields) if change.is_change \
            else None
        if why is None and change.number in seen:
            why = f"number {change.number} appears twice"
        etag = change.live_etag
        if why is None and etag is not None and (len(etag) > MAX_ETAG_LENGTH or
                                                 not ENTITY_TAG.fullmatch(etag)):
            why = "live_etag is not one entity-tag"
        hidden = "destinations" in change.unverified or (
            isinstance(change.live, dict) and change.live.get("destinations") is None)
        if why is None and change.is_change and "route_mode" in change.fields and hidden \
                and "destinations" not in change.fields and change.desired.get("destinations"):
            # as the planner writes it: routing that changes is written whole
            why = ("it changes the route mode without writing the destinations the API hides; "
                   "plan again")
        if why:
            raise PlanError(f"{path} is not a usable saved plan: changes[{index}]: {why}")
        seen.add(change.number)
    return plan


def require_checksum(plan: Plan, expected: str | None) -> None:
    """`apply --checksum HEX`: only exactly the reviewed plan."""
    if expected is None:
        return
    wanted = expected.strip().lower().removeprefix("sha256:")
    if wanted != plan.checksum:
        raise PlanError(f"the plan is not the reviewed one: its checksum is {plan.checksum}, "
                        f"not {wanted}. Nothing was changed; review the new plan.")
