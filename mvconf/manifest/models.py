"""The manifest format (SPEC §1) as pydantic models; the JSON Schema is generated from these.

The models check the shape of one file. Rules that need defaults applied or several files at
once (route modes and destinations, aliases, duplicate numbers) live in resolve.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from mvconf.core.facts import APP_ID_PATTERN, E164_PATTERN, RouteMode
from mvconf.policy.exceptions import PolicyException

AppId = Annotated[str, StringConstraints(pattern=APP_ID_PATTERN)]
Destination = Annotated[
    str,
    Field(
        description="forward: an E.164 number such as +15551230001; sip: a sip: or sips: URI",
        min_length=1,
    ),
]
Destinations = Annotated[
    list[Destination],
    Field(
        description="Where calls go, in order. forward: E.164 numbers; sip: sip:/sips: URIs; "
        "webhook and reject: empty or absent.",
        json_schema_extra={"uniqueItems": True},
    ),
]
ApplicationRef = Annotated[
    str,
    Field(
        description="An alias from `applications` (in any loaded file) or an application id app_…",
        min_length=1,
    ),
]
RouteModeField = Annotated[
    RouteMode,
    Field(description="How inbound calls are routed: webhook, reject, forward or sip"),
]


PolicyExceptions = Annotated[
    list[PolicyException],
    Field(description="Reviewed exceptions to routing-policy rules (MV101-MV105) for these "
          "DIDs: each with a rule, a reason and an expiry date at most 400 days ahead"),
]


EnvironmentNames = Annotated[
    list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]],
    Field(description="Only for these environments of mvconf.toml (absent: every environment)",
          min_length=1),  # [] would mean everywhere without mvconf.toml and nowhere with it
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """Values used by every DID of this file that does not set them itself."""

    application: ApplicationRef | None = None
    route_mode: RouteModeField | None = None
    destinations: Destinations | None = None
    policy_exceptions: PolicyExceptions | None = None


RANGE_PATTERN = r"^\+[1-9][0-9]{1,14}\.\.\+[1-9][0-9]{1,14}$"
MAX_RANGE = 100_000
STATUS_PATTERN = r"^[a-z][a-z_]{0,31}$"  # what `import` writes; others are checked in resolve.py
KNOWN_STATUSES = ("active", "suspended")


class DidSpec(_Strict):
    """The desired state of one DID, or of every DID of a range of numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={
        "oneOf": [{"required": ["number"]}, {"required": ["range"]}]})

    number: Annotated[
        str | None,
        Field(
            description='The DID in E.164 form, quoted: "+15551230002". Unique across manifests. '
            "Exactly one of number and range.",
            pattern=E164_PATTERN,
        ),
    ] = None
    range: Annotated[
        str | None,
        Field(
            description='Every number from first to last, inclusive: "+14155550100..+14155550199"'
            f" (same length, first <= last, at most {MAX_RANGE:,} numbers). A number: entry "
            "inside the range overrides it for that number.",
            pattern=RANGE_PATTERN,
        ),
    ] = None
    status: Annotated[
        str | None,
        Field(description="The live status the DID is expected to have: active (the default) "
              "or suspended; another value is a warning (an error with --strict). mvconf never "
              "changes it", min_length=1, max_length=32),
    ] = None
    application: ApplicationRef | None = None
    route_mode: RouteModeField | None = None
    destinations: Destinations | None = None
    description: Annotated[
        str | None, Field(description="Local note; never compared or sent")
    ] = None
    id: Annotated[
        str | None,
        Field(
            description="Optional pin: an error if the number resolves to another DID id",
            min_length=1,
        ),
    ] = None
    environments: EnvironmentNames = None  # type: ignore[assignment]  # absent; null refused
    policy_exceptions: PolicyExceptions | None = None

    @model_validator(mode="after")
    def _one_of_number_and_range(self) -> DidSpec:
        if (self.number is None) == (self.range is None):
            raise ValueError("an entry needs exactly one of 'number' and 'range'")
        if self.range is not None and self.id is not None:
            raise ValueError("a range cannot pin an 'id' (pin ids on number: entries)")
        _share_fields_set(self)
        return self


# Each pydantic model keeps the set of the fields its input gave; a DID entry's is one of a few
# (number, application, route_mode...), and 100,000 entries held 100,000 sets: 22 MB, and 73 MB
# when entries have 5 keys (a set of 5 is allocated for 32). One set is kept per combination
# instead (pydantic never changes a frozen model's set: a copy gets its own). Bounded.
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def _share_fields_set(model: BaseModel) -> None:
    own = model.__pydantic_fields_set__
    key = frozenset(own)
    kept = _FIELDS_SETS.get(key)
    if kept is None and len(_FIELDS_SETS) < 1024:
        _FIELDS_SETS[key] = kept = own
    if kept is not None and kept is not own:
        object.__setattr__(model, "__pydantic_fields_set__", kept)


def _version(value: object) -> object:
    if type(value) is not int:  # noqa: E721 (True and 1.0 equal 1, but are not version 1)
        raise ValueError("version must be the integer 1")
    return value


class ManifestFile(_Strict):
    """One mvconf manifest file."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="mvconf manifest",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    version: Annotated[Literal[1], BeforeValidator(_version),
                       Field(description="Manifest format version; only 1 exists")]
    environments: EnvironmentNames = None  # type: ignore[assignment]  # absent; null refused
    applications: Annotated[
        dict[str, AppId],
        Field(description="Readable names for application ids: alias -> app_…"),
    ] = {}
    defaults: Annotated[
        Defaults | None,
        Field(description="Fields used by every DID in this file unless it sets them"),
    ] = None
    dids: Annotated[list[DidSpec], Field(description="The DIDs this file manages")] = []


KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "file": tuple(ManifestFile.model_fields),
    "defaults": tuple(Defaults.model_fields),
    "did": tuple(DidSpec.model_fields),
    "exception": tuple(PolicyException.model_fields),
}
