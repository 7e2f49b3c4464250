"""Helpers the tests share: run the CLI in-process with its real exit code and separate output
streams, and build DID records. Tests import these from here; conftest.py holds only fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
