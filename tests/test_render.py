"""Rendering plans for people (text) and pull requests (markdown); rendering decides nothing."""

from __future__ import annotations

import json

from mvconf.manifest import DesiredDid
from mvconf.minivoice.models import LiveDID
from mvconf.plan import render
from mvconf.plan.change import Executor
from mvconf.plan.planner import make_plan

from .helpers import did


def _plan(executor=Executor.manual):
    desired = [
        DesiredDid("+15551230001", "app_123", "webhook", (), source="a.yaml:3"),
        DesiredDid("+15551230002", "app_456", "reject", (), source="a.yaml:7"),
        DesiredDid("+15551230003", "app_123", "webhook", (), source="b.yaml:2"),
        DesiredDid("+15551230004", "app_123", "sip", ("sip:a|b@x.example",), source="b.yaml:9"),
    ]
    live = {
        "+15551230001": LiveDID.model_validate(did("+15551230001")),
        "+15551230002": LiveDID.model_validate(did("+15551230002")),
        "+15551230003": None,
        "+15551230004": LiveDID.model_validate(did("+15551230004", status="suspended",
                                                    destinations=[])),
    }
    return make_plan(desired, live, executor=executor, api_url="https://api.example",
                     created_at="2026-11-24T12:00:00Z")


def test_markdown_starts_with_the_marker_and_tables_each_change_but_not_noops():
    text = render.markdown(_plan())
    assert text.startswith("<!-- mvconf-plan -->\n")
    assert "Plan: 1 to update, 1 missing, 1 blocked, 1 unchanged." in text
    rows = [line for line in text.splitlines() if line.startswith("| ~") or line.startswith("| !")]
    assert [r.split("|")[2].strip() for r in rows] == ["+15551230002", "+15551230003",
                                                       "+15551230004"]
    assert "+15551230001" not in text.split("<details>")[0].split("Changes |")[1]
    assert "application_id: app&#95;123 &#8594; app&#95;456" in text


def test_markdown_escapes_table_pipes_and_lists_manual_steps():
    text = render.markdown(_plan())
    blocked = next(line for line in text.splitlines() if "| +15551230004 |" in line)
    assert "sip&#58;a&#124;b&#64;x&#46;example" in blocked  # a pipe cannot break the row
    assert "<details><summary>Manual steps</summary>" in text
    assert "**+15551230003**" in text and "acquire the number +15551230003" in text


def test_markdown_of_api_plan_has_no_manual_steps_for_updates():
    text = render.markdown(_plan(Executor.api))
    assert "| update (api) |" in text
    assert "**+15551230002**" not in text  # api updates have no steps


def test_markdown_without_changes_says_so():
    desired = [DesiredDid("+15551230001", "app_123", "webhook", (), source="a.yaml:3")]
    live = {"+15551230001": LiveDID.model_validate(did("+15551230001"))}
    plan = make_plan(desired, live, executor=Executor.manual, api_url="x", created_at="t")
    text = render.markdown(plan)
    assert "No changes. The live account matches the manifests." in text and "| ~" not in text


def test_text_plan_shows_fields_source_and_counts():
    lines = render.text(_plan())
    assert "~ +15551230002 (did_15551230002)  update (manual)" in lines
    assert '    application_id: "app_123" -> "app_456"' in lines
    assert "    at a.yaml:7" in lines
    assert lines.rstrip().endswith("Plan: 1 to update, 1 missing, 1 blocked, 1 unchanged.")


def test_json_rendering_is_the_saved_plan():
    plan = _plan()
    data = json.loads(render.render(plan, "json"))
    assert data["summary"] == {"noop": 1, "update": 1, "missing": 1, "blocked": 1, "conflict": 0}
    assert data["changes"][1]["fields"]["route_mode"] == {"from": "webhook", "to": "reject"}
