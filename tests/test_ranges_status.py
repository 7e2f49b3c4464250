"""Manifests for real accounts (SPEC §8): ranges with overrides, expected status, and the
validation gaps of 0.1 (control characters, strict version, linear duplicate checks, FIFOs)."""

from __future__ import annotations

import json
import os

import pytest

from mvconf.core.errors import ManifestError
from mvconf.manifest import load_desired

from .helpers import did


def problems_of(path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_desired([str(path)])
    return [str(p) for p in info.value.problems]


def test_a_1000_number_range_with_an_override_and_drift_plans_exactly(cli, write, state_file):
    manifest = write("dids.yaml", """
        version: 1
        applications: {sales: app_456}
        dids:
          - range: "+15551230000..+15551230999"
            application: sales
            route_mode: webhook
          - number: "+15551230500"
            route_mode: reject
        """)
    drifted = {"+15551230007", "+15551230123", "+15551230998"}
    state = state_file([did(f"+1555123{i:04d}", id=f"did_{i}",
                            app="app_999" if f"+1555123{i:04d}" in drifted else "app_456")
                        for i in range(1000)])
    result = cli("plan", manifest, "--emulator", state, "--format", "json")
    assert result.code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert len(plan["changes"]) == 1000
    updates = {c["number"]: c for c in plan["changes"] if c["action"] == "update"}
    assert set(updates) == drifted | {"+15551230500"}
    assert updates["+15551230500"]["fields"] == {"route_mode": {"from": "webhook",
                                                                "to": "reject"}}
    assert updates["+15551230500"]["source"] == f"{manifest}:7"
    assert {updates[n]["source"] for n in drifted} == {f"{manifest}:4"}
    assert plan["summary"] == {"noop": 996, "update": 4, "missing": 0, "blocked": 0,
                               "conflict": 0}


def test_overlapping_and_reversed_ranges_are_reported_at_both_lines(write):
    path = write("dids.yaml", """
        version: 1
        defaults: {route_mode: reject}
        dids:
          - range: "+15551230000..+15551230099"
          - range: "+15551230050..+15551230150"
          - range: "+15551230300..+15551230200"
          - range: "+1555123000..+15551230001"
        """)
    found = problems_of(path)
    assert any(f"{path}:4:" in p and f"overlaps the range at {path}:5" in p for p in found)
    assert any(f"{path}:5:" in p and f"overlaps the range at {path}:4" in p for p in found)
    assert any(f"{path}:6:" in p and "reversed" in p for p in found)
    assert any(f"{path}:7:" in p and "same number of digits" in p for p in found)


@pytest.mark.parametrize("entry, words", [
    ('{range: "+15551230000..+15551230001", id: did_1}', "cannot pin an 'id'"),
    ('{number: "+15551230000", range: "+15551230000..+15551230001"}', "not both"),
    ('{route_mode: reject}', "missing required key 'number'"),
    ('{range: "+15551230000..+15552230001"}', "at most 100,000"),
    ('{range: "15551230000-15551230001"}', "joined by '..'"),
])
def test_range_entries_are_checked(write, entry, words):
    path = write("dids.yaml", f"version: 1\ndefaults: {{route_mode: reject}}\ndids:\n  - {entry}\n")
    assert any(words in p for p in problems_of(path)), problems_of(path)


@pytest.mark.parametrize("expected, live_status, live_app, action", [
    ("suspended", "suspended", "app_1", "noop"),
    ("suspended", "suspended", "app_2", "blocked"),
    (None, "suspended", "app_1", "blocked"),
    ("suspended", "active", "app_1", "blocked"),
])
def test_expected_status(cli, write, state_file, expected, live_status, live_app, action):
    status = f", status: {expected}" if expected else ""
    manifest = write("dids.yaml", f'version: 1\ndids:\n  - {{number: "+15551230002", '
                     f"application: app_1, route_mode: webhook{status}}}\n")
    state = state_file([did("+15551230002", app=live_app, status=live_status)])
    result = cli("plan", manifest, "--emulator", state, "--format", "json",
                 "--detailed-exitcode")
    change = json.loads(result.stdout)["changes"][0]
    assert change["action"] == action
    assert result.code == (0 if action == "noop" else 2)
    if (expected or "active") != live_status:
        assert change["fields"]["status"] == {"from": live_status, "to": expected or "active"}
        wanted = f"to {expected}" if expected else "make it active"
        assert any(wanted in step for step in change["steps"]), change["steps"]


def test_a_misspelt_top_level_key_still_reports_the_dids_problems(write):
    path = write("dids.yaml", """
        version: 1
        aplications: {sales: app_1}
        defaults: {route_mode: fax}
        dids:
          - {number: "+1555", application: app_1, route_mode: webhook}
          - {number: "+15551230002", route_mode: forward, application: app_1}
        """)
    found = problems_of(path)
    assert any("unknown key 'aplications'" in p for p in found)
    assert any(":5:" in p and "too short" in p for p in found)
    assert any(":6:" in p and "needs at least one destination" in p for p in found)


@pytest.mark.parametrize("value", ["true", "1.0", '"1"'])
def test_version_must_be_the_integer_1(write, value):
    path = write("dids.yaml", f"version: {value}\ndids: []\n")
    assert any("version must be" in p for p in problems_of(path))


@pytest.mark.parametrize("destination, code", [
    ('"+15551230002\\n"', "U+000A"), ('"sip:pbx\\0@x.example"', "U+0000"),
    ('"sip:pbx\\a@x.example"', "U+0007"), ('"sip:pbx\\u200f@x.example"', "U+200F"),
])
def test_control_and_invisible_characters_are_refused_by_code_point(write, destination, code):
    mode = "forward" if destination.startswith('"+') else "sip"
    path = write("dids.yaml", f'version: 1\ndids:\n  - {{number: "+15551230002", application: '
                 f"app_1, route_mode: {mode}, destinations: [{destination}]}}\n")
    assert any(code in p for p in problems_of(path)), problems_of(path)


def test_duplicate_destinations_are_found_in_one_pass(write):
    many = ", ".join(f'"sip:{i}@x.example"' for i in range(50_000))
    path = write("dids.yaml", f'version: 1\ndids:\n  - {{number: "+15551230002", application: '
                 f'app_1, route_mode: sip, destinations: [{many}, "sip:7@x.example"]}}\n')
    assert [p for p in problems_of(path) if "listed twice" in p]


def test_a_fifo_in_a_manifest_directory_is_skipped_with_a_warning(cli, write, tmp_path):
    write("dids/main.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", application: '
          "app_1, route_mode: webhook}\n")
    os.mkfifo(tmp_path / "dids" / "pipe.yaml")
    result = cli("validate", tmp_path / "dids")
    assert result.code == 0 and "pipe.yaml: not a regular file; skipped" in result.stderr
