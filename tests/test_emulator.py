"""The emulator: documented shapes and errors, our additions, faults, and the real process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from mvconf.emulator import faults as faults_module
from mvconf.emulator.api import EmulatorApi
from mvconf.emulator.app import create_app
from mvconf.emulator.faults import MAX_EARLY, Faults
from mvconf.emulator.store import DOCUMENTED_FIELDS, Store

from .helpers import did

SEED_RESPONSE = {
    "id": "did_123", "customer_id": "cust_123", "application_id": "app_123",
    "number_e164": "+15551230002", "provider": "didww", "status": "active",
    "route_mode": "webhook", "created_at": "2026-05-29T12:00:00Z",
    "updated_at": "2026-05-29T12:00:00Z",
}
SEED_NOT_FOUND = {"error": {"code": "not_found", "message": "DID not found"}}


def call(app, method, path, key="test-key", **kw):
    async def go():
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://emu") as c:
            return await c.request(method, path, headers=headers, **kw)
    return asyncio.run(go())


@pytest.fixture
def seeded(state_file):
    other = did("+15551230009", id="did_999", customer="cust_other")
    path = state_file([dict(SEED_RESPONSE), other])
    return path, Store(path)


def test_seed_examples_replayed_exactly(seeded):
    _, store = seeded
    app = create_app(store)
    by_number = call(app, "GET", "/v1/dids/by-number/+15551230002")
    assert by_number.status_code == 200 and by_number.json() == SEED_RESPONSE
    assert list(by_number.json()) == list(DOCUMENTED_FIELDS)
    assert call(app, "GET", "/v1/dids/did_123").json() == SEED_RESPONSE
    missing = call(app, "GET", "/v1/dids/by-number/+15551239999")
    assert (missing.status_code, missing.json()) == (404, SEED_NOT_FOUND)


def test_keys_are_scoped_to_their_customer(seeded):
    app = create_app(seeded[1])
    other = call(app, "GET", "/v1/dids/did_999")
    assert (other.status_code, other.json()) == (404, SEED_NOT_FOUND)
    for key in (None, "wrong-key"):
        refused = call(app, "GET", "/v1/dids/did_123", key=key)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"


def test_patch_writes_atomically_and_moves_updated_at(seeded):
    path, store = seeded
    app = create_app(store)
    first = call(app, "PATCH", "/v1/dids/did_123", json={"route_mode": "reject"}).json()
    second = call(app, "PATCH", "/v1/dids/did_123", json={"route_mode": "reject"}).json()
    assert first["route_mode"] == "reject"
    assert SEED_RESPONSE["updated_at"] < first["updated_at"] < second["updated_at"]
    saved = json.loads(path.read_text())
    assert saved["dids"][0]["route_mode"] == "reject"
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("body", [{"route_mode": "fax"}, {"colour": "red"},
                                  {"application_id": 5}, {"destinations": "x"}])
def test_patch_rejects_bad_bodies(seeded, body):
    response = call(create_app(seeded[1]), "PATCH", "/v1/dids/did_123", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


def test_read_only_refuses_api_writes_but_account_setup_works(seeded):
    app = create_app(seeded[1], read_only=True)
    refused = call(app, "PATCH", "/v1/dids/did_123", json={"route_mode": "reject"})
    assert refused.status_code == 405
    assert refused.json()["error"]["code"] == "method_not_allowed"
    person = call(app, "PATCH", "/_account/dids/+15551230002", key=None,
                  json={"route_mode": "reject", "status": "suspended"})
    assert person.json()["status"] == "suspended"
    created = call(app, "PUT", "/_account/dids/+15551230077", key=None,
                   json={"application_id": "app_5"}).json()
    assert created["id"].startswith("did_") and created["status"] == "active"
    assert call(app, "GET", "/v1/dids/by-number/+15551230077").json()["id"] == created["id"]


def test_account_setup_is_loopback_only(seeded):
    app = create_app(seeded[1])

    async def go():
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
            return await c.put("/_account/dids/+15551230077", json={})
    assert asyncio.run(go()).status_code == 403


def test_rate_limit_answers_429_with_retry_after(seeded):
    app = create_app(seeded[1], Faults(rate_limit=2))
    codes = [call(app, "GET", "/v1/dids/did_123") for _ in range(3)]
    assert [c.status_code for c in codes[:2]] == [200, 200] or codes[2].status_code == 429
    limited = [c for c in codes if c.status_code == 429]
    for response in limited:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"]["code"] == "rate_limited"


def test_fail_rate_is_repeatable_with_a_seed(seeded):
    def pattern():
        app = create_app(seeded[1], Faults(fail_rate=0.5, seed=7))
        return [call(app, "GET", "/v1/dids/did_123").status_code for _ in range(20)]
    first = pattern()
    assert first == pattern() and {200, 503} == set(first)


def test_latency_does_not_serialise_requests(seeded):
    app = create_app(seeded[1], Faults(latency_ms=200))

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://emu",
                                     headers={"Authorization": "Bearer test-key"}) as c:
            start = time.monotonic()
            await asyncio.gather(*(c.get("/v1/dids/did_123") for _ in range(20)))
            return time.monotonic() - start
    # 20 requests of 200 ms each: serialised they would take 4 s.
    assert asyncio.run(go()) < 2.0


def start_emulator(state, *extra):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mvconf", "emulator", "--state", str(state), "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on http://127.0.0.1:"), (line, proc.stderr.read())
    return proc, line.removeprefix("listening on ")


@pytest.mark.process
def test_real_process_over_tcp_and_clean_sigterm(seeded):
    path, _ = seeded
    proc, url = start_emulator(path)
    try:
        response = httpx.get(f"{url}/v1/dids/by-number/+15551230002",
                             headers={"Authorization": "Bearer test-key"})
        assert response.json() == SEED_RESPONSE
        assert httpx.patch(f"{url}/v1/dids/did_123", json={"route_mode": "reject"},
                           headers={"Authorization": "Bearer test-key"}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert json.loads(path.read_text())["dids"][0]["route_mode"] == "reject"


@pytest.mark.process
def test_who_asks_is_the_peer_not_a_forwarded_for_header(seeded):
    # The account setup is for loopback only, judged by the connection itself: a header a
    # client writes (or a proxy adds) changes nothing, either way.
    path, _ = seeded
    proc, url = start_emulator(path)
    try:
        answer = httpx.patch(f"{url}/_account/dids/+15551230002", json={"route_mode": "reject"},
                             headers={"X-Forwarded-For": "203.0.113.9",
                                      "Forwarded": "for=203.0.113.9"})
        assert answer.status_code == 200, answer.text
        assert "server" not in answer.headers
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_bad_state_file_is_a_clear_error(tmp_path, cli):
    path = tmp_path / "state.json"
    path.write_text('{"dids": []}')
    result = cli("emulator", "--state", str(path), "--port", "0")
    assert result.code == 1 and "api_keys" in result.stderr and "Traceback" not in result.stderr
    assert os.path.exists(path)


def test_concurrent_writes_are_all_on_disk_when_answered(state_file):
    numbers = [f"+1555123{i:04d}" for i in range(30)]
    path = state_file([did(n, id=f"did_{i}") for i, n in enumerate(numbers)])
    api = EmulatorApi(Store(path))
    seen_on_disk = []

    async def patch(i):
        reply = await api.handle("PATCH", f"/v1/dids/did_{i}", {"authorization": "Bearer test-key"},
                                 json.dumps({"route_mode": "reject"}).encode(), "127.0.0.1")
        assert reply.status == 200
        # answered only once saved: the file already holds this write
        saved = {d["id"]: d for d in json.loads(path.read_text())["dids"]}
        seen_on_disk.append(saved[f"did_{i}"]["route_mode"])

    async def go():
        await asyncio.gather(*(patch(i) for i in range(30)))
    asyncio.run(go())
    assert seen_on_disk == ["reject"] * 30
    reloaded = Store(path)  # the file is whole and holds every write
    assert {r["route_mode"] for r in reloaded.dids.values()} == {"reject"}


def test_a_hand_edit_of_the_state_file_is_served_and_a_broken_one_is_not(tmp_path, state_file):
    import json as _json
    import os as _os
    import subprocess as _sp
    import sys as _sys

    import httpx as _httpx

    from .helpers import did as _did

    state = state_file([_did("+15551230002", id="did_2")])
    proc = _sp.Popen([_sys.executable, "-m", "mvconf", "emulator", "--state", str(state),
                      "--port", "0"], stdout=_sp.PIPE, stderr=_sp.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        headers = {"Authorization": "Bearer test-key"}

        def mode() -> str:
            answer = _httpx.get(f"{url}/v1/dids/did_2", headers=headers)
            return answer.json()["route_mode"]

        assert mode() == "webhook"
        data = _json.loads(state.read_text())
        data["dids"][0]["route_mode"] = "reject"
        state.write_text(_json.dumps(data))  # a person simulates drift
        assert mode() == "reject"
        state.write_text("{not json")
        _os.utime(state, ns=(1, 1))  # a new mtime even on a coarse clock
        assert mode() == "reject"  # the last good state is kept
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "not valid JSON/YAML" in err and "keeping the last good state" in err


class LateTimer:
    """asyncio.sleep and time.monotonic for Faults: every sleep wakes `late` seconds after it
    was asked to, as timers do on a busy or virtual machine."""

    def __init__(self, late: float):
        self.late, self.now, self.asked = late, 0.0, []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.now += seconds + self.late


@pytest.mark.parametrize(("late", "made_up"), [(0.0009, 0.0009), (0.0, 0.0), (0.005, MAX_EARLY)])
@pytest.mark.parametrize("work", [0.0, 0.003])
def test_latency_counts_from_arrival_and_makes_up_for_a_late_timer_but_never_answers_much_early(
        monkeypatch, late, made_up, work):
    timer = LateTimer(late)
    monkeypatch.setattr(faults_module.time, "monotonic", timer.monotonic)
    monkeypatch.setattr(faults_module.asyncio, "sleep", timer.sleep)
    faults = Faults(latency_ms=50)

    async def answers() -> tuple[list[float], list[float]]:
        took, reached = [], []
        for _ in range(300):
            arrived = faults.arrived()
            await faults.reach(arrived)
            reached.append(timer.now - arrived)
            timer.now += work  # what the account does with the request
            await faults.answer(arrived)
            faults.sent(arrived)
            took.append(timer.now - arrived)
        return took, reached

    took, reached = asyncio.run(answers())
    assert all(seconds >= 0.050 - MAX_EARLY for seconds in took)
    assert all(seconds >= 0.025 - 1e-9 for seconds in reached)  # the account acts half-way
    # Once the lateness is learnt, answers take --latency-ms plus what cannot be made up; the
    # work done in between is inside the latency, not added to it.
    assert took[-1] == pytest.approx(0.050 + late - made_up, abs=1e-4)
