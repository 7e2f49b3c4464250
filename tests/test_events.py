"""verify-events verdicts and a real receive-events process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

MANIFEST = """
version: 1
dids:
  - {number: "+15551230002", application: app_123, route_mode: webhook}
  - {number: "+15551230003", application: app_456, route_mode: webhook}
  - {number: "+15551230004", application: app_123, route_mode: reject}
  - {number: "+15551230005", application: app_123, route_mode: reject}
  - {number: "+15551230006", application: app_123, route_mode: webhook}
"""


def event(call_id, to, app="app_123", status="completed", direction="inbound",
          kind="call.completed"):
    return {"event": kind, "created_at": "2026-05-29T12:10:00Z",
            "call": {"id": call_id, "customer_id": "cust_123", "application_id": app,
                     "status": status, "direction": direction, "from": "+15551230001", "to": to},
            "variables": {}, "data": {}}


@pytest.fixture
def events_file(tmp_path):
    lines = [
        json.dumps(event("call_1", "+15551230002")),
        json.dumps(event("call_1", "+15551230002", kind="call.answered")),  # same call twice
        json.dumps(event("call_2", "+1 555-123-0003", app="app_999")),      # not E.164 as written
        json.dumps(event("call_3", "+15551230004", status="completed")),
        json.dumps(event("call_4", "+15551230005", status="rejected")),
        json.dumps(event("call_5", "+15551230002", direction="outbound", app="app_999")),
        json.dumps(event("call_6", "+15559990000")),
        "{not json",
        json.dumps({"event": "account.updated"}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_verdict(cli, write, events_file):
    manifest = write("m.yaml", MANIFEST)
    result = cli("verify-events", manifest, "--events", events_file, "--format", "json")
    assert result.code == 2
    report = json.loads(result.stdout)
    by_number = {d["number"]: d for d in report["dids"]}
    assert by_number["+15551230002"]["status"] == "ok"
    assert by_number["+15551230002"]["calls"] == 1  # duplicate events, outbound ignored
    assert by_number["+15551230003"]["status"] == "wrong_application"
    assert by_number["+15551230003"]["seen"] == ["app_999"]
    assert by_number["+15551230004"]["status"] == "not_rejected"
    assert by_number["+15551230005"]["status"] == "ok"
    assert by_number["+15551230006"]["status"] == "untested"
    assert report["unmanaged"] == [{"number": "+15559990000", "calls": 1}]
    assert [m["line"] for m in report["malformed"]] == [8, 9]
    assert f"{events_file}:8: skipped" in result.stderr


def test_untested_alone_is_not_wrong_and_stdin_array_works(cli, write):
    manifest = write("m.yaml", MANIFEST)
    body = json.dumps([event("c1", "+15551230002")])
    result = cli("verify-events", manifest, "--events", "-", input=body)
    assert result.code == 0 and "untested" in result.stdout


@pytest.mark.process
def test_receive_events_records_posts(tmp_path):
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "mvconf", "receive-events", "--port", "0",
                             "--out", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        hook = f"{url}/hooks/minivoice"
        assert httpx.post(hook, json=event("c1", "+15551230002")).status_code == 200
        assert httpx.post(f"{url}/x", content=b"not json").status_code == 400
        assert httpx.post(url + "/", json=event("c2", "+15551230003")).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    recorded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["call"]["id"] for r in recorded] == ["c1", "c2"]
