r"""Making untrusted text inert in terminals and pull-request comments (SPEC §13).

On a terminal, `terminal` writes every control character but newline and tab (C0, DEL, C1: an
ESC sequence can move the cursor, rewrite lines or set the window title) as a visible `\xNN`
or `\uNNNN` escape; everything mvconf prints goes through it.


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


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal(text: str) -> str:
    """`text` with its control characters (but newline and tab) written as visible escapes."""
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)
