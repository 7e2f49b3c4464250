"""`plan --emulator` reading the DIDs in a child process while the manifests load (run/ahead.py):
the plan is the one read after the load, whatever the manifests and the account hold."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvconf.core import forked
from mvconf.run import ahead

from .helpers import did, invoke

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or len(os.sched_getaffinity(0)) < 2,
                                reason="needs Linux and a second CPU")


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch):
    """The other test processes keep the second CPU busy: taken as free here."""
    monkeypatch.setattr(forked, "second_cpu_free", lambda cpus: True)

APPS = {"main": "app_123", "other": "app_456"}
MODES = st.sampled_from(["webhook", "reject", "forward"])
# What the account holds for a managed number: as wanted, drifted, missing, another customer's,
# a DID that is not a DID object, or the DID of another number.
LIVE = st.sampled_from(["same", "drift", "missing", "foreign", "malformed", "mismatch"])


def number(index: int) -> str:
    return f"+1555123{index:04d}"


@st.composite
def accounts(draw):
    indexes = draw(st.lists(st.integers(0, 60), min_size=1, max_size=25, unique=True))
    lines = ["version: 1", "applications:", "  main: app_123", "  other: app_456", "dids:"]
    wanted = {}
    for index in sorted(indexes):
        mode = draw(MODES)
        app = draw(st.sampled_from(sorted(APPS)))
        if draw(st.booleans()) and index + 1 not in indexes:  # a range of two, on no line
            lines.append(f'  - range: "{number(index)}..{number(index + 1)}"')
            covered = [index, index + 1]
        else:
            lines.append(f'  - number: "{number(index)}"  # a comment')
            covered = [index]
        lines += [f"    application: {app}", f"    route_mode: {mode}"]
        if mode == "forward":
            lines.append('    destinations: ["+14155550100"]')
        for each in covered:
            wanted[number(each)] = (APPS[app], mode)
    records = []
    for num, (app, mode) in wanted.items():
        live = draw(LIVE)
        destinations = ["+14155550100"] if mode == "forward" else None
        if live == "missing":
            continue
        record = did(num, app, mode, destinations=destinations)
        if live == "drift":
            record.update(route_mode="reject", destinations=None)
        elif live == "foreign":
            record["customer_id"] = "cust_999"
        elif live == "malformed":
            record["status"] = 42
        elif live == "mismatch":
            record["number_e164"] = number(99)
        records.append({k: v for k, v in record.items() if v is not None})
    return "\n".join(lines) + "\n", records


def plan(manifest: Path, state: Path) -> tuple[int, dict | None, str]:
    result = invoke("plan", manifest, "--emulator", state, "--format", "json")
    out = json.loads(result.stdout) if result.stdout.strip() else None
    if out:
        out.pop("created_at")
    return result.code, out, result.stderr


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(accounts())
def test_a_plan_read_ahead_is_the_plan_read_after_the_load(monkeypatch, account):
    text, records = account
    with tempfile.TemporaryDirectory() as where:
        manifest, state = Path(where, "dids.yaml"), Path(where, "state.json")
        manifest.write_text(text)
        state.write_text(json.dumps({"api_keys": [
            {"key": "test-key-0001", "customer_id": "cust_123", "application_id": "app_123"},
            {"key": "test-key-0999", "customer_id": "cust_999", "application_id": "app_999"}],
            "dids": records}))
        with monkeypatch.context() as patched:
            patched.setattr(forked, "usable", lambda: False)
            expected = plan(manifest, state)
        children = []
        real = forked.Forked

        def counted(work):
            children.append(work)
            return real(work)

        with monkeypatch.context() as patched:
            patched.setattr(ahead, "FORK_AT", 1)
            patched.setattr(forked, "Forked", counted)
            got = plan(manifest, state)
    assert got == expected
    assert children or "number:" not in text  # read ahead whenever a number line is there


def drifted_plan(write, state_file, count: int) -> dict:
    """The JSON plan of `count` webhook DIDs that all drifted to reject, read ahead."""
    manifest = write("m.yaml", "version: 1\ndids:\n" + "".join(
        f'  - number: "{number(i)}"\n    application: app_123\n    route_mode: webhook\n'
        for i in range(count)))
    state = state_file([did(number(i), mode="reject") for i in range(count)])
    result = invoke("plan", manifest, "--emulator", state, "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_child_that_fails_leaves_the_reading_to_the_plan(monkeypatch, write, state_file):
    """The child killed, or its work failing, costs the reads it made and nothing else."""
    monkeypatch.setattr(ahead, "FORK_AT", 1)

    def broken(api, context, numbers):
        os.kill(os.getpid(), 9)

    monkeypatch.setattr(ahead, "_read", broken)
    assert drifted_plan(write, state_file, 5)["summary"]["update"] == 5


def test_a_fork_that_fails_leaves_the_reading_to_the_plan(monkeypatch, write, state_file):
    """No process to be had (a limit reached): the plan reads as it always did."""
    monkeypatch.setattr(ahead, "FORK_AT", 1)

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert drifted_plan(write, state_file, 3)["summary"]["update"] == 3


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(accounts())
def test_import_into_reading_ahead_writes_what_it_writes_after_the_load(monkeypatch, account):
    """`import --into` with the child reading: the same manifest text, messages and exit."""
    text, records = account
    outcomes = []
    for fork in (False, True):
        with tempfile.TemporaryDirectory() as where, monkeypatch.context() as patched:
            manifest, state = Path(where, "dids.yaml"), Path(where, "state.json")
            manifest.write_text(text)
            state.write_text(json.dumps({"api_keys": [
                {"key": "test-key-0001", "customer_id": "cust_123",
                 "application_id": "app_123"}], "dids": records}))
            children: list = []

            def counted(work, children=children, real=forked.Forked):
                children.append(work)
                return real(work)

            patched.setattr(forked, "Forked", counted)
            if fork:
                patched.setattr(ahead, "FORK_AT", 1)
            else:
                patched.setattr(forked, "usable", lambda: False)
            result = invoke("import", "--into", manifest, "--emulator", state)
            outcomes.append((result.code, result.stdout.replace(where, "W"),
                             result.stderr.replace(where, "W"),
                             manifest.read_text()))
            assert bool(children) == (fork and "number:" in text)
    assert outcomes[0] == outcomes[1]


def test_a_child_that_stops_answering_is_given_up(monkeypatch, write, state_file):
    """A child stopped (SIGSTOP) or stuck: after forked.STALL seconds without a byte it is
    killed, and the plan reads the rest itself."""
    import signal

    monkeypatch.setattr(ahead, "FORK_AT", 1)
    monkeypatch.setattr(forked, "STALL", 0.3)
    real = ahead._read

    def stops(api, context, numbers):
        chunks = real(api, context, numbers[:1])
        yield next(chunks)  # one answer, then nothing
        os.kill(os.getpid(), signal.SIGSTOP)

    monkeypatch.setattr(ahead, "_read", stops)
    assert drifted_plan(write, state_file, 4)["summary"]["update"] == 4


def test_no_child_where_file_descriptors_are_short(tmp_path):
    """`ulimit -n` set low: the pipe's two descriptors could leave the run itself short, so
    the plan reads as it always did (it failed with "Too many open files")."""
    import subprocess
    import sys

    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\ndids:\n" + "".join(
        f'  - number: "+1555{i:07d}"\n    application: app_123\n    route_mode: webhook\n'
        for i in range(2500)))
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"api_keys": [{"key": "test-key-0001", "customer_id": "cust_123",
                                               "application_id": "app_123"}],
                                 "dids": [did(f"+1555{i:07d}") for i in range(2500)]}))
    script = ("import resource, sys\n"
              "resource.setrlimit(resource.RLIMIT_NOFILE, (8, 8))\n"
              "from mvconf.core import forked\n"
              "print(forked.usable())\n"
              "from mvconf.cli import main\n"
              "sys.argv = ['mvconf', 'plan', sys.argv[1], '--emulator', sys.argv[2],"
              " '--format', 'json']\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script, str(manifest), str(state)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("False\n") and "Traceback" not in done.stderr
    assert json.loads(done.stdout[len("False\n"):])["summary"]["noop"] == 2500


def test_the_in_process_emulator_lets_the_event_loop_run(state_file):
    """Its answers never wait, so without a turn of the loop now and then a Ctrl-C (which the
    loop handles) went unseen until the plan was done, and the plan exited 0."""
    import asyncio

    from mvconf.emulator.inprocess import YIELD_EVERY, InProcessSender
    from mvconf.emulator.store import Store

    store = Store(state_file([did(number(0))]))
    sender = InProcessSender(store, {"Authorization": "Bearer test-key"})

    async def go() -> int:
        turned = []
        asyncio.get_running_loop().call_soon(turned.append, True)
        sent = 0
        while not turned:
            await sender.send("GET", f"/v1/dids/by-number/{number(0)}")
            sent += 1
        return sent

    assert asyncio.run(go()) <= YIELD_EVERY


def test_a_signal_as_the_work_ends_still_stops_the_run(state_file):
    """A signal handled while the last answers were taken, after which the work never waited
    again, so that the loop's cancel never reached it: the run is stopped all the same."""
    import signal

    from mvconf.core.api_settings import ApiSettings
    from mvconf.core.errors import Interrupted
    from mvconf.run.runtime import Runtime

    runtime = Runtime(ApiSettings(emulator=str(state_file([did(number(0))]))))

    async def work(client):
        runtime.stop.signum = signal.SIGINT  # as the loop's handler does
        return "a plan"

    with pytest.raises(Interrupted) as stopped:
        runtime.run(work)
    assert stopped.value.exit_code == 130
