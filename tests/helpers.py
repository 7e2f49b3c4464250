"""Helpers the tests share: run the CLI in-process with its real exit code and separate output
streams, and build DID records. Tests import these from here; conftest.py holds only fixtures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from mvconf.cli import run

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-live-SECRET-4f9a2c7e"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def invoke(*args: str, env: dict | None = None, input: str | None = None) -> Result:
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as streams:
        code = run([str(a) for a in args])
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return Result(code, out.decode(), err.decode())


def did(number: str, app: str = "app_123", mode: str = "webhook", *, status: str = "active",
        destinations: list | None = None, id: str | None = None,
        customer: str = "cust_123") -> dict:
    record = {
        "id": id or f"did_{number.lstrip('+')}",
        "customer_id": customer,
        "application_id": app,
        "number_e164": number,
        "provider": "didww",
        "status": status,
        "route_mode": mode,
        "created_at": "2026-05-29T12:00:00Z",
        "updated_at": "2026-05-29T12:00:00Z",
    }
    if destinations is not None:
        record["destinations"] = destinations
    return record


def start(state, *extra, stderr=None):
    proc = subprocess.Popen([sys.executable, "-m", "mvconf", "emulator", "--state", str(state),
                             "--port", "0", *extra], stdout=subprocess.PIPE, stderr=stderr,
                            text=True)
    url = proc.stdout.readline().strip().removeprefix("listening on ")
    assert url.startswith("http://127.0.0.1:")
    return proc, url


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def mvconf(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "mvconf", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, **kw)


def many(write, state_file, n, key=KEY):
    body = "version: 1\ndids:\n" + "".join(
        f'  - {{number: "+1555123{i:04d}", application: app_456, route_mode: webhook}}\n'
        for i in range(n))
    keys = [{"key": key, "customer_id": "cust_123", "application_id": "app_123"}]
    return write("dids.yaml", body), state_file(
        [did(f"+1555123{i:04d}", id=f"did_{i}") for i in range(n)], keys=keys)


@contextmanager
def running_emulator(state, *extra, stderr=None):
    """`mvconf emulator` on `state` over TCP for the block; yields its URL."""
    proc, url = start(state, *extra, stderr=stderr)
    try:
        yield url
    finally:
        stop(proc)


class RecordingView:
    """A view of apply (or of reading) that records each call, and answers the prompt."""

    def __init__(self, answer=True):
        self.answer = answer
        self.seen: list[tuple] = []

    @contextmanager
    def progress(self, total, label):
        yield lambda: None

    def __getattr__(self, name):
        def record(*args):
            self.seen.append((name, *args))
        return record

    def ask(self, count):
        self.seen.append(("ask", count))
        return self.answer

    def names(self):
        return [event[0] for event in self.seen]
