"""Pipeline recipes pass their ecosystems' validators and use only real mvconf flags."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .helpers import ROOT, invoke

RECIPES = [("examples/ci/github-actions.yml", "vendor.github-workflows"),
           ("examples/ci/gitlab-ci.yml", "vendor.gitlab-ci")]


@pytest.mark.parametrize(("path", "schema"), RECIPES)
def test_recipe_passes_published_schema(path, schema):
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                             str(ROOT / path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_manifest_is_valid():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                             str(ROOT / ".pre-commit-hooks.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", [p for p, _ in RECIPES])
def test_recipes_use_only_real_flags(path):
    text = (ROOT / path).read_text()
    commands = re.findall(r"mvconf (validate|plan|apply|rollback|import)\b([^\n|>]*)", text)
    assert commands
    for name, rest in commands:
        help_text = invoke(name, "--help").stdout
        for flag in re.findall(r"(--[a-z-]+)", rest):
            assert flag in help_text, f"{name} {flag}"
