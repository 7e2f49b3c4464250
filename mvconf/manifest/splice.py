"""Edits to a manifest's text at the exact positions of its YAML nodes, for `import --into`.

A round-trip dump of the whole document rewrites what nobody asked it to: indentation, flow lists,
line endings, spacing. Here nothing is dumped. The text is parsed once (the C parser's node tree,
whose marks are character offsets), each edit names the span it replaces, and every character
outside those spans is kept as it was:

- a changed value is written over its own span, in its own style (a flow list stays a flow list,
  a block list a block list, quotes as they were);
- a new key goes on a new line after the entry's last line (or after the last value of a flow
  mapping), so a comment at the end of a line stays on it;
- a dropped key takes its own lines with it, or its `, key: value` in a flow mapping;
- a new entry (an override below its range, or a new number) follows the style of the entry it
  is placed after.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import nodes
from ruamel.yaml.error import YAMLError

from mvconf.core.errors import InputError
from mvconf.core.phone import normal_destination

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ruamel.yaml import CSafeLoader as _Loader

# Plain scalars that read back as the same string in YAML 1.1 and 1.2 alike.
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
KEY_ORDER = ("number", "range", "application", "route_mode", "destinations", "status")


def scalar_text(value: str, style: str | None = None) -> str:
    """`value` as a YAML scalar: in `style` ('"', "'" or plain) where that reads back the same."""
    if style == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if style in (None, "") and _PLAIN.match(value) and value.lower() not in _SPECIAL:
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def value_text(value: Any, item_style: str | None = '"') -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar_text(v, item_style) for v in value) + "]"
    return scalar_text(str(value), None)


@dataclass
class Entry:
    """One item of `dids`: its node, its keys, and what it manages."""

    index: int
    node: nodes.Node
    keys: dict[str, tuple[nodes.Node, nodes.Node]] = field(default_factory=dict)

    @property
    def flow(self) -> bool:
        return bool(getattr(self.node, "flow_style", False))

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def scalar(self, key: str) -> str | None:
        pair = self.keys.get(key)
        if pair is None or not isinstance(pair[1], nodes.ScalarNode):
            return None
        return pair[1].value


class ManifestText:
    """One manifest's text, and the edits to make to it; `result()` is the edited text."""

    def __init__(self, text: str, label: str):
        self.label = label
        self.bom = "\ufeff" if text.startswith("\ufeff") else ""
        self.text = text[len(self.bom):]
        self.newline = "\r\n" if "\r\n" in self.text else "\n"
        self.edits: list[tuple[int, int, str, int]] = []  # start, end, new text, order
        self.dropped: set[int] = set()  # id() of key nodes whose pair is removed
        self.pending: list[tuple[Entry | None, list[str]]] = []  # entries to add, in order
        try:
            root = _Loader(self.text).get_single_node()
        except YAMLError as exc:
            raise InputError(f"cannot edit {label}: {exc}") from None
        if not isinstance(root, nodes.MappingNode):
            raise InputError(f"cannot edit {label}: it is not a manifest mapping")
        self.root = root
        self.dids_key: nodes.Node | None = None
        self.dids: nodes.Node | None = None
        for key, value in root.value:
            if isinstance(key, nodes.ScalarNode) and key.value == "dids":
                self.dids_key, self.dids = key, value
        self.entries: list[Entry] = []
        self._by_line: dict[int, list[Entry]] | None = None  # find_entry's index
        if isinstance(self.dids, nodes.SequenceNode):
            for index, item in enumerate(self.dids.value):
                entry = Entry(index, item)
                if isinstance(item, nodes.MappingNode):
                    for key, value in item.value:
                        if isinstance(key, nodes.ScalarNode):
                            entry.keys[key.value] = (key, value)
                self.entries.append(entry)

    # -- positions -----------------------------------------------------------------------

    def _line_end(self, offset: int) -> int:
        """The offset of the line break ending the line that holds `offset`."""
        end = self.text.find("\n", offset)
        if end < 0:
            return len(self.text)
        return end - 1 if end > 0 and self.text[end - 1] == "\r" else end

    def _line_start(self, offset: int) -> int:
        return self.text.rfind("\n", 0, offset) + 1

    def _node_end(self, node: nodes.Node) -> int:
        """Where a node's own text ends: for a block collection, its last value's end (its own
        end mark lies past the line break, or past comments below it)."""
        if isinstance(node, nodes.ScalarNode):
            end = node.end_mark.index
            if node.style in ("|", ">"):
                end = self._line_end(max(node.start_mark.index, end - 1))
            return end
        if getattr(node, "flow_style", False) or not node.value:
            return node.end_mark.index
        last = node.value[-1]
        return self._node_end(last[1] if isinstance(last, tuple) else last)

    def _column(self, offset: int) -> int:
        return offset - self._line_start(offset)

    def _edit(self, start: int, end: int, text: str) -> None:
        self.edits.append((start, end, text, len(self.edits)))

    # -- edits ---------------------------------------------------------------------------

    def set_key(self, entry: Entry, key: str, value: Any) -> None:
        """Give `key` the value `value` in `entry`, in the style it is written in."""
        pair = entry.keys.get(key)
        if pair is None:
            self._add_key(entry, key, value)
            return
        node = pair[1]
        if isinstance(value, (list, tuple)) and isinstance(node, nodes.SequenceNode):
            style = next((i.style for i in node.value if isinstance(i, nodes.ScalarNode)), '"')
            style = style if style in ("'", '"') else '"'
            if node.flow_style or not node.value:
                self._edit(node.start_mark.index, node.end_mark.index, value_text(value, style))
            else:
                # A comment beside an item describes that value: it stays with the value if
                # the value stays, and goes with it otherwise (never onto another number).
                said = self._item_comments(node)
                indent = " " * self._column(node.start_mark.index)
                joined = (self.newline + indent).join(
                    "- " + scalar_text(v, style) + said.get(v, "") for v in value)
                self._edit(node.start_mark.index, self._line_end(self._node_end(node)), joined)
            return
        start, end = node.start_mark.index, self._node_end(node)
        text = value_text(value) if isinstance(value, (list, tuple)) else scalar_text(
            str(value), node.style if isinstance(node, nodes.ScalarNode) and
            node.style in ("'", '"', "") else None)
        if start == end and self.text[start - 1:start] == ":":
            text = " " + text  # `key:` with no value
        self._edit(start, end, text)

    def _item_comments(self, node: nodes.SequenceNode) -> dict[str, str]:
        """A block list's values (normalised) -> the comment written after each on its line."""
        said = {}
        for item in node.value:
            if isinstance(item, nodes.ScalarNode):
                end = self._node_end(item)
                rest = self.text[end:self._line_end(end)]
                if rest.lstrip().startswith("#"):
                    said[normal_destination(str(item.value))] = rest.rstrip()
        return said

    def _add_key(self, entry: Entry, key: str, value: Any) -> None:
        if not isinstance(entry.node, nodes.MappingNode) or not entry.node.value:
            raise InputError(f"cannot edit {self.label}: the entry at line {entry.line} is not "
                             "a mapping")
        kept = [(k, v) for k, v in entry.node.value if id(k) not in self.dropped]
        end = self._node_end(kept[-1][1])
        text = f"{key}: {value_text(value)}"
        if entry.flow:
            self._edit(end, end, f", {text}")
            return
        column = self._column(entry.node.value[0][0].start_mark.index)
        at = self._line_end(end)
        self._edit(at, at, self.newline + " " * column + text)

    def aliased(self, entry: Entry, key: str) -> bool:
        """Whether `key`'s value is written elsewhere (a YAML alias to another entry's anchor):
        editing it there would change every entry that uses it."""
        pair = entry.keys.get(key)
        if pair is None:
            return False
        start = pair[1].start_mark.index
        if self.text[start:start + 1] in ("&", "*"):  # an anchor others may use, or an alias
            return True
        return not entry.node.start_mark.index <= start <= self._node_end(entry.node) or \
            pair[1].start_mark.index < pair[0].start_mark.index

    def applies_to(self, entry: Entry, environment: str) -> bool:
        """Whether `entry` is loaded in `environment` (its own and its file's `environments:`)."""
        for node in (entry.keys.get("environments", (None, None))[1], self._file_environments()):
            if isinstance(node, nodes.SequenceNode) and \
                    environment not in [n.value for n in node.value]:
                return False
        return True

    def _file_environments(self) -> nodes.Node | None:
        for key, value in self.root.value:
            if isinstance(key, nodes.ScalarNode) and key.value == "environments":
                return value
        return None

    def drop_key(self, entry: Entry, key: str) -> None:
        pair = entry.keys.get(key)
        if pair is None:
            return
        pairs = entry.node.value
        position = next(i for i, (k, _) in enumerate(pairs) if k is pair[0])
        if len(pairs) == 1:
            raise InputError(f"cannot edit {self.label}: the entry at line {entry.line} would "
                             "be left empty")
        key_node, value_node = pair
        self.dropped.add(id(key_node))
        if position == 0:  # the next key takes its place, after the `- ` or `{`
            self._edit(key_node.start_mark.index, pairs[1][0].start_mark.index, "")
        elif entry.flow:
            self._edit(self._node_end(pairs[position - 1][1]), self._node_end(value_node), "")
        else:
            start = self._line_start(key_node.start_mark.index)
            end = self._line_end(self._node_end(value_node))
            line_break = len(self.newline) if self.text.startswith(self.newline, end) else 0
            self._edit(start, end + line_break, "")

    def add_entry(self, fields: dict[str, Any], after: Entry | None = None) -> None:
        """A new entry with `fields` (in KEY_ORDER), after `after` or at the end of `dids`.
        Entries are placed when the text is made (`result`), all those for one place together,
        so that they do not meet other edits there."""
        ordered = [(k, fields[k]) for k in KEY_ORDER if k in fields]
        ordered += [(k, v) for k, v in fields.items() if k not in KEY_ORDER]

        def pair_text(k: str, v: Any) -> str:
            if k in ("number", "range"):
                return f"{k}: " + scalar_text(v, '"')
            return f"{k}: " + value_text(v, None if k == "environments" else '"')

        self.pending.append((after, [pair_text(k, v) for k, v in ordered]))

    def _entry_end(self, entry: Entry) -> int:
        """The end of the last line of `entry` that is kept."""
        if isinstance(entry.node, nodes.MappingNode) and not entry.flow:
            kept = [(k, v) for k, v in entry.node.value if id(k) not in self.dropped]
            return self._line_end(self._node_end(kept[-1][1]))
        return self._line_end(self._node_end(entry.node))

    def _place_pending(self) -> None:
        groups: dict[int, tuple[Entry | None, list[list[str]]]] = {}
        for after, pieces in self.pending:
            key = id(after.node) if after is not None else 0
            groups.setdefault(key, (after, []))[1].append(pieces)
        self.pending = []
        for after, items in groups.values():
            self._place(after, items)

    def _block_items(self, items: list[list[str]], template: Entry | None,
                     dash_column: int = 2, key_column: int = 4) -> list[str]:
        if template is not None:
            item_start = template.node.start_mark.index
            dash = self.text.rfind("-", self._line_start(item_start), item_start)
            key_column = self._column(item_start)
            dash_column = self._column(dash) if dash >= 0 else max(key_column - 2, 0)
        lead = " " * dash_column + "-" + " " * max(key_column - dash_column - 1, 1)
        flow = template is None or template.flow or not isinstance(template.node,
                                                                   nodes.MappingNode)
        if flow:
            return [lead + "{" + ", ".join(pieces) + "}" for pieces in items]
        return [lead + (self.newline + " " * key_column).join(pieces) for pieces in items]

    def _place(self, after: Entry | None, items: list[list[str]]) -> None:
        flows = ["{" + ", ".join(pieces) + "}" for pieces in items]
        dids = self.dids
        if dids is None or (isinstance(dids, nodes.ScalarNode)
                            and dids.value in ("", "~", "null")):
            self._add_dids(self._block_items(items, None))
            return
        if not isinstance(dids, nodes.SequenceNode):
            raise InputError(f"cannot edit {self.label}: 'dids' is not a list")
        template = after or (self.entries[-1] if self.entries else None)
        if dids.flow_style:
            if template is None:  # `dids: []` becomes a block list
                start = dids.start_mark.index
                while start > 0 and self.text[start - 1] in " \t":
                    start -= 1
                lines = self._block_items(items, None)
                self._edit(start, dids.end_mark.index,
                           "".join(self.newline + line for line in lines))
            else:
                at = self._node_end(template.node)
                self._edit(at, at, "".join(", " + f for f in flows))
            return
        assert template is not None  # a block sequence has at least one item
        at = self._entry_end(template)
        self._edit(at, at, "".join(self.newline + line
                                   for line in self._block_items(items, template)))

    def _add_dids(self, lines: list[str]) -> None:
        text = "dids:" + "".join(self.newline + line for line in lines) + self.newline
        if self.dids is not None and self.dids_key is not None:  # `dids:` with nothing
            start = self._line_start(self.dids_key.start_mark.index)
            end = self._line_end(self.dids_key.end_mark.index)
            if self.text.startswith(self.newline, end):
                end += len(self.newline)
            self._edit(start, end, text)
            return
        at = len(self.text)
        prefix = "" if not self.text or self.text.endswith("\n") else self.newline
        self._edit(at, at, prefix + text)

    def result(self) -> str:
        """The text with every edit made. Edits may not overlap."""
        self._place_pending()
        text = self.text
        ordered = sorted(self.edits, key=lambda e: (e[0], e[1], e[3]))
        for (_s1, e1, _, _), (s2, _, _, _) in zip(ordered, ordered[1:], strict=False):
            if s2 < e1:
                raise InputError(f"cannot edit {self.label}: two changes meet at one place")
        # From the end backwards; at one offset, a replaced span before the insertions there,
        # and insertions last-made first, so that they read in the order they were made.
        for start, end, new, _ in sorted(ordered, key=lambda e: (-e[0], e[1] == e[0], -e[3])):
            text = text[:start] + new + text[end:]
        return self.bom + text

    @property
    def changed(self) -> bool:
        return bool(self.edits or self.pending)


def find_entry(doc: ManifestText, number: str, line: int) -> Entry | None:
    """The entry of `doc` that starts on `line` (1-based), preferring one that names `number`.
    Entries are indexed by line once per document: import --into looks one up per drifted DID,
    and a scan each time made 1,000 drifted DIDs of 10,000 cost 10 million comparisons."""
    if doc._by_line is None:
        doc._by_line = {}
        for entry in doc.entries:
            doc._by_line.setdefault(entry.line, []).append(entry)
    candidates = doc._by_line.get(line, [])
    exact = [e for e in candidates if e.scalar("number") == number]
    return (exact or candidates or [None])[0]
