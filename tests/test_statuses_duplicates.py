"""Statuses mvconf knows, and validate reporting every problem of every DID (SPEC §8)."""

from __future__ import annotations


def test_a_known_status_is_quietly_accepted(cli, write):
    path = write("d.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", application: '
                 'app_1, route_mode: webhook, status: suspended}\n')
    result = cli("validate", path)
    assert result.code == 0 and "Warning" not in result.stderr


def test_an_unknown_status_is_a_warning_with_a_suggestion_and_an_error_when_strict(cli, write):
    path = write("d.yaml", 'version: 1\ndids:\n  - number: "+15551230002"\n    application: '
                 "app_1\n    route_mode: webhook\n    status: suspend\n")
    result = cli("validate", path)
    assert result.code == 0
    assert f"Warning: {path}:6:5: status 'suspend' is not a known DID status (known: " \
        "active, suspended); did you mean 'suspended'?" in result.stderr
    strict = cli("validate", path, "--strict")
    assert strict.code == 1 and "did you mean 'suspended'?" in strict.stderr


def test_an_upper_case_status_names_the_rule_not_a_regex(cli, write):
    path = write("d.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", application: '
                 "app_1, route_mode: webhook, status: SUSPENDED}\n")
    result = cli("validate", path, "--strict")
    assert result.code == 1 and "pattern" not in result.stderr
    assert "did you mean 'suspended'?" in result.stderr


def test_a_duplicate_is_reported_even_when_its_dids_have_other_problems(cli, write):
    a = write("a.yaml", 'version: 1\ndids:\n  - number: "+15551230002"\n    application: '
              'app_1\n    route_mode: sip\n    destinations: ["not-a-uri"]\n')
    b = write("b.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", application: app_1, '
              "route_mode: webhook}\n")
    result = cli("validate", a.parent)
    assert result.code == 1
    assert "must be a sip: or sips: URI" in result.stderr
    assert f"{b}:3:" in result.stderr and "is also managed at" in result.stderr


def test_import_takes_numbers_by_the_rules_of_validate(cli, state_file):
    state = state_file([])
    for given in ("4155551000", "+1 415 555 1000", "tel:+14155551000"):
        result = cli("import", given, "--emulator", state)
        assert result.code == 1 and "E.164" in result.stderr and repr(given) in result.stderr


def test_a_duplicate_is_reported_even_when_the_first_entry_has_a_type_error(cli, write):
    a = write("a.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", application: app_1, '
              "route_mode: bogus}\n")
    b = write("b.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", application: app_1, '
              "route_mode: webhook}\n")
    result = cli("validate", a.parent)
    assert result.code == 1 and "bogus" in result.stderr
    assert f"{b}:3:" in result.stderr and f"is also managed at {a}:3" in result.stderr
