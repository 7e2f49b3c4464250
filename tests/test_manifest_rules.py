"""Each rule of SPEC §1 with a failing input and the exact path:line:column expected."""

from __future__ import annotations

import pytest

from mvconf.core.errors import ManifestError
from mvconf.manifest import load_desired

GOOD_HEAD = "version: 1\napplications:\n  receptionist: app_123\n  sales: app_456\ndids:\n"

CASES = [
    # (manifest text, expected "line:col: message fragment")
    ("version: 2\ndids: []\n", "1:1: version must be 1"),
    ("dids: []\n", "1:1: missing required key 'version'"),
    ("version: 1\nenvironments: []\ndids: []\n", "2:1: environments is empty: name the"),
    ("version: 1\nenvironments: ~\ndids: []\n", "2:1: environments is empty: name the"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: webhook\n"
     "    environments:\n", "9:5: environments is empty in dids[0]"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: webhook\n"
     "    environments: []\n", "9:5: environments is empty in dids[0]"),
    ("version: 1\ndidz: []\n", "2:1: unknown key 'didz'; did you mean 'dids'?"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mod: webhook\n",
     "8:5: unknown key 'route_mod' in dids[0]; did you mean 'route_mode'?"),
    ("version: 1\ndefaults:\n  routemode: webhook\n", "3:3: unknown key 'routemode' in defaults"),
    (GOOD_HEAD + "  - application: sales\n    route_mode: webhook\n",
     "6:5: missing required key 'number' in dids[0]"),
    (GOOD_HEAD + "  - number: '15551230002'\n    application: sales\n    route_mode: webhook\n",
     "6:5: number '15551230002' must be in E.164 form"),
    (GOOD_HEAD + "  - number: +15551230002\n    application: sales\n    route_mode: webhook\n",
     "6:5: number must be a quoted string"),
    (GOOD_HEAD + "  - number: '+15550100'\n    application: sales\n    route_mode: webhook\n",
     "6:5: number +15550100 is a local-only length"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n",
     "6:5: missing required key 'route_mode'"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: fax\n",
     "8:5: route_mode must be one of webhook, reject, forward, sip, not 'fax'"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    route_mode: webhook\n",
     "6:5: missing required key 'application'"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sails\n    route_mode: webhook\n",
     "7:5: application 'sails' is neither an alias from 'applications' nor an id like app_123; "
     "did you mean 'sales'?"),
    ("version: 1\napplications:\n  bad: 123abc\n", "3:3: alias 'bad' must name an application id"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: forward\n",
     "6:5: route_mode forward needs at least one destination (an E.164 number)"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: sip\n"
     "    destinations: ['+15551230001']\n",
     "9:20: destination '+15551230001' must be a sip: or sips: URI"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: webhook\n"
     "    destinations: ['+15551230001']\n",
     "9:5: route_mode webhook takes no destinations"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: forward\n"
     "    destinations:\n      - '+15551230001'\n      - '+15551230001'\n",
     "11:9: destination +15551230001 is listed twice"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: forward\n"
     "    destinations: ['+15551230002']\n",
     "9:20: destination +15551230002 is the DID's own number"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: forward\n"
     "    destinations: ['0151234']\n",
     "9:20: destination '0151234' must be in E.164 form"),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: webhook\n"
     "  - number: '+15551230002'\n    application: sales\n    route_mode: reject\n",
     "9:5: number +15551230002 is also managed at "),
    (GOOD_HEAD + "  - number: '+15551230002'\n    application: sales\n    route_mode: webhook\n"
     "    colour: red\n", "9:5: unknown key 'colour' in dids[0]"),
    ("[1, 2]\n", "1:1: a manifest must be a mapping"),
    ("", "1:1: the file is empty"),
    ("version: 1\ndids: [\n", "2:8: invalid YAML"),
    ("version: 1\nversion: 1\n", "2:1: duplicate key 'version'"),
    ("version: 1\ndids: !!python/object/apply:os.system ['true']\n", "2:7: unsupported YAML tag"),
    ("version: 1\ndids: !!binary aGVsbG8=\n", "2:7: unsupported YAML value"),
    ("version: 1\ndids: !!int\n", "2:7: unreadable value ''"),
    ("version: 1\ndids: {a: 1}\n", "2:1: dids: input should be a valid list"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_rule_reports_exact_location(tmp_path, text, expected):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError) as info:
        load_desired([str(path)])
    rendered = [str(p) for p in info.value.problems]
    assert any(r.startswith(f"{path}:{expected}") for r in rendered), rendered


def test_documentation_numbers_pass_but_strict_rejects_them(write):
    path = write("docs.yaml", """
        version: 1
        dids:
          - number: "+15551230002"
            application: app_123
            route_mode: webhook
    """)
    [did] = load_desired([str(path)])
    assert (did.number, did.application_id, did.route_mode) == (
        "+15551230002", "app_123", "webhook")
    with pytest.raises(ManifestError, match="not a valid number for its region"):
        load_desired([str(path)], strict=True)


def test_defaults_and_global_aliases_across_files(write, tmp_path):
    write("a_apps.yaml", "version: 1\napplications:\n  sales: app_456\n")
    write("sub/b.yml", """
        version: 1
        defaults:
          application: sales
          route_mode: forward
          destinations: ["+4915112345678"]
        dids:
          - number: "+15551230002"
          - number: "+15551230003"
            route_mode: webhook
          - number: "+15551230004"
            route_mode: reject
            application: app_999
    """)
    dids = load_desired([str(tmp_path)])
    assert [(d.number, d.application_id, d.route_mode, d.destinations) for d in dids] == [
        ("+15551230002", "app_456", "forward", ("+4915112345678",)),
        ("+15551230003", "app_456", "webhook", ()),
        ("+15551230004", "app_999", "reject", ()),
    ]
    assert dids[0].source.endswith("sub/b.yml:7")


def test_reject_without_application_leaves_assignment(write):
    path = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", route_mode: reject}\n')
    [did] = load_desired([str(path)])
    assert did.application_id is None


def test_alias_bound_to_two_ids_names_both_places(write, tmp_path):
    write("a.yaml", "version: 1\napplications:\n  sales: app_456\n")
    write("b.yaml", "version: 1\napplications:\n  sales: app_789\n")
    with pytest.raises(ManifestError) as info:
        load_desired([str(tmp_path)])
    [problem] = info.value.problems
    assert str(problem) == (f"{tmp_path}/b.yaml:3:3: alias 'sales' is app_789 here but app_456 "
                            f"at {tmp_path}/a.yaml:3")


def test_duplicate_number_across_files_names_both(write, tmp_path):
    body = ('version: 1\ndids:\n'
            '  - {number: "+15551230002", application: app_1, route_mode: webhook}\n')
    write("a.yaml", body)
    write("b/c.yaml", body)
    with pytest.raises(ManifestError) as info:
        load_desired([str(tmp_path)])
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path}/b/c.yaml:3:6: number +15551230002 is also managed at {tmp_path}/a.yaml:3"
    ]


def test_directory_order_and_hidden_entries(write, tmp_path):
    write("b.yaml", 'version: 1\ndids:\n  - {number: "+15551230003", route_mode: reject}\n')
    write("a/z.yml", 'version: 1\ndids:\n  - {number: "+15551230002", route_mode: reject}\n')
    write(".hidden/x.yaml", "not: [valid")
    write(".skip.yaml", "not: [valid")
    write("notes.txt", "ignored")
    assert [d.number for d in load_desired([str(tmp_path)])] == ["+15551230002", "+15551230003"]


def test_path_without_manifests_is_an_error(tmp_path):
    with pytest.raises(ManifestError, match="no manifest"):
        load_desired([str(tmp_path)])


def test_alias_bomb_is_refused(tmp_path):
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 9) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match="expand to too much"):
        load_desired([str(tmp_path / "bomb.yaml")])


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(16 * 1024 * 1024 + 1)
    with pytest.raises(ManifestError, match="limited to 16 MiB"):
        load_desired([str(path)])


def test_unknown_key_and_other_rules_of_one_did_in_one_run(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text('version: 1\ndids:\n  - number: "+15551230002"\n    application: app_1\n'
                    '    route_mode: forward\n    destination: ["+15551230003"]\n')
    with pytest.raises(ManifestError) as info:
        load_desired([str(path)])
    rendered = [str(p) for p in info.value.problems]
    assert any("unknown key 'destination'" in r and "did you mean 'destinations'" in r
               for r in rendered), rendered
    assert any(r.startswith(f"{path}:3:5: route_mode forward needs") for r in rendered), rendered


@pytest.mark.parametrize("key", ["status: 5", "description: [a]", "id: 7",
                                 "policy_exceptions: x"])
def test_a_wrong_value_that_hides_nothing_does_not_hide_the_entrys_other_rules(tmp_path, key):
    path = tmp_path / "m.yaml"
    path.write_text('version: 1\ndids:\n  - number: "+1555"\n    application: nosuch\n'
                    f"    route_mode: webhook\n    {key}\n")
    with pytest.raises(ManifestError) as info:
        load_desired([str(path)])
    rendered = [str(p) for p in info.value.problems]
    assert len(rendered) == 3, rendered
    assert any(":3:5: number +1555 is too short" in r for r in rendered), rendered
    assert any(":4:5: application 'nosuch'" in r for r in rendered), rendered


def problems_with_alias_used_in_b(write, tmp_path, alias: str) -> list:
    """The problems of the manifests in tmp_path once b.yaml uses `alias` (at its line 4)."""
    write("b.yaml", f"""
        version: 1
        dids:
          - number: "+15551230014"
            application: {alias}
            route_mode: webhook
    """)
    with pytest.raises(ManifestError) as caught:
        load_desired([str(tmp_path)])
    return caught.value.problems


def test_an_unknown_alias_says_which_unreadable_file_may_define_it(write, tmp_path):
    """A file that cannot be read at all (here a YAML value mvconf does not take) takes its
    aliases with it: an alias used elsewhere is reported as possibly defined there, not only as
    unknown (the file to fix first is the unreadable one)."""
    write("a.yaml", """
        version: 1
        applications: {beta: app_456}
        dids:
          - number: "+15551230001"
            application: beta
            route_mode: webhook
            description: !!binary aGVsbG8=
    """)
    messages = [str(p) for p in problems_with_alias_used_in_b(write, tmp_path, "beta")]
    assert len(messages) == 2 and "a.yaml:7:" in messages[0]
    assert "b.yaml:4:" in messages[1] and "application 'beta' is neither an alias" in messages[1]
    assert messages[1].endswith(f"{tmp_path / 'a.yaml'} could not be read, and may define it")


def test_a_duplicate_key_hides_none_of_the_files_other_problems_nor_its_aliases(write, tmp_path):
    """Every problem of every file in one run: a duplicate key is reported with the same file's
    unknown key and bad number, and the aliases it defines still serve other files."""
    write("a.yaml", """
        version: 1
        applications: {sales: app_456}
        dids:
          - number: "+15551230001"
            application: sales
            route_mdoe: webhook
            route_mode: webhook
            route_mode: reject
          - number: "+1555"
            route_mode: reject
    """)
    found = [(p.path.rsplit("/", 1)[-1], p.line, p.message.split(";")[0])
             for p in problems_with_alias_used_in_b(write, tmp_path, "sales")]
    assert found == [("a.yaml", 6, "unknown key 'route_mdoe' in dids[0]"),
                     ("a.yaml", 8, "duplicate key 'route_mode'"),
                     ("a.yaml", 9, "number +1555 is too short for its country")]
