"""Apply and rollback under what pipelines do (SPEC §10-§11): signals at any moment, kills, a
person editing the account during an apply, two overlapping applies, a held journal, a full disk.
All against a real `mvconf emulator` over TCP."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time

import httpx
import pytest

from mvconf.apply.journal import read_journal
from mvconf.core.lockfile import RunLock

from .helpers import KEY, many, mvconf, running_emulator

pytestmark = pytest.mark.reliability


def account(url: str) -> dict[str, dict]:
    dids = httpx.get(f"{url}/_account/dids").json()["dids"]
    return {d["number_e164"]: d for d in dids}


def last_words(journal) -> dict[str, dict]:
    """Per number, the last outcome the journal records (none: a run that changed nothing,
    such as one refused whole as stale, leaves no journal)."""
    if not journal.exists():
        return {}
    records, _ = read_journal(str(journal))
    words: dict[str, dict] = {}
    for record in records:
        if record["phase"] == "outcome":
            words[record["number"]] = record
    return words


def wait_for_lines(path, count: int, proc: subprocess.Popen, limit: float = 60.0) -> None:
    """Until the journal has `count` lines (or the run ended): a condition, not a timing."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.005)


def apply_proc(manifest, url, journal, *extra, **kw):
    env = {**os.environ, "MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "mvconf", "apply", str(manifest),
                             "--executor", "api", "--auto-approve", "--allow-mass-change",
                             "--journal", str(journal), *map(str, extra)],
                            stdout=subprocess.PIPE, text=True, env=env,
                            **kw)


def assert_journal_says_what_changed(url, journal, before):
    """Every DID the account shows changed is journaled applied; every applied one changed."""
    now = account(url)
    words = last_words(journal)
    for number, record in now.items():
        changed = record["application_id"] != before[number]["application_id"]
        word = words.get(number)
        if changed:
            assert word and word["outcome"] == "applied", (number, word)
        else:
            assert not word or word["outcome"] != "applied", (number, word)
    records, bad = read_journal(str(journal))
    assert bad == []
    intents = {(r["run"], r["number"]) for r in records if r["phase"] == "intent"}
    outcomes = {(r["run"], r["number"]) for r in records if r["phase"] == "outcome"}
    assert intents <= outcomes  # no write left without its outcome


@pytest.mark.parametrize("signum, seed", [(signal.SIGINT, 1), (signal.SIGTERM, 2),
                                          (signal.SIGINT, 3), (signal.SIGTERM, 4)])
def test_a_signal_mid_apply_stops_cleanly_with_everything_journaled(write, state_file, tmp_path,
                                                                   signum, seed):
    manifest, state = many(write, state_file, 300)
    with running_emulator(state, "--latency-ms", "3") as url:
        journal = tmp_path / "journal.jsonl"
        before = account(url)
        run = apply_proc(manifest, url, journal, "--parallelism", "4")
        wait_for_lines(journal, random.Random(seed).randint(2, 300), run)
        run.send_signal(signum)
        out, err = run.communicate(timeout=60)
        assert run.returncode in (0, 128 + signum), err
        if run.returncode:
            assert "Apply:" in out and "not started" in err
        assert_journal_says_what_changed(url, journal, before)


def test_sigkill_then_rollback_restores_every_did(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 200)
    with running_emulator(state, "--latency-ms", "3") as url:
        journal = tmp_path / "journal.jsonl"
        env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
        before = account(url)
        run = apply_proc(manifest, url, journal, "--parallelism", "4")
        wait_for_lines(journal, 60, run)
        run.kill()
        run.wait()
        changed = [n for n, d in account(url).items()
                   if d["application_id"] != before[n]["application_id"]]
        assert changed
        result = mvconf("rollback", "--journal", journal, "--executor", "api", "--auto-approve",
                        env=env)
        assert result.returncode == 0, result.stderr
        after = account(url)
        assert all(after[n]["application_id"] == before[n]["application_id"] for n in before)


def test_a_persons_change_during_apply_survives(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 60)
    with running_emulator(state, "--latency-ms", "10") as url:
        journal = tmp_path / "journal.jsonl"
        last = "+15551230059"
        run = apply_proc(manifest, url, journal, "--parallelism", "1")
        wait_for_lines(journal, 1, run)
        person = httpx.patch(f"{url}/_account/dids/{last}", json={"application_id": "app_person"})
        assert person.status_code == 200
        out, err = run.communicate(timeout=60)
        assert run.returncode == 1 and "stale" in err
        assert account(url)[last]["application_id"] == "app_person"
        word = last_words(journal)[last]
        assert word["outcome"] == "failed" and "stale" in word["error"]


def test_two_overlapping_applies_apply_each_contested_did_at_most_once(write, state_file,
                                                                       tmp_path):
    manifest, state = many(write, state_file, 60)
    with running_emulator(state, "--latency-ms", "2") as url:
        env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
        plans, journals = [], []
        for side, numbers in (("a", range(0, 40)), ("b", range(20, 60))):
            body = "version: 1\ndids:\n" + "".join(
                f'  - {{number: "+1555123{i:04d}", application: app_{side}, '
                f"route_mode: webhook}}\n" for i in numbers)
            path = tmp_path / side / "dids.yaml"
            path.parent.mkdir()
            path.write_text(body)
            plan = tmp_path / f"{side}.json"
            made = mvconf("plan", path, "--executor", "api", "--out", plan, env=env)
            assert made.returncode == 0, made.stderr
            plans.append(plan)
            journals.append(tmp_path / f"{side}.jsonl")
        runs = [subprocess.Popen([sys.executable, "-m", "mvconf", "apply", str(plan),
                                  "--journal", str(journal), "--allow-mass-change"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, **env})
                for plan, journal in zip(plans, journals, strict=True)]
        for run in runs:
            _, err = run.communicate(timeout=60)
            assert run.returncode in (0, 1), err  # 1: the loser's DIDs failed as stale
            assert run.returncode == 0 or "stale" in err, err
        now = account(url)
        for i in range(20, 40):
            number = f"+1555123{i:04d}"
            applied = [side for side, journal in zip("ab", journals, strict=True)
                       if last_words(journal).get(number, {}).get("outcome") == "applied"]
            assert len(applied) <= 1, number
            if applied:
                assert now[number]["application_id"] == f"app_{applied[0]}"


def test_a_second_run_on_a_held_journal_is_refused_naming_the_holder(write, state_file,
                                                                     tmp_path):
    manifest, state = many(write, state_file, 3)
    journal = tmp_path / "journal.jsonl"
    with running_emulator(state) as url, RunLock(journal, "mvconf apply"):
        result = mvconf("apply", manifest, "--executor", "api", "--auto-approve",
                        "--journal", journal,
                        env={"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url})
    assert result.returncode == 1
    assert f"held by pid {os.getpid()}" in result.stderr
    assert not journal.exists()


def test_a_full_disk_stops_the_run_with_a_summary_and_a_journal_that_parses(write, state_file,
                                                                            tmp_path):
    manifest, state = many(write, state_file, 40)
    journal = tmp_path / "journal.jsonl"

    def small_disk():  # the journal may grow to 6,000 bytes; writes past it fail (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

    with running_emulator(state) as url:
        env = {"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
        before = account(url)
        run = apply_proc(manifest, url, journal, "--parallelism", "1", preexec_fn=small_disk)
        out, err = run.communicate(timeout=60)
        assert run.returncode == 1
        assert "cannot write the journal" in err and "Apply:" in out
        # The next run (with room) resolves what was left and finishes; nothing is lost.
        again = mvconf("apply", manifest, "--executor", "api", "--auto-approve",
                       "--allow-mass-change", "--journal", journal, env=env)
        assert again.returncode == 0, again.stderr
        records, bad = read_journal(str(journal))
        assert len(bad) <= 1  # at most the one torn line, reported, never fatal
        now = account(url)
        assert all(now[n]["application_id"] == "app_456" for n in before)
        assert json.loads(json.dumps(records))  # every record a whole JSON object


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_wait_says_interrupted_not_timed_out(write, state_file, tmp_path, signum):
    manifest, state = many(write, state_file, 3)
    out = tmp_path / "out.txt"
    with running_emulator(state) as url, open(out, "w") as handle:
        env = {**os.environ, "MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": url}
        run = subprocess.Popen([sys.executable, "-m", "mvconf", "apply", str(manifest),
                                "--executor", "manual", "--wait", "--wait-timeout", "600",
                                "--auto-approve", "--allow-mass-change",
                                "--journal", str(tmp_path / "j.jsonl")],
                               stdout=handle, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None and \
                "Waiting up to" not in out.read_text():
            time.sleep(0.01)
        run.send_signal(signum)
        _, err = run.communicate(timeout=60)
    assert run.returncode == 128 + signum, err
    assert "Timed out" not in out.read_text() + err
    assert "3 change(s) for a person not confirmed" in err and "were not shown" not in err


def test_a_reader_of_both_outputs_gone_mid_apply_keeps_the_applys_exit_code(write, state_file,
                                                                            tmp_path):
    # `apply ... 2>&1 | head -1`: stdout and stderr go to one reader that leaves; the writes
    # go on to their end and the exit code is the apply's own, not 1.
    manifest, state = many(write, state_file, 40)
    journal = tmp_path / "j.jsonl"
    with running_emulator(state) as url:
        before = account(url)
        run = apply_proc(manifest, url, journal, "--parallelism", "4",
                         stderr=subprocess.STDOUT)
        run.stdout.close()  # the reader goes away before anything is read
        run.wait(timeout=120)
        assert run.returncode == 0
        assert_journal_says_what_changed(url, journal, before)
        assert all(d["application_id"] != before[n]["application_id"]
                   for n, d in account(url).items())


def test_a_reader_gone_mid_apply_cuts_no_write_short(write, state_file, tmp_path):
    # `apply ... | head -1`: the writes go on to their end, each journaled, and stderr says
    # that the output stopped being shown.
    manifest, state = many(write, state_file, 120)
    journal = tmp_path / "j.jsonl"
    with running_emulator(state) as url:
        before = account(url)
        run = apply_proc(manifest, url, journal, "--parallelism", "4")
        run.stdout.close()  # the reader goes away before anything is read
        err = run.stderr.read()
        run.wait(timeout=120)
        assert run.returncode == 0, err
        assert "the output was closed (broken pipe)" in err
        assert_journal_says_what_changed(url, journal, before)
        assert all(d["application_id"] != before[n]["application_id"]
                   for n, d in account(url).items())
