"""JSON through orjson must be exactly the JSON pydantic wrote: a saved
plan's checksum is over these bytes, so a plan saved by an earlier mvconf must still verify."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from mvconf.core.jsontext import MAX_DEPTH, dumps, loads
from mvconf.plan.change import Action, Change, Executor, FieldDiff, FieldDiffJson

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@settings(max_examples=300)
@given(values)
def test_same_bytes_as_pydantic(value):
    compact = TypeAdapter(object).dump_json(value)
    assert dumps(value) == compact
    assert dumps(value, indent=True) == TypeAdapter(object).dump_json(value, indent=2)
    assert loads(compact) == value  # integers beyond 64 bits stay exact


# The serializer plans were written with before orjson: the checksum's canonical form.
PYDANTIC_CHANGE = TypeAdapter(Change)
changes = st.builds(
    Change,
    number=st.text(max_size=16), did_id=st.none() | st.text(max_size=8),
    action=st.sampled_from(Action), executor=st.none() | st.sampled_from(Executor),
    source=st.text(max_size=20),
    fields=st.dictionaries(st.sampled_from(["application_id", "route_mode", "status"]),
                           st.builds(FieldDiff, scalars, scalars), max_size=3),
    unverified=st.lists(st.text(max_size=5), max_size=2).map(tuple),
    desired=st.dictionaries(st.text(max_size=6), values, max_size=3),
    live=st.none() | st.dictionaries(st.text(max_size=6), values, max_size=5),
    live_etag=st.none() | st.text(max_size=8),
    steps=st.lists(st.text(max_size=20), max_size=3).map(tuple),
    pin_id=st.none() | st.text(max_size=6), message=st.none() | st.text(max_size=20),
)


@settings(max_examples=300)
@given(changes)
def test_a_change_is_written_as_pydantic_wrote_it(change):
    assert change.to_json() == PYDANTIC_CHANGE.dump_json(change)
    assert change.to_json(indent=True) == PYDANTIC_CHANGE.dump_json(change, indent=2)
    assert PYDANTIC_CHANGE.validate_json(change.to_json()) == change


@pytest.mark.parametrize("text", [
    b"NaN", b'{"a": Infinity}', b'"\\ud800"', b"[" * 2000 + b"]" * 2000,
    b'{"a": 12345678901234567890123, "b": NaN}', b"\xff", b"", b'{"a": 1} x'])
def test_what_is_not_strict_json_is_refused(text):
    with pytest.raises(ValueError):
        loads(text)


def test_long_integers_stay_exact_both_ways():
    text = b'{"n":123456789012345678901234567890}'
    assert loads(text) == {"n": 123456789012345678901234567890}
    assert dumps(loads(text)) == text


@pytest.mark.parametrize("digits", [b"", b"12345678901234567890123"])
def test_what_is_read_can_be_written_however_deep(digits):
    nested = b"[" * MAX_DEPTH + digits + b"]" * MAX_DEPTH
    assert dumps(loads(nested)) == nested
    with pytest.raises(ValueError, match="deep"):
        loads(b"[" + nested + b"]")
    assert loads(b'["' + b"[" * 500 + b'"]') == ["[" * 500]  # brackets in strings are text


def test_field_diff_json_type_is_what_the_plan_schema_uses():
    assert TypeAdapter(FieldDiffJson).dump_python(FieldDiff(1, 2)) == {"from": 1, "to": 2}


@settings(max_examples=100)
@given(st.lists(changes, max_size=9), st.integers(min_value=1, max_value=4))
def test_a_plan_is_written_in_pieces_as_each_change_alone_wrote_it(listed, chunk):
    """json_chunks writes CHUNK_CHANGES changes per orjson call: joined, at any chunk size, the
    pieces are the bytes of each change written and indented on its own (as earlier versions
    wrote plans), terminal characters escaped, and the values of model_dump_json."""
    import json
    from unittest import mock

    from mvconf.core.jsontext import inert
    from mvconf.plan import model
    from mvconf.plan.model import Plan

    plan = Plan(mvconf_version="0.3.0", api_url="https://api.example", created_at="now",
                executor=Executor.api, changes=listed)
    with mock.patch.object(model, "CHUNK_CHANGES", chunk):
        written = "".join(plan.json_chunks())
    head = inert(plan.model_dump_json(indent=2, exclude={"changes"}))[:-2]
    each = [inert(c.to_json(indent=True).decode()).replace("\n", "\n    ") for c in listed]
    assert written == (head + ',\n  "changes": [\n    ' + ",\n    ".join(each) + "\n  ]\n}\n"
                       if listed else head + ',\n  "changes": []\n}\n')
    assert json.loads(written) == json.loads(plan.model_dump_json())
