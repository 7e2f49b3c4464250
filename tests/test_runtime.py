"""runtime: the endpoint opened before any loop, one client over the in-process emulator, the
journal's lock, and what SIGINT/SIGTERM do before and during writes (SPEC §11)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager

import pytest

from mvconf.core.api_settings import ApiSettings
from mvconf.core.errors import Busy, ConfigError, Interrupted
from mvconf.run.runtime import Runtime

from .helpers import RecordingView, did

NUMBER = "+15551230001"


class ReadRecorder(RecordingView):
    """Records progress bars and how often each ticked, beside every other call."""

    @contextmanager
    def progress(self, total, label):
        ticks = []
        yield lambda: ticks.append(1)
        self.seen.append(("progress", total, label, len(ticks)))


@pytest.fixture
def account(state_file):
    return state_file([did(NUMBER)])


def test_a_configuration_error_comes_before_any_work(monkeypatch):
    monkeypatch.delenv("MINIVOICE_API_KEY", raising=False)
    started = []

    async def work(client):
        started.append(client)

    runtime = Runtime(ApiSettings(api_url="https://api.example.test"))
    with pytest.raises(ConfigError, match="MINIVOICE_API_KEY"):
        runtime.run(work)
    assert started == [] and runtime.endpoint is None


def test_one_client_reads_through_the_emulator_with_the_views_progress(account):
    view = ReadRecorder()
    runtime = Runtime(ApiSettings(emulator=str(account), parallelism=2), view=view)

    async def work(client):
        return await runtime.read(client, [NUMBER, "+15551230002"])

    live = runtime.run(work)
    assert live["+15551230002"] is None and live[NUMBER].application_id == "app_123"
    assert view.seen == [("progress", 2, "Reading DIDs", 2)]
    assert runtime.endpoint.label == f"emulator:{account}"


def test_a_writing_run_holds_the_emulator_state_until_it_ends(account):
    runtime = Runtime(ApiSettings(emulator=str(account)), writes=True)

    async def work(client):
        with pytest.raises(Busy):
            Runtime(ApiSettings(emulator=str(account)), writes=True).open()
        return "done"

    assert runtime.run(work) == "done"
    after = Runtime(ApiSettings(emulator=str(account)), writes=True)
    assert after.run(lambda client: asyncio.sleep(0, "free again")) == "free again"


def test_a_signal_before_any_write_cancels_the_run_at_once(account):
    runtime = Runtime(ApiSettings(emulator=str(account)))
    finished = []

    async def work(client):
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(5)
        finished.append(True)

    with pytest.raises(Interrupted) as caught:
        runtime.run(work)
    assert caught.value.exit_code == 130 and finished == []
    assert runtime.stop.signum == signal.SIGINT


def test_a_signal_during_writes_lets_those_under_way_finish(account, capfd):
    runtime = Runtime(ApiSettings(emulator=str(account)))

    async def work(client):
        runtime.stop.writing = True  # as the applier sets it before its first write
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        return "finished"

    assert runtime.run(work) == "finished"
    assert runtime.stop.is_set()
    assert "SIGTERM: no new change will start" in capfd.readouterr().err


def test_the_journal_lock_is_one_run_at_a_time(tmp_path):
    journal, view = str(tmp_path / "journal.jsonl"), RecordingView()
    with Runtime(ApiSettings()).journal_lock(journal, "apply", 0.0, view):
        with pytest.raises(Busy, match="mvconf apply"):
            with Runtime(ApiSettings()).journal_lock(journal, "rollback", 0.0, view):
                pass
    assert view.seen == []  # a lock released in order is not "taken over"


def test_a_lock_its_dead_holder_left_is_taken_over_and_said(tmp_path):
    journal, view = tmp_path / "journal.jsonl", RecordingView()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    (tmp_path / "journal.jsonl.lock").write_text(json.dumps({
        "pid": pid, "host": socket.gethostname(), "command": "mvconf apply",
        "started": "2026-01-01T00:00:00Z", "held": True}))
    with Runtime(ApiSettings()).journal_lock(str(journal), "apply", 0.0, view):
        pass
    (name, path, holder), = view.seen
    assert name == "lock_taken_over" and path == tmp_path / "journal.jsonl.lock"
    assert f"pid {pid}" in holder
