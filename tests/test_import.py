"""`mvconf import` (SPEC §12): always a valid manifest, ranges for runs, aliases, comments for
what cannot be written, and `--into`, which accepts drift into commented manifests."""

from __future__ import annotations

import difflib
import json

from .helpers import did


def plan_summary(cli, path, state):
    result = cli("plan", path, "--emulator", state, "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["summary"]


def test_hundreds_of_contiguous_numbers_become_a_handful_of_ranges(cli, state_file, tmp_path):
    records = [did(f"+1555123{i:04d}", id=f"did_{i}", app="app_456" if i < 200 else "app_123",
                   mode="webhook" if i != 250 else "reject") for i in range(300)]
    state = state_file(records)
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("# the whole block\n" + "\n".join(r["number_e164"] for r in records)
                       + "\n\n")
    out = tmp_path / "imported.yaml"
    result = cli("import", "--from-file", numbers, "--emulator", state, "--out", out)
    assert result.code == 0, result.stderr
    text = out.read_text()
    assert text.count("- range:") == 3 and text.count("- number:") == 1
    assert cli("validate", out).code == 0
    assert plan_summary(cli, out, state) == {"noop": 300, "update": 0, "missing": 0,
                                             "blocked": 0, "conflict": 0}
    single = cli("import", "--from-file", numbers, "--emulator", state, "--no-ranges")
    assert single.stdout.count("- number:") == 300


def test_what_cannot_be_written_is_a_comment_and_exit_2(cli, state_file, tmp_path):
    state = state_file([
        did("+15551230001", mode="webhook", destinations=["+15551230009"]),
        did("+15551230002", mode="forward", destinations=["+15551230002"]),
        did("+15551230003", mode="forward", destinations=["+15551230009", "+15551230009"]),
        did("+15551230004", mode="answer_url"),
        did("+15551230005", mode="forward", destinations=["+15551230009"]),
    ])
    out = tmp_path / "imported.yaml"
    result = cli("import", "+15551230001", "+15551230002", "+15551230003", "+15551230004",
                 "+15551230005", "+15551230404", "--emulator", state, "--out", out)
    assert result.code == 2, result.stderr
    assert "+15551230404" in result.stderr and "404" in result.stderr
    for number in ("+15551230001", "+15551230002", "+15551230003", "+15551230004"):
        assert f"{number} (did_{number[1:]})" in result.stderr
    assert cli("validate", out).code == 0
    assert plan_summary(cli, out, state)["noop"] == 1


def test_aliases_of_the_project_manifests_are_used(cli, write, state_file, tmp_path,
                                                   monkeypatch):
    write("project/mvconf.toml", 'manifests = ["dids"]\n')
    write("project/dids/apps.yaml", "version: 1\napplications: {sales: app_456}\ndids: []\n")
    state = state_file([did("+15551230001", app="app_456")])
    monkeypatch.chdir(tmp_path / "project")
    result = cli("import", "+15551230001", "--emulator", state)
    assert result.code == 0, result.stderr
    assert "application: sales" in result.stdout and "sales: app_456" in result.stdout


COMMENTED = """\
# Numbers of the front office. Reviewed by ops.
version: 1
applications:
  sales: app_456   # the sales team
  support: app_123
dids:
  # The front desk
  - number: "+15551230002"
    application: support
    route_mode: webhook
  # A block for the campaign
  - range: "+15551230010..+15551230019"
    application: sales
    route_mode: webhook
  - number: "+15551230030"   # keep this note
    application: sales
    route_mode: reject
"""


def test_import_into_changes_only_the_drifted_lines_and_keeps_every_comment(cli, write,
                                                                           state_file):
    path = write("dids/main.yaml", COMMENTED)
    records = [did("+15551230002", app="app_123", mode="reject", id="did_2"),
               did("+15551230030", app="app_456", mode="reject", id="did_30")]
    records += [did(f"+155512300{i}", app="app_456", id=f"did_{i}") for i in range(10, 20)]
    records[5]["application_id"] = "app_123"  # +15551230013 drifted inside the range
    state = state_file(records)
    result = cli("import", "--into", path.parent, "--emulator", state)
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"updated +15551230002 at {path}:8",
        f"overrode +15551230013 below its range at {path}:12"]
    after = path.read_text()
    for line in COMMENTED.splitlines():
        if line.strip().startswith("#") or "#" in line:
            assert line in after, line  # every comment kept, on its line
    delta = list(difflib.ndiff(COMMENTED.splitlines(), after.splitlines()))
    assert [d for d in delta if d.startswith("- ")] == ["-     route_mode: webhook"]
    assert [d for d in delta if d.startswith("+ ")] == [
        "+     route_mode: reject", '+   - number: "+15551230013"',
        "+     application: support", "+     route_mode: webhook"]
    assert plan_summary(cli, path.parent, state) == {"noop": 12, "update": 0, "missing": 0,
                                                     "blocked": 0, "conflict": 0}
    again = cli("import", "--into", path.parent, "--emulator", state)
    assert again.code == 0 and again.stdout == "" and path.read_text() == after
