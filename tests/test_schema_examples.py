"""The committed schema, the examples, and a third-party JSON Schema validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from mvconf.manifest.schema import schema_text

from .helpers import ROOT

SCHEMA = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.y*ml")
                  if not {"invalid", "ci"} & set(p.relative_to(ROOT / "examples").parts))
PROJECTS = sorted({p.parent if p.parent.name != "dids" else p.parent.parent for p in EXAMPLES}
                  - {ROOT / "examples" / "environments"})  # tested in test_environments.py


def load(path: Path):
    return YAML(typ="safe").load(path.read_text())


def test_committed_schema_matches_mvconf_schema(cli):
    committed = (ROOT / "schemas/manifest.schema.json").read_text()
    assert cli("schema").stdout == schema_text() == committed


def test_examples_are_found():
    assert len(EXAMPLES) == 10 and len(PROJECTS) == 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_pass_a_third_party_validator(path):
    jsonschema.Draft202012Validator(SCHEMA).validate(load(path))


@pytest.mark.parametrize("bad", [
    {"version": 1, "dids": [{"number": "+15551230002", "route_mode": "fax"}]},
    {"version": 1, "dids": [{"number": "+15551230002", "route_mode": "webhook", "colour": 1}]},
    {"version": 1, "extra": True},
    {"version": 2},
])
def test_third_party_validator_rejects_unknown_keys_and_modes(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(bad)


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_each_example_validates_and_plans_against_its_state(cli, project, tmp_path):
    manifests = project / "dids" if (project / "dids").is_dir() else project
    assert cli("validate", manifests).code == 0
    state = tmp_path / "state.json"
    state.write_text((project / "state.json").read_text())
    plan = cli("plan", manifests, "--emulator", state, "--format", "json")
    assert plan.code == 0, plan.stderr
    data = json.loads(plan.stdout)
    applied = cli("apply", manifests, "--emulator", state, "--executor", "api", "--auto-approve",
                  "--allow-mass-change", "--journal", tmp_path / "j")
    assert applied.code in (0, 3), applied.stderr
    assert (applied.code == 3) == (data["summary"]["missing"] > 0)
    again = json.loads(cli("plan", manifests, "--emulator", state, "--format", "json").stdout)
    assert again["summary"]["update"] == 0


def test_invalid_examples_fail_with_locations(cli):
    result = cli("validate", ROOT / "examples" / "invalid")
    assert result.code == 1 and "mistakes.yaml:6:5: unknown key 'rout_mode'" in result.stderr
    github = cli("validate", ROOT / "examples" / "invalid", "--format", "github")
    assert "::error file=" in github.stdout and ",line=6,col=5::" in github.stdout
