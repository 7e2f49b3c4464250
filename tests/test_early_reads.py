"""`plan` reading while the manifests load (run/early.py): the plan, the errors and the exit code
are those of a plan that reads after loading, whatever the manifests hold; no DID is read twice;
an answer for a number the manifests do not manage never decides anything."""

from __future__ import annotations

import json
import threading
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvconf.run import early

from .helpers import did, invoke
from .hostile_server import hostile_server, send_json

KEY = "sk-live-EARLY-5150"
POOL = [f"+1555123{i:04d}" for i in range(12)]
MODES = ["webhook", "reject"]


class Account:
    """A fake API over a dict: GET by number, with chosen numbers failing; records each GET."""

    def __init__(self, live: dict[str, str], failing: frozenset[str] = frozenset(),
                 unavailable: frozenset[str] = frozenset(), hold: threading.Event | None = None):
        self.live = live
        self.failing = failing
        self.unavailable = unavailable  # answered 503 (retried)
        self.hold = hold  # when given, answers wait for it
        self.flying = self.most = 0
        self.gets: list[str] = []
        self.lock = threading.Lock()
        self.asked: dict[str, threading.Event] = {}

    def asked_for(self, number: str) -> threading.Event:
        return self.asked.setdefault(number, threading.Event())

    def __call__(self, handler):
        number = unquote(handler.path.rsplit("/", 1)[-1])
        with self.lock:
            self.gets.append(number)
            self.flying += 1
            self.most = max(self.most, self.flying)
            self.asked_for(number).set()
        try:
            self.answer(handler, number)
        finally:
            with self.lock:
                self.flying -= 1

    def answer(self, handler, number):
        if self.hold is not None:
            self.hold.wait(30)
        if number in self.unavailable:
            send_json(handler, 503, {"error": {"code": "unavailable", "message": "try later"}})
        elif number in self.failing:
            send_json(handler, 403, {"error": {"code": "forbidden", "message": "not yours"}})
        elif number in self.live:
            send_json(handler, 200, did(number, mode=self.live[number]))
        else:
            send_json(handler, 404, {"error": {"code": "not_found", "message": "no such DID"}})


def run_plan(path, url, *extra):
    result = invoke("plan", path, "--api-url", url, "--format", "json", "--retry-timeout", "30",
                    *extra, env={"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_KEY_HERE": KEY})
    assert KEY not in result.stdout + result.stderr
    return result


def both(monkeypatch, path, account, *extra):
    """The plan with early reads, then the same plan reading only after loading, each against
    its own server of the same account (a read cancelled by the first may still land there)."""
    with hostile_server(account) as (url, _):
        first = run_plan(path, url, *extra)
    late = Account(account.live, account.failing)
    with hostile_server(late) as (url, _), monkeypatch.context() as patch:
        patch.setattr(early, "numbers_in", lambda paths, limit=0: [])
        second = run_plan(path, url, *extra)
    return first, second, account.gets, late.gets


def comparable(result):
    """What a run decided: exit code, plan (or output) and messages, without retry notices (a
    busy machine may retry a read in either run)."""
    said = [line for line in result.stderr.splitlines() if not line.startswith("Warning: ")]
    if result.code in (0, 2) and result.stdout.strip():
        data = json.loads(result.stdout)
        for key in ("created_at", "api_url", "checksum"):  # when, which server, of those
            data.pop(key, None)
        return result.code, data, said
    return result.code, result.stdout, said


STYLES = [
    lambda n, m: [f'  - number: "{n}"', "    application: app_123", f"    route_mode: {m}"],
    lambda n, m: [f"  - number: '{n}'   # ours", "    application: app_123",
                  f"    route_mode: {m}"],
    lambda n, m: [f'  - number:   "{n}"', f"    route_mode: {m}", "    application: app_123"],
    lambda n, m: [f'  - {{number: "{n}", application: app_123, route_mode: {m}}}'],
    lambda n, m: [f'  - number: "{n}"', "    application: app_123", f"    route_mode: {m}",
                  "    environments: [nowhere]"],
]
MISTAKES = [  # each an error of the manifests: shown as such, early or not
    ["  - number: oops", "    application: app_123", "    route_mode: webhook"],
    ["  - number: +15551230000", "    application: app_123", "    route_mode: webhook"],
    ['  - number: "+1 555 1230001"', "    application: app_123", "    route_mode: webhook"],
    ['  - number: "+15551230002"', "    application: app_123", "    route_mode: sideways"],
]


@st.composite
def manifests(draw):
    numbers = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=8, unique=True))
    lines = ["version: 1", "dids:"]
    for number in numbers:
        lines += draw(st.sampled_from(STYLES))(number, draw(st.sampled_from(MODES)))
        if draw(st.integers(0, 3)) == 0:  # #  - number: in a comment
            lines.append(f'#  - number: "{draw(st.sampled_from(POOL))}"')
        if draw(st.integers(0, 3)) == 0:  # a number of another environment: read, dropped
            lines += [f"  - number: '{draw(st.sampled_from(POOL))}'",
                      "    application: app_123", "    route_mode: webhook",
                      "    environments: [elsewhere]"]
    if draw(st.booleans()):  # a range, with or without an override inside it
        lines += ['  - range: "+15559870000..+15559870003"', "    application: app_123",
                  "    route_mode: webhook"]
        if draw(st.booleans()):
            lines += ['  - number: "+15559870002"', "    route_mode: reject"]
    if draw(st.integers(0, 4)) == 0:
        lines[2:2] = draw(st.sampled_from(MISTAKES))
    if draw(st.integers(0, 4)) == 0:  # the same number twice: an error naming both
        lines += [f'  - number: "{numbers[0]}"', "    application: app_123",
                  "    route_mode: webhook"]
    live = draw(st.dictionaries(st.sampled_from(POOL + ["+15559870002"]),
                                st.sampled_from(MODES), min_size=6))
    failing = draw(st.sampled_from([frozenset()] * 3 + [frozenset({n}) for n in POOL[:4]]))
    return "\n".join(lines) + "\n", live, failing


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(manifests())
def test_an_early_plan_is_the_plan_read_after_loading(monkeypatch, tmp_path_factory, drawn):
    text, live, failing = drawn
    path = tmp_path_factory.mktemp("early") / "dids.yaml"
    path.write_text(text)
    (path.parent / "mvconf.toml").write_text(
        '[environments.here]\napi_key_env = "MINIVOICE_API_KEY_HERE"\n'
        '[environments.nowhere]\n[environments.elsewhere]\n')
    first, second, early_gets, late_gets = both(monkeypatch, path, Account(live, failing),
                                                "--project", path.parent / "mvconf.toml",
                                                "--env", "here")
    assert comparable(first) == comparable(second)
    assert len(early_gets) == len(set(early_gets)), "a DID was read twice"

    if first.code in (0, 2):  # every DID the plan holds was read, and only once
        assert set(late_gets) <= set(early_gets)


@pytest.mark.parametrize("answer", ["failing", "unavailable"])
def test_an_answer_for_a_number_the_plan_does_not_manage_decides_nothing(monkeypatch, write,
                                                                         answer):
    write("mvconf.toml", '[environments.here]\napi_key_env = "MINIVOICE_API_KEY_HERE"\n'
                         '[environments.elsewhere]\n')
    path = write("dids.yaml", 'version: 1\ndids:\n  - number: "+15551230009"\n'
                              "    application: app_123\n    route_mode: reject\n"
                              "    environments: [elsewhere]\n"
                              '  - number: "+15551230001"\n    application: app_123\n'
                              "    route_mode: reject\n")
    account = Account({"+15551230001": "webhook"}, **{answer: frozenset({"+15551230009"})})
    load = early._load

    def load_once_asked(*args):  # the load ends only after the early read of the other number
        assert account.asked_for("+15551230009").wait(30)
        return load(*args)

    monkeypatch.setattr(early, "_load", load_once_asked)
    first, second, early_gets, late_gets = both(monkeypatch, path, account, "--detailed-exitcode",
                                                "--project", path.parent / "mvconf.toml",
                                                "--env", "here")
    assert first.code == second.code == 2
    assert comparable(first) == comparable(second)
    assert early_gets.count("+15551230009") == 1 and "+15551230009" not in late_gets
    assert "+15551230009" not in first.stderr + first.stdout and "Warning" not in first.stderr


def test_an_error_for_a_managed_number_is_the_plans_error(monkeypatch, write):
    path = write("dids.yaml", 'version: 1\ndids:\n  - number: "+15551230001"\n'
                              "    application: app_123\n    route_mode: reject\n")
    account = Account({}, frozenset({"+15551230001"}))
    first, second, _, _ = both(monkeypatch, path, account)
    assert first.code == second.code == 1
    assert comparable(first) == comparable(second) and "+15551230001" in first.stderr


def test_a_manifest_that_fails_to_load_shows_its_own_error(monkeypatch, write):
    path = write("dids.yaml", 'version: 1\ndids:\n  - number: "+15551230001"\n'
                              "    application: app_123\n    route_mode: sideways\n")
    first, second, early_gets, late_gets = both(monkeypatch, path, Account({}))
    assert first.code == second.code == 1 and comparable(first) == comparable(second)
    assert "sideways" in first.stderr and late_gets == []
    assert len(early_gets) <= 1


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_prescan_finds_plain_numbers_once_in_order(tmp_path, count):
    path = tmp_path / "dids.yaml"
    lines = ["version: 1", "dids:"] + [f'  - number: "{POOL[i]}"  # n{i}' for i in range(count)]
    lines += [f"  - number: {POOL[0]}", "  - number: '+1 555'", "  -number: \"+15550000000\""]
    path.write_text("\n".join(lines) + "\n")
    assert early.numbers_in([str(tmp_path)]) == POOL[:max(count, 1)]
    assert early.numbers_in([str(tmp_path)], limit=1) == POOL[:1]


def test_an_early_error_that_would_not_be_retried_is_the_dids_own(monkeypatch, write):
    path = write("dids.yaml", 'version: 1\ndids:\n  - number: "+15551230001"\n'
                              "    application: app_123\n    route_mode: reject\n")
    account = Account({"+15551230001": "webhook"}, frozenset({"+15551230001"}))
    first, second, early_gets, late_gets = both(monkeypatch, path, account)
    assert first.code == second.code == 1 and comparable(first) == comparable(second)
    assert "403" in first.stderr and first.stderr.count("+15551230001") == 1


class Holding(Account):
    """Answers the first three reads only once the load has ended; the one the plan does not
    need (POOL[1]) once two later reads are in flight, and those once it is answered. With
    --parallelism 3 a third later read may only come after that."""

    def __init__(self, live):
        super().__init__(live)
        self.ended = threading.Event()
        self.released = threading.Event()

    def later_in_flight(self):
        return self.flying - 1

    def answer(self, handler, number):
        if number in POOL[:3]:
            assert self.ended.wait(30)
        if number == POOL[1]:
            for _ in range(3000):  # until two later reads are in flight (at most 30 s)
                if self.later_in_flight() >= 2:
                    break
                threading.Event().wait(0.01)
            for _ in range(20):  # a third, if the client has freed this read's lane, comes now
                threading.Event().wait(0.01)
            try:
                super().answer(handler, number)
            finally:
                self.released.set()
            return
        if number not in POOL[:3]:
            assert self.released.wait(30)
        super().answer(handler, number)


def test_reads_the_plan_does_not_need_still_count_against_parallelism(monkeypatch, write):
    lines = ["version: 1", "dids:"]
    for i in range(12):
        lines += [f'  - number: "{POOL[i]}"', "    application: app_123", "    route_mode: reject"]
        if i == 1:
            lines.append("    environments: [elsewhere]")
    write("mvconf.toml", '[environments.here]\napi_key_env = "MINIVOICE_API_KEY_HERE"\n'
                         '[environments.elsewhere]\n')
    path = write("dids.yaml", "\n".join(lines) + "\n")
    account = Holding(dict.fromkeys(POOL, "webhook"))
    load, end = early._load, early.EarlyReads.end

    def load_while_held(*args):  # the load ends while 3 early reads are in flight
        assert all(account.asked_for(n).wait(30) for n in POOL[:3])
        return load(*args)

    def end_then_answer(self, *args, **kw):
        order = end(self, *args, **kw)
        account.ended.set()
        return order

    monkeypatch.setattr(early, "_load", load_while_held)
    monkeypatch.setattr(early.EarlyReads, "end", end_then_answer)
    with hostile_server(account) as (url, _):
        result = run_plan(path, url, "--parallelism", "3", "--project",
                          path.parent / "mvconf.toml", "--env", "here")
    assert result.code == 0, result.stderr
    assert account.most <= 3
    assert sorted(set(account.gets)) == sorted(account.gets)
