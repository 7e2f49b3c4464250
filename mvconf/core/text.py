"""Untrusted text kept to one printable line (an API's message, a value it sent back)."""

from __future__ import annotations


def printable(text: str) -> str:
    """Text for a terminal or log line: control (newline and tab too) and invisible characters
    written as \\uXXXX, so nothing from an answer or a manifest can start a line of its own."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def clipped(text: str, limit: int) -> str:
    """`printable(text)`, cut to about `limit` characters with an ellipsis saying so."""
    text = text[:limit + 1]
    shown = printable(text)
    if len(text) > limit:
        return printable(text[:limit]) + "..."
    return shown
