"""Writing manifests with ruamel.yaml's round-trip API (SPEC §12): new ones for `mvconf import`,
and edits in place for `import --into`, which keep comments, key order, quoting and every line
they do not change."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from mvconf.errors import InputError
from mvconf.files import write_atomic

ORDER = ("application", "route_mode", "destinations", "status")


def _yaml() -> YAML:
    yaml = YAML()  # round-trip
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


def quoted(value: str) -> DoubleQuotedScalarString:
    return DoubleQuotedScalarString(value)


def entry_map(first: str, last: str, fields: dict[str, Any],
              did_id: str | None = None) -> CommentedMap:
    item = CommentedMap()
    if first == last:
        item["number"] = quoted(first)
    else:
        item["range"] = quoted(f"{first}..{last}")
    for key in ORDER:
        if key in fields:
            value = fields[key]
            item[key] = CommentedSeq([quoted(v) for v in value]) if key == "destinations" \
                else value
    if did_id:
        item["id"] = did_id
    return item


def new_manifest(items: list[CommentedMap], applications: dict[str, str], header: list[str],
                 not_imported: list[str]) -> str:
    doc = CommentedMap()
    doc["version"] = 1
    if applications:
        doc["applications"] = CommentedMap(sorted(applications.items()))
    doc["dids"] = CommentedSeq(items)
    doc.yaml_set_start_comment("\n".join(header))
    if not_imported:
        doc.yaml_set_comment_before_after_key("dids", before="\n".join(not_imported))
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    text = buffer.getvalue()
    return text.replace("dids:\n", "dids: []\n", 1) if not items else text


class EditableManifest:
    """One manifest loaded round-trip, to change some entries and write it back."""

    def __init__(self, path: Path):
        self.path = path
        self.yaml = _yaml()
        try:
            text = path.read_text(encoding="utf-8") if path.exists() else "version: 1\ndids: []\n"
            self.doc = self.yaml.load(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"cannot edit {path}: {exc}") from None
        if not isinstance(self.doc, CommentedMap):
            raise InputError(f"cannot edit {path}: it is not a manifest mapping")
        if not isinstance(self.doc.get("dids"), list):
            self.doc["dids"] = CommentedSeq()
        self.changed = False

    @property
    def dids(self) -> CommentedSeq:
        return self.doc["dids"]

    def index_at(self, line: int) -> int | None:
        """The index of the entry that starts on 1-based `line`."""
        for index in range(len(self.dids)):
            if self.dids.lc.item(index)[0] + 1 == line:
                return index
        return None

    def update(self, index: int, fields: dict[str, Any], drop: set[str]) -> None:
        item = self.dids[index]
        for key in ORDER:
            if key in fields:
                value = fields[key]
                item[key] = CommentedSeq([quoted(v) for v in value]) \
                    if key == "destinations" else value
        for key in drop:
            item.pop(key, None)
        self.changed = True

    def insert_after(self, index: int, item: CommentedMap) -> None:
        self.dids.insert(index + 1, item)
        self.changed = True

    def append(self, item: CommentedMap) -> None:
        if self.dids.fa.flow_style():
            self.dids.fa.set_block_style()
        self.dids.append(item)
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        buffer = io.StringIO()
        self.yaml.dump(self.doc, buffer)
        write_atomic(self.path, buffer.getvalue())
