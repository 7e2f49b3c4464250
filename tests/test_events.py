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


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0c", "\x1e"])
def test_a_line_separator_inside_a_string_does_not_hide_a_call(cli, write, separator):
    # Legal unescaped in a JSON string, and written so by receive-events: one line, one call.
    manifest = write("m.yaml", MANIFEST)
    wrong = event("c1", "+15551230002", app="app_999")
    wrong["variables"] = {"caller": f"a{separator}b"}
    text = json.dumps(wrong, ensure_ascii=False) + "\r\n" + json.dumps(event("c2", "x")) + "\n"
    result = cli("verify-events", manifest, "--events", "-", "--format", "json", input=text)
    assert result.code == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {d["number"]: d["status"] for d in report["dids"]}["+15551230002"] == \
        "wrong_application"
    assert [m["line"] for m in report["malformed"]] == [2]


def test_a_first_line_that_is_an_array_is_one_malformed_record(cli, write):
    manifest = write("m.yaml", MANIFEST)
    text = "[]\n" + json.dumps(event("c1", "+15551230003", app="app_999")) + "\n"
    result = cli("verify-events", manifest, "--events", "-", "--format", "json", input=text)
    assert result.code == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [m["line"] for m in report["malformed"]] == [1]
    truncated = cli("verify-events", manifest, "--events", "-",
                    input="[\n" + json.dumps(event("c1", "+15551230003")) + ",\n")
    assert truncated.code == 1 and "looks like a JSON array but is not valid" in \
        truncated.stderr


@pytest.mark.process
def test_receive_events_records_posts(tmp_path):
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "mvconf", "receive-events", "--port", "0",
                             "--out", str(out), "--path", "/hooks/minivoice"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        hook = f"{url}/hooks/minivoice"
        assert httpx.post(hook, json=event("c1", "+15551230002")).status_code == 200
        assert httpx.post(hook, content=b"not json",
                          headers={"Content-Type": "application/json"}).status_code == 400
        for other in (b"[]", b"1", b'"x"', b"null"):  # JSON, but not an event: not recorded
            assert httpx.post(hook, content=other, headers={
                "Content-Type": "application/json"}).status_code == 400
        assert httpx.post(url + "/", json=event("c9", "+15551230003")).status_code == 404
        assert httpx.post(hook, json=event("c2", "+15551230003")).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    recorded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["call"]["id"] for r in recorded] == ["c1", "c2"]


@pytest.mark.process
def test_emulator_test_calls_follow_live_routing_and_reach_the_receiver(cli, write, tmp_path,
                                                                        state_file):
    import asyncio

    from mvconf.emulator.app import create_app
    from mvconf.emulator.store import Store

    from .helpers import did

    manifest = write("dids.yaml", MANIFEST)
    state = state_file([did("+15551230002"), did("+15551230003", app="app_999"),
                        did("+15551230004", mode="reject"), did("+15551230005")])
    app = create_app(Store(state))
    out = tmp_path / "events.jsonl"
    receiver = subprocess.Popen([sys.executable, "-m", "mvconf", "receive-events", "--port", "0",
                                 "--out", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        hook = receiver.stdout.readline().strip().removeprefix("listening on ") + "/hooks/minivoice"

        async def place(body):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://emu") as client:
                return await client.post("/_account/calls", json=body)

        codes = [asyncio.run(place({"to": n, "webhook_url": hook})).status_code
                 for n in ("+15551230002", "+15551230003", "+15551230004", "+15551230005")]
        assert codes == [201] * 4
        assert asyncio.run(place({"to": "+15551239999"})).status_code == 404
    finally:
        receiver.send_signal(signal.SIGTERM)
        assert receiver.wait(timeout=10) == 0
    down = asyncio.run(place({"to": "+15551230002", "webhook_url": hook}))
    assert down.status_code == 502 and down.json()["error"]["code"] == "webhook_failed"

    recorded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["call"]["status"] for r in recorded] == ["completed", "completed", "rejected",
                                                      "completed"]
    result = cli("verify-events", manifest, "--events", out, "--format", "json")
    verdicts = {d["number"]: d["status"] for d in json.loads(result.stdout)["dids"]}
    assert result.code == 2  # +15551230003 answers in app_999, and +15551230005 is not rejected
    assert verdicts == {"+15551230002": "ok", "+15551230003": "wrong_application",
                        "+15551230004": "ok", "+15551230005": "not_rejected",
                        "+15551230006": "untested"}


def test_events_on_stdin_are_bounded_as_a_file_is(write, monkeypatch):
    from mvconf.commands import verify_events as command

    from .helpers import invoke

    manifest = write("m.yaml", MANIFEST)
    monkeypatch.setattr(command, "MAX_EVENTS_BYTES", 1000)
    result = invoke("verify-events", manifest, "--events", "-", input="x" * 5000)
    assert result.code == 1 and "larger than 1,000 bytes" in result.stderr
