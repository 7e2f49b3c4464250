"""executors: ApiExecutor writes each change with the journal around it; ManualExecutor turns
changes into steps and, with --wait, confirms them. Driven directly, against the in-process
emulator, with a recording view."""

from __future__ import annotations

import asyncio
import json

import pytest

from mvconf.apply.executors import ApiExecutor, ManualExecutor
from mvconf.apply.journal import Journal
from mvconf.apply.report import Report, Stop
from mvconf.emulator.inprocess import InProcessSender, open_emulator
from mvconf.manifest import DesiredDid
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.plan.change import Executor
from mvconf.plan.planner import make_plan

from .helpers import RecordingView, did

NUMBER = "+15551230001"
WANTED = DesiredDid(NUMBER, "app_456", "webhook", (), source="m.yaml:3")


@pytest.fixture
def account(state_file):
    return state_file([did(NUMBER)])


def carry_out(state, journal_path, make, *, before=None, read_only=False):
    """Plan WANTED against `state`, run `before(client)` (a change behind the plan's back),
    then carry the change out with the executor `make(client, journal)` returns."""
    endpoint, store = open_emulator(str(state))
    sender = InProcessSender(store, endpoint.headers())
    sender.api.read_only = read_only

    async def go():
        client = MiniVoiceClient(sender)
        live = await read_many(client, [NUMBER], 1)
        plan = make_plan([WANTED], live, executor=Executor.api, api_url=endpoint.label,
                         created_at="t")
        if before is not None:
            await before(client)
        report = Report()
        left = await make(client, Journal(str(journal_path), api_url=endpoint.label)).carry_out(
            [c for c in plan.changes if c.is_change], report)
        return left, report

    return asyncio.run(go())


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def live_app(state):
    return json.loads(state.read_text())["dids"][0]["application_id"]


def test_the_api_executor_journals_the_intent_before_the_write_and_the_outcome_after(
        account, tmp_path):
    view, journal = RecordingView(), tmp_path / "j.jsonl"
    left, report = carry_out(account, journal,
                             lambda client, log: ApiExecutor(client, log, view, 2))
    assert left == [] and [d.change.number for d in report.applied] == [NUMBER]
    assert view.names() == ["applied"]
    intent, outcome = records(journal)
    assert (intent["phase"], outcome["phase"], outcome["outcome"]) == ("intent", "outcome",
                                                                        "applied")
    assert intent["before"]["application_id"] == "app_123"
    assert intent["after"]["application_id"] == "app_456"
    assert live_app(account) == "app_456"


def test_a_405_leaves_the_change_to_a_person_and_says_so_once(account, tmp_path):
    view, journal = RecordingView(), tmp_path / "j.jsonl"
    left, report = carry_out(account, journal,
                             lambda client, log: ApiExecutor(client, log, view, 2),
                             read_only=True)
    assert [c.number for c in left] == [NUMBER]  # for the ManualExecutor
    assert report.applied == [] and report.failed == []
    assert view.names() == ["writes_refused"]
    assert "405" in records(journal)[-1]["error"] and live_app(account) == "app_123"


def test_a_stop_before_a_change_starts_skips_it_unwritten(account, tmp_path):
    view, journal = RecordingView(), tmp_path / "j.jsonl"
    left, report = carry_out(account, journal,
                             lambda client, log: ApiExecutor(client, log, view, 2,
                                                             Stop(signum=2)))
    assert left == [] and [c.number for c in report.skipped] == [NUMBER]
    assert records(journal) == [] and live_app(account) == "app_123"


def test_a_did_changed_since_the_plan_keeps_the_other_change(account, tmp_path):
    async def meanwhile(client):  # someone else changes the DID after the plan was made
        await client.patch(f"did_{NUMBER.lstrip('+')}", {"application_id": "app_789"}, NUMBER)

    view, journal = RecordingView(), tmp_path / "j.jsonl"
    left, report = carry_out(account, journal,
                             lambda client, log: ApiExecutor(client, log, view, 2),
                             before=meanwhile)
    assert [d.error for d in report.failed] and "stale" in report.failed[0].error
    assert live_app(account) == "app_789"
    assert records(journal)[-1]["outcome"] == "failed"


def test_the_manual_executor_gives_steps_and_names_the_confirming_command(account, tmp_path):
    view, journal = RecordingView(), tmp_path / "j.jsonl"
    left, report = carry_out(account, journal, lambda client, log: ManualExecutor(
        client, log, view, 2, command="rollback"))
    assert left == [] and [c.number for c in report.manual] == [NUMBER]
    assert view.names() == ["steps", "follow_up"] and view.seen[1] == ("follow_up", "rollback")
    assert records(journal) == [] and live_app(account) == "app_123"


def test_waiting_confirms_a_step_a_person_made_and_journals_it(account, tmp_path):
    async def person(client):  # the step is made in the account setup, not by mvconf
        await client.patch(f"did_{NUMBER.lstrip('+')}", {"application_id": "app_456"}, NUMBER)

    view, journal = RecordingView(), tmp_path / "j.jsonl"
    left, report = carry_out(account, journal, lambda client, log: ManualExecutor(
        client, log, view, 2, wait=True, wait_timeout=5, poll_interval=0.01), before=person)
    assert [c.number for c in report.confirmed] == [NUMBER] and report.manual == []
    assert "confirmed" in view.names() and "timed_out" not in view.names()
    assert [(r["phase"], r["outcome"]) for r in records(journal)] == [("outcome", "confirmed")]


def test_waiting_gives_up_at_its_timeout_and_leaves_the_steps(account, tmp_path):
    view, journal = RecordingView(), tmp_path / "j.jsonl"
    left, report = carry_out(account, journal, lambda client, log: ManualExecutor(
        client, log, view, 2, wait=True, wait_timeout=0.05, poll_interval=0.01))
    assert [c.number for c in report.manual] == [NUMBER] and report.confirmed == []
    assert ("timed_out", 0.05, [NUMBER]) in view.seen
