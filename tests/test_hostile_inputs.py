"""Hostile files, journals and saved plans (issue 7/7, round 3): each is a clear error with a
bounded cost, and nothing it says is taken on trust."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc

import pytest

from mvconf.apply.rollback import changed_records

from .helpers import did

MANIFEST = """\
version: 1
dids:
  - {number: "+15551230001", application: APP, route_mode: webhook}
"""


@pytest.fixture
def setup(tmp_path, state_file):
    state = state_file([did("+15551230001", id="did_1")])
    manifest = tmp_path / "dids.yaml"
    manifest.write_text(MANIFEST.replace("APP", "app_456"))
    return state, manifest


def apply(cli, manifest, state, journal, *extra):
    return cli("apply", manifest, "--emulator", state, "--executor", "api", "--auto-approve",
               "--allow-mass-change", "--journal", journal, *extra)


@pytest.mark.parametrize("device", ["/dev/full", "/dev/zero"])
def test_a_device_journal_is_refused_and_no_lock_is_made_beside_it(cli, setup, device):
    state, manifest = setup
    existed = os.path.exists(device + ".lock")
    result = apply(cli, manifest, state, device)
    assert result.code == 1 and "Traceback" not in result.stderr
    assert f"the journal {device} is a device; only a regular file is used" in result.stderr
    assert os.path.exists(device + ".lock") == existed
    assert json.loads(state.read_text())["dids"][0]["application_id"] == "app_123"


def test_a_fifo_journal_is_refused_at_once(setup, tmp_path):
    state, manifest = setup
    fifo = tmp_path / "journal.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "mvconf", "apply", str(manifest), "--emulator",
                           str(state), "--executor", "api", "--auto-approve", "--journal",
                           str(fifo)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "is a FIFO; only a regular file is used" in proc.stderr


def test_a_device_as_events_or_emulator_state_is_refused(cli, setup):
    state, manifest = setup
    result = cli("verify-events", manifest, "--events", "/dev/zero")
    assert result.code == 1 and "the events file /dev/zero is a device" in result.stderr
    result = cli("plan", manifest, "--emulator", "/dev/zero")
    assert result.code == 1 and "Traceback" not in result.stderr
    assert "the emulator state file /dev/zero is a device" in result.stderr
    existed = os.path.exists("/dev/zero.lock")
    locked = apply(cli, manifest, "/dev/zero", state.parent / "j.jsonl")  # locks its state
    assert locked.code == 1 and "the emulator state file /dev/zero is a device" in locked.stderr
    assert os.path.exists("/dev/zero.lock") == existed


def record(run, number="+15551230001", **values):
    base = {"run": run, "at": "2026-12-01T00:00:00Z", "phase": "outcome", "number": number,
            "did_id": "did_1", "before": {"application_id": "app_123", "route_mode": "webhook",
                                          "destinations": []},
            "after": {"application_id": "app_456", "route_mode": "webhook", "destinations": []},
            "outcome": "applied", "error": None, "api_url": None, "environment": None,
            "managed": 1}
    base.update(values)
    return json.dumps(base) + "\n"


@pytest.mark.parametrize(("values", "why"), [
    ({"before": {"application_id": "app_1", "route_mode": "forward", "destinations": [1, 2]}},
     "before.destinations must hold strings only"),
    ({"managed": 10**12}, "'managed' must be a whole number from 0 to 10,000,000"),
    ({"after": {"application_id": 5}}, "after.application_id must be a str or null"),
    ({"number": ["+1"]}, "'number' must be an E.164 number"),
])
def test_a_journal_record_with_wrong_values_is_an_error_naming_its_line(cli, setup, tmp_path,
                                                                        values, why):
    state, _ = setup
    journal = tmp_path / "journal.jsonl"
    journal.write_text(record("r1") + record("r2", **values))
    result = cli("rollback", "--emulator", state, "--journal", journal, "--executor", "api",
                 "--auto-approve")
    assert result.code == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{journal}:2: not a journal record mvconf wrote: {why}" in result.stderr


def test_one_run_with_two_managed_counts_is_refused(tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text(record("r1", managed=5) + record("r1", "+15551230002", managed=50000))
    with pytest.raises(Exception, match=r"journal.jsonl:2: .*'managed' is 50000 but earlier"):
        changed_records(str(journal), None, "x")


def test_rollback_last_2_over_two_runs_of_one_did_restores_the_first_before(cli, setup,
                                                                             tmp_path):
    state, manifest = setup
    journal = tmp_path / "journal.jsonl"
    assert apply(cli, manifest, state, journal).code == 0  # app_123 -> app_456
    manifest.write_text(MANIFEST.replace("APP", "app_789"))
    assert apply(cli, manifest, state, journal).code == 0  # app_456 -> app_789
    result = cli("rollback", "--last", "2", "--emulator", state, "--journal", journal,
                 "--executor", "api", "--auto-approve", "--allow-mass-change")
    assert result.code == 0, result.stderr
    assert json.loads(state.read_text())["dids"][0]["application_id"] == "app_123"


def test_rollback_last_more_than_any_journal_holds_means_all(cli, setup, tmp_path):
    state, manifest = setup
    journal = tmp_path / "journal.jsonl"
    assert apply(cli, manifest, state, journal).code == 0  # app_123 -> app_456
    result = cli("rollback", "--last", "9" * 20, "--emulator", state, "--journal", journal,
                 "--executor", "api", "--auto-approve", "--allow-mass-change")
    assert result.code == 0, result.stderr
    assert json.loads(state.read_text())["dids"][0]["application_id"] == "app_123"


def test_the_journal_is_streamed_not_read_whole(tmp_path):
    journal = tmp_path / "journal.jsonl"
    line = record("r1")
    with open(journal, "w") as handle:
        for i in range(20_000):  # about 9 MB
            handle.write(line.replace('"r1"', f'"r{i}"'))
    tracemalloc.start()
    try:
        chosen = changed_records(str(journal), 1, "x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r["run"] for r in chosen.records] == ["r19999"]
    assert peak < 2 * 1024 * 1024, peak  # the file is 9 MB; a whole read held several times it


def saved_plan(cli, tmp_path, state, manifest):
    path = tmp_path / "plan.json"
    result = cli("plan", manifest, "--emulator", state, "--executor", "api", "--out", path)
    assert result.code == 0, result.stderr
    return path, json.loads(path.read_text())


def reseal(path, data):
    """Write an edited plan with its checksum recomputed, as an attacker would."""
    from mvconf.plan.model import Plan

    data["checksum"] = Plan.model_validate({k: v for k, v in data.items()
                                            if k != "checksum"}).checksum
    path.write_text(json.dumps(data))


def edit_forward(change, destinations):
    change["desired"] = {**change["desired"], "route_mode": "forward",
                         "destinations": destinations}
    change["fields"]["route_mode"] = {"from": "webhook", "to": "forward"}
    change["fields"]["destinations"] = {"from": [], "to": destinations}


@pytest.mark.parametrize(("edit", "why"), [
    (lambda c: edit_forward(c, ["not-a-number"]),
     "destination 'not-a-number' must be in E.164 form"),
    (lambda c: edit_forward(c, ["+4402012345678"]), "the same number is +442012345678"),
    (lambda c: edit_forward(c, ["+15551230001"]), "a DID may not forward to itself"),
    (lambda c: c["desired"].update(route_mode="bounce"), "desired.route_mode 'bounce' is not"),
    (lambda c: c["desired"].update(destinations=["+15559990000"]),
     "route_mode webhook takes no destinations"),
    (lambda c: c["fields"].update(customer_id={"from": "cust_123", "to": "cust_evil"}),
     "fields.customer_id is not a field mvconf manages"),
    (lambda c: c["desired"].update(customer_id="cust_evil"),
     "desired.customer_id is not a field mvconf manages"),
    (lambda c: c["fields"]["application_id"].update(to="app_evil"),
     "fields.application_id goes to 'app_evil' but desired.application_id is 'app_456'"),
])
def test_an_edited_resealed_saved_plan_is_validated_like_a_manifest(cli, setup, tmp_path, edit,
                                                                    why):
    state, manifest = setup
    path, data = saved_plan(cli, tmp_path, state, manifest)
    edit(data["changes"][0])
    reseal(path, data)
    result = cli("apply", path, "--emulator", state, "--journal", tmp_path / "j")
    assert result.code == 1 and "Traceback" not in result.stderr
    assert f"{path} is not a usable saved plan: changes[0]: " in result.stderr
    assert why in result.stderr, result.stderr
    assert json.loads(state.read_text())["dids"][0]["application_id"] == "app_123"


def test_only_managed_fields_are_ever_written(cli, setup, tmp_path):
    from mvconf.plan.change import Action, Change, Executor, FieldDiff

    change = Change(number="+15551230001", did_id="did_1", action=Action.update,
                    executor=Executor.api, source="x", desired={}, live=None,
                    fields={"application_id": FieldDiff("app_1", "app_2"),
                            "customer_id": FieldDiff("cust_123", "cust_evil"),
                            "status": FieldDiff("active", "suspended")})
    assert change.wanted() == {"application_id": "app_2"}
    import asyncio

    from mvconf.emulator.inprocess import InProcessSender, open_emulator
    from mvconf.minivoice.client import MiniVoiceClient

    state, _ = setup
    endpoint, store = open_emulator(str(state))

    async def go():  # the client is the one place writes leave: it sends managed fields only
        client = MiniVoiceClient(InProcessSender(store, endpoint.headers()))
        await client.patch("did_1", {"application_id": "app_2", "customer_id": "cust_evil"},
                           "+15551230001")

    asyncio.run(go())
    record = store.dids["did_1"]
    assert record["application_id"] == "app_2" and record["customer_id"] == "cust_123"


def test_a_managed_count_above_the_projects_cap_is_refused_at_rollback(cli, setup, tmp_path):
    state, _ = setup
    journal = tmp_path / "journal.jsonl"
    journal.write_text(record("r1", managed=5_000_000))  # would make 1 change 0%
    result = cli("rollback", "--emulator", state, "--journal", journal, "--executor", "api",
                 "--auto-approve")
    assert result.code == 1
    assert f"{journal}:1: 'managed' is 5,000,000, more than the cap of 1,000,000" in result.stderr


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_receive_events_writes_only_a_regular_file(tmp_path, kind):
    out = "/dev/full" if kind == "device" else str(tmp_path / "events.jsonl")
    if kind == "fifo":
        os.mkfifo(out)
    proc = subprocess.Popen([sys.executable, "-m", "mvconf", "receive-events", "--port", "0",
                             "--out", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert f"the events file {out} is a {'device' if kind == 'device' else 'FIFO'}" in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_is_a_clear_error_not_a_bug(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text('version: 1\ndids:\n  - {number: "+15551230001", application: app_1, '
                        "route_mode: webhook}\n")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "mvconf", "validate", str(manifest)],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 1
    assert "cannot write: No space left on device" in done.stderr
    assert "unexpected" not in done.stderr


@pytest.mark.parametrize("value", ["0", "-1"])
def test_rollback_last_below_one_is_a_usage_error(cli, tmp_path, value):
    result = cli("rollback", "--last", value, "--emulator", tmp_path / "none.json")
    assert result.code == 1 and "--last" in result.stderr


def test_a_closed_stdout_is_not_a_traceback(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text('version: 1\ndids:\n  - {number: "+15551230001", application: app_1, '
                        "route_mode: webhook}\n")
    done = subprocess.run(["bash", "-c", f'"{sys.executable}" -m mvconf validate "{manifest}" >&-'],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_a_reader_that_goes_away_mid_run_is_said_on_stderr(tmp_path):
    # `mvconf plan ... | head -c 10` of a plan larger than the pipe holds: click alone would
    # exit 1 and say nothing.
    lines = ["version: 1", "dids:"] + [
        f'  - {{number: "+1555123{i:04d}", application: app_1, route_mode: webhook}}'
        for i in range(2000)]
    (tmp_path / "m.yaml").write_text("\n".join(lines) + "\n")
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"api_keys": [{"key": "k", "customer_id": "c"}], "dids": []}))
    done = subprocess.run(["bash", "-c", f'"{sys.executable}" -m mvconf plan m.yaml '
                           "--emulator state.json --allow-all-missing --format json | head -c 1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "stopped: the output was closed (broken pipe)" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
