"""The pure planner: a table of cases and the laws it must keep (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mvconf.manifest import DesiredDid
from mvconf.minivoice.models import LiveDID
from mvconf.plan.model import Action, FieldDiff, Plan
from mvconf.plan.planner import make_plan

from .helpers import did


def desired(number="+15551230002", app="app_123", mode="webhook", dests=(), pin=None):
    return DesiredDid(number, app, mode, tuple(dests), pin, None, "m.yaml:3")


def live(**kw):
    return LiveDID.model_validate(did(kw.pop("number", "+15551230002"), **kw))


def plan_of(items, executor="manual"):
    return make_plan([d for d, _ in items], {d.number: lv for d, lv in items},
                     executor=executor, api_url="https://api.minivoice.eu",
                     created_at="2026-11-24T12:00:00Z")


def test_table_of_actions():
    p = plan_of([
        (desired("+15551230001"), live(number="+15551230001", id="did_1")),
        (desired("+15551230002", app="app_456", mode="reject"),
         live(number="+15551230002", id="did_2")),
        (desired("+15551230003"), None),
        (desired("+15551230004"), live(number="+15551230004", id="did_4", status="suspended")),
        (desired("+15551230005", pin="did_x"), live(number="+15551230005", id="did_5")),
    ])
    assert [c.action for c in p.changes] == [Action.noop, Action.update, Action.missing,
                                             Action.blocked, Action.conflict]
    assert p.changes[1].fields == {"application_id": FieldDiff("app_123", "app_456"),
                                   "route_mode": FieldDiff("webhook", "reject")}
    assert p.summary == {"noop": 1, "update": 1, "missing": 1, "blocked": 1, "conflict": 1}
    step_text = " ".join(p.changes[1].steps)
    assert "+15551230002 (did_2)" in step_text and "app_456 (currently app_123)" in step_text


def test_api_executor_has_no_steps_but_missing_stays_manual():
    p = plan_of([(desired(mode="reject"), live()), (desired("+15551230003"), None)], "api")
    assert (p.changes[0].executor, p.changes[0].steps) == ("api", ())
    assert p.changes[1].executor == "manual" and p.changes[1].steps


def test_unobservable_destinations_are_unverified_not_changed():
    d = desired(mode="forward", dests=["+4915112345678"])
    p = plan_of([(d, live(mode="forward"))])
    assert p.changes[0].action == Action.noop and p.changes[0].unverified == ("destinations",)


def test_routing_switched_while_destinations_are_hidden_writes_them_too():
    # A DID turned to forward must forward where the manifest says (and the policy judged),
    # not wherever the account's hidden destinations point.
    d = desired(mode="forward", dests=["+4915112345678"])
    change = plan_of([(d, live(mode="webhook"))], "api").changes[0]
    assert change.action == Action.update and change.unverified == ("destinations",)
    assert change.fields == {"route_mode": FieldDiff("webhook", "forward"),
                             "destinations": FieldDiff(None, ["+4915112345678"])}
    moved = plan_of([(desired(app="app_9", mode="forward", dests=["+4915112345678"]),
                      live(mode="forward"))], "api").changes[0]
    assert set(moved.fields) == {"application_id"}  # routing unchanged: nothing hidden written


def test_destinations_are_normalised_before_comparison():
    d = desired(mode="sip", dests=["sip:pbx@example.com"])
    p = plan_of([(d, live(mode="sip", destinations=["SIP:pbx@example.com"]))])
    assert p.changes[0].action == Action.noop


def test_webhook_clears_leftover_destinations():
    p = plan_of([(desired(), live(destinations=["+4915112345678"]))])
    assert p.changes[0].fields == {"destinations": FieldDiff(["+4915112345678"], [])}


def test_reject_without_application_leaves_assignment_alone():
    p = plan_of([(desired(app=None, mode="reject"), live(app="app_999", mode="reject"))])
    assert p.changes[0].action == Action.noop


def test_threshold_is_flagged_at_plan_time():
    items = [(desired(f"+1555123{i:04d}", mode="reject" if i < 4 else "webhook"),
              live(number=f"+1555123{i:04d}", id=f"did_{i}")) for i in range(10)]
    assert plan_of(items).safety.exceeds_threshold
    assert not plan_of(items[2:] + items[:1]).safety.exceeds_threshold


def test_plan_json_round_trips():
    p = plan_of([(desired(mode="reject"), live()), (desired("+15551230003"), None)])
    assert Plan.model_validate_json(p.to_json()) == p


MODES = st.sampled_from(["webhook", "reject", "forward", "sip"])
APPS = st.sampled_from(["app_1", "app_2", None])
STATUS = st.sampled_from(["active", "active", "active", "suspended"])


@st.composite
def scenario(draw):
    n = draw(st.integers(1, 8))
    items = []
    for i in range(n):
        number = f"+1555123{i:04d}"
        mode = draw(MODES)
        app = draw(APPS) if mode == "reject" else draw(APPS.filter(bool))
        dests = {"forward": ["+4915112345678"], "sip": ["sip:a@b.example"]}.get(mode, [])
        d = desired(number, app, mode, dests)
        lv_dests = draw(st.sampled_from([None, [], ["+4915112345678"], ["sip:a@b.example"]]))
        lv = live(number=number, id=f"did_{i}", app=draw(APPS.filter(bool)), mode=draw(MODES),
                  status=draw(STATUS), destinations=lv_dests)
        items.append((d, draw(st.sampled_from([lv, lv, None]))))
    return items


def apply_changes(items, p):
    """What a perfect executor (and the person) would leave behind."""
    out = []
    for (d, lv), change in zip(items, p.changes, strict=True):
        if lv is None:
            record = did(d.number, app=d.application_id or "app_1", mode=d.route_mode,
                         id=f"new_{d.number}", destinations=list(d.destinations))
            out.append((d, LiveDID.model_validate(record)))
            continue
        data = lv.model_dump(mode="json", exclude_unset=True)
        data.update(change.wanted())
        data["status"] = "active"
        out.append((d, LiveDID.model_validate(data)))
    return out


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_applying_a_plan_then_planning_again_gives_only_noops(items):
    p = plan_of(items)
    assert len(p.changes) == len(items)
    again = plan_of(apply_changes(items, p))
    assert [c.action for c in again.changes] == [Action.noop] * len(items)
