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

from mvconf.core.text import INVISIBLE

_UNSAFE = re.compile(r"[^A-Za-z0-9 +,/=-]")
# Characters that show as nothing (zero-width spaces and joiners, direction marks and
# overrides, soft hyphen, BOM, tag characters): written as a visible `\uXXXX` everywhere, since
# a reference to one renders as the character itself (`ma<U+200B>in` would pass for `main`).
_SHOWN_AS_NOTHING = re.compile(f"[{INVISIBLE}]")


def _visible(char: str) -> str:
    point = ord(char)
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def _references(opening: str):
    """A `re.sub` replacement writing each character as `{opening}NNN;` (HTML's `&#`,
    Mermaid's `#`), and one that shows as nothing as a visible backslash and `uXXXX`."""

    def reference(match: re.Match) -> str:
        char = match.group()
        if _SHOWN_AS_NOTHING.match(char):
            return f"{opening}92;" + _visible(char)[1:]
        return f"{opening}{ord(char)};"

    return reference


_HTML_REFERENCE, _MERMAID_REFERENCE = _references("&#"), _references("#")


def md(value: Any) -> str:
    """Inert markdown for one value (lists joined with ', ', None as 'none')."""
    if value is None:
        text = "none"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) if value else "none"
    else:
        text = str(value)
    return _UNSAFE.sub(_HTML_REFERENCE, text)


def code(value: Any) -> str:
    """An inert value shown as code."""
    return f"<code>{md(value)}</code>"


def mermaid_label(text: str) -> str:
    """Text for a quoted Mermaid label: only letters, digits, spaces and `+ , / = -` stay."""
    return _UNSAFE.sub(_MERMAID_REFERENCE, text)


_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{INVISIBLE}]")
_CONTROL_IN_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{INVISIBLE}]")


def _escape(match: re.Match) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else _visible(char)


def terminal(text: str, one_line: bool = False) -> str:
    """`text` with its control characters (but newline and tab, unless it is `one_line`)
    written as visible escapes."""
    if text.isascii() and text.isprintable():
        return text
    return (_CONTROL_IN_LINE if one_line else _CONTROL).sub(_escape, text)
