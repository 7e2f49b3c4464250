"""Untrusted text kept to one printable line (an API's message, a value it sent back)."""

from __future__ import annotations

# Characters that show as nothing (zero-width spaces and joiners, direction marks and
# overrides, soft hyphen, BOM, tag characters): Unicode's Cf (format) characters, and Zl, Zp.
INVISIBLE = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
             "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\U000110bd"
             "\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
             "\U000e0000-\U000e007f")


# Unicode categories of characters that show nothing: controls, format characters, surrogates,
# private use, unassigned, line and paragraph separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# ... and marks (combining accents, variation selectors), which show only on a letter.
_MARKS = frozenset({"Mn", "Me"})

# Letters and symbols that are drawn as blank space: Hangul fillers, the Braille blank.
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def visible(text: str) -> bool:
    """Whether `text` shows anything: not only spaces, controls, invisible characters or
    letters drawn blank (a reason that reads as empty is empty)."""
    import unicodedata

    return any(not (c.isspace() or c in BLANK_LOOKING or unicodedata.category(c) in
                    INVISIBLE_CATEGORIES | _MARKS) for c in text)


def printable(text: str) -> str:
    """Text for a terminal or log line: control (newline and tab too) and invisible characters
    written as \\uXXXX, so nothing from an answer or a manifest can start a line of its own."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def clipped(text: str, limit: int) -> str:
    """`printable(text)`, cut to about `limit` characters with an ellipsis saying so."""
    if len(text) > limit:
        return printable(text[:limit]) + "..."
    return printable(text)
