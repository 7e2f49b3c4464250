"""The emulator and receive-events against hostile requests (SPEC §7, §13): every /v1/ answer is
the JSON envelope, bodies are limited while read and after the key check, strict JSON, the
account setup validates like the API and never loses a DID, a failed save leaves memory equal to
the file, and nothing gives a traceback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mvconf.core.hosts import is_loopback
from mvconf.emulator.app import create_app
from mvconf.emulator.openapi import openapi_text
from mvconf.emulator.store import Store
from mvconf.events.receiver import create_receiver

from .helpers import ROOT, did, start, stop

KEY = "test-key"


@pytest.fixture
def app(state_file):
    path = state_file([did("+15551230002", id="did_123"), did("+15551230003", id="did_124")])
    return create_app(Store(path)), path


def call(app, method, path, *, key=KEY, client=("127.0.0.1", 5000), **kw):
    async def go():
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kw.pop("headers", {}))
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
            return await c.request(method, path, headers=headers, **kw)
    return asyncio.run(go())


def envelope(response, status, code=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()["error"]
    assert set(body) == {"code", "message"}
    if code:
        assert body["code"] == code


@pytest.mark.parametrize("path", ["/v1/dids/%00%01", "/v1/nothing", "/v1/dids/a/b/c",
                                  "/v1/dids/by-number/%0A"])
def test_unknown_v1_paths_answer_the_envelope(app, path):
    envelope(call(app[0], "GET", path), 404, "not_found")


@pytest.mark.parametrize("method, path, allow", [("OPTIONS", "/v1/dids/did_123", "GET, PATCH"),
                                                 ("DELETE", "/v1/dids/did_123", "GET, PATCH"),
                                                 ("PUT", "/v1/dids/by-number/+1555", "GET"),
                                                 ("TRACE", "/_account/dids", "GET")])
def test_405_lists_the_methods_truly(app, method, path, allow):
    response = call(app[0], method, path)
    envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


def test_the_key_is_checked_before_the_body_is_read(app):
    chunks = []

    async def body():
        for _ in range(1000):
            chunks.append(1)
            yield b"x" * 65536

    envelope(call(app[0], "PATCH", "/v1/dids/did_123", key=None, content=body()), 401)
    assert len(chunks) <= 1


def test_a_long_body_is_refused_while_it_is_read(app):
    sent = []

    async def body():
        for _ in range(10000):  # 640 MB, if it were all read
            sent.append(1)
            yield b"[" * 65536

    envelope(call(app[0], "PATCH", "/v1/dids/did_123", content=body()), 413)
    assert len(sent) <= 3


@pytest.mark.parametrize("raw, why", [(b'{"route_mode": NaN}', "NaN"),
                                      (b"[" * 100000 + b"]" * 100000, "nested"),
                                      (b'{"route_mode": "\\ud800"}', "surrogate"),
                                      (b"\xff\xfe", "UTF-8")])
def test_bodies_are_strict_json(app, raw, why):
    response = call(app[0], "PATCH", "/v1/dids/did_123", content=raw)
    envelope(response, 413 if len(raw) > 65536 else 400)


def test_a_non_ascii_key_is_refused_not_a_500(app):
    response = call(app[0], "GET", "/v1/dids/did_123",
                    key=None, headers={"Authorization": "Bearer kéy".encode()})
    envelope(response, 401, "unauthorized")


def test_account_setup_never_loses_a_did(app):
    asgi, path = app
    taken = call(asgi, "PUT", "/_account/dids/+15551239996", json={"id": "did_123"})
    envelope(taken, 409, "conflict")
    dids = {d["id"] for d in call(asgi, "GET", "/_account/dids").json()["dids"]}
    assert dids == {"did_123", "did_124"}


@pytest.mark.parametrize("number, body", [("+15551239996", {"id": 5}),
                                          ("+15551239996", {"customer_id": ["x"]}),
                                          ("+15551239996", {"customer_id": "cust_unknown"}),
                                          ("not-a-number", {}),
                                          ("+15551239996", {"route_mode": "x"}),
                                          ("+15551239996", {"surprise": 1})])
def test_account_setup_validates_like_the_api(app, number, body):
    asgi, path = app
    envelope(call(asgi, "PUT", f"/_account/dids/{number}", json=body), 400, "invalid_request")
    Store(path)  # the state file still loads


def test_ipv4_mapped_loopback_is_loopback(app):
    assert is_loopback("::ffff:127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("::ffff:203.0.113.9") and not is_loopback("203.0.113.9")
    response = call(app[0], "GET", "/_account/dids", client=("::ffff:127.0.0.1", 5000))
    assert response.status_code == 200


def test_test_call_webhooks_stay_on_this_machine(app):
    response = call(app[0], "POST", "/_account/calls",
                    json={"to": "+15551230002", "webhook_url": "http://203.0.113.9/hook"})
    envelope(response, 400, "invalid_request")
    assert "--allow-remote-webhooks" in response.json()["error"]["message"]


def test_a_failed_save_undoes_the_change_and_says_so(app, monkeypatch):
    asgi, path = app
    before = path.read_text()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mvconf.core.files.write_atomic", full_disk)
    answer = call(asgi, "PATCH", "/v1/dids/did_123", json={"route_mode": "reject"})
    envelope(answer, 503, "save_failed")
    served = call(asgi, "GET", "/v1/dids/did_123").json()
    assert served["route_mode"] == "webhook"  # memory equals the file
    created = call(asgi, "PUT", "/_account/dids/+15551239990", json={})
    envelope(created, 503, "save_failed")
    envelope(call(asgi, "GET", "/_account/dids/+15551239990"), 404)
    assert path.read_text() == before


def test_receive_events_is_strict_and_limited(tmp_path):
    out = tmp_path / "events.jsonl"
    receiver = create_receiver(str(out))
    hook, as_json = "/hooks/minivoice", {"Content-Type": "application/json"}
    assert call(receiver, "POST", hook, content=b'{"n": NaN}', headers=as_json).status_code == 400
    assert call(receiver, "POST", hook, content=b"[" * 50000, headers=as_json).status_code == 400
    assert call(receiver, "POST", hook, content=b"x" * (2 * 1024 * 1024),
                headers=as_json).status_code == 413
    assert call(receiver, "GET", hook).status_code == 405
    assert call(receiver, "POST", hook, json={"event": "call.completed"}).status_code == 200
    assert out.read_text().splitlines() == ['{"event":"call.completed"}']


def test_verify_events_skips_hostile_lines(cli, write, tmp_path):
    manifest = write("dids.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "application: app_123, route_mode: webhook}\n")
    events = tmp_path / "events.jsonl"
    good = {"event": "call.completed", "call": {"id": "c1", "direction": "inbound",
            "to": "+15551230002", "application_id": "app_123", "status": "completed"}}
    events.write_text(json.dumps(good) + "\n" + "[" * 100000 + "\n" + '{"call": {"id": '
                      '"\\ud800", "direction": "inbound", "to": "+15551230002"}}\n')
    result = cli("verify-events", manifest, "--events", events)
    assert result.code == 0, result.stderr
    assert f"{events}:2: skipped" in result.stderr and f"{events}:3: skipped" in result.stderr


def test_openapi_is_served_and_committed_equal(app):
    served = call(app[0], "GET", "/openapi.json")
    assert served.status_code == 200 and served.json() == json.loads(openapi_text())
    committed = (ROOT / "schemas" / "minivoice.openapi.json").read_text()
    assert committed == openapi_text()
    origins = [op["x-mvconf-origin"] for item in served.json()["paths"].values()
               for op in item.values() if isinstance(op, dict) and "x-mvconf-origin" in op]
    assert "documented" in origins and "ours" in origins


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.process
def test_a_streamed_gigabyte_is_held_under_100_mb(state_file):
    path = state_file([did("+15551230002", id="did_123")])
    proc, url = start(path)
    try:
        def gigabyte():
            for _ in range(16384):
                yield b"x" * 65536

        for key in (None, KEY):  # refused before the body (401), and while reading it (413)
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            try:
                answer = httpx.patch(f"{url}/v1/dids/did_123", content=gigabyte(),
                                     headers=headers, timeout=60)
                assert answer.status_code in (401, 413)
            except httpx.HTTPError:
                pass  # the server answered and closed before the client finished sending
        assert peak_rss_mb(proc.pid) < 100
        assert httpx.get(f"{url}/v1/dids/did_123", headers={"Authorization": f"Bearer {KEY}"}
                         ).status_code == 200
    finally:
        stop(proc)


@pytest.mark.process
def test_schemathesis_finds_no_failure(state_file, tmp_path):
    """Fuzz the live emulator from the committed OpenAPI description, every check, fixed seed."""
    path = state_file([did("+15551230002", id="did_123"), did("+15551230003", id="did_124")])
    log = tmp_path / "emulator.log"
    with log.open("w") as errors:
        proc, url = start(path, stderr=errors)
        try:
            st = Path(sys.executable).parent / "st"
            done = subprocess.run(
                [str(st), "run", str(ROOT / "schemas/minivoice.openapi.json"), "--url", url,
                 "--checks", "all", "--seed", "1", "--max-examples", "40", "--no-color",
                 "--exclude-path", "/_account/calls", "-H", f"Authorization: Bearer {KEY}"],
                capture_output=True, text=True, timeout=600, cwd=tmp_path)
        finally:
            stop(proc)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "No issues found" in done.stdout
    assert "Traceback" not in log.read_text()


HOOK = "/hooks/minivoice"


@pytest.mark.parametrize("path, headers, status", [
    (HOOK, {"Content-Type": "text/plain"}, 415),  # a browser's cross-origin simple request
    (HOOK, {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    (HOOK, {}, 415),
    ("/anything/else", {"Content-Type": "application/json"}, 404),
    ("/", {"Content-Type": "application/json"}, 404)])
def test_receive_events_records_only_json_posts_to_its_one_path(tmp_path, path, headers,
                                                                status):
    out = tmp_path / "events.jsonl"
    receiver = create_receiver(str(out), HOOK)  # --path
    answer = call(receiver, "POST", path, content=b'{"event": "call.completed"}',
                  headers=headers)
    envelope(answer, status)
    assert out.read_text() == ""


def test_receive_events_takes_any_path_without_path(tmp_path):
    out = tmp_path / "events.jsonl"
    receiver = create_receiver(str(out))  # SPEC §7: any path
    assert call(receiver, "POST", "/", json={"event": "a"}).status_code == 200
    assert call(receiver, "POST", "/x/y", json={"event": "b"}).status_code == 200
    assert call(receiver, "POST", "/x", content=b"{}",
                headers={"Content-Type": "text/plain"}).status_code == 415
    assert out.read_text().count("\n") == 2


def test_receive_events_with_a_token_records_only_posts_that_carry_it(tmp_path):
    out = tmp_path / "events.jsonl"
    receiver = create_receiver(str(out), token="s3cret-token-value")
    envelope(call(receiver, "POST", HOOK, json={"event": "a"}), 401, "unauthorized")
    envelope(call(receiver, "POST", HOOK, json={"event": "b"},
                  headers={"X-Mvconf-Token": "s3cret-token-valuX"}), 401)
    good = call(receiver, "POST", HOOK, json={"event": "c"},
                headers={"X-Mvconf-Token": "s3cret-token-value"})
    assert good.status_code == 200
    assert out.read_text().splitlines() == ['{"event":"c"}']


def test_after_a_full_disk_the_next_event_has_a_line_of_its_own(tmp_path, monkeypatch):
    import os

    out = tmp_path / "events.jsonl"
    receiver = create_receiver(str(out))
    real_write = os.write
    calls = []

    def full_disk(fd, data):
        calls.append(1)
        if len(calls) == 1:
            return real_write(fd, bytes(data[:5]))  # part of the line fits
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mvconf.events.receiver.os.write", full_disk)
    envelope(call(receiver, "POST", HOOK, json={"event": "lost"}), 503, "not_recorded")
    monkeypatch.setattr("mvconf.events.receiver.os.write", real_write)
    assert call(receiver, "POST", HOOK, json={"event": "kept"}).status_code == 200
    lines = out.read_text().splitlines()
    assert lines[-1] == '{"event":"kept"}' and len(lines) == 2
    # and so does the first event of a new receiver on a file left torn
    out.write_text(out.read_text() + '{"torn"')
    assert call(create_receiver(str(out)), "POST", HOOK, json={"event": "next"}).status_code \
        == 200
    assert out.read_text().splitlines()[-1] == '{"event":"next"}'


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_receive_events_refuses_an_out_that_is_not_a_regular_file(tmp_path, kind):
    import os

    from .helpers import mvconf

    out = tmp_path / "events"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "directory":
        out.mkdir()
    else:
        out = Path("/dev/null")
    done = mvconf("receive-events", "--port", "0", "--out", out, timeout=60)
    assert done.returncode == 1, done.stdout
    assert "regular file" in done.stderr or "is a directory" in done.stderr
    assert "listening" not in done.stdout
    assert "Traceback" not in done.stderr


def test_a_slow_body_is_answered_408_and_not_held(app, monkeypatch):
    monkeypatch.setattr("mvconf.web.asgi.BODY_SECONDS", 0.05)

    async def never_ending():
        yield b'{"route_mode": '
        await asyncio.Event().wait()  # the rest never comes

    envelope(call(app[0], "PATCH", "/v1/dids/did_123", content=never_ending()), 408)


def test_unfinished_bodies_are_bounded_over_all_requests(app, monkeypatch):
    import mvconf.web.asgi

    monkeypatch.setattr("mvconf.web.asgi.BODY_BUDGET", 100)
    monkeypatch.setattr(mvconf.web.asgi, "_held", [90])  # others' unfinished bodies
    envelope(call(app[0], "PATCH", "/v1/dids/did_123", json={"route_mode": "reject"}), 503,
             "busy")
    mvconf.web.asgi._held[0] = 0
    assert call(app[0], "PATCH", "/v1/dids/did_123",
                json={"route_mode": "reject"}).status_code == 200


def start_receiver(out, *extra, files=None):
    """receive-events in its own process; with `files`, its limit of open files."""
    import resource

    def limit():
        if files:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    proc = subprocess.Popen([sys.executable, "-m", "mvconf", "receive-events", "--port", "0",
                             "--out", str(out), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, preexec_fn=limit)
    url = proc.stdout.readline().strip().removeprefix("listening on ")
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


@pytest.mark.process
def test_idle_connections_never_keep_a_webhook_out(tmp_path):
    import socket

    from .helpers import stop

    out = tmp_path / "events.jsonl"
    proc, url = start_receiver(out, files=1024)
    port = int(url.rsplit(":", 1)[1])
    idle = []
    try:
        for _ in range(1100):  # more than the server may hold open
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            idle.append(sock)
        answer = httpx.post(f"{url}{HOOK}", json={"event": "call.completed"}, timeout=60)
        assert answer.status_code == 200
    finally:
        for sock in idle:
            sock.close()
        stop(proc)
    assert out.read_text().splitlines() == ['{"event":"call.completed"}']


@pytest.mark.process
def test_headers_over_64_kib_that_end_in_one_piece_are_refused(state_file):
    import socket

    from .helpers import start, stop

    proc, url = start(state_file([did("+15551230002", id="did_123")]))
    port = int(url.rsplit(":", 1)[1])
    try:
        for size, status in ((60_000, b"HTTP/1.1 401"), (100_000, b"HTTP/1.1 431")):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(b"GET /v1/dids/did_123 HTTP/1.1\r\nHost: x\r\nX-Big: "
                             + b"a" * size + b"\r\n\r\n")
                answer = sock.recv(65536)
            assert answer.startswith(status), (size, answer[:100])
    finally:
        stop(proc)


def test_huge_headers_are_refused_before_they_are_held(state_file):
    import socket

    from .helpers import start, stop

    proc, url = start(state_file([did("+15551230002", id="did_123")]))
    port = int(url.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(b"GET /v1/dids/did_123 HTTP/1.1\r\nHost: x\r\nX-Big: ")
            answer = b""
            try:
                for _ in range(2048):  # up to 128 MiB of one header, never ended
                    sock.sendall(b"a" * 65536)
            except OSError:
                pass  # the server closed the connection: expected
            try:
                while chunk := sock.recv(65536):
                    answer += chunk
            except OSError:
                pass
        assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
        assert peak_rss_mb(proc.pid) < 100
    finally:
        stop(proc)
