"""Untrusted text on its way to a terminal, a PR comment or a Mermaid label (render/escape.py):
nothing in it may act, and nothing may hide."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from mvconf.render.escape import md, mermaid_label, terminal

INVISIBLE = ["\u200b", "\u200d", "\u200e", "\u202e", "\u2066", "\u2060", "\ufeff", "\u00ad",
             "\U000e0041"]


def test_characters_that_show_as_nothing_are_written_visibly_everywhere():
    for char in INVISIBLE:
        name = f"ma{char}in"
        for shown in (terminal(name), md(name), mermaid_label(name)):
            assert char not in shown and "ma" in shown and "in" in shown, (char, shown)
        assert "&#92;" in md(name)  # a backslash a reader can see, then uXXXX
        assert f"&#{ord(char)};" not in md(name)  # a reference would render as the character


@given(st.text(max_size=40))
def test_no_escaped_text_holds_a_control_or_format_character(text):
    for shown in (terminal(text), md(text), mermaid_label(text)):
        assert not any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t"
                       for c in shown), (text, shown)
