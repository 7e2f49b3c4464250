"""Reliability: faults end to end, interruption, fuzzing, and the API key never leaking.

Run alone with `pytest -m reliability`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import KEY, invoke, many, mvconf, start, stop

pytestmark = pytest.mark.reliability


def assert_apply_converges(manifest, url, journal, n):
    env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
    result = mvconf("apply", manifest, "--executor", "api", "--auto-approve",
                    "--allow-mass-change", "--journal", journal, env=env)
    assert result.returncode == 0, result.stderr
    assert f"Apply: {n} applied, 0 failed" in result.stdout
    again = mvconf("plan", manifest, "--detailed-exitcode", env=env)
    assert again.returncode == 0 and f"Plan: {n} unchanged." in again.stdout


def test_apply_converges_through_503s_and_rate_limits(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 30)
    proc, url = start(state, "--fail-rate", "0.25", "--rate-limit", "40", "--seed", "5")
    try:
        assert_apply_converges(manifest, url, tmp_path / "j.jsonl", 30)
    finally:
        stop(proc)


def test_apply_converges_when_answers_are_lost(write, state_file, tmp_path):
    """--drop-rate closes the connection after carrying out the request: the worst case for a
    write, which happened although the client never heard so. At 10% of about 130 requests,
    some answers are lost in every run; six lost in a row (which would exhaust the retries)
    has a chance of about 1 in 8,000 per run."""
    manifest, state = many(write, state_file, 30)
    proc, url = start(state, "--drop-rate", "0.1", "--seed", "11", stderr=subprocess.PIPE)
    try:
        assert_apply_converges(manifest, url, tmp_path / "j.jsonl", 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err  # lost answers are not reported as emulator errors
    live = {d["number_e164"]: d for d in json.loads(state.read_text())["dids"]}
    assert {d["application_id"] for d in live.values()} == {"app_456"}


def test_read_only_account_falls_back_to_steps(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 3)
    proc, url = start(state, "--read-only")
    env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
    try:
        result = mvconf("apply", manifest, "--executor", "api", "--auto-approve",
                        "--allow-mass-change", "--journal", tmp_path / "j", env=env)
        assert result.returncode == 3, result.stderr
        assert "405 method_not_allowed" in result.stderr
        assert "Assign DID +15551230002 (did_2) to application app_456" in result.stdout
    finally:
        stop(proc)


def test_manual_wait_confirms_what_a_person_did(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 2)
    proc, url = start(state)
    env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
    journal = tmp_path / "j.jsonl"
    try:
        apply = subprocess.Popen(
            [sys.executable, "-m", "mvconf", "apply", str(manifest), "--wait", "--wait-timeout",
             "60", "--journal", str(journal)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, **env})
        for line in apply.stdout:
            if line.startswith("Waiting up to"):
                break
        for number in ("+15551230000", "+15551230001"):  # the person follows the steps
            httpx.patch(f"{url}/_account/dids/{number}", json={"application_id": "app_456"})
        out, err = apply.communicate(timeout=60)
        assert apply.returncode == 0, err
        outcomes = [json.loads(x)["outcome"] for x in journal.read_text().splitlines()]
        assert outcomes == ["confirmed", "confirmed"]
    finally:
        stop(proc)


def test_manual_wait_times_out_with_exit_3(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 1)
    result = invoke("apply", manifest, "--emulator", state, "--wait", "--wait-timeout", "0",
                    "--journal", tmp_path / "j")
    assert result.code == 3 and "Timed out" in result.stderr


def test_sigkill_mid_apply_leaves_journal_and_state_intact(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 40)
    proc, url = start(state, "--latency-ms", "40")
    env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
    journal = tmp_path / "j.jsonl"
    try:
        apply = subprocess.Popen(
            [sys.executable, "-m", "mvconf", "apply", str(manifest), "--executor", "api",
             "--auto-approve", "--allow-mass-change", "--parallelism", "2", "--journal",
             str(journal)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, **env})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_text().count('"applied"') >= 3:
                break
            time.sleep(0.02)
        apply.kill()
        apply.wait()
        records = [json.loads(x) for x in journal.read_text().splitlines() if x.strip()]
        applied = {r["number"] for r in records if r.get("outcome") == "applied"}
        assert 3 <= len(applied) < 40
        live = {d["number_e164"]: d for d in json.loads(state.read_text())["dids"]}
        for number in applied:  # the journal says exactly which DIDs changed
            assert live[number]["application_id"] == "app_456"
        rerun = mvconf("apply", manifest, "--executor", "api", "--auto-approve",
                       "--allow-mass-change", "--journal", journal, env=env)
        assert rerun.returncode == 0, rerun.stderr
        assert mvconf("plan", manifest, "--detailed-exitcode", env=env).returncode == 0
    finally:
        stop(proc)


def test_sigint_during_plan_exits_130_without_a_plan_file(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 200)
    proc, url = start(state, "--latency-ms", "200")
    out = tmp_path / "plan.json"
    try:
        plan = subprocess.Popen([sys.executable, "-m", "mvconf", "plan", "--debug", str(manifest),
                                 "--out", str(out), "--parallelism", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "MINIVOICE_API_KEY": KEY,
                                     "MINIVOICE_API_URL": url})
        seen = []  # --debug logs each answer: wait until 4 reads are done (200 take 20 s here)
        while sum(" -> 200" in line for line in seen) < 4:
            line = plan.stderr.readline()
            assert line, "".join(seen)
            seen.append(line)
        plan.send_signal(signal.SIGINT)
        _, err = plan.communicate(timeout=60)
        err = "".join(seen) + err
        assert plan.returncode == 130 and "Traceback" not in err
        assert not out.exists()
    finally:
        stop(proc)


@pytest.mark.parametrize("module", ["click", "mvconf.commands", "mvconf.render.escape"])
def test_ctrl_c_while_mvconf_starts_says_interrupted_not_a_traceback(module):
    """SIGINT while the command line's own modules import (before any command runs): exit 130
    and the usual message, as a Ctrl-C in the first tenth of a second gets."""
    script = (
        "import os, signal, sys\n"
        "class Hook:\n"
        "    def find_spec(self, name, path, target=None):\n"
        f"        if name == {module!r}:\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.meta_path.insert(0, Hook())\n"
        "from mvconf.cli import main\n"
        "print('not interrupted')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr, done.stdout) == (130, "Interrupted.\n", "")


def test_ctrl_c_is_left_alone_where_it_is_ignored_or_handled():
    """A SIGINT that is ignored (a background job) stays ignored; once the command line is
    imported, Ctrl-C is a KeyboardInterrupt again (run() turns it into exit 130)."""
    script = ("import signal\n"
              "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
              "import mvconf.cli\n"
              "assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN\n")
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0
    script = ("import signal\n"
              "import mvconf.cli\n"
              "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n")
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0


def test_ctrl_c_while_a_plan_is_written_as_json_exits_130(monkeypatch, write, state_file):
    """pydantic's serializer turns a KeyboardInterrupt raised inside it into a serialization
    error: Ctrl-C while a large plan was being written said "unexpected
    PydanticSerializationError" and exited 1."""
    import pydantic

    from mvconf.commands import plan as plan_command

    class Slow(pydantic.BaseModel):
        value: int

        @pydantic.field_serializer("value")
        def interrupted(self, value: int) -> int:
            raise KeyboardInterrupt

    def finish(*args, **kwargs):
        Slow(value=1).model_dump_json()

    monkeypatch.setattr(plan_command, "finish", finish)
    manifest, state = many(write, state_file, 1)
    result = invoke("plan", manifest, "--emulator", state, "--format", "json")
    assert (result.code, result.stderr) == (130, "Interrupted.\n")


def test_the_key_never_appears_anywhere(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 3)
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    proc, url = start(state, "--fail-rate", "0.3", "--seed", "2")
    journal, out = tmp_path / "j.jsonl", tmp_path / "plan.json"
    env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
    runs = [
        ("plan", manifest, "--debug", "--out", out),
        ("plan", manifest, "--debug", "--format", "json"),
        ("plan", manifest, "--debug", "--api-key-file", key_file, "--format", "markdown"),
        ("apply", manifest, "--debug", "--executor", "api", "--auto-approve", "--journal", journal),
        ("rollback", "--debug", "--executor", "api", "--auto-approve", "--journal", journal),
        ("import", "+15551230001", "--debug"),
        ("import", "+15559999999", "--debug"),
        ("plan", manifest, "--debug", "--api-url", "http://example.com"),
        ("plan", manifest, "--debug", "--api-url", url + "/nothing-here"),
    ]
    try:
        seen = []
        for args in runs:
            result = mvconf(*args, env=env)
            seen.append(result.stdout + result.stderr)
        wrong_key = mvconf("plan", manifest, "--debug", env={**env, "MINIVOICE_API_KEY": KEY + "x"})
        seen.append(wrong_key.stdout + wrong_key.stderr)
        assert "401 unauthorized" in wrong_key.stderr
        assert any("debug: mvconf.http: GET /v1/" in s for s in seen)  # the debug logs ran
        for text in seen + [out.read_text(), journal.read_text()]:
            assert KEY not in text
    finally:
        stop(proc)


MANIFEST_TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                     st.sampled_from(["version", "dids", "number", "route_mode", "application",
                                      "defaults", "destinations", "applications", "id", "x"]),
                     inner, max_size=5), max_leaves=20).map(json.dumps),
    # YAML syntax itself: tags, anchors, aliases, merge keys, flow and block collections
    st.lists(st.sampled_from(
        list("abc:-[]{},&*!|'\"\n #?0123456789.+") + [
            "  ", "\n  ", "!!str ", "!!int ", "!!float ", "!!bool ", "!!timestamp ",
            "!!binary ", "!!set ", "!!omap ", "&a ", "*a", "<<: ", "---\n", "...\n", "!foo ",
            "version: 1\n", "dids:\n", "- number: ", '"+15551230002"']), max_size=40,
    ).map("".join),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(MANIFEST_TEXT)
def test_fuzzed_manifests_never_traceback(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = invoke("validate", path)
    assert result.code in (0, 1)
    assert "Error: unexpected" not in result.stderr and "Traceback" not in result.stderr


API_BODIES = st.one_of(
    st.binary(max_size=100),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                     st.sampled_from(["id", "number_e164", "status", "route_mode",
                                      "application_id", "destinations", "updated_at"]),
                     inner, max_size=7), max_leaves=15).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, deadline=None)
@given(API_BODIES, st.sampled_from([200, 301, 400, 404, 409, 429, 500]))
def test_fuzzed_api_answers_are_clear_errors(body, status):
    import asyncio

    import stamina

    from mvconf.core.errors import ApiError
    from mvconf.minivoice.client import MiniVoiceClient
    from mvconf.minivoice.http import HttpSender

    async def go():
        http = httpx.AsyncClient(transport=httpx.MockTransport(
            lambda r: httpx.Response(status, content=body)), base_url="http://api")
        async with http:
            # A 429 without Retry-After pauses a second; a zero budget gives up after one.
            client = MiniVoiceClient(HttpSender(http), retry_timeout=0)
            return await client.get_by_number("+15551230002")

    try:
        with stamina.set_testing(True, attempts=2):
            asyncio.run(go())
    except ApiError as exc:
        assert str(exc)


@pytest.mark.parametrize("parallelism", ["1", "8", "48"])
def test_a_rate_limited_plan_completes_at_any_parallelism(write, state_file, parallelism):
    manifest, state = many(write, state_file, 120)
    proc, url = start(state, "--rate-limit", "100")
    try:
        env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
        result = mvconf("plan", manifest, "--format", "json", "--parallelism", parallelism,
                        env=env)
    finally:
        stop(proc)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["update"] == 120


def test_a_plan_completes_through_503s_and_a_rate_limit(write, state_file):
    manifest, state = many(write, state_file, 150)
    proc, url = start(state, "--rate-limit", "100", "--fail-rate", "0.25", "--seed", "9")
    try:
        env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
        result = mvconf("plan", manifest, "--format", "json", "--parallelism", "16", env=env)
    finally:
        stop(proc)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["update"] == 150
