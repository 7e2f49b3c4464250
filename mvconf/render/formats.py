"""A plan in the format a command was asked for: text, markdown or JSON (the saved-plan form)."""

from __future__ import annotations

from mvconf.plan.model import Plan
from mvconf.render.markdown import markdown as render_markdown
from mvconf.render.text import summary_line, text


def markdown(plan: Plan) -> str:
    return render_markdown(plan, summary_line(plan))


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return plan.to_json()
    if fmt == "markdown":
        return markdown(plan)
    return text(plan)
