"""JSON in and out: orjson, with the standard library wherever orjson would change a value.

orjson reads and writes JSON faster than `json` (ARCHITECTURE.md), and JSON is much of what
reading DIDs and writing their plan costs once the network is out of the way. Its compact and
two-space forms are byte for byte pydantic's, which wrote the checksums of earlier saved plans
(tests/test_jsontext.py compares them). One difference is handled here: orjson reads an integer
beyond 64 bits as a float and cannot write one, so such text is read by the standard library and
such values are written by pydantic-core.

Reading is strict either way: NaN and Infinity, lone surrogates and nesting deeper than
MAX_DEPTH are a ValueError, so nothing read can fail to be written back out.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from mvconf.core.text import INVISIBLE

# A run of 19 digits may be an integer beyond 64 bits (2**63 has 19 digits). Found by mapping
# every digit to "0" and looking for 19 of them: a tenth of the time of a regular expression.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
_INDENT = orjson.OPT_INDENT_2
MAX_DEPTH = 200  # orjson writes up to 254 levels, pydantic-core fewer than 300


def loads(data: bytes) -> Any:
    """Parse strict JSON; ValueError when it is not."""
    if data.translate(_DIGITS_TO_ZERO).find(_LONG_RUN) < 0:
        value = orjson.loads(data)  # JSONDecodeError is a ValueError
    else:
        value = _loads_exact(data)
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _too_deep(value):
        raise ValueError("nested too deeply")
    return value


def _too_deep(value: Any) -> bool:
    """Whether `value` nests deeper than MAX_DEPTH, looking at its containers level by level."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:  # the containers at one depth
        depth += 1
        if depth > MAX_DEPTH:
            return True
        level = [child for item in level
                 for child in (item.values() if type(item) is dict else item)
                 if type(child) is dict or type(child) is list]
    return False


def _loads_exact(data: bytes) -> Any:
    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(data, parse_constant=no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    dumps(value)  # lone surrogates are refused as orjson refuses them
    return value


def dumps(value: Any, indent: bool = False) -> bytes:
    """Compact JSON, or indented by two spaces; ValueError for what JSON cannot hold."""
    try:
        return orjson.dumps(value, option=_INDENT if indent else 0)
    except TypeError:  # an integer beyond 64 bits, for one: pydantic-core writes it
        pass
    import pydantic_core  # rare; imported here to keep this module light

    return pydantic_core.to_json(value, indent=2 if indent else None)  # ValueError if it fails


# Characters that do something on a terminal or show as nothing (DEL, C1 controls, Unicode's
# format characters and line/paragraph separators), which JSON writers leave as they are.
_INERT = re.compile(f"[\x7f-\x9f{INVISIBLE}]")


def _escaped(match: re.Match) -> str:
    point = ord(match.group())
    if point <= 0xFFFF:
        return f"\\u{point:04x}"
    point -= 0x10000
    return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"


def inert(text: str) -> str:
    """JSON text with those characters written as \\u escapes: the same JSON value, safe to
    print (they can only be inside strings, where an escape means the same character)."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _INERT.sub(_escaped, text)
