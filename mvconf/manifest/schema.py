"""The JSON Schema of the manifest format, generated from the models."""

from __future__ import annotations

import json

from mvconf.manifest.models import ManifestFile

SCHEMA_ID = "https://mvconf.dev/schemas/manifest.schema.json"


def manifest_schema() -> dict:
    schema = ManifestFile.model_json_schema()
    schema["$id"] = SCHEMA_ID
    return schema


def schema_text() -> str:
    return json.dumps(manifest_schema(), indent=2, sort_keys=True) + "\n"
