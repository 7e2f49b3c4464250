"""Making untrusted text inert in pull-request comments (SPEC §13).

Everything in a plan that comes from manifests or the API (numbers, ids, sources, destinations,
messages) is shown through these. In markdown every character that is not a letter, a digit, a
space or one of `+ , / = -` is written as an HTML character reference, so a backtick,
`<script>`, `|`, `@mention`, `[link](...)` or a newline cannot become markup, a link, a ping or a
broken table. In Mermaid labels every such character is written as Mermaid's `#NNN;` entity."""

from __future__ import annotations

import re
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9 +,/=-]")


def md(value: Any) -> str:
    """Inert markdown for one value (lists joined with ', ', None as 'none')."""
    if value is None:
        text = "none"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) if value else "none"
    else:
        text = str(value)
    return _UNSAFE.sub(lambda m: f"&#{ord(m.group())};", text)


def code(value: Any) -> str:
    """An inert value shown as code."""
    return f"<code>{md(value)}</code>"


def mermaid_label(text: str) -> str:
    """Text for a quoted Mermaid label: only letters, digits, spaces and `+ , / = -` stay."""
    return _UNSAFE.sub(lambda m: f"#{ord(m.group())};", text)
