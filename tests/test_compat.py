"""Saved plans and journals written by mvconf 0.1.0 (before the restructuring) still work."""

from __future__ import annotations

import json
import shutil

from .helpers import ROOT, invoke

FIXTURES = ROOT / "tests" / "fixtures"


def test_a_saved_plan_from_0_1_0_loads_and_applies(tmp_path):
    state = tmp_path / "state.json"
    shutil.copy(ROOT / "examples/sales-support/state.json", state)
    plan = tmp_path / "plan.json"
    plan.write_text((FIXTURES / "plan-0.1.0.json").read_text()
                    .replace("emulator:STATE", f"emulator:{state}"))
    result = invoke("apply", plan, "--emulator", state, "--journal", tmp_path / "j.jsonl")
    assert result.code == 3, result.stderr  # one change is left to a person
    assert "Apply: 4 applied, 0 failed, 0 skipped, 1 manual." in result.stdout


def test_a_journal_from_0_1_0_rolls_back(tmp_path):
    # The journal recorded an apply of examples/sales-support; put the account in that state.
    state = tmp_path / "state.json"
    shutil.copy(ROOT / "examples/sales-support/state.json", state)
    journal = tmp_path / "journal.jsonl"
    shutil.copy(FIXTURES / "journal-0.1.0.jsonl", journal)
    invoke("apply", ROOT / "examples/sales-support", "--emulator", state, "--executor", "api",
           "--auto-approve", "--allow-mass-change", "--journal", tmp_path / "other.jsonl")
    result = invoke("rollback", "--journal", journal, "--emulator", state, "--executor", "api",
                    "--auto-approve", "--allow-mass-change")
    assert result.code == 0, result.stderr
    assert "Apply: 4 applied" in result.stdout
    original = json.loads((ROOT / "examples/sales-support/state.json").read_text())
    restored = json.loads(state.read_text())
    fields = ("application_id", "route_mode", "destinations")
    assert ([{k: d.get(k) for k in fields} for d in restored["dids"]]
            == [{k: d.get(k) for k in fields} for d in original["dids"]])
