"""A state-machine test (hypothesis): apply, a person's edits, a kill between a write and its
outcome, and rollback, in any order. Invariant: after every run, the journal's last word on
every DID that mvconf wrote last equals the account."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mvconf.apply.journal import read_journal

from .helpers import did, invoke

pytestmark = pytest.mark.reliability
NUMBERS = [f"+1555123{i:04d}" for i in range(6)]
APPS = st.sampled_from(["app_a", "app_b", "app_c"])


class JournalMatchesAccount(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="mvconf-model-"))
        self.state = self.dir / "state.json"
        self.journal = self.dir / "journal.jsonl"
        self.manifest = self.dir / "dids.yaml"
        keys = [{"key": "model-test-key", "customer_id": "cust_123", "application_id": "app_123"}]
        self.state.write_text(json.dumps({"api_keys": keys, "dids": [
            did(n, id=f"did_{i}") for i, n in enumerate(NUMBERS)]}))
        self.mvconf_wrote: set[str] = set()  # DIDs whose last writer is mvconf
        self.resolved = True  # no dangling intent since the last run

    def account(self) -> dict[str, str]:
        return {d["number_e164"]: d["application_id"]
                for d in json.loads(self.state.read_text())["dids"]}

    def _run(self, *args: str) -> None:
        before = self.account()
        result = invoke(*args, "--emulator", self.state, "--executor", "api", "--auto-approve",
                        "--allow-mass-change", "--journal", self.journal)
        assert "Traceback" not in result.stderr and result.code in (0, 1), result.stderr
        after = self.account()
        self.mvconf_wrote |= {n for n in NUMBERS if after[n] != before[n]}
        self.resolved = True

    @rule(app=APPS)
    def apply(self, app):
        self.manifest.write_text("version: 1\ndids:\n" + "".join(
            f'  - {{number: "{n}", application: {app}, route_mode: webhook}}\n'
            for n in NUMBERS))
        self._run("apply", str(self.manifest))

    @rule(index=st.integers(0, len(NUMBERS) - 1), app=APPS)
    def person_edits(self, index, app):
        data = json.loads(self.state.read_text())
        record = data["dids"][index]
        if record["application_id"] != app:
            record["application_id"] = app
            record["updated_at"] = "2027-01-01T00:00:00." + f"{len(self.journal_lines()):06d}Z"
            self.state.write_text(json.dumps(data))
            self.mvconf_wrote.discard(record["number_e164"])

    def journal_lines(self) -> list[str]:
        return self.journal.read_text().splitlines() if self.journal.exists() else []

    @rule()
    def killed_before_an_outcome(self):
        """As if the process died after a write, before its outcome was journaled."""
        lines = self.journal_lines()
        if lines and '"outcome": "applied"' in lines[-1]:
            self.journal.write_text("\n".join(lines[:-1]) + "\n")
            self.resolved = False

    @rule()
    def rollback(self):
        self._run("rollback")

    @invariant()
    def journal_last_word_equals_account(self):
        if not self.resolved or not self.journal.exists():
            return
        records, bad = read_journal(str(self.journal))
        assert bad == []
        last: dict[str, dict] = {}
        for record in records:
            if record["phase"] == "outcome":
                last[record["number"]] = record
        account = self.account()
        for number in self.mvconf_wrote:
            assert (last[number]["after"] or {}).get("application_id") == account[number], number


TestJournalMatchesAccount = JournalMatchesAccount.TestCase
TestJournalMatchesAccount.settings = settings(max_examples=25, stateful_step_count=8,
                                              deadline=None)
