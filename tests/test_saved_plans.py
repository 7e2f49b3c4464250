"""Saved plans are checked, not trusted (SPEC §11); the journal belongs to one API; rollback is
measured against the run it undoes."""

from __future__ import annotations

import json

import pytest

from .helpers import did

N = 40


@pytest.fixture
def project(write, state_file):
    """40 DIDs on app_123; the manifest moves the first 10 to app_456 (25%: under 30%)."""
    manifest = write("dids.yaml", "version: 1\ndids:\n" + "".join(
        f'  - {{number: "+1555123{i:04d}", application: {"app_456" if i < 10 else "app_123"}, '
        f"route_mode: webhook}}\n" for i in range(N)))
    state = state_file([did(f"+1555123{i:04d}", id=f"did_{i}") for i in range(N)])
    return manifest, state


def saved(cli, manifest, state, path):
    result = cli("plan", manifest, "--emulator", state, "--executor", "api", "--out", path)
    assert result.code == 0, result.stderr
    return json.loads(path.read_text())


def apps(state):
    return {d["number_e164"]: d["application_id"] for d in json.loads(state.read_text())["dids"]}


def test_the_checksum_is_shown_and_an_edited_plan_is_refused(cli, project, tmp_path):
    manifest, state = project
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    shown = cli("plan", manifest, "--emulator", state, "--executor", "api")
    assert f"Plan checksum: {data['checksum']}" in shown.stdout
    data["changes"][0]["fields"]["application_id"]["to"] = "app_evil"
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "checksum does not match" in result.stderr
    assert set(apps(state).values()) == {"app_123"}


def test_apply_checksum_requires_exactly_the_reviewed_plan(cli, project, tmp_path):
    manifest, state = project
    reviewed = saved(cli, manifest, state, tmp_path / "plan.json")["checksum"]
    other = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
                "--checksum", "0" * 64, "--journal", tmp_path / "j")
    assert other.code == 1 and "not the reviewed one" in other.stderr
    assert set(apps(state).values()) == {"app_123"}
    same = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
               "--checksum", f"sha256:{reviewed}", "--journal", tmp_path / "j")
    assert same.code == 0, same.stderr
    assert list(apps(state).values()).count("app_456") == 10


def rechecksum(data):
    """The checksum of the edited changes, as whoever edited them could compute it."""
    from mvconf.plan.model import Plan

    data["checksum"] = Plan.model_validate(data).checksum


def test_a_checksum_that_is_not_a_string_is_refused(cli, project, tmp_path):
    manifest, state = project
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    data["changes"][0]["desired"]["application_id"] = "app_999"
    data["changes"][0]["fields"]["application_id"]["to"] = "app_999"
    data["checksum"] = 0
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "checksum that is not a string" in result.stderr
    assert "app_999" not in state.read_text()


def test_without_a_checksum_only_checksum_hex_proves_the_reviewed_plan(cli, project, tmp_path):
    # SPEC §3 plans need no checksum; an edited one without it is what --checksum is for.
    manifest, state = project
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    reviewed = data.pop("checksum")
    data["changes"][0]["desired"]["application_id"] = "app_999"
    data["changes"][0]["fields"]["application_id"]["to"] = "app_999"
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j",
                 "--checksum", reviewed)
    assert result.code == 1 and "not the reviewed one" in result.stderr
    assert "app_999" not in state.read_text()


@pytest.mark.parametrize("version", ["true", "1.0"])
def test_a_format_version_is_the_integer_1(cli, project, tmp_path, version):
    manifest, state = project
    path = tmp_path / "plan.json"
    saved(cli, manifest, state, path)
    path.write_text(path.read_text().replace('"format_version": 1', f'"format_version": {version}'))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "format_version" in result.stderr


@pytest.mark.parametrize("etag", ['"v1"\r\nX-Evil: 1', "*", '"a", "b"', "W/" + '"x' * 200])
def test_a_live_etag_that_is_not_one_entity_tag_is_refused_before_any_write(cli, project,
                                                                           tmp_path, etag):
    manifest, state = project
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    before = state.read_text()
    data["changes"][-1]["live_etag"] = etag
    rechecksum(data)
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "live_etag is not one entity-tag" in result.stderr
    assert state.read_text() == before


def test_a_deeply_nested_saved_plan_is_a_clear_error(cli, project, tmp_path):
    _, state = project
    path = tmp_path / "plan.json"
    path.write_text('{"format_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = cli("apply", path, "--emulator", state)
    assert result.code == 1 and "unexpected" not in result.stderr
    assert "depth" in result.stderr or "deep" in result.stderr


def test_padding_a_plan_with_noops_does_not_hide_a_mass_change(cli, project, tmp_path):
    manifest, state = project
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    data["summary"]["update"] = 0
    data["safety"]["exceeds_threshold"] = False
    data["changes"] = data["changes"][:10]  # 10 updates of 10 managed: 100%
    rechecksum(data)  # an edited plan with its checksum made anew: figures are still computed
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "refusing a mass change: 10 of 10" in result.stderr


def test_an_edited_did_id_is_refused_as_stale(cli, project, tmp_path):
    manifest, state = project
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    data["changes"][0]["did_id"] = "did_39"
    rechecksum(data)
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "stale" in result.stderr and "not did_39" in result.stderr
    assert set(apps(state).values()) == {"app_123"}


def test_a_saved_plan_with_manifest_paths_is_a_usage_error(cli, project, tmp_path):
    manifest, state = project
    path = tmp_path / "plan.json"
    saved(cli, manifest, state, path)
    result = cli("apply", path, manifest, "--emulator", state)
    assert result.code == 1 and "applied alone" in result.stderr


def test_rollback_passes_the_threshold_its_run_passed(cli, project, tmp_path):
    manifest, state = project
    journal = tmp_path / "j.jsonl"
    applied = cli("apply", manifest, "--emulator", state, "--executor", "api",
                  "--auto-approve", "--journal", journal)
    assert applied.code == 0, applied.stderr
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {r["managed"] for r in records} == {N}
    assert {r["api_url"] for r in records} == {f"emulator:{state}"}
    undone = cli("rollback", "--emulator", state, "--executor", "api", "--auto-approve",
                 "--journal", journal)
    assert undone.code == 0, undone.stderr  # 10 of 40, as the run was: no --allow-mass-change
    assert set(apps(state).values()) == {"app_123"}


def test_a_journal_of_another_api_is_never_rolled_back(cli, project, tmp_path, state_file):
    manifest, state = project
    journal = tmp_path / "j.jsonl"
    assert cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
               "--journal", journal).code == 0
    production = state_file([did(f"+1555123{i:04d}", id=f"did_{i}", app="app_456")
                             for i in range(N)], name="production.json")
    before = production.read_bytes()
    result = cli("rollback", "--emulator", production, "--executor", "api", "--auto-approve",
                 "--journal", journal)
    assert result.code == 1 and "no applied or confirmed change made against" in result.stderr
    assert production.read_bytes() == before


def test_manual_rollback_names_rollback_wait(cli, project, tmp_path):
    manifest, state = project
    journal = tmp_path / "j.jsonl"
    assert cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
               "--journal", journal).code == 0
    result = cli("rollback", "--emulator", state, "--journal", journal)
    assert result.code == 3
    assert "mvconf rollback --wait" in result.stdout and "mvconf apply" not in result.stdout


def test_appends_begin_on_a_fresh_line_after_a_torn_one(cli, project, tmp_path):
    manifest, state = project
    journal = tmp_path / "j.jsonl"
    journal.write_text('{"run": "r0", "phase": "intent", "num')  # torn by a crash
    result = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
                 "--journal", journal)
    assert result.code == 0, result.stderr
    assert "line(s) 1 are not journal records" in result.stderr
    lines = journal.read_text().splitlines()
    assert all(json.loads(line) for line in lines[1:]) and len(lines) == 21


def test_a_lock_left_by_a_dead_run_is_taken_over_and_said(cli, project, tmp_path):
    import socket
    import subprocess
    import sys

    manifest, state = project
    journal = tmp_path / "j.jsonl"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / "j.jsonl.lock").write_text(json.dumps({
        "pid": int(gone), "host": socket.gethostname(), "command": "mvconf apply",
        "started": "2026-11-25T00:00:00Z", "held": True}))
    result = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
                 "--journal", journal)
    assert result.code == 0, result.stderr
    assert f"took over the lock {tmp_path / 'j.jsonl.lock'} left by pid {gone}" in result.stderr


@pytest.mark.parametrize("hide", ["fields", "unverified too"])
def test_a_saved_plan_cannot_switch_routing_over_hidden_destinations(cli, write, state_file,
                                                                      tmp_path, hide):
    manifest = write("one.yaml", 'version: 1\ndids:\n  - {number: "+15551230001", application: '
                     'app_123, route_mode: forward, destinations: ["+15551239999"]}\n')
    hidden = did("+15551230001", id="did_1")
    hidden.pop("destinations", None)
    state = state_file([hidden])
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    assert "destinations" in data["changes"][0]["fields"]
    del data["changes"][0]["fields"]["destinations"]
    if hide == "unverified too":
        data["changes"][0]["unverified"] = []  # the live DID it recorded still says hidden
    rechecksum(data)
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "without writing the destinations the API hides" in result.stderr
    assert json.loads(state.read_text())["dids"][0]["route_mode"] == "webhook"


@pytest.mark.parametrize("key", ["api_url", "environment"])
def test_a_saved_plans_api_url_or_environment_is_shown_inert(cli, project, tmp_path, key):
    manifest, state = project
    path = tmp_path / "plan.json"
    data = saved(cli, manifest, state, path)
    data[key] = "x\nApply: 40 applied, 0 failed."
    path.write_text(json.dumps(data))
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "x\\u000aApply: 40 applied" in result.stderr
    assert "\nApply: 40" not in result.stderr
