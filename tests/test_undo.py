"""Rollback planning: journal records -> the plan that restores their `before` values."""

from __future__ import annotations

import pytest

from mvconf.core.errors import PlanError
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Action, Executor, FieldDiff
from mvconf.plan.undo import undo_plan

from .helpers import did

BEFORE = {"application_id": "app_1", "route_mode": "webhook", "destinations": []}
AFTER = {"application_id": "app_2", "route_mode": "webhook", "destinations": []}


def record(number="+15551230001", before=BEFORE, after=AFTER, did_id=None):
    return {"run": "r1", "phase": "outcome", "outcome": "applied", "number": number,
            "did_id": did_id or f"did_{number.lstrip('+')}", "before": before, "after": after}


def live(number="+15551230001", **kw):
    return LiveDID.model_validate(did(number, **kw))


def plan(records, lives, executor=Executor.api):
    return undo_plan(records, lives, executor=executor, api_url="x", created_at="t")


def test_restores_only_the_fields_the_run_changed():
    p = plan([record()], {"+15551230001": live(app="app_2", mode="webhook")})
    change = p.changes[0]
    assert change.action == Action.update and change.executor == Executor.api
    assert change.fields == {"application_id": FieldDiff("app_2", "app_1")}
    assert change.source == "journal run r1" and p.summary["update"] == 1


def test_manual_rollback_gets_steps():
    p = plan([record()], {"+15551230001": live(app="app_2")}, executor=Executor.manual)
    assert any("Assign DID +15551230001" in step for step in p.changes[0].steps)


def test_a_did_already_back_is_a_noop():
    # A second rollback that finds the value already restored changes nothing.
    r = record(before=AFTER, after=AFTER)
    p = plan([r], {"+15551230001": live(app="app_2")})
    assert p.changes[0].action == Action.noop and not p.has_changes


@pytest.mark.parametrize("lives, words", [
    ({"+15551230001": live(app="app_9")}, "no longer has the values"),
    ({"+15551230001": None}, "no longer in the account"),
    ({"+15551230001": live(app="app_2", id="did_other")}, "is now did_other"),
])
def test_stale_rollbacks_are_refused(lives, words):
    with pytest.raises(PlanError, match=words):
        plan([record()], lives)


def test_a_number_that_was_not_in_the_account_cannot_be_rolled_back():
    with pytest.raises(PlanError, match="nothing to roll back to"):
        plan([record(before=None)], {"+15551230001": live(app="app_2")})


def test_untouched_destinations_are_kept_in_their_normal_form():
    # SIP:… and sip:… are the same URI: leaving destinations alone must not become a change.
    before = {"application_id": "app_1", "route_mode": "sip", "destinations": ["SIP:a@x"]}
    after = {**before, "application_id": "app_2"}
    p = plan([record(before=before, after=after)],
             {"+15551230001": live(app="app_2", mode="sip", destinations=["SIP:a@x"])})
    assert set(p.changes[0].fields) == {"application_id"}


@pytest.mark.parametrize(("before", "words"), [
    ({"application_id": "***"}, "is not an application id"),
    ({"application_id": "app_sekrit_key_99"}, "holds the API key"),
    ({"route_mode": "forward", "destinations": ["+15551230001"]}, "forward to itself"),
    ({"route_mode": "forward", "destinations": ["+15551239999"] * 2}, "listed twice"),
    ({"route_mode": "forward", "destinations": ["+1 (555) 123-9999"]}, "E.164"),
    ({"route_mode": "call_me_maybe"}, "is not one of"),
])
def test_a_journal_before_is_held_to_a_saved_plans_rules(before, words):
    # The journal is a file anyone with the checkout can edit; what rollback writes back from
    # it is checked as a saved plan's values are, and never carries the key.
    from mvconf.core.logs import register_secret

    register_secret("app_sekrit_key_99")
    full = {**BEFORE, **before}
    with pytest.raises(PlanError, match=words):
        plan([record(before=full)], {"+15551230001": live(app="app_2", destinations=[])})


def test_a_route_mode_over_hidden_destinations_is_restored_without_destinations():
    # The API hid destinations before (None) and the run wrote some with its forward.
    before = {"application_id": "app_1", "route_mode": "webhook", "destinations": None}
    after = {"application_id": "app_1", "route_mode": "forward", "destinations": ["+15551239999"]}
    p = plan([record(before=before, after=after)],
             {"+15551230001": live(app="app_1", mode="forward", destinations=["+15551239999"])})
    change = p.changes[0]
    assert change.desired["route_mode"] == "webhook" and change.desired["destinations"] == []
    back = {**before, "route_mode": "forward"}
    with pytest.raises(PlanError, match="destinations before run r1 were not shown"):
        plan([record(before=back, after={**after, "route_mode": "sip",
                                         "destinations": ["sip:a@pbx.example.com"]})],
             {"+15551230001": live(app="app_1", mode="sip",
                                   destinations=["sip:a@pbx.example.com"])})


@pytest.mark.parametrize("mode", ["forward", "sip"])
def test_an_application_change_over_hidden_destinations_is_rolled_back(mode):
    before = {"application_id": "app_1", "route_mode": mode, "destinations": None}
    after = {**before, "application_id": "app_2"}
    p = plan([record(before=before, after=after)],
             {"+15551230001": live(app="app_2", mode=mode)})
    assert p.changes[0].fields == {"application_id": FieldDiff("app_2", "app_1")}
