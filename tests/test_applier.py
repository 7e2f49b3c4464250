"""The applier decides and a view shows: apply through the in-process emulator with a recording
view, no terminal and no click involved."""

from __future__ import annotations

import asyncio
import json

import pytest

from mvconf.apply.applier import ApplyOptions, apply_plan
from mvconf.apply.journal import Journal
from mvconf.core.errors import PlanError
from mvconf.emulator.inprocess import InProcessSender, open_emulator
from mvconf.manifest import DesiredDid
from mvconf.minivoice.client import MiniVoiceClient, read_many
from mvconf.plan.change import Executor
from mvconf.plan.planner import make_plan

from .helpers import RecordingView, did


def run(state_path, journal, view, executor=Executor.api, **opts):
    endpoint, store = open_emulator(str(state_path))
    desired = [DesiredDid("+15551230001", "app_456", "webhook", (), source="m.yaml:3"),
               DesiredDid("+15551230009", "app_123", "webhook", (), source="m.yaml:8")]

    async def go():
        client = MiniVoiceClient(InProcessSender(store, endpoint.headers()))
        live = await read_many(client, [d.number for d in desired], 2)
        plan = make_plan(desired, live, executor=executor, api_url=endpoint.label,
                         created_at="t")
        options = ApplyOptions(journal=str(journal), **opts)
        log = Journal(str(journal), api_url=endpoint.label)
        return await apply_plan(plan, client, log, options, view)

    return asyncio.run(go())


@pytest.fixture
def account(state_file):
    return state_file([did("+15551230001")])


def test_api_change_is_applied_and_the_missing_number_becomes_steps(account, tmp_path):
    view = RecordingView()
    journal = tmp_path / "j.jsonl"
    code = run(account, journal, view)
    assert code == 3  # the missing number is left to a person
    assert view.names() == ["ask", "applied", "steps", "follow_up", "summary"]
    assert [c.number for c in view.seen[2][1]] == ["+15551230009"]
    assert view.seen[3][1] == "apply"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(r["phase"], r.get("outcome")) for r in records] == [("intent", None),
                                                                 ("outcome", "applied")]
    saved = json.loads(account.read_text())["dids"][0]
    assert saved["application_id"] == "app_456"


def test_nobody_to_ask_refuses_before_writing(account, tmp_path):
    with pytest.raises(PlanError, match="no terminal"):
        run(account, tmp_path / "j.jsonl", RecordingView(answer=None))
    assert not (tmp_path / "j.jsonl").exists()
    assert json.loads(account.read_text())["dids"][0]["application_id"] == "app_123"


def test_declined_confirmation_changes_nothing(account, tmp_path):
    with pytest.raises(PlanError, match="cancelled"):
        run(account, tmp_path / "j.jsonl", RecordingView(answer=False))
    assert json.loads(account.read_text())["dids"][0]["application_id"] == "app_123"


def test_manual_executor_asks_nothing_and_names_the_command(account, tmp_path):
    view = RecordingView()
    code = run(account, tmp_path / "j.jsonl", view, executor=Executor.manual, command="rollback")
    assert code == 3 and "ask" not in view.names() and "applied" not in view.names()
    assert ("follow_up", "rollback") in view.seen
