"""Facts of the MiniVoice domain that every stage shares: route modes, id patterns, DID labels.

Each is written once here; the manifest models, the planner, the emulator and the importer all
read them from this module.
"""

from __future__ import annotations

import re
from enum import StrEnum


# How a DID routes inbound calls (SPEC §1). No docstring: the manifest's JSON Schema would
# carry it, and the committed schema is kept equal to the generated one.
class RouteMode(StrEnum):
    webhook = "webhook"
    reject = "reject"
    forward = "forward"
    sip = "sip"


ROUTE_MODES = tuple(m.value for m in RouteMode)
TAKES_DESTINATIONS = frozenset({RouteMode.forward.value, RouteMode.sip.value})

# The fields mvconf compares and changes, named as the API names them.
COMPARED = ("application_id", "route_mode", "destinations")

# The managed DIDs a run may hold once ranges are expanded, unless mvconf.toml's `max_dids`
# says otherwise (ours: a bound on memory, checked before any range is expanded); `max_dids`
# may say at most MAX_DIDS_CEILING, which also bounds a journal record's `managed`.
MAX_DIDS = 1_000_000
MAX_DIDS_CEILING = 10_000_000
# Where apply writes its journal unless told otherwise (relative to the working directory).
JOURNAL_PATH = ".mvconf/journal.jsonl"

APP_ID_PATTERN = r"^app_[A-Za-z0-9_-]+$"
# A DID id as mvconf accepts it from the API (ours; MiniVoice shows `did_123`): a letter or
# digit, then letters, digits and `_ . : + -`, so an id can never carry a control sequence, a
# space or a path separator into a terminal, a URL or a journal.
DID_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$"
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
# In Python, `$` also matches before a final newline: "+15551230000\n" would pass. `\Z` does not.
APP_ID = re.compile(APP_ID_PATTERN.replace("$", r"\Z"))
# One entity-tag (RFC 9110 §8.8.3), the only ETag sent back as If-Match: not `*`, not a list.
ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e]*"')
MAX_ETAG_LENGTH = 256
E164_SHAPE = re.compile(E164_PATTERN.replace("$", r"\Z"))


def did_label(number: str, did_id: str | None) -> str:
    """How a DID is named to people: `+15551230002 (did_123)`, or the number alone."""
    return f"{number} ({did_id})" if did_id else number
