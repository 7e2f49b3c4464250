"""Shared helpers: run the CLI in-process with its real exit code and separate output streams."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from mvconf.cli import run

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def cli():
    return invoke


@pytest.fixture
def write(tmp_path):
    """Write a dedented text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


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


@pytest.fixture
def state_file(tmp_path):
    """Write an emulator state file with one key (test-key, cust_123) and the given DIDs."""

    def _state(dids: list[dict], name: str = "state.json", keys: list | None = None) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({
            "api_keys": keys or [{"key": "test-key", "customer_id": "cust_123",
                                  "application_id": "app_123"}],
            "dids": dids,
        }, indent=1))
        return path

    return _state
