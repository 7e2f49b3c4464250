"""yamlpos: YAML to plain data with the position of each key and item, bounded in cost."""

from __future__ import annotations

import pytest

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
