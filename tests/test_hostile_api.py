"""The client against a hostile loopback API: huge, slow, wrong or echoing answers, proxies and
odd keys. Each ends in a clear error, in bounded time and memory, with the key nowhere."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import tracemalloc

import pytest

from .helpers import did, invoke
from .hostile_server import hostile_server, send_bytes, send_json

KEY = "sk-live-SECRET-4242"
NUMBERS = ["+15551230001", "+15551230002", "+15551230003"]


@pytest.fixture
def manifest(write):
    lines = ["version: 1", "dids:"]
    for number in NUMBERS:
        lines += [f'  - number: "{number}"', "    application: app_123", "    route_mode: webhook"]
    return write("dids.yaml", "\n".join(lines) + "\n")


def plan(manifest, url, *extra, key=KEY, env=None):
    result = invoke("plan", manifest, "--api-url", url, "--retry-timeout", "1", *extra,
                    env={"MINIVOICE_API_KEY": key, **(env or {})})
    for text in (result.stdout, result.stderr):
        assert KEY not in text
    return result


def good(handler):
    number = handler.path.rsplit("/", 1)[-1]
    send_json(handler, 200, did(number))


def test_a_huge_answer_is_cut_off_in_bounded_memory(manifest):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"[" * 65536
        for _ in range(16384):  # up to 1 GiB, for as long as the client keeps reading
            handler.wfile.write(chunk)

    with hostile_server(huge) as (url, _):
        tracemalloc.start()
        result = plan(manifest, url)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert result.code == 1
    assert "larger than 1048576 bytes" in result.stderr
    assert peak < 64 * 1024 * 1024


def test_a_declared_huge_answer_is_refused_before_reading(manifest):
    def declared(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(1024 ** 3))
        handler.end_headers()

    with hostile_server(declared) as (url, recorder):
        result = plan(manifest, url)
    assert result.code == 1 and "1073741824 bytes" in result.stderr
    assert len(recorder.requests) <= len(NUMBERS)  # too large is not retried


def test_a_dripping_answer_ends_at_the_deadline(manifest):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)  # the server's pace, not the test's

    with hostile_server(drip) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1
    assert "did not answer within 1s" in result.stderr


def test_another_numbers_did_is_not_trusted(manifest):
    with hostile_server(lambda h: send_json(h, 200, did("+15551239999"))) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1
    assert "the DID of another number (+15551239999" in result.stderr
    assert "No changes" not in result.stdout


def test_a_redirect_is_an_error_even_with_a_did_body(manifest):
    def moved(handler):
        send_json(handler, 301, did(NUMBERS[0]), {"Location": "http://elsewhere.example/x"})

    with hostile_server(moved) as (url, recorder):
        result = plan(manifest, url)
    assert result.code == 1 and "HTTP 301" in result.stderr and "redirects" in result.stderr
    assert all(host == "" or "elsewhere" not in host for _, host, _ in recorder.requests)


def test_deeply_nested_json_is_a_clear_error(manifest):
    def nested(handler):
        send_bytes(handler, 200, b"[" * 4000 + b"]" * 4000)  # within a DID's 8 KiB

    with hostile_server(nested) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1 and "not JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_echoed_key_is_masked_in_errors(manifest):
    def echo(handler):
        send_json(handler, 401, {"error": {"code": "unauthorized",
                                           "message": f"key {KEY} is not valid"}})

    with hostile_server(echo) as (url, _):
        result = plan(manifest, url, "--debug")
    assert result.code == 1 and "key *** is not valid" in result.stderr


def test_an_echoed_key_never_reaches_a_saved_plan(manifest, tmp_path):
    def leaky(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, {**did(number), "note": f"owner key {KEY}",
                                 "nested": {"k": [KEY]}})

    out = tmp_path / "plan.json"
    with hostile_server(leaky) as (url, _):
        result = plan(manifest, url, "--out", out)
    assert result.code == 0, result.stderr
    saved = out.read_text()
    assert KEY not in saved and "owner key ***" in saved


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_plain_http_api_is_never_reached_through_a_proxy(manifest, variable):
    with hostile_server(good) as (url, api), \
            hostile_server(lambda h: send_json(h, 502, {})) as (proxy, through):
        result = plan(manifest, url, env={variable: proxy, "NO_PROXY": ""})
    assert result.code == 0, result.stderr
    assert through.requests == [] and len(api.requests) == len(NUMBERS)
    assert all(headers.get("Authorization") == f"Bearer {KEY}"
               for _, _, headers in api.requests)


def test_a_server_that_drops_each_connection_after_answering_is_still_read(manifest):
    def answer_then_hang_up(handler):
        good(handler)
        handler.close_connection = True  # no "Connection: close": the client learns on reuse

    with hostile_server(answer_then_hang_up) as (url, api):
        result = plan(manifest, url, "--parallelism", "1")
    assert result.code == 0, result.stderr
    assert len(api.requests) == len(NUMBERS)  # each sent again at once on a new connection
    assert "retrying" not in result.stderr


def test_an_answer_that_is_not_http_is_a_clear_error_without_the_key(manifest):
    def garbage(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nnot a header " + KEY.encode() + b"\r\n\r\n")
        handler.close_connection = True

    with hostile_server(garbage) as (url, _):
        result = plan(manifest, url, "--retry-timeout", "0")  # plan() checks the key is absent
    assert result.code == 1 and "is not valid HTTP" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_service_that_does_not_speak_http_fails_at_once_not_after_retrying(manifest):
    def banner(handler):  # an SSH port named as the API by mistake
        handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        handler.close_connection = True

    with hostile_server(banner) as (url, api):
        result = plan(manifest, url, "--retry-timeout", "300")
    assert result.code == 1 and "is not valid HTTP" in result.stderr
    # at most one early read per lane (run/early.py: one attempt each) and one read after them
    assert "retrying" not in result.stderr and len(api.requests) <= len(NUMBERS) + 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: trusted only where SSL_CERT_FILE names it."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


def test_an_https_api_is_reached_only_with_a_certificate_it_trusts(manifest, certificate):
    with hostile_server(good, tls=certificate) as (url, api):
        untrusted = plan(manifest, url)
        asked = len(api.requests)
        trusted = plan(manifest, url, env={"SSL_CERT_FILE": certificate[0]})
    assert untrusted.code == 1 and asked == 0
    assert "TLS failure: the certificate was not accepted" in untrusted.stderr
    assert "Traceback" not in untrusted.stderr
    assert trusted.code == 0, trusted.stderr
    assert len(api.requests) == len(NUMBERS)
    assert all(headers.get("Authorization") == f"Bearer {KEY}" for _, _, headers in api.requests)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_an_https_api_is_reached_through_the_proxy_the_environment_names(manifest, variable):
    with hostile_server(lambda h: send_json(h, 502, {})) as (proxy, through):
        result = plan(manifest, "https://api.example.invalid", "--retry-timeout", "0",
                      env={variable: proxy, "NO_PROXY": ""})
    assert result.code == 1
    assert [(method, path) for method, path, _ in through.requests][:1] == [
        ("CONNECT", "api.example.invalid:443")]
    assert all("Authorization" not in headers for _, _, headers in through.requests)


@pytest.mark.parametrize("key, kind", [("abc\ndef", "control"), ("abc\r\ndef", "control"),
                                       ("abc\x0bdef", "control"), ("kéy-123", "non-ASCII"),
                                       ("abc def", "space")])
def test_keys_that_cannot_be_a_header_are_refused_before_any_request(manifest, key, kind):
    with hostile_server(good) as (url, recorder):
        result = plan(manifest, url, key=key)
    assert result.code == 1 and kind in result.stderr and "Nothing was sent" in result.stderr
    assert key not in result.stderr and recorder.requests == []


def test_a_key_file_with_a_nul_is_refused_without_printing_it(manifest, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(b"abc\x00def\n")
    with hostile_server(good) as (url, recorder):
        result = invoke("plan", manifest, "--api-url", url, "--api-key-file", key_file)
    assert result.code == 1 and "U+0000" in result.stderr and "abc" not in result.stderr
    assert recorder.requests == []


@pytest.mark.parametrize("kind", ["zero", "fifo", "large", "directory"])
def test_key_files_that_are_not_small_regular_files_are_refused_at_once(manifest, tmp_path,
                                                                        kind):
    path = tmp_path / "key"
    if kind == "zero":
        path = "/dev/zero"
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "large":
        path.write_text("k" * 10000)
    else:
        path.mkdir()
    result = invoke("plan", manifest, "--api-url", "http://127.0.0.1:9", "--api-key-file", path)
    assert result.code == 1 and ("key file" in result.stderr or "api-key-file" in result.stderr)


def test_every_number_missing_is_taken_for_a_wrong_account(manifest):
    def nothing(handler):
        send_json(handler, 404, {"error": {"code": "not_found", "message": "Not found"}})

    with hostile_server(nothing) as (url, _):
        refused = plan(manifest, url)
        allowed = plan(manifest, url, "--allow-all-missing")
    assert refused.code == 1
    assert ("none of the 3 numbers is in this account: check MINIVOICE_API_URL and that the key "
            "belongs to the right account") in refused.stderr
    assert allowed.code == 0 and "3 missing" in allowed.stdout


def test_an_unreachable_api_is_one_error_naming_host_and_cause(manifest):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = plan(manifest, f"http://127.0.0.1:{port}", "--parallelism", "3")
    assert result.code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "cannot reach the MiniVoice API at 127.0.0.1: connection refused" in lines[0]


def test_plan_json_stays_parseable_after_masking(manifest):
    def leaky(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, {**did(number), "x": KEY})

    with hostile_server(leaky) as (url, _):
        result = plan(manifest, url, "--format", "json")
    assert json.loads(result.stdout)["summary"]["noop"] == 3


# --- round 3: pauses, unreachable hosts, retry notices, encodings, lost answers, odd values


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class Scripted:
    """A sender answering each request with `answer()`; stops a test that would never end."""

    def __init__(self, answer, clock, cost=0.1):
        self.answer, self.clock, self.cost, self.sent = answer, clock, cost, 0

    async def send(self, method, path, body=None, headers=None):
        self.sent += 1
        if self.sent > 40:
            raise RuntimeError("the client never gave up")
        self.clock.now += self.cost
        return self.answer()


def scripted_client(answer, retry_timeout):
    from mvconf.minivoice.client import MiniVoiceClient
    from mvconf.minivoice.governor import RateGovernor

    clock = FakeClock()
    sender = Scripted(answer, clock)
    governor = RateGovernor(clock=clock, sleep=clock.sleep)
    return MiniVoiceClient(sender, retry_timeout=retry_timeout, governor=governor,
                           clock=clock, backoff=1.0), clock


def test_a_huge_retry_after_never_outlasts_the_retry_timeout():
    import asyncio

    from mvconf.core.errors import ApiError
    from mvconf.minivoice.transport import Answer

    def limited():
        return Answer(429, {"retry-after": "1000000000"},
                      b'{"error": {"code": "rate_limited", "message": "slow"}}')

    client, clock = scripted_client(limited, retry_timeout=3)
    started = clock.now
    with pytest.raises(ApiError) as info:
        asyncio.run(client.get("did_123"))
    assert "429" in str(info.value) and "--retry-timeout 3" in str(info.value)
    assert sum(clock.slept) <= 3 and clock.now - started <= 3


def test_backoff_pauses_are_cut_to_the_time_left(monkeypatch):
    import asyncio

    from mvconf.core.errors import ApiError
    from mvconf.minivoice.transport import TransportFailed

    def down():
        raise TransportFailed("the connection was closed by the other side")

    client, clock = scripted_client(down, retry_timeout=5)
    monkeypatch.setattr(asyncio, "sleep", clock.sleep)  # stamina's pauses, on the fake clock
    started = clock.now
    with pytest.raises(ApiError, match="gave up after"):
        asyncio.run(client.get("did_123"))
    # Every pause ends within the 5 s; the attempt after the last one then takes its 0.1 s.
    assert clock.now - started <= 5 + client.sender.cost + 1e-9, clock.slept


@pytest.mark.parametrize("where", ["refused", "dns"])
def test_a_wrong_host_or_port_fails_at_once_without_retrying(manifest, where):
    if where == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    else:
        url = "https://api.minivoice.invalid"
    result = invoke("plan", manifest, "--api-url", url, "--retry-timeout", "60",
                    env={"MINIVOICE_API_KEY": KEY})
    assert result.code == 1
    cause = "connection refused" if where == "refused" else "host name was not found"
    assert cause in result.stderr
    assert "gave up after" not in result.stderr and "retrying" not in result.stderr


def test_retrying_is_said_on_stderr(manifest):
    failed = []

    def flaky(handler):  # twice: an early read (run/early.py) is one attempt, never announced
        if handler.path.endswith(NUMBERS[0]) and len(failed) < 2:
            failed.append(1)
            send_json(handler, 503, {"error": {"code": "unavailable", "message": "later"}})
            return
        good(handler)

    with hostile_server(flaky) as (url, _):
        result = plan(manifest, url, "--retry-timeout", "30", "--parallelism", "1")
    assert result.code == 0, result.stderr
    assert len(failed) == 2
    notices = [line for line in result.stderr.splitlines() if "retrying for up to 30s" in line]
    assert len(notices) == 1 and "503" in notices[0]


def gzip_bomb() -> bytes:
    import gzip

    return gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB in ~64 KiB


def test_a_compressed_answer_is_refused_by_the_direct_sender(manifest):
    bomb = gzip_bomb()

    def compressed(handler):
        send_bytes(handler, 200, bomb, {"Content-Type": "application/json",
                                        "Content-Encoding": "gzip"})

    with hostile_server(compressed) as (url, api):
        result = plan(manifest, url)
    assert result.code == 1 and "Content-Encoding gzip" in result.stderr
    assert all(headers.get("Accept-Encoding") == "identity" for _, _, headers in api.requests)


def test_a_compressed_answer_is_refused_by_the_httpx_sender():
    import asyncio

    import httpx

    from mvconf.core.errors import ApiError
    from mvconf.minivoice.client import MiniVoiceClient
    from mvconf.minivoice.http import HttpSender

    bomb = gzip_bomb()

    async def go():
        transport = httpx.MockTransport(lambda request: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(bomb)))
        async with httpx.AsyncClient(transport=transport, base_url="https://api") as http:
            return await MiniVoiceClient(HttpSender(http), retry_timeout=0).get("did_123")

    tracemalloc.start()
    with pytest.raises(ApiError, match="Content-Encoding gzip"):
        asyncio.run(go())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def stateful_api(cut_patch: bool):
    """A small API that keeps one DID and applies PATCHes; with `cut_patch` the answer to each
    PATCH is cut off after its first bytes (the write has landed)."""
    record = did(NUMBERS[0], id="did_1")

    def behave(handler):
        if handler.command == "PATCH":
            length = int(handler.headers.get("Content-Length", "0"))
            record.update(json.loads(handler.rfile.read(length)))
            if cut_patch:
                data = json.dumps(record).encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data[:10])
                handler.wfile.flush()
                handler.close_connection = True
                return
        send_json(handler, 200, record)

    return behave, record


def test_a_patch_whose_answer_is_cut_off_is_read_back(write, tmp_path):
    manifest = write("one.yaml", f'version: 1\ndids:\n  - number: "{NUMBERS[0]}"\n'
                     "    application: app_123\n    route_mode: reject\n")
    journal = tmp_path / "journal.jsonl"
    behave, record = stateful_api(cut_patch=True)
    with hostile_server(behave) as (url, _):
        result = invoke("apply", manifest, "--api-url", url, "--executor", "api",
                        "--auto-approve", "--journal", journal, "--retry-timeout", "1",
                        env={"MINIVOICE_API_KEY": KEY})
    assert record["route_mode"] == "reject"  # the write landed
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["outcome"] for r in records if r.get("outcome")] == ["applied"], result.stderr
    assert result.code == 0, result.stderr


def test_an_etag_with_bytes_above_0x7f_is_a_clear_error_and_no_intent(write, tmp_path):
    manifest = write("one.yaml", f'version: 1\ndids:\n  - number: "{NUMBERS[0]}"\n'
                     "    application: app_123\n    route_mode: reject\n")
    journal = tmp_path / "journal.jsonl"

    def tagged(handler):
        data = json.dumps(did(NUMBERS[0], id="did_1")).encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()  # then an ETag line in raw bytes, as a hostile server may
        handler.wfile.flush()

    def raw(handler):
        data = json.dumps(did(NUMBERS[0], id="did_1")).encode()
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            b'ETag: "v\xe91"\r\nContent-Length: ' + str(len(data)).encode()
                            + b"\r\n\r\n" + data)

    del tagged
    with hostile_server(raw) as (url, _):
        result = invoke("apply", manifest, "--api-url", url, "--executor", "api",
                        "--auto-approve", "--journal", journal, "--retry-timeout", "1",
                        env={"MINIVOICE_API_KEY": KEY})
    assert result.code == 1 and "ETag that is not printable ASCII" in result.stderr
    assert "unexpected" not in result.stderr
    assert not journal.exists() or "intent" not in journal.read_text()


def test_a_did_id_with_control_characters_is_refused(manifest):
    def escaping(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, did(number, id="did_1\x1b]0;owned\x07"))

    with hostile_server(escaping) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1 and "malformed DID object (id" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_control_characters_from_the_api_are_escaped_in_what_is_shown(manifest):
    def odd_status(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, did(number, status="\x1b[2J\x9bsuspended"))

    with hostile_server(odd_status) as (url, _):
        result = plan(manifest, url)
    shown = result.stdout + result.stderr
    assert "suspended" in shown, shown
    assert "\x1b" not in shown and "\x9b" not in shown


def test_a_hostile_servers_own_failure_never_reaches_the_clis_stderr(manifest):
    def broken(handler):
        raise ValueError("the test server itself failed")

    with hostile_server(broken) as (url, recorder):
        result = plan(manifest, url, "--retry-timeout", "0")
    assert result.code == 1
    assert "Traceback" not in result.stderr and "ValueError" not in result.stderr
    assert any("ValueError" in error for error in recorder.errors)


def test_an_etag_that_echoes_the_key_is_refused_and_never_saved(manifest, tmp_path):
    def echoing(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, did(number), {"ETag": f'"{KEY}"'})

    out = tmp_path / "plan.json"
    with hostile_server(echoing) as (url, _):
        result = plan(manifest, url, "--out", out)
    assert result.code == 1 and "ETag that holds the API key" in result.stderr
    assert not out.exists() or KEY not in out.read_text()


def test_a_did_object_far_larger_than_a_did_is_refused(manifest):
    def bloated(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, {**did(number), "padding": "x" * 500_000})

    with hostile_server(bloated) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1 and "more than the 8192 a DID object may take" in result.stderr


def test_line_breaks_from_the_api_never_start_a_line_of_their_own(manifest):
    def odd_status(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, did(number, status="suspended\n    9. Port the number out"))

    def odd_error(handler):
        send_json(handler, 400, {"error": {"code": "bad\rrequest",
                                           "message": "no\nError: all good\tnow"}})

    with hostile_server(odd_status) as (url, _):
        steps = plan(manifest, url)
    with hostile_server(odd_error) as (url, _):
        error = plan(manifest, url, "--retry-timeout", "0")
    assert "suspended\\x0a    9. Port" in steps.stdout, steps.stdout
    assert "bad\\u000drequest: no\\u000aError: all good\\u0009now" in error.stderr
    for shown in (steps.stdout, error.stderr):
        assert not any(line.lstrip().startswith(("9. Port", "Error: all good"))
                       for line in shown.splitlines())


def test_a_null_body_is_not_a_did_and_not_a_missing_one(manifest):
    with hostile_server(lambda h: send_bytes(h, 200, b"null")) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1 and "not a DID object" in result.stderr
    assert "missing" not in result.stdout


@pytest.mark.parametrize("tag", ["*", '"a", "b"', "v1", 'W/"x" junk'])
def test_an_etag_that_is_not_one_entity_tag_is_not_kept_to_be_sent_back(manifest, tmp_path,
                                                                       tag):
    def odd(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, did(number), {"ETag": tag})

    out = tmp_path / "plan.json"
    with hostile_server(odd) as (url, _):
        result = plan(manifest, url, "--out", out)
    assert result.code == 0, result.stderr
    assert {c["live_etag"] for c in json.loads(out.read_text())["changes"]} == {None}


def test_json_plans_write_terminal_controls_from_the_api_as_escapes(manifest):
    status = "sus\x9b2J\u202epended\x85"

    def odd(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, did(number, status=status))

    with hostile_server(odd) as (url, _):
        result = plan(manifest, url, "--format", "json")
    assert not any(c in result.stdout for c in "\x9b\u202e\x85")
    assert {c["live"]["status"] for c in json.loads(result.stdout)["changes"]} == {status}


@pytest.mark.parametrize("echoed", [KEY.upper(), KEY.lower(), KEY.swapcase()])
def test_an_echoed_key_in_another_case_is_masked_everywhere(manifest, tmp_path, echoed):
    """An API (or a proxy) that changes the case of what it echoes: the key is still masked in
    the plan, the saved plan and errors, and an ETag holding it is still refused."""
    def upper(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, {**did(number), "application_id": echoed, "note": echoed})

    out = tmp_path / "plan.json"
    with hostile_server(upper) as (url, _):
        result = plan(manifest, url, "--out", out)
    shown = (result.stdout + result.stderr + out.read_text()).lower()
    assert KEY.lower() not in shown and "***" in out.read_text()

    def error(handler):
        send_json(handler, 403, {"error": {"code": "forbidden", "message": f"bad key {echoed}"}})

    with hostile_server(error) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1 and "bad key ***" in result.stderr

    def etag(handler):
        number = handler.path.rsplit("/", 1)[-1]
        send_json(handler, 200, did(number), {"ETag": f'"{echoed}"'})

    with hostile_server(etag) as (url, _):
        result = plan(manifest, url)
    assert result.code == 1 and "ETag that holds the API key" in result.stderr
    assert KEY.lower() not in result.stderr.lower()
