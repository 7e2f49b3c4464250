"""YAML to plain data, with the position of every key and list item.

ruamel's round-trip loader keeps positions but is slow (about 5 s for 10,000 DIDs), and
composing a node tree with its C loader holds every node and two marks per node in memory (about
45 MB for 10,000 DIDs). We read the C parser's event stream instead and build plain data from it
directly, recording where each key and item starts, so that a validation error can name its exact
line without a second parse, and nothing but the data itself is kept.
"""

from __future__ import annotations

import warnings
from array import array
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import events, nodes
from ruamel.yaml.error import MarkedYAMLError, YAMLError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ruamel.yaml import CSafeLoader as _Loader

Path = tuple[Any, ...]

STR_TAG = "tag:yaml.org,2002:str"
MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
MERGE_TAG = "tag:yaml.org,2002:merge"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
# Expanding aliases can make a small file enormous ("billion laughs"). Without aliases a document
# has fewer nodes than half its characters, so this bound never refuses a file that uses none.
BASE_NODE_ALLOWANCE = 100_000
MAX_DEPTH = 200
MAX_REPORTED = 100  # duplicate keys reported per file
_NO_KEY = object()


# Positions are recorded for keys and items this deep while reading (top-level keys, each DID,
# each alias): every plan needs them. Deeper ones are needed only to report a problem, so they
# come from a second read when first asked for; keeping them all would cost 1 KB per DID.
SHALLOW = 2


class Positions:
    """Where each key and list item starts (1-based): keys in a dict, a list's items in two
    arrays, of lines and of columns: 8 bytes an item, where a dict of tuples took about 200 (a
    plan keeps every manifest's positions, to place its findings)."""

    __slots__ = ("keys", "items")

    def __init__(self) -> None:
        self.keys: dict[Path, tuple[int, int]] = {(): (1, 1)}
        self.items: dict[Path, tuple[array, array]] = {}

    def get(self, path: Path) -> tuple[int, int] | None:
        found = self.keys.get(path)
        if found is None and path and type(path[-1]) is int:
            columns = self.items.get(path[:-1])
            index = path[-1]
            if columns is not None and 0 <= index < len(columns[0]):
                return columns[0][index], columns[1][index]
        return found

    def list_of(self, path: Path) -> tuple[array, array]:
        """The (lines, columns) arrays of the list at `path`, new and empty."""
        columns = self.items[path] = (array("I"), array("I"))
        return columns


@dataclass
class Located:
    """Plain data from one YAML document and where each part of it starts (1-based)."""

    data: Any
    positions: Positions = field(default_factory=Positions)
    text: str | None = None  # the source, to find deeper positions when asked
    deep: bool = False  # every position is recorded (read again from `text`)
    # Duplicate keys (message, line, column), when load_located was asked to keep reading past
    # them (the later value kept): the file is refused, its other problems reported with them.
    duplicates: tuple[tuple[str, int, int], ...] = ()

    def position(self, path: Path) -> tuple[int, int]:
        """Position of `path`, or of its nearest enclosing key or item that has one."""
        if len(path) > SHALLOW and self.text is not None and not self.deep:
            # duplicates were reported when the file was first read
            builder = _Builder(_Loader(self.text), None, depth=None, past_duplicates=True)
            builder.document()
            # The text stays: finding a value inside an entry (a policy finding) reads it.
            self.positions, self.deep = builder.positions, True
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
        return (1, 1)


class YamlProblem(Exception):
    """A YAML file that cannot be turned into data; line and column are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1,
                 more: tuple[tuple[str, int, int], ...] = ()):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column
        self.more = more  # further problems of the same file, (message, line, column)

    def all(self) -> list[tuple[str, int, int]]:
        return [(self.message, self.line, self.column), *self.more]


def _at(event: events.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


def load_located(text: str, *, past_duplicates: bool = False) -> Located | None:
    """Parse one YAML document; None when the text holds no document at all. Duplicate keys
    are a YamlProblem (all of them), or with `past_duplicates` are kept in
    `Located.duplicates` for the caller to report with the document's other problems."""
    builder = _Builder(_Loader(text), BASE_NODE_ALLOWANCE + len(text) // 2, depth=SHALLOW,
                       past_duplicates=past_duplicates)
    try:
        located = builder.document()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        lines = text.splitlines() or [""]
        if line > len(lines):  # the end of the stream (an unclosed quote): its last line
            line, col = len(lines), len(lines[-1]) + 1
        raise YamlProblem(f"invalid YAML: {exc.problem or exc.context}", line, col) from None
    except YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    if located is not None:
        located.text = text
    return located


class _Frame:
    """An open mapping or sequence: its data, its path, and the key waiting for a value."""

    __slots__ = ("data", "path", "anchor", "count", "key", "at", "keyed", "deep", "columns")

    def __init__(self, data: Any, path: Path, anchor: str | None, count: int, at: tuple[int, int],
                 positions: Positions | None):
        self.data, self.path, self.anchor, self.count, self.at = data, path, anchor, count, at
        self.key: Any = _NO_KEY
        self.keyed = isinstance(data, dict)  # a mapping, whose scalars alternate key and value
        self.deep = positions is not None  # positions of its keys or items are kept
        # a list's: where its items start
        self.columns = positions.list_of(path) if self.deep and not self.keyed else None


class _Builder:
    def __init__(self, loader: Any, limit: int | None, depth: int | None, *,
                 past_duplicates: bool = False):
        self.loader = loader
        self.limit = limit if limit is not None else float("inf")
        self.depth = depth if depth is not None else float("inf")
        self.positions = Positions()
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.count = 0
        # One object per distinct short string: 10,000 DIDs repeat the same keys and values.
        self.strings: dict[str, str] = {}
        self.plain: dict[str, Any] = {}  # short plain scalar text -> its value
        # Duplicate keys (message, line, column), reported together once the document is read
        # (the later value is kept meanwhile; the file is refused).
        self.duplicates: list[tuple[str, int, int]] = []  # the first MAX_REPORTED
        self.past_duplicates = past_duplicates

    def document(self) -> Located | None:
        get = self.loader.get_event
        get()  # stream start
        if isinstance(self.loader.peek_event(), events.StreamEndEvent):
            return None
        get()  # document start
        data = self._node()
        duplicates = tuple(self.duplicates)  # all at once, not one per run
        if duplicates and not self.past_duplicates:
            raise YamlProblem(*duplicates[0], more=duplicates[1:])
        get()  # document end
        following = get()
        if not isinstance(following, events.StreamEndEvent):
            raise YamlProblem("invalid YAML: expected a single document in the stream, "
                              "but found another document", *_at(following))
        return Located(data=data, positions=self.positions, duplicates=duplicates)

    def _duplicate(self, key: str, at: tuple[int, int]) -> None:
        if len(self.duplicates) < MAX_REPORTED:
            self.duplicates.append((f"duplicate key {key!r}", *at))

    def _grow(self, by: int, event: events.Event) -> None:
        self.count += by
        if self.count > self.limit:
            raise YamlProblem("YAML anchors and aliases expand to too much data", *_at(event))

    def _node(self) -> Any:
        """Build the value starting at the next event, without recursion.

        The hot loop of every manifest read (about 10 events per DID): positions are taken from
        an event only when they are kept or reported, and the usual scalars (a quoted string, a
        plain one seen before, a mapping's key) take the shortest way."""
        get = self.loader.get_event
        stack: list[_Frame] = []
        scalar_event, end_events = events.ScalarEvent, (events.MappingEndEvent,
                                                        events.SequenceEndEvent)
        limit, plain, strings, positions = self.limit, self.plain, self.strings, self.positions
        while True:
            event = get()
            kind = type(event)
            if kind is scalar_event:
                self.count += 1
                if self.count > limit:
                    self._grow(0, event)
                if event.ctag is None and not event.anchor:  # _scalar's usual cases, inline
                    text = event.value
                    if not event.implicit[0]:
                        value = text if len(text) > 40 else strings.setdefault(text, text)
                    else:
                        value = plain.get(text, _NO_KEY)
                        if value is _NO_KEY:
                            value = self._scalar(event)
                else:
                    value = self._scalar(event)
                    if event.anchor:
                        self.anchors[event.anchor] = (value, 1)
                if stack:
                    frame = stack[-1]
                    if frame.key is not _NO_KEY:
                        if value is not _MERGE:  # a mapping's value
                            frame.data[frame.key] = value
                            frame.key = _NO_KEY
                            continue
                    elif frame.keyed and value is not _MERGE:  # a mapping's key
                        if type(value) is not str:
                            raise YamlProblem(_not_a_string_key(value), *_at(event))
                        if value in frame.data:
                            self._duplicate(value, _at(event))
                        if frame.deep:
                            positions.keys[frame.path + (value,)] = _at(event)
                        frame.key = value
                        continue
                started = None
            elif kind in end_events:
                frame = stack.pop()
                value, started = frame.data, frame
            elif kind is events.AliasEvent:
                if event.anchor not in self.anchors:
                    raise YamlProblem(f"invalid YAML: found undefined alias {event.anchor!r}",
                                      *_at(event))
                value, size = self.anchors[event.anchor]
                self._grow(size, event)
                started = None
            else:  # a mapping or sequence starts
                self._grow(1, event)
                at = _at(event)
                path = self._child_path(stack, event, at)
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem("invalid YAML: nested too deeply", *at)
                if kind is events.MappingStartEvent:
                    if event.tag not in MAP_TAGS:
                        raise YamlProblem(f"unsupported YAML tag {event.tag!r}", *at)
                    data: Any = {}
                else:
                    if event.tag not in SEQ_TAGS:
                        raise YamlProblem(f"unsupported YAML tag {event.tag!r}", *at)
                    data = []
                stack.append(_Frame(data, path, event.anchor, self.count, at,
                                    positions if len(path) < self.depth else None))
                continue
            if started is not None and started.anchor:
                self.anchors[started.anchor] = (value, self.count - started.count + 1)
            if not stack:
                return value
            frame = stack[-1]
            if frame.key is not _NO_KEY and value is not _MERGE:  # a mapping's value
                frame.data[frame.key] = value
                frame.key = _NO_KEY
                continue
            compound = started is not None or (kind is events.AliasEvent and not _is_plain(value))
            self._attach(frame, value, started.at if started else event, compound)

    def _child_path(self, stack: list[_Frame], event: events.Event, at: tuple[int, int]) -> Path:
        if not stack:
            return ()
        parent = stack[-1]
        if isinstance(parent.data, list):
            return parent.path + (len(parent.data),)
        if parent.key is _NO_KEY:
            raise YamlProblem("a key must be a plain value, not a list or mapping", *at)
        return parent.path + (parent.key,)

    def _attach(self, frame: _Frame, value: Any, where: Any, compound: bool) -> None:
        """Add a list item or a mapping key; `where` is its event, or its position."""
        at = where if isinstance(where, tuple) else None
        if value is _MERGE:
            raise YamlProblem("YAML merge keys ('<<') are not supported", *(at or _at(where)))
        if isinstance(frame.data, list):
            if frame.deep:
                line, column = at or _at(where)
                frame.columns[0].append(line)
                frame.columns[1].append(column)
            frame.data.append(value)
            return
        if compound:
            raise YamlProblem("a key must be a plain value, not a list or mapping",
                              *(at or _at(where)))
        if type(value) is not str:
            raise YamlProblem(_not_a_string_key(value), *(at or _at(where)))
        if value in frame.data:
            self._duplicate(value, at or _at(where))
        if frame.deep:
            self.positions.keys[frame.path + (value,)] = at or _at(where)
        frame.key = value

    def _scalar(self, event: events.ScalarEvent) -> Any:
        text, tag = event.value, event.ctag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return self._text(text)  # quoted: always a string
            value = self.plain.get(text, _NO_KEY)  # the same plain text means the same value
            if value is _NO_KEY:
                tag = str(self.loader.resolve(nodes.ScalarNode, text, event.implicit))
                value = self._construct(event, tag)
                if len(text) <= 40:
                    self.plain[text] = value
            return value
        return self._construct(event, str(tag))

    def _construct(self, event: events.ScalarEvent, tag: str) -> Any:
        if tag == STR_TAG:
            return self._text(event.value)
        if tag == MERGE_TAG:
            return _MERGE
        if tag == TIMESTAMP_TAG:
            return self._text(event.value)  # a date stays its text (policy_exceptions expires)
        node = nodes.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = self.loader.construct_object(node, deep=True)
        except YAMLError:
            raise YamlProblem(f"unsupported YAML tag {tag!r}", *_at(event)) from None
        except Exception as exc:  # ruamel's constructors fail in many ways on odd input
            reason = str(exc) or type(exc).__name__
            raise YamlProblem(f"unreadable value {event.value!r} for {tag!r}: {reason}",
                              *_at(event)) from None
        if not isinstance(value, str | int | float | bool) and value is not None:
            # Safe tags such as !!binary, !!timestamp or !!set have no place in a manifest.
            raise YamlProblem(f"unsupported YAML value of type {tag!r}", *_at(event))
        return value


    def _text(self, value: str) -> str:
        if len(value) > 40:
            return value
        return self.strings.setdefault(value, value)


class _Merge:
    def __repr__(self) -> str:
        return "'<<'"


_MERGE = _Merge()


def _not_a_string_key(value: Any) -> str:
    shown = "~ (null)" if value is None else repr(value)
    return f"a key must be a string, not {shown}; quote it if it is meant as text"


def _is_plain(value: Any) -> bool:
    return not isinstance(value, dict | list)
