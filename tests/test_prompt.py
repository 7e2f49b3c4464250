"""The confirmation prompt on a real terminal (a pty): only `yes` approves, anything else
cancels, Ctrl-C cancels at once; nothing is written unless approved (SPEC §11)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from .helpers import did

pytestmark = pytest.mark.process
PROMPT = b"Only 'yes' approves"


@pytest.fixture
def project(write, state_file):
    manifest = write("dids.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "application: app_456, route_mode: webhook}\n")
    return manifest, state_file([did("+15551230002", id="did_2")])


def run_at_prompt(project, tmp_path, then):
    """Start apply with a pty as its terminal; once it asks, `then(proc, master)`. The child
    is always reaped: killed if it has not ended within the deadline."""
    manifest, state = project
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mvconf", "apply", str(manifest),
                             "--emulator", str(state), "--executor", "api", "--journal",
                             str(tmp_path / "j.jsonl")],
                            stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 60
        while PROMPT not in seen:  # the prompt goes to stderr, as stdout is not the terminal
            ready, _, _ = select.select([proc.stderr], [], [], max(0, deadline - time.monotonic()))
            assert ready, f"no prompt within 60 s: {seen!r}"
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, seen
            seen += chunk
        then(proc, master)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(master)
    app = json.loads(state.read_text())["dids"][0]["application_id"]
    return proc.returncode, out.decode(), (seen + err).decode(), app


@pytest.mark.parametrize("answer", [b"y\n", b"YES please\n", b"\n"])
def test_anything_but_yes_cancels(project, tmp_path, answer):
    code, _, err, app = run_at_prompt(project, tmp_path, lambda p, m: os.write(m, answer))
    assert code == 1 and "cancelled; nothing was changed" in err and app == "app_123"
    assert not (tmp_path / "j.jsonl").exists()


def test_yes_approves(project, tmp_path):
    code, out, _, app = run_at_prompt(project, tmp_path, lambda p, m: os.write(m, b"yes\n"))
    assert code == 0 and "Apply: 1 applied" in out and app == "app_456"


def test_ctrl_c_at_the_prompt_cancels_at_once(project, tmp_path):
    code, _, err, app = run_at_prompt(project, tmp_path,
                                      lambda p, m: p.send_signal(signal.SIGINT))
    assert code == 130 and app == "app_123"
    assert not (tmp_path / "j.jsonl").exists()


def test_sigterm_at_the_prompt_cancels_at_once(project, tmp_path):
    code, _, err, app = run_at_prompt(project, tmp_path,
                                      lambda p, m: p.send_signal(signal.SIGTERM))
    assert code == 143 and app == "app_123" and "nothing was changed" in err
    assert not (tmp_path / "j.jsonl").exists()


def test_a_signal_before_the_read_starts_is_not_missed(monkeypatch):
    """The race itself: SIGINT lands after the question is shown and before the terminal is
    read. A blocking read would wait for a line forever; the answer must be cancelled."""
    import click

    from mvconf.commands.views.apply import read_answer

    r, w = os.pipe()  # a terminal that never answers
    try:
        with pytest.raises(click.Abort):
            read_answer(r, lambda: os.kill(os.getpid(), signal.SIGINT))
    finally:
        os.close(r)
        os.close(w)
