"""YAML to plain data, with the position of every key and list item.

ruamel's round-trip loader keeps positions but is slow (about 5 s for 10,000 DIDs); its
C-backed safe loader composes the node tree in about 0.3 s. We compose with it and build the data
ourselves from the nodes, recording where each key and item starts, so that a validation error
can name its exact line without a second, slower parse.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import nodes
from ruamel.yaml.error import MarkedYAMLError, YAMLError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ruamel.yaml import CSafeLoader as _Loader

Path = tuple[Any, ...]

STR_TAG = "tag:yaml.org,2002:str"
# Expanding aliases can make a small file enormous ("billion laughs"). Without aliases a document
# has fewer nodes than half its characters, so this bound never refuses a file that uses none.
BASE_NODE_ALLOWANCE = 100_000


@dataclass
class Located:
    """Plain data from one YAML document and where each part of it starts (1-based)."""

    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path) -> tuple[int, int]:
        """Position of `path`, or of its nearest enclosing key or item that has one."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
        return (1, 1)


class YamlProblem(Exception):
    """A YAML file that cannot be turned into data; line and column are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _mark(node: nodes.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def load_located(text: str) -> Located | None:
    """Parse one YAML document; None when the text holds no document at all."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlProblem(f"invalid YAML: {exc.problem or exc.context}", line, col) from None
    except YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem("invalid YAML: nested too deeply") from None
    if root is None:
        return None
    located = Located(data=None, positions={(): (1, 1)})
    builder = _Builder(loader, located.positions, BASE_NODE_ALLOWANCE + len(text) // 2)
    try:
        located.data = builder.build(root, ())
    except RecursionError:
        raise YamlProblem("invalid YAML: nested too deeply") from None
    return located


class _Builder:
    def __init__(self, loader: Any, positions: dict[Path, tuple[int, int]], limit: int):
        self.loader = loader
        self.limit = limit
        self.positions = positions
        self.count = 0

    def build(self, node: nodes.Node, path: Path) -> Any:
        self.count += 1
        if self.count > self.limit:
            raise YamlProblem("YAML anchors and aliases expand to too much data", *_mark(node))
        if isinstance(node, nodes.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, nodes.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise YamlProblem(f"unsupported YAML tag {node.tag!r}", *_mark(node))
            items = []
            for index, item in enumerate(node.value):
                self.positions[path + (index,)] = _mark(item)
                items.append(self.build(item, path + (index,)))
            return items
        return self._scalar(node)

    def _mapping(self, node: nodes.MappingNode, path: Path) -> dict[Any, Any]:
        if node.tag not in ("tag:yaml.org,2002:map",):
            raise YamlProblem(f"unsupported YAML tag {node.tag!r}", *_mark(node))
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem("YAML merge keys ('<<') are not supported", *_mark(key_node))
            if not isinstance(key_node, nodes.ScalarNode):
                raise YamlProblem("a key must be a plain value, not a list or mapping", *_mark(key_node))
            key = self._scalar(key_node)
            if not isinstance(key, str | int | bool | float) and key is not None:
                raise YamlProblem("a key must be a plain value", *_mark(key_node))
            if key in result:
                raise YamlProblem(f"duplicate key {key!r}", *_mark(key_node))
            self.positions[path + (key,)] = _mark(key_node)
            result[key] = self.build(value_node, path + (key,))
        return result

    def _scalar(self, node: nodes.Node) -> Any:
        if not isinstance(node, nodes.ScalarNode):
            raise YamlProblem("a key must be a plain value", *_mark(node))
        if node.tag == STR_TAG:
            return node.value
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = self.loader.construct_object(node, deep=True)
        except YAMLError:
            raise YamlProblem(f"unsupported YAML tag {node.tag!r}", *_mark(node)) from None
        except (ValueError, TypeError, OverflowError) as exc:
            raise YamlProblem(f"unreadable value {node.value!r}: {exc}", *_mark(node)) from None
        if not isinstance(value, str | int | float | bool) and value is not None:
            # Safe tags such as !!binary, !!timestamp or !!set have no place in a manifest.
            raise YamlProblem(f"unsupported YAML value of type {node.tag!r}", *_mark(node))
        return value
