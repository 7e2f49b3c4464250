"""The API client: error envelope, retries with backoff, Retry-After, malformed answers.

stamina's testing mode takes the waiting out of backoff; the governor gets a fake clock."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import stamina

from mvconf.core.errors import ApiError
from mvconf.emulator.app import create_app
from mvconf.emulator.faults import Faults
from mvconf.emulator.store import Store
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.minivoice.governor import RateGovernor
from mvconf.minivoice.http import HttpSender

from .helpers import did

GOOD = did("+15551230002", id="did_123")


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def no_backoff_waits():
    with stamina.set_testing(True, attempts=4):
        yield


def client_for(handler, time=None):
    time = time or FakeTime()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api")
    governor = RateGovernor(clock=time.clock, sleep=time.sleep)
    return MiniVoiceClient(HttpSender(http), backoff=0.1, governor=governor, clock=time.clock)


def run(coro):
    return asyncio.run(coro)


def test_transient_errors_are_retried_then_succeed():
    answers = iter([httpx.Response(503), httpx.ConnectError("boom"),
                    httpx.ReadTimeout("slow"), httpx.Response(200, json=GOOD)])

    def handler(request):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = client_for(handler)
    live = run(client.get_by_number("+15551230002"))
    assert live.id == "did_123" and client.retries == 3


def test_retry_after_is_honoured_and_is_not_a_failed_attempt():
    limited = httpx.Response(429, headers={"Retry-After": "3"},
                             json={"error": {"code": "rate_limited", "message": "slow"}})
    answers = iter([limited] * 5 + [httpx.Response(200, json=GOOD)])
    time = FakeTime()
    client = client_for(lambda r: next(answers), time)
    assert run(client.get("did_123")).id == "did_123"  # five 429s, though only 4 attempts
    assert time.sleeps[0] == 3.0 and client.retries == 0


def test_an_api_that_stays_down_is_a_clear_error_naming_the_did():
    with pytest.raises(ApiError) as info:
        run(client_for(lambda r: httpx.Response(503)).get_by_number("+15551230002"))
    assert "+15551230002" in str(info.value) and "gave up after 4 attempts" in str(info.value)


def test_error_envelope_is_carried_and_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(403, json={"error": {"code": "forbidden", "message": "no"}})

    with pytest.raises(ApiError) as info:
        run(client_for(handler).patch("did_123", {"route_mode": "reject"}, "+15551230002"))
    assert (info.value.status, info.value.code, info.value.api_message) == (403, "forbidden", "no")
    assert len(calls) == 1


def test_404_not_found_means_missing_but_a_bare_404_is_an_error():
    envelope = {"error": {"code": "not_found", "message": "DID not found"}}
    client = client_for(lambda r: httpx.Response(404, json=envelope))
    assert run(client.get_by_number("+1555")) is None
    with pytest.raises(ApiError, match="HTTP 404 without an error body"):
        run(client_for(lambda r: httpx.Response(404, text="<html>")).get_by_number("+1555"))


@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({**GOOD, "status": 5}),
                                  json.dumps({"id": "did_1"})])
def test_malformed_answers_are_clear_errors(body):
    with pytest.raises(ApiError, match="the API answered"):
        run(client_for(lambda r: httpx.Response(200, text=body)).get_by_number("+15551230002"))


def test_unknown_route_modes_and_extra_fields_are_kept():
    body = {**GOOD, "route_mode": "answer_url", "region": "eu"}
    live = run(client_for(lambda r: httpx.Response(200, json=body)).get("did_123"))
    assert live.route_mode == "answer_url" and live.model_dump()["region"] == "eu"


def test_right_answers_through_25_percent_503s_and_a_rate_limit(state_file):
    numbers = [f"+1555123{i:04d}" for i in range(60)]
    path = state_file([did(n, id=f"did_{i}") for i, n in enumerate(numbers)])
    app = create_app(Store(path), Faults(fail_rate=0.25, rate_limit=40, seed=3))

    async def go():
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu",
                                 headers={"Authorization": "Bearer test-key"})
        client = MiniVoiceClient(HttpSender(http), backoff=0.05)
        async with http:
            return await read_many(client, numbers, 8), client.retries

    result, retries = run(go())
    assert {n: d.id for n, d in result.items()} == {n: f"did_{i}" for i, n in enumerate(numbers)}
    assert retries > 0


SECRET = "sk_live_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@pytest.mark.parametrize("headers", [
    {"Content-Encoding": SECRET},  # shown lower-cased and cut, it once slipped the mask
    [(b"etag", ("A" * 60 + SECRET).encode() + b"\xff")],
])
def test_a_header_that_echoes_the_key_is_masked_before_it_is_cut(headers):
    from mvconf.core.logs import register_secret

    register_secret(SECRET)
    client = client_for(lambda r: httpx.Response(200, json=GOOD, headers=headers))
    with pytest.raises(ApiError) as caught:
        run(client.get("did_123"))
    shown = str(caught.value)
    assert SECRET[:12].lower() not in shown.lower() and "***" in shown


def test_a_429_with_a_tiny_retry_after_gives_up_within_the_retry_timeout():
    limited = httpx.Response(429, headers={"Retry-After": "0.0000001"},
                             json={"error": {"code": "rate_limited", "message": "slow"}})
    time = FakeTime()
    sent = []

    def handler(request):
        sent.append(1)
        return limited

    client = client_for(handler, time)
    client.retry_timeout = 3
    with pytest.raises(ApiError, match="rate limited"):
        run(client.get("did_123"))
    assert len(sent) <= 3 / 0.02 + 10  # paced, and over once --retry-timeout is spent


def test_read_many_keeps_what_keep_returns_and_raises_what_keep_raises(caplog):
    numbers = [f"+1555123{i:04d}" for i in range(40)]
    answers = {n: did(n, id=f"did_{i}") for i, n in enumerate(numbers)}

    def handler(request):
        return httpx.Response(200, json=answers[request.url.path.rsplit("/", 1)[-1]])

    ticks = []
    kept = run(read_many(client_for(handler), numbers, 8, lambda: ticks.append(1),
                         keep=lambda number, live: (number, live.id)))
    assert list(kept) == numbers and kept[numbers[7]] == (numbers[7], "did_7")
    assert len(ticks) == len(numbers)

    def keep(number, live):
        if number == numbers[21]:
            raise ValueError("the planner failed on this one")
        return live.id

    with pytest.raises(ValueError, match="the planner failed"):
        run(read_many(client_for(handler), numbers, 8, keep=keep))
    assert "Exception in callback" not in caplog.text


def test_network_lanes_start_spread_apart_and_in_process_ones_at_once():
    from mvconf.minivoice.transport import Answer

    class Recording:
        def __init__(self, spread):
            self.spread, self.started, self.events = spread, [], []

        async def send(self, method, path, body=None, headers=None):
            self.started.append(asyncio.get_running_loop().time())
            self.events.append("sent")
            await asyncio.sleep(0.05)
            self.events.append("answered")
            number = path.rsplit("/", 1)[-1]
            return Answer(200, {}, json.dumps(did(number)).encode())

    numbers = [f"+1555123{i:04d}" for i in range(8)]
    spread = Recording(0.01)
    began = time.monotonic()  # the clock of asyncio's loop
    run(read_many(MiniVoiceClient(spread), numbers, 4))
    # Lane i sends no sooner than i x spread after the start (a busy machine may start any lane
    # later, so the gap between two lanes is not bounded below; this is).
    assert all(sent - began >= index * 0.01 - 0.001
               for index, sent in enumerate(spread.started[:4]))
    together = Recording(0.0)
    run(read_many(MiniVoiceClient(together), numbers, 4))
    assert together.events[:5] == ["sent"] * 4 + ["answered"]  # every lane before any answer
