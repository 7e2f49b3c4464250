"""Rendering plans for people (text) and pull requests (markdown); rendering decides nothing."""

from __future__ import annotations

import json

import pytest

from mvconf.manifest import DesiredDid
from mvconf.minivoice.models import LiveDID
from mvconf.plan.change import Executor
from mvconf.plan.planner import make_plan
from mvconf.render import formats
from mvconf.render.text import text as plan_text

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
    text = formats.markdown(_plan())
    assert text.startswith("<!-- mvconf-plan -->\n")
    assert "Plan: 1 to update, 1 missing, 1 blocked, 1 unchanged." in text
    rows = [line for line in text.splitlines() if line.startswith("| ~") or line.startswith("| !")]
    assert [r.split("|")[2].strip() for r in rows] == ["+15551230002", "+15551230003",
                                                       "+15551230004"]
    assert "+15551230001" not in text.split("<details>")[0].split("Changes |")[1]
    assert "application_id: app&#95;123 &#8594; app&#95;456" in text


def test_markdown_escapes_table_pipes_and_lists_manual_steps():
    text = formats.markdown(_plan())
    blocked = next(line for line in text.splitlines() if "| +15551230004 |" in line)
    assert "sip&#58;a&#124;b&#64;x&#46;example" in blocked  # a pipe cannot break the row
    assert "<details><summary>Manual steps</summary>" in text
    assert "**+15551230003**" in text and "acquire the number +15551230003" in text


def test_markdown_of_api_plan_has_no_manual_steps_for_updates():
    text = formats.markdown(_plan(Executor.api))
    assert "| update (api) |" in text
    assert "**+15551230002**" not in text  # api updates have no steps


def test_markdown_without_changes_says_so():
    desired = [DesiredDid("+15551230001", "app_123", "webhook", (), source="a.yaml:3")]
    live = {"+15551230001": LiveDID.model_validate(did("+15551230001"))}
    plan = make_plan(desired, live, executor=Executor.manual, api_url="x", created_at="t")
    text = formats.markdown(plan)
    assert "No changes. The live account matches the manifests." in text and "| ~" not in text


def test_text_plan_shows_fields_source_and_counts():
    lines = plan_text(_plan())
    assert "~ +15551230002 (did_15551230002)  update (manual)" in lines
    assert '    application_id: "app_123" -> "app_456"' in lines
    assert "    at a.yaml:7" in lines
    assert lines.rstrip().endswith("Plan: 1 to update, 1 missing, 1 blocked, 1 unchanged.")


def test_json_rendering_is_the_saved_plan():
    plan = _plan()
    data = json.loads(formats.render(plan, "json"))
    assert data["summary"] == {"noop": 1, "update": 1, "missing": 1, "blocked": 1, "conflict": 0}
    assert data["changes"][1]["fields"]["route_mode"] == {"from": "webhook", "to": "reject"}


def _big_plan(count: int, hostile: str = ""):
    desired, live = [], {}
    for i in range(count):
        number = f"+1555{i:07d}"
        desired.append(DesiredDid(number, f"app_{i % 7}", "sip", (f"sip:{hostile}{i}@x.example",),
                                  source=f"dids/{hostile}big.yaml:{i + 3}"))
        # model_construct: the client refuses such ids now; rendering must stay inert anyway
        live[number] = LiveDID.model_construct(**did(number, app="app_old", mode="webhook",
                                                     destinations=(), id=f"did_{hostile}{i}"))
    plan = make_plan(desired, live, executor=Executor.manual, api_url="https://api.example",
                     created_at="t")
    return plan.model_copy(update={"app_names": {"app_1": "sales", "app_old": "legacy"}})


def test_a_5000_change_markdown_plan_fits_a_comment():
    plan = _big_plan(5000)
    text = formats.markdown(plan)
    assert len(text) <= 65_000
    assert text.startswith("<!-- mvconf-plan -->")
    assert "more change(s) are not listed here" in text and "--out plan.json" in text
    counted = [line for line in text.splitlines() if line.startswith("| update |")]
    assert sum(int(line.rstrip(" |").rsplit("|", 1)[1]) for line in counted) == 5000
    assert "app&#95;1 (sales)" in text  # the alias beside the id


@pytest.mark.parametrize("hostile", ["`", "<script>alert(1)</script>", "|", "\n## Injected\n",
                                     "[x](https://evil.example)", "@everyone", "*_~"])
def test_hostile_strings_render_inert(hostile):
    text = formats.markdown(_big_plan(3, hostile))
    body = text.split("```mermaid")[0] + text.split("```\n", 1)[1]
    assert "<script>" not in text and "## Injected" not in text and "](https" not in text
    ours = ("Plan checksum:", "> **Warning")  # the only lines where mvconf writes backticks
    assert "@everyone" not in text
    assert not any("`" in line for line in body.splitlines() if not line.startswith(ours))
    for line in body.splitlines():
        if line.startswith("| "):
            assert line.count("|") == 7, line  # 6 cells, no more: a pipe cannot add one


def test_the_mermaid_flowchart_draws_the_changed_routing():
    from mvconf.render.mermaid import flowchart

    small = flowchart(_big_plan(3).changes, {"app_old": "legacy"})
    assert small[0] == "flowchart LR"
    edges = [line for line in small if "-->|" in line]
    assert len(edges) == 3 and all("update#58; webhook to sip" in e for e in edges)
    assert any('["from app#95;old #40;legacy#41;"]' in line for line in small)
    big = flowchart(_big_plan(500).changes, {})
    grouped = [line for line in big if "-->|" in line]
    assert len(grouped) == 7  # one edge per pair of applications, with counts
    assert sum(int(line.split('|"')[1].split(" ")[0]) for line in grouped) == 500
    for line in big[1:]:  # every label is quoted and free of quotes and brackets inside
        inner = line.split('"')[1::2]
        assert all(not set(part) & set('"[]()<>`|') for part in inner), line


def test_a_plan_of_conflicts_only_has_no_empty_flowchart():
    desired = [DesiredDid("+15551230001", "app_123", "webhook", (), "did_pinned",
                          source="a.yaml:3")]
    live = {"+15551230001": LiveDID.model_validate(did("+15551230001", id="did_other"))}
    plan = make_plan(desired, live, executor=Executor.api, api_url="https://api.example",
                     created_at="t")
    assert plan.summary["conflict"] == 1
    assert "```mermaid" not in formats.markdown(plan)


def test_destinations_the_api_hides_are_never_shown_as_none():
    desired = [DesiredDid("+15551230001", "app_123", "forward", ("+15551239999",),
                          source="a.yaml:3")]
    hidden = did("+15551230001")
    hidden.pop("destinations", None)
    plan = make_plan(desired, {"+15551230001": LiveDID.model_validate(hidden)},
                     executor=Executor.manual, api_url="https://api.example", created_at="t")
    assert "destinations: (not shown by the API) &#8594;" in formats.markdown(plan)
    steps = " ".join(plan.changes[0].steps)
    assert "Set the destinations of DID" in steps and "(currently none)" not in steps
