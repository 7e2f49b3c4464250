"""A DID as the API returns it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from mvconf.core.errors import ApiError
from mvconf.core.facts import COMPARED, DID_ID_PATTERN

__all__ = ["COMPARED", "LiveDID", "parse_did"]



class LiveDID(BaseModel):
    """The documented DID fields; unknown extra fields are kept, unknown route modes too.

    `destinations` is our addition: None when the API did not send the key, so mvconf cannot
    observe destinations (SPEC §2).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Annotated[str, StringConstraints(pattern=DID_ID_PATTERN)]  # Rust regex: $ ends it
    customer_id: str | None = None
    application_id: str | None = None
    number_e164: str
    provider: str | None = None
    status: str
    route_mode: str
    destinations: tuple[str, ...] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    # Ours (SPEC §10): the ETag header of the answer, when the API sent one. Not part of the
    # DID object, so never in a plan's `live`.
    etag: str | None = Field(default=None, exclude=True)
    # Ours: the object as the API sent it (without an `etag` key), when it came from an answer.
    sent: Any = Field(default=None, exclude=True, repr=False)

    def data(self) -> dict:
        """The DID object as the API sent it: a plan's `live`. The answer's own dict when there
        was one (validation accepts its values unchanged, so it equals what model_dump would
        build, without building a second dict per DID)."""
        if self.sent is not None:
            return self.sent
        return self.model_dump(mode="json", exclude_unset=True)

    def compared(self) -> dict:
        """The fields mvconf manages, as plain JSON values."""
        return {
            "application_id": self.application_id,
            "route_mode": self.route_mode,
            "destinations": None if self.destinations is None else list(self.destinations),
        }


def parse_did(body: object, what: str, etag: str | None = None, *,
              shared: bool = False) -> LiveDID:
    """The DID in an answer's body; `shared`: its repeated values are shared already (by
    `share_repeated` in the process that read it, and so by pickle's memo: run/ahead.py)."""
    if not isinstance(body, dict):
        raise ApiError(f"{what}: the API answered with something that is not a DID object",
                       transient=False)
    if not shared:
        share_repeated(body)
    etag = _one(etag)
    if "etag" in body:  # the ETag header, never a body field of that name
        body = {name: value for name, value in body.items() if name != "etag"}
    try:
        return LiveDID.model_validate({**body, "etag": etag, "sent": body})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "DID"
        raise ApiError(
            f"{what}: the API answered with a malformed DID object ({field}: {first['msg']})",
            transient=False) from None


# Values many DIDs of an account share (DIDs provisioned together share their timestamps and
# so their ETags too). Each answer is parsed into strings of its own, which a plan keeps for
# every DID; one string is kept for each value instead. Bounded, for an account whose values
# all differ.
REPEATED = ("customer_id", "application_id", "provider", "status", "route_mode", "created_at",
            "updated_at")
_shared: dict[str, str] = {}
_shared_lists: dict[tuple[str, ...], list[str]] = {}


def _one(value: Any) -> Any:
    """The one string kept for `value`, when it is a short string."""
    if type(value) is not str:
        return value
    kept = _shared.get(value)
    if kept is not None:
        return kept
    if len(_shared) < 4096 and len(value) <= 100:
        _shared[value] = value
    return value


def share_repeated(body: dict) -> None:
    shared = _shared
    for name in REPEATED:
        value = body.get(name)
        if type(value) is str:
            kept = shared.get(value)
            if kept is None:
                if len(shared) < 4096 and len(value) <= 100:
                    shared[value] = value
            elif kept is not value:
                body[name] = kept
    destinations = body.get("destinations")
    if type(destinations) is list and all(type(v) is str for v in destinations):
        # Forward and sip DIDs mostly share a few destination lists: one list each (a plan's
        # `live` values are read, never edited), 9 MB of a 100,000-DID plan of forwards.
        key = tuple(destinations)
        kept_list = _shared_lists.get(key)
        if kept_list is not None:
            body["destinations"] = kept_list
        elif len(_shared_lists) < 4096 and len(key) <= 16:
            _shared_lists[key] = destinations
