"""yamlpos: YAML to plain data with the position of each key and item, bounded in cost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mvconf.manifest.yamlpos import YamlProblem, load_located


def test_positions_of_keys_items_and_deeper_values():
    text = 'version: 1\ndids:\n  - number: "+1"\n    destinations:\n      - a\n      - b\n'
    located = load_located(text)
    assert located.data == {"version": 1, "dids": [{"number": "+1", "destinations": ["a", "b"]}]}
    assert located.position(("dids",)) == (2, 1)
    assert located.position(("dids", 0)) == (3, 5)
    assert located.position(("dids", 0, "destinations", 1)) == (6, 9)  # read again when asked
    assert located.position(("dids", 0, "nothing-here")) == (3, 5)  # the nearest that exists


def test_no_document_is_none_and_two_documents_are_refused():
    assert load_located("# only a comment\n") is None
    with pytest.raises(YamlProblem, match="single document") as caught:
        load_located("a: 1\n---\nb: 2\n")
    assert caught.value.line == 2  # where the second document starts


def test_invalid_yaml_names_its_line_and_column():
    with pytest.raises(YamlProblem) as caught:
        load_located("a: [1, 2\nb: 3\n")
    assert caught.value.message.startswith("invalid YAML") and caught.value.line >= 1


def test_aliases_that_expand_past_the_bound_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    with pytest.raises(YamlProblem, match="expand to too much"):
        load_located("\n".join(lines) + "\n")


def test_nesting_is_bounded_with_a_clear_error_not_a_recursion_error():
    assert load_located("[" * 150 + "]" * 150 + "\n").data is not None
    with pytest.raises(YamlProblem, match="nested too deeply"):
        load_located("[" * 5000 + "]" * 5000 + "\n")


def test_merge_keys_are_refused_by_name():
    with pytest.raises(YamlProblem, match="merge keys"):
        load_located("base: &b {route_mode: webhook}\nx:\n  <<: *b\n")


def test_scalars_read_as_yaml_1_2_core_says():
    located = load_located("n: 12\nt: true\nq: '012'\ne: +15551230002\n")
    assert located.data == {"n": 12, "t": True, "q": "012", "e": 15551230002}


@pytest.mark.parametrize(("text", "where", "shown"), [
    ("version: 1\n~: x\n", (2, 1), "~ (null)"),
    ("a:\n  5: x\n", (2, 3), "5"),
    ("a: {true: x}\n", (1, 5), "True"),
    ("- {1.5: x}\n", (1, 4), "1.5"),
])
def test_a_key_that_is_not_a_string_is_named_where_it_is(text, where, shown):
    with pytest.raises(YamlProblem) as caught:
        load_located(text)
    assert (caught.value.line, caught.value.column) == where
    assert caught.value.message.startswith(f"a key must be a string, not {shown}")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]),
                          st.lists(st.sampled_from(["x", "y", "z"]), max_size=4)),
                min_size=1, max_size=6))
def test_every_duplicate_key_of_a_file_is_reported_at_once(entries):
    """Each repeated key, at the top level or in a nested mapping, is a problem at its own
    line and column, all in one read and in document order (a file with three needed three
    runs)."""
    lines: list[str] = []
    wanted: list[tuple[str, int, int]] = []
    seen_top: set[str] = set()
    for key, inner in entries:
        if key in seen_top:
            wanted.append((f"duplicate key {key!r}", len(lines) + 1, 1))
        seen_top.add(key)
        lines.append(f"{key}:" if inner else f"{key}: {{}}")
        seen_inner: set[str] = set()
        for name in inner:
            if name in seen_inner:
                wanted.append((f"duplicate key {name!r}", len(lines) + 1, 3))
            seen_inner.add(name)
            lines.append(f"  {name}: 1")
    text = "\n".join(lines) + "\n"
    if not wanted:
        assert load_located(text) is not None
        return
    with pytest.raises(YamlProblem) as caught:
        load_located(text)
    assert caught.value.all() == wanted


@pytest.mark.parametrize("text", ['a: 1\nb: "oops\n', 'a: 1\nb: "oops', "a: [1,\n  2\n\n"])
def test_a_problem_at_the_end_of_the_stream_is_placed_on_a_line_that_exists(text):
    with pytest.raises(YamlProblem) as caught:
        load_located(text)
    assert 1 <= caught.value.line <= len(text.splitlines())
