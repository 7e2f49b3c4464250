"""apply --waves (SPEC §17) against a real `mvconf emulator` over TCP, with a real
`receive-events` recording the emulator's test calls: checks after every wave but the last, a
failing check that undoes the run, `stop`, the events check, and signals during a check."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvconf.apply.journal import read_journal
from mvconf.apply.rollback import changed_records
from mvconf.apply.waves import Size, parse_sizes, split

from .helpers import KEY, invoke, many, mvconf, running_emulator
from .test_apply_safety import account, apply_proc, wait_for_lines

pytestmark = pytest.mark.reliability


def records(journal) -> list[dict]:
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def waved(manifest, url, journal, *extra, **kw):
    return apply_proc(manifest, url, journal, "--parallelism", "2", *extra, **kw)


def finish(proc, limit: float = 120):
    out, err = proc.communicate(timeout=limit)
    return proc.returncode, out, err


def until(condition, limit: float = 60.0, what: str = "a condition"):
    """Poll `condition` until it is true (its value is returned) or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def receiving(out):
    """`mvconf receive-events` over TCP for the block; yields its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "mvconf", "receive-events", "--port", "0",
                             "--out", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        assert url.startswith("http://127.0.0.1:")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def outcomes_of_wave(journal, wave: int) -> list[dict]:
    if not journal.exists():
        return []
    return [r for r in read_journal(str(journal))[0]
            if r["phase"] == "outcome" and r.get("wave") == wave]


def call(url: str, number: str, hook: str) -> dict:
    answer = httpx.post(f"{url}/_account/calls", json={"to": number, "webhook_url": hook})
    assert answer.status_code == 201, answer.text
    return answer.json()


def person_calling(url, hook, journal, wave: int, count: int, before_calls=None):
    """A person placing one test call to each DID of `wave` once the journal shows it applied."""
    def run():
        done = until(lambda: len(outcomes_of_wave(journal, wave)) >= count and
                     outcomes_of_wave(journal, wave), what=f"wave {wave} applied")
        if before_calls:
            before_calls()
        for record in done:
            call(url, record["number"], hook)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- sizes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, total, sizes", [
    ("1,10%,100%", 100, [1, 9, 90]),
    ("1,10%,100%", 5, [1, 4]),  # 10% of 5 is no more than the first wave: no wave of its own
    ("1,10%", 20, [1, 1, 18]),  # what the sizes leave is a last wave
    ("50%", 3, [1, 2]),
    ("2,5", 3, [2, 1]),
    ("100%", 4, [4]),
    ("12.5%,100%", 16, [2, 14]),
])
def test_cumulative_sizes_split_the_writes_in_plan_order(spec, total, sizes):
    changes = list(range(total))
    waves = split(changes, parse_sizes(spec))
    assert [len(w) for w in waves] == sizes
    assert [c for w in waves for c in w] == changes


@pytest.mark.parametrize("spec", ["", "0", "1,,2", "-1", "10%%", "0%", "101%", "5,3", "50%,20%",
                                  "100%,1", "ten", "1.5", " ", "1e3", ",".join(["1"] * 101)])
def test_an_invalid_wave_size_is_a_clear_usage_error(write, spec):
    manifest = write("dids.yaml", "version: 1\ndids: []\n")
    result = invoke("apply", manifest, "--waves", spec, "--wave-check", "true")
    assert result.code == 1
    assert "Invalid value for '--waves'" in result.stderr and "Traceback" not in result.stderr


def test_sizes_are_rounded_down_but_never_to_nothing():
    assert Size(10, True).of(5) == 1 and Size(10, True).of(100) == 10
    assert Size(7, False).of(3) == 3


@pytest.mark.parametrize("args, message", [
    (["--wave-check", "true"], "--wave-check is used only with --waves"),
    (["--waves", "1"], "--waves needs a check"),
    (["--waves", "1", "--wave-events", "."], "is a directory"),
    (["--waves", "1", "--wave-events", "/dev/null"], "is not a regular file"),
])
def test_wave_flags_that_cannot_work_are_refused_before_anything(write, args, message):
    manifest = write("dids.yaml", "version: 1\ndids: []\n")
    result = invoke("apply", manifest, *args)
    assert result.code == 1 and message in result.stderr, result.stderr


# -- real processes --------------------------------------------------------------------------

def test_each_wave_but_the_last_is_checked_with_its_numbers(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 6)
    log, journal = tmp_path / "checks.log", tmp_path / "journal.jsonl"
    check = (f'echo "wave $MVCONF_WAVE $MVCONF_JOURNAL" >> {log}; '
             f'cat "$MVCONF_WAVE_NUMBERS" >> {log}')
    with running_emulator(state) as url:
        code, out, err = finish(waved(manifest, url, journal, "--waves", "1,2,100%",
                                      "--wave-check", check))
        assert code == 0, err
        assert all(d["application_id"] == "app_456" for d in account(url).values())
    assert log.read_text().splitlines() == [
        f"wave 1 {journal}", "+15551230000", f"wave 2 {journal}", "+15551230001"]
    written = records(journal)
    assert [r.get("wave") for r in written if r["phase"] == "outcome"] == [1, 2, 3, 3, 3, 3]
    assert [(r["wave"], r["passed"]) for r in written if r["phase"] == "check"] == [
        (1, True), (2, True)]
    assert "wave 3: 4 applied; the last wave is not checked" in out
    assert read_journal(str(journal))[1] == []  # check records are not unreadable lines


def test_a_failed_check_restores_every_changed_did_and_starts_no_further_wave(
        write, state_file, tmp_path):
    manifest, state = many(write, state_file, 8)
    journal, plan = tmp_path / "journal.jsonl", tmp_path / "plan.json"
    with running_emulator(state) as url:
        env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
        before = account(url)
        made = mvconf("plan", manifest, "--executor", "api", "--out", plan, env=env)
        assert made.returncode == 0, made.stderr
        # A saved plan is waved too; the check fails at wave 2.
        run = subprocess.Popen([sys.executable, "-m", "mvconf", "apply", str(plan),
                                "--journal", str(journal), "--allow-mass-change",
                                "--waves", "1,3,100%", "--wave-check", 'test "$MVCONF_WAVE" = 1'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **env})
        code, out, err = finish(run)
        assert code == 1, err
        now = account(url)
        assert all(now[n]["application_id"] == before[n]["application_id"] for n in before)
    written = records(journal)
    apply_run = written[0]["run"]
    mine = [r for r in written if r["run"] == apply_run]
    assert {r.get("wave") for r in mine if r["phase"] == "intent"} == {1, 2}  # never wave 3
    assert [(r["wave"], r["passed"]) for r in mine if r["phase"] == "check"] == [
        (1, True), (2, False)]
    undo = [r for r in written if r["run"] != apply_run and r["phase"] == "outcome"]
    assert sorted(r["number"] for r in undo) == [f"+1555123000{i}" for i in range(3)]
    assert all(r["outcome"] == "applied" and r["undoes"] == apply_run for r in undo)
    assert "wave 2: 2 applied; check FAILED: --wave-check: the command exited with status 1" \
        in out
    assert "wave 3: not started (5 write(s))" in out
    assert "Wave 2's check failed" in out and "Rolling back the 3 DID(s)" in out


def test_stop_leaves_the_changed_dids_and_rollback_restores_them(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 8)
    journal = tmp_path / "journal.jsonl"
    with running_emulator(state) as url:
        code, out, err = finish(waved(manifest, url, journal, "--waves", "2,100%",
                                      "--wave-check", "exit 7", "--on-check-failure", "stop"))
        assert code == 1, err
        now = account(url)
        changed = sorted(n for n in now if now[n]["application_id"] == "app_456")
        assert changed == ["+15551230000", "+15551230001"]
        assert "status 7" in out and "--on-check-failure stop" in out
        assert not [r for r in records(journal) if r.get("wave") == 2]
        again = mvconf("rollback", "--journal", journal, "--executor", "api", "--auto-approve",
                       env={"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url})
        assert again.returncode == 0, again.stderr
        assert all(d["application_id"] == "app_123" for d in account(url).values())


def test_the_events_check_passes_on_calls_recorded_after_the_wave(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 5)
    journal, events = tmp_path / "journal.jsonl", tmp_path / "events.jsonl"
    # A call from before the apply, to the old application: it proves nothing about the wave.
    events.write_text(json.dumps({"event": "call.completed", "created_at": "2026-01-01T00:00:00Z",
                                  "call": {"id": "call_old", "application_id": "app_123",
                                           "status": "completed", "direction": "inbound",
                                           "from": "+15551230001", "to": "+15551230000"}}) + "\n")
    with running_emulator(state) as url, receiving(events) as hook:
        run = waved(manifest, url, journal, "--waves", "2,100%", "--wave-events", events,
                    "--wave-min-calls", "1", "--wave-timeout", "60")
        person = person_calling(url, hook + "/hooks/minivoice", journal, 1, 2)
        code, out, err = finish(run)
        person.join(10)
        assert code == 0, err
        assert all(d["application_id"] == "app_456" for d in account(url).values())
    checks = [r for r in records(journal) if r["phase"] == "check"]
    assert [(c["wave"], c["passed"]) for c in checks] == [(1, True)]
    assert "wave 1: 2 applied; check passed" in out


def test_the_events_check_fails_on_silence_once_its_timeout_passes(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 4)
    journal, events = tmp_path / "journal.jsonl", tmp_path / "events.jsonl"
    with running_emulator(state) as url, receiving(events):
        before = account(url)
        code, out, err = finish(waved(manifest, url, journal, "--waves", "1,100%",
                                      "--wave-events", events, "--wave-timeout", "1"))
        assert code == 1, err
        assert all(account(url)[n]["application_id"] == "app_123" for n in before)
    assert "too few calls after the wave was applied" in out
    assert "+15551230000 0 of 1 call(s)" in out
    assert [r["passed"] for r in records(journal) if r["phase"] == "check"] == [False]


def test_a_contradicting_call_fails_the_wave_at_once(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 4)
    journal, events = tmp_path / "journal.jsonl", tmp_path / "events.jsonl"
    with running_emulator(state) as url, receiving(events) as hook:
        def misrouted():  # MiniVoice delivers a call to the number to another application
            hostile = {"event": "call.completed", "created_at": "2099-01-01T00:00:00Z",
                       "call": {"id": "c1", "application_id": "app_\x1b[31mred",
                                "direction": "inbound", "to": "+15551230000"}}
            with open(events, "a") as handle:
                handle.write(json.dumps(hostile) + "\n")

        run = waved(manifest, url, journal, "--waves", "1,100%", "--wave-events", events,
                    "--wave-timeout", "600")
        person = person_calling(url, hook + "/h", journal, 1, 1, before_calls=misrouted)
        code, out, err = finish(run, limit=60)  # long before the 600 s timeout
        person.join(10)
        assert code == 1, err
        assert all(d["application_id"] == "app_123" for d in account(url).values())
    assert "+15551230000 wrong_application (expected app_456, saw " in out, out + err
    assert "app_\\x1b[31mred" in out
    assert "\x1b" not in out  # what a recorded call says is shown inert


def test_sigint_during_a_check_kills_it_prints_the_summary_and_leaves_a_rollbackable_journal(
        write, state_file, tmp_path):
    manifest, state = many(write, state_file, 6)
    journal, pids = tmp_path / "journal.jsonl", tmp_path / "pids"
    check = f'sleep 600 & echo "$$ $!" > {pids}.tmp; mv {pids}.tmp {pids}; wait'
    with running_emulator(state) as url:
        before = account(url)
        run = waved(manifest, url, journal, "--waves", "3,100%", "--wave-check", check)
        shell, sleeper = map(int, until(lambda: pids.exists() and pids.read_text().split(),
                                        what="the check to start"))
        run.send_signal(signal.SIGINT)
        code, out, err = finish(run, limit=60)
        assert code == 130, err
        assert "Apply: 3 applied, 0 failed, 3 skipped" in out and "Waves:" in out
        assert "interrupted by SIGINT" in out
        for pid in (shell, sleeper):
            until(lambda pid=pid: not alive(pid), limit=10, what=f"check process {pid} to end")
        assert [r["passed"] for r in records(journal) if r["phase"] == "check"] == [False]
        again = mvconf("rollback", "--journal", journal, "--executor", "api", "--auto-approve",
                       env={"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url})
        assert again.returncode == 0, again.stderr
        now = account(url)
        assert all(now[n]["application_id"] == before[n]["application_id"] for n in before)


def test_sigkill_mid_waves_then_rollback_restores_every_did(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 9)
    journal = tmp_path / "journal.jsonl"
    with running_emulator(state, "--latency-ms", "20") as url:
        before = account(url)
        run = waved(manifest, url, journal, "--waves", "2,4,100%", "--wave-check", "true")
        until(lambda: [r for r in records(journal) if r.get("wave") == 2] if journal.exists()
              else None, what="wave 2 to begin")
        wait_for_lines(journal, 9, run)
        run.kill()
        run.wait()
        result = mvconf("rollback", "--journal", journal, "--executor", "api", "--auto-approve",
                        env={"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url})
        assert result.returncode == 0, result.stderr
        now = account(url)
        assert all(now[n]["application_id"] == before[n]["application_id"] for n in before)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_rollback_after_a_stopped_wave_rollback_finishes_it(tmp_path):
    """The automatic rollback of a failed check was stopped after one of three DIDs: `mvconf
    rollback` restores the other two, and does not undo the one already restored."""
    journal = tmp_path / "journal.jsonl"

    def outcome(run, number, before, after, **extra):
        return json.dumps({"run": run, "at": "2026-12-01T10:00:00.000000Z", "phase": "outcome",
                           "number": number, "did_id": "did_" + number[-1],
                           "before": {"application_id": before},
                           "after": {"application_id": after}, "outcome": "applied",
                           "api_url": "x", "environment": None, "managed": 9, **extra})

    lines = [outcome("R", f"+1555123000{i}", "app_123", "app_456", wave=1) for i in range(3)]
    lines.append(json.dumps({"run": "R", "at": "2026-12-01T10:00:01.000000Z", "phase": "check",
                             "wave": 1, "passed": False, "reason": "no"}))
    lines.append(outcome("U", "+15551230002", "app_456", "app_123", undoes="R"))
    journal.write_text("\n".join(lines) + "\n")
    chosen = changed_records(str(journal), None, "x")
    assert sorted(r["number"] for r in chosen.records) == ["+15551230000", "+15551230001"]
    assert chosen.unreadable == [] and chosen.managed == 9
    # Once every DID is restored, rollback undoes the rollback, as any rollback twice does.
    with journal.open("a") as handle:
        for i in range(2):
            handle.write(outcome("U", f"+1555123000{i}", "app_456", "app_123", undoes="R") + "\n")
    assert {r["run"] for r in changed_records(str(journal), None, "x").records} == {"U"}


def _event(call_id, to, app, at):
    return json.dumps({"event": "call.completed", "created_at": at,
                       "call": {"id": call_id, "application_id": app, "status": "completed",
                                "direction": "inbound", "to": to}})


def test_the_events_file_is_read_as_it_grows_whatever_it_holds(tmp_path, monkeypatch):
    """Torn lines are finished by the next look, binary and overlong lines are skipped, a long
    file is read in chunks; only calls that began after the wave count."""
    import asyncio
    from datetime import UTC, datetime

    from mvconf.apply.report import Stop
    from mvconf.apply.waves import Wave
    from mvconf.events import wave_events
    from mvconf.plan.change import Action, Change, Executor

    monkeypatch.setattr(wave_events, "CHUNK", 64)
    monkeypatch.setattr(wave_events, "LONGEST_LINE", 200)
    path = tmp_path / "events.jsonl"
    change = Change(number="+15551230002", did_id="did_1", action=Action.update,
                    executor=Executor.api, source="x", fields={},
                    desired={"application_id": "app_456", "route_mode": "webhook"}, live={})
    wave = Wave(1, 2, [change], datetime(2026, 12, 1, 10, tzinfo=UTC), "j")
    check = wave_events.EventsCheck(str(path), min_calls=2)
    old = _event("c0", "+15551230002", "app_123", "2026-12-01T09:59:59Z")
    new = [_event(f"c{i}", "+1 555 123 0002", "app_456", f"2026-12-01T10:00:0{i}Z")
           for i in (1, 2)]
    path.write_bytes(b"\xff\xfe\x00garbage\n" + b"x" * 500 + b"\n" + old.encode() + b"\n"
                     + new[0].encode() + b"\n" + new[1][:20].encode())
    deadline = __import__("time").monotonic()
    assert "1 of 2 call(s)" in asyncio.run(check(wave, Stop(), deadline))
    with path.open("a") as handle:
        handle.write(new[1][20:] + "\n")
    assert asyncio.run(check(wave, Stop(), deadline)) is None
    assert len(check.tail.events.malformed) >= 2


def test_a_check_that_outlives_its_timeout_is_ended_with_everything_it_started(
        write, state_file, tmp_path):
    manifest, state = many(write, state_file, 3)
    journal, pids = tmp_path / "journal.jsonl", tmp_path / "pids"
    check = f"trap '' TERM; sleep 600 & echo $! > {pids}.tmp; mv {pids}.tmp {pids}; wait"
    with running_emulator(state) as url:
        code, out, err = finish(waved(manifest, url, journal, "--waves", "1,100%",
                                      "--wave-check", check, "--wave-timeout", "1"))
        assert code == 1, err
        assert all(d["application_id"] == "app_123" for d in account(url).values())
    assert "--wave-check: timed out; the command was stopped" in out
    sleeper = int(pids.read_text())
    until(lambda: not alive(sleeper), limit=10, what="the check's child to end")


@given(st.lists(st.one_of(st.integers(1, 50).map(str),
                          st.integers(1, 100).map(lambda p: f"{p}%")), min_size=1, max_size=6),
       st.integers(0, 300))
def test_waves_cover_every_write_once_in_order(items, total):
    try:
        sizes = parse_sizes(",".join(items))
    except ValueError:
        return
    changes = list(range(total))
    waves = split(changes, sizes)
    assert [c for w in waves for c in w] == changes and all(waves)
    assert len(waves) <= len(sizes) + 1
    first = sizes[0].of(total)
    assert not waves or len(waves[0]) == (first or total)


def test_the_undo_of_a_failed_wave_is_refused_when_it_would_restore_a_premium_forward(
        write, state_file, tmp_path):
    """The undo writes the `before` values: a premium-rate forward that was live before the
    apply is judged like any value mvconf writes (SPEC §15), so the wave stays and says why."""
    import phonenumbers

    premium = phonenumbers.format_number(
        phonenumbers.example_number_for_type("US", phonenumbers.PhoneNumberType.PREMIUM_RATE),
        phonenumbers.PhoneNumberFormat.E164)
    manifest = write("dids.yaml", "version: 1\ndids:\n" + "".join(
        f'  - {{number: "+1555123000{i}", application: app_456, route_mode: webhook}}\n'
        for i in range(2)))
    from .helpers import did

    state = state_file([did(f"+1555123000{i}", id=f"did_{i}", mode="forward",
                            destinations=[premium]) for i in range(2)],
                       keys=[{"key": KEY, "customer_id": "cust_123"}])
    journal = tmp_path / "journal.jsonl"
    with running_emulator(state) as url:
        code, _, err = finish(waved(manifest, url, journal, "--waves", "1,100%",
                                    "--wave-check", "false"))
        now = account(url)
    assert code == 1 and "MV101" in err and "rollback refused" in err, err
    assert now["+15551230000"]["route_mode"] == "webhook"  # the wave stays
    assert now["+15551230001"]["route_mode"] == "forward"  # the next wave never started
