"""A DID as the API returns it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mvconf.errors import ApiError
from mvconf.facts import COMPARED

__all__ = ["COMPARED", "LiveDID", "parse_did"]



class LiveDID(BaseModel):
    """The documented DID fields; unknown extra fields are kept, unknown route modes too.

    `destinations` is our addition: None when the API did not send the key, so mvconf cannot
    observe destinations (SPEC §2).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
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

    def compared(self) -> dict:
        """The fields mvconf manages, as plain JSON values."""
        return {
            "application_id": self.application_id,
            "route_mode": self.route_mode,
            "destinations": None if self.destinations is None else list(self.destinations),
        }


def parse_did(body: object, what: str, etag: str | None = None) -> LiveDID:
    if not isinstance(body, dict):
        raise ApiError(f"{what}: the API answered with something that is not a DID object",
                       transient=False)
    if etag is not None or "etag" in body:
        body = {**body, "etag": etag}
    try:
        return LiveDID.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "DID"
        raise ApiError(
            f"{what}: the API answered with a malformed DID object ({field}: {first['msg']})",
            transient=False) from None
