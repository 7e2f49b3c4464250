"""plan, apply, rollback and import end to end against the in-process emulator."""

from __future__ import annotations

import json

import pytest

from .helpers import did

MANIFEST = """
version: 1
applications: {receptionist: app_123, sales: app_456}
dids:
  - number: "+15551230002"
    application: sales
    route_mode: reject
  - number: "+15551230003"
    application: receptionist
    route_mode: forward
    destinations: ["+4915112345678"]
  - number: "+15551230004"
    application: receptionist
    route_mode: webhook
"""


@pytest.fixture
def project(write, state_file):
    manifest = write("dids.yaml", MANIFEST)
    state = state_file([did("+15551230002", id="did_2"),
                        did("+15551230003", id="did_3", destinations=[]),
                        did("+15551230004", id="did_4")])
    return manifest, state


def dids_in(state):
    return {d["number_e164"]: d for d in json.loads(state.read_text())["dids"]}


def test_plan_text_json_markdown_and_exit_codes(cli, project, tmp_path):
    manifest, state = project
    text = cli("plan", manifest, "--emulator", state)
    assert text.code == 0
    assert '~ +15551230002 (did_2)' in text.stdout
    assert 'application_id: "app_123" -> "app_456"' in text.stdout
    assert text.stdout.strip().splitlines()[-1] == "Plan: 2 to update, 1 unchanged."
    assert "\x1b[" not in text.stdout
    assert cli("plan", manifest, "--emulator", state, "--detailed-exitcode").code == 2
    out = tmp_path / "plan.json"
    md = cli("plan", manifest, "--emulator", state, "--format", "markdown", "--out", out)
    assert md.stdout.startswith("<!-- mvconf-plan -->\n")
    saved = json.loads(out.read_text())
    assert saved["summary"] == {"noop": 1, "update": 2, "missing": 0, "blocked": 0, "conflict": 0}
    assert saved["api_url"] == f"emulator:{state}"
    assert [c["source"] for c in saved["changes"]] == [f"{manifest}:4", f"{manifest}:7",
                                                        f"{manifest}:11"]
    as_json = json.loads(cli("plan", manifest, "--emulator", state, "--format", "json").stdout)
    assert as_json["changes"][0]["fields"] == saved["changes"][0]["fields"]


def test_conflict_prints_the_plan_then_exits_1(cli, write, state_file):
    manifest = write("pin.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     'application: app_123, route_mode: webhook, id: did_other}\n')
    state = state_file([did("+15551230002", id="did_2")])
    result = cli("plan", manifest, "--emulator", state, "--detailed-exitcode")
    assert result.code == 1 and "x +15551230002 (did_2)" in result.stdout
    assert "conflict" in result.stderr


def test_api_apply_is_idempotent_and_journaled(cli, project, tmp_path):
    manifest, state = project
    journal = tmp_path / "j.jsonl"
    first = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
                "--journal", journal)
    assert first.code == 0, first.stderr
    assert "Apply: 2 applied, 0 failed, 0 skipped, 0 manual." in first.stdout
    live = dids_in(state)
    assert (live["+15551230002"]["application_id"], live["+15551230002"]["route_mode"]) == \
        ("app_456", "reject")
    assert live["+15551230003"]["destinations"] == ["+4915112345678"]
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    for number in ("+15551230002", "+15551230003"):  # writes run concurrently: per DID
        assert [(r["phase"], r.get("outcome")) for r in records if r["number"] == number] == [
            ("intent", None), ("outcome", "applied")]
    assert len({r["run"] for r in records}) == 1
    again = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
                "--journal", journal)
    assert again.code == 0 and again.stdout.strip() == "No changes."
    assert cli("plan", manifest, "--emulator", state, "--detailed-exitcode").code == 0


def test_api_apply_without_tty_needs_auto_approve(cli, project):
    manifest, state = project
    result = cli("apply", manifest, "--emulator", state, "--executor", "api")
    assert result.code == 1 and "--auto-approve" in result.stderr
    assert dids_in(state)["+15551230002"]["route_mode"] == "webhook"


def test_manual_apply_prints_steps_and_exits_3(cli, project, tmp_path):
    manifest, state = project
    result = cli("apply", manifest, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 3
    assert "Assign DID +15551230002 (did_2) to application app_456 (currently app_123)." \
        in result.stdout
    assert dids_in(state)["+15551230002"]["application_id"] == "app_123"


def test_saved_plan_applies_exactly_and_refuses_when_stale(cli, project, tmp_path):
    manifest, state = project
    out = tmp_path / "plan.json"
    cli("plan", manifest, "--emulator", state, "--executor", "api", "--out", out)
    data = json.loads(state.read_text())
    data["dids"][2]["route_mode"] = "reject"
    data["dids"][2]["updated_at"] = "2026-11-01T00:00:00Z"
    state.write_text(json.dumps(data))
    unaffected = cli("apply", out, "--emulator", state, "--journal", tmp_path / "j")
    assert unaffected.code == 0, unaffected.stderr  # the changed DID is not one the plan changes
    out2 = tmp_path / "plan2.json"
    cli("plan", manifest, "--emulator", state, "--executor", "api", "--out", out2)
    data = json.loads(state.read_text())
    data["dids"][2]["route_mode"] = "sip"
    state.write_text(json.dumps(data))
    stale = cli("apply", out2, "--emulator", state, "--journal", tmp_path / "j")
    assert stale.code == 1 and "stale" in stale.stderr and "+15551230004" in stale.stderr
    assert dids_in(state)["+15551230004"]["route_mode"] == "sip"


def test_saved_plan_for_another_api_is_refused(cli, project, tmp_path, state_file):
    manifest, state = project
    out = tmp_path / "plan.json"
    cli("plan", manifest, "--emulator", state, "--out", out)
    other = tmp_path / "other.json"
    other.write_text(state.read_text())
    result = cli("apply", out, "--emulator", other)
    assert result.code == 1 and "plan again" in result.stderr


def test_mass_change_threshold(cli, write, state_file):
    body = "version: 1\ndids:\n" + "".join(
        f'  - {{number: "+1555123{i:04d}", application: app_123, route_mode: '
        f'{"reject" if i < 4 else "webhook"}}}\n' for i in range(10))
    manifest = write("many.yaml", body)
    state = state_file([did(f"+1555123{i:04d}", id=f"did_{i}") for i in range(10)])
    plan = cli("plan", manifest, "--emulator", state)
    assert "apply will refuse without --allow-mass-change" in plan.stdout
    refused = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve")
    assert refused.code == 1
    assert "4 of 10 managed DIDs would change (40% > 30%)" in refused.stderr
    assert "--allow-mass-change" in refused.stderr
    allowed = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
                  "--allow-mass-change", "--journal", state.parent / "j")
    assert allowed.code == 0


def test_partial_failure_goes_on_and_says_what_happened(cli, project, tmp_path):
    manifest, state = project
    data = json.loads(state.read_text())
    data["write_errors"] = {"did_2": {"status": 403, "code": "forbidden",
                                      "message": "number is locked"}}
    state.write_text(json.dumps(data))
    journal = tmp_path / "j.jsonl"
    result = cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
                 "--journal", journal)
    assert result.code == 1
    assert "forbidden: number is locked" in result.stderr
    assert "Apply: 1 applied, 1 failed, 0 skipped, 0 manual." in result.stdout
    outcomes = {json.loads(x)["number"]: json.loads(x).get("outcome")
                for x in journal.read_text().splitlines() if '"outcome"' in x}
    assert outcomes == {"+15551230002": "failed", "+15551230003": "applied"}


def test_rollback_restores_and_rolling_back_twice_restores_again(cli, project, tmp_path):
    manifest, state = project
    journal = tmp_path / "j.jsonl"
    args = ("--emulator", state, "--executor", "api", "--auto-approve", "--journal", journal)
    cli("apply", manifest, *args)
    back = cli("rollback", *args)
    assert back.code == 0, back.stderr
    live = dids_in(state)
    assert (live["+15551230002"]["application_id"], live["+15551230002"]["route_mode"]) == \
        ("app_123", "webhook")
    assert live["+15551230003"]["destinations"] == []
    again = cli("rollback", *args)
    assert again.code == 0
    assert dids_in(state)["+15551230002"]["route_mode"] == "reject"


def test_rollback_refuses_when_live_moved_on(cli, project, tmp_path):
    manifest, state = project
    journal = tmp_path / "j.jsonl"
    args = ("--emulator", state, "--executor", "api", "--auto-approve", "--journal", journal)
    cli("apply", manifest, *args)
    data = json.loads(state.read_text())
    data["dids"][0]["route_mode"] = "sip"
    state.write_text(json.dumps(data))
    result = cli("rollback", *args)
    assert result.code == 1 and "stale" in result.stderr and "+15551230002" in result.stderr


def test_import_round_trip_plans_only_noops(cli, project, tmp_path):
    manifest, state = project
    cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
        "--journal", tmp_path / "j")
    out = tmp_path / "imported" / "dids.yaml"
    out.parent.mkdir()
    result = cli("import", "+15551230002", "+15551230003", "+15551230004", "--emulator", state,
                 "--out", out)
    assert result.code == 0, result.stderr
    assert cli("validate", out).code == 0
    plan = cli("plan", out, "--emulator", state, "--detailed-exitcode")
    assert plan.code == 0 and plan.stdout.strip().endswith("Plan: 3 unchanged.")


def test_target_limits_plan_and_unknown_target_is_an_error(cli, project):
    manifest, state = project
    one = cli("plan", manifest, "--emulator", state, "--target", "+15551230003")
    assert one.stdout.strip().endswith("Plan: 1 to update.")
    bad = cli("plan", manifest, "--emulator", state, "--target", "+15551239999")
    assert bad.code == 1 and "not managed" in bad.stderr
