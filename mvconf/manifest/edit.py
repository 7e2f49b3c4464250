"""Writing new manifests with ruamel.yaml's round-trip API (SPEC §12), for `mvconf import`.
Edits to existing ones (`import --into`) are made in their text, in splice.py."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

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
