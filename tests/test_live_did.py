"""A plan's `live` is the answer's own dict: it must be what validating and dumping it gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mvconf.core.facts import DID_ID_PATTERN
from mvconf.minivoice.models import LiveDID, parse_did

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
optional_text = st.none() | st.text(max_size=12)
bodies = st.fixed_dictionaries(
    {"id": st.from_regex(DID_ID_PATTERN.replace("$", r"\Z")).filter(lambda v: len(v) <= 128),
     "number_e164": st.just("+15551230000"),
     "status": st.sampled_from(["active", "suspended", "odd"]),
     "route_mode": st.sampled_from(["webhook", "reject", "forward", "teleport"])},
    optional={"customer_id": optional_text, "application_id": optional_text,
              "provider": optional_text, "created_at": optional_text, "updated_at": optional_text,
              "destinations": st.none() | st.lists(st.text(max_size=8), max_size=3),
              "etag": json_values, "sent": json_values, "extra": json_values})


@settings(max_examples=300)
@given(bodies, st.none() | st.text(max_size=6))
def test_live_is_what_validation_and_dump_give(body, etag):
    expected = LiveDID.model_validate({**body, "etag": etag}).model_dump(mode="json",
                                                                         exclude_unset=True)
    expected.pop("sent", None)  # a field of ours: the API's own `sent` is kept below
    if "sent" in body:
        expected["sent"] = body["sent"]
    did = parse_did(dict(body), "reading", etag)
    assert did.data() == expected
    assert did.etag == etag and "etag" not in did.data()
