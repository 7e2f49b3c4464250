"""Pipelines a security team would sign off (SPEC §19): a fake `gh` and a fake GitLab API drive
the action's scripts (ci/action.py) and the recipes' scripts (ci/comment.py, ci/drift.py, the
GitLab recipe's job scripts) through foreign marker comments, fail-open inputs, injected
newlines and the drift issue's life."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import ROOT, invoke
from .tools.fake_gitlab import FakeGitLab

MARKER = "<!-- mvconf-plan -->"
FAKE_SUM = "0" * 64
MALLORY = {"login": "mallory", "type": "User"}
BOT = {"login": "github-actions[bot]", "type": "Bot"}
BAD = "::warning title=Security notice::rotate your key at https://evil.example"
BAD_FILE = "::warning title=Security notice::rotate your key at evil.example"  # no "/"


def project(tmp_path: Path) -> Path:
    where = tmp_path / "repo"
    shutil.copytree(ROOT / "examples/environments", where)
    return where


def fake_gh(tmp_path: Path, data: dict) -> tuple[Path, Path]:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "gh").write_text(f"#!/bin/sh\nexec {sys.executable} "
                             f"{ROOT / 'tests/tools/fake_gh.py'} \"$@\"\n")
    (fake / "gh").chmod(0o755)
    state = tmp_path / "gh.json"
    state.write_text(json.dumps(data))
    return fake, state


def gh_state(state: Path) -> dict:
    return json.loads(state.read_text())


def action(tmp_path: Path, cwd: Path, state: Path, fake: Path, github: dict | None = None,
           **inputs) -> tuple:
    """Run ci/action.py as action.yml does; (process, outputs, summary text)."""
    out, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    out.write_text("")
    summary.write_text("")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "FAKE_GH_STATE": str(state),
           "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_REPOSITORY": "acme/numbers", "GITHUB_SHA": "abc123",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(out),
           "RUNNER_TEMP": str(tmp_path)}
    env.update({f"MVCONF_{k.upper()}": v for k, v in inputs.items()})
    env.update(github or {})
    done = subprocess.run([sys.executable, str(ROOT / "ci/action.py")], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return done, outputs(out.read_text()), summary.read_text()


def outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name<<DELIMITER` ... `DELIMITER`."""
    found, lines = {}, iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        assert re.fullmatch(r"mvconf_[0-9a-f]{32}", delimiter)
        value = []
        for item in lines:
            if item == delimiter:
                break
            value.append(item)
        found[name] = "\n".join(value)
    return found


def workflow_commands(log: str) -> list[str]:
    """The lines of a log that GitHub would run as workflow commands (outside stop-commands)."""
    active, stopped_by = [], None
    for line in log.splitlines():
        if stopped_by:
            if line == f"::{stopped_by}::":
                stopped_by = None
            continue
        if m := re.fullmatch(r"::stop-commands::(.+)", line):
            stopped_by = m.group(1)
        elif line.startswith("::"):
            active.append(line)
    return active


# -- comments: only our own ------------------------------------------------------------------


def test_a_foreign_marker_comment_before_ours_is_ignored_and_never_edited(tmp_path):
    repo = project(tmp_path)
    foreign = f"{MARKER}\nPlan checksum: `{FAKE_SUM}`\n<!-- mvconf-checksum:staging:{FAKE_SUM} -->"
    impostor = {"login": "github-actions[bot]", "type": "User"}  # not the bot, whatever its name
    fake, state = fake_gh(tmp_path, {"me": BOT, "comments": {"7": [
        {"id": 1, "body": foreign, "user": MALLORY},
        {"id": 2, "body": foreign, "user": impostor},
        {"id": 3, "body": "a human's comment", "user": MALLORY}]}})
    runs = [action(tmp_path, repo, state, fake, command="plan", environment="staging",
                   args="--executor api") for _ in range(2)]
    for done, _, _ in runs:
        assert done.returncode == 0, done.stdout + done.stderr
    comments = gh_state(state)["comments"]["7"]
    assert [c["id"] for c in comments] == [1, 2, 3, 100]  # ours created once, then updated
    assert comments[0]["body"] == comments[1]["body"] == foreign  # never edited
    ours = comments[3]["body"]
    assert ours.startswith(MARKER) and ours.count(MARKER) == 1
    done, out, summary = runs[1]
    plan = json.loads((Path(out["plan-file"])).read_text())
    assert out["checksum"] == plan["checksum"] != FAKE_SUM
    assert f"<!-- mvconf-checksum:staging:{plan['checksum']} -->" in ours

    # The merge: the checksum the apply gates on is ours, not the foreign comments'.
    data = gh_state(state)
    data["pulls"] = {"abc123": [{"number": 7, "merge_commit_sha": "abc123",
                                  "merged_at": "2026-12-01T10:00:00Z"}]}
    state.write_text(json.dumps(data))
    applied, out, _ = action(tmp_path, repo, state, fake, command="apply",
                             environment="staging", args="--executor api",
                             github={"GITHUB_EVENT_NAME": "push"})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert out["checksum"] == plan["checksum"]
    assert f"--checksum {plan['checksum']}" not in applied.stdout  # (nothing echoes argv)
    again = invoke("plan", "--env", "staging", "--executor", "api", "--detailed-exitcode",
                   "--project", str(repo / "mvconf.toml"), str(repo / "dids"))
    assert again.code == 0, again.stdout  # applied


def test_without_our_comment_apply_refuses_even_with_a_foreign_one(tmp_path):
    repo = project(tmp_path)
    foreign = f"{MARKER}\n<!-- mvconf-checksum:staging:{FAKE_SUM} -->"
    merged = {"number": 7, "merge_commit_sha": "abc123", "merged_at": "2026-12-01T10:00:00Z"}
    fake, state = fake_gh(tmp_path, {"me": BOT, "pulls": {"abc123": [merged]},
                                     "comments": {"7": [{"id": 1, "body": foreign,
                                                         "user": MALLORY}]}})
    done, out, _ = action(tmp_path, repo, state, fake, command="apply", environment="staging",
                          args="--executor api")
    assert done.returncode == 1
    assert "no reviewed plan checksum" in done.stdout
    assert (repo / "staging-state.json").read_text() == \
        (ROOT / "examples/environments/staging-state.json").read_text()
    assert "checksum" not in out


def test_only_a_pull_request_merged_as_the_commit_gives_the_reviewed_checksum(tmp_path):
    sys.path.insert(0, str(ROOT / "ci"))
    import forge

    ours = f"{MARKER}\n<!-- mvconf-checksum:staging:{FAKE_SUM} -->"
    fake, state = fake_gh(tmp_path, {"me": BOT, "pulls": {"abc123": [
        {"number": 9, "merge_commit_sha": "abc123", "merged_at": None},  # open: a test merge
        {"number": 8, "merge_commit_sha": "fff000", "merged_at": "2026-12-01T10:00:00Z"}]},
        "comments": {"9": [{"id": 1, "body": ours, "user": BOT}],
                     "8": [{"id": 2, "body": ours, "user": BOT}]}})
    os.environ["FAKE_GH_STATE"] = str(state)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{fake}:{path}"
    try:
        assert forge.GitHub("acme/numbers").merged_requests("abc123") == []
        data = gh_state(state)
        data["pulls"]["abc123"].append({"number": 7, "merge_commit_sha": "abc123",
                                        "merged_at": "2026-12-01T11:00:00Z"})
        state.write_text(json.dumps(data))
        assert forge.GitHub("acme/numbers").merged_requests("abc123") == [7]
    finally:
        os.environ["PATH"] = path
        del os.environ["FAKE_GH_STATE"]
    lab = forge.GitLab.__new__(forge.GitLab)
    lab.base = "https://gitlab.example/api/v4/projects/42"
    lab.call = lambda method, url, data=None: [
        {"iid": 1, "state": "opened", "sha": "abc123", "merge_commit_sha": None},
        {"iid": 2, "state": "closed", "sha": "abc123", "merge_commit_sha": None},
        {"iid": 3, "state": "merged", "sha": "abc123", "merge_commit_sha": None},  # ff merge
        {"iid": 4, "state": "merged", "sha": "0ld", "squash_commit_sha": "abc123"}]
    assert lab.merged_requests("abc123") == [3, 4]


def test_a_token_with_a_login_is_trusted_by_that_login(tmp_path):
    sys.path.insert(0, str(ROOT / "ci"))
    import comment
    import forge

    me = {"login": "numbers-bot", "type": "User"}
    fake, state = fake_gh(tmp_path, {"me": me, "user_login": "numbers-bot", "comments": {"7": [
        {"id": 1, "body": MARKER + "\nfake", "user": BOT}]}})
    os.environ["FAKE_GH_STATE"] = str(state)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{fake}:{path}"
    try:
        assert comment.upsert(forge.GitHub("acme/numbers"), 7, MARKER + "\nours\n") == "created"
    finally:
        os.environ["PATH"] = path
        del os.environ["FAKE_GH_STATE"]
    comments = gh_state(state)["comments"]["7"]
    assert [c["body"] for c in comments] == [MARKER + "\nfake", MARKER + "\nours\n"]


def test_gitlab_notes_other_users_markers_are_ignored(tmp_path):
    repo = project(tmp_path)
    with FakeGitLab({"bot-token": {"id": 9, "username": "project_1_bot"},
                     "mallory-token": {"id": 66, "username": "mallory"}}) as lab:
        lab.notes[5] = [{"id": 1, "body": f"{MARKER}\n<!-- mvconf-checksum:staging:{FAKE_SUM}"
                         " -->", "author": {"id": 66}, "system": False, "noteable_iid": 5}]
        plans = repo / "plans" / "staging"
        plans.mkdir(parents=True)
        made = subprocess.run(
            [sys.executable, "-m", "mvconf", "plan", "--env", "staging", "--executor", "api",
             "--format", "markdown", "--out", str(plans / "plan.json")],
            cwd=repo, capture_output=True, text=True)
        (plans / "plan.md").write_text(made.stdout)
        env = {**os.environ, "MVCONF_GITLAB_TOKEN": "bot-token"}
        for _ in range(2):  # the recipe's comment job, on the plan job's artifacts
            done = run_gitlab_job("comment", repo, lab, {"CI_MERGE_REQUEST_IID": "5"})
            assert done.returncode == 0, done.stderr
            assert "mvconf comment" in done.stdout
        assert [n["author"]["id"] for n in lab.notes[5]] == [66, 9]
        assert lab.notes[5][1]["body"].startswith(MARKER)
        assert FAKE_SUM in lab.notes[5][0]["body"]
        lab.commit_mrs["abc123"] = [{"iid": 5, "merge_commit_sha": "abc123", "state": "merged"}]
        found = subprocess.run(
            [sys.executable, str(ROOT / "ci/comment.py"), "gitlab-checksum", "--api-url",
             lab.url, "--project", "42", "--sha", "abc123", "--environment",
             "staging"], env=env, capture_output=True, text=True)
        assert found.returncode == 0, found.stderr
        assert found.stdout.strip() == json.loads((plans / "plan.json").read_text())["checksum"]


# -- inputs that would fail open -------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "True", "TRUE", "1", "on", "", " true", "false\n"])
@pytest.mark.parametrize("name", ["require_checksum", "comment"])
def test_a_boolean_input_other_than_true_or_false_stops_the_job(tmp_path, name, value):
    repo = project(tmp_path)
    fake, state = fake_gh(tmp_path, {"me": BOT})
    before = (repo / "staging-state.json").read_text()
    done, out, _ = action(tmp_path, repo, state, fake, command="apply", environment="staging",
                          args="--executor api", **{name: value})
    assert done.returncode == 1
    assert re.search(r"::error title=mvconf::.*must be true or false", done.stdout)
    assert (repo / "staging-state.json").read_text() == before  # nothing applied
    assert gh_state(state).get("calls", []) == []


# -- no injection through output -------------------------------------------------------------


def hostile_key(repo: Path) -> None:
    (repo / "mvconf.toml").write_text((repo / "mvconf.toml").read_text().replace(
        "[environments.staging]", f'[environments.staging]\n"x\\n{BAD}" = 1'))


def hostile_file(repo: Path, name: str = "a") -> None:
    (repo / "dids" / f"{name}\n{BAD_FILE}.yaml").write_text("version: 1\ndidz: []\n")


def inert(output: str) -> None:
    for line in output.splitlines():
        assert not line.startswith("::warning"), line
        if line.startswith("::"):
            assert re.fullmatch(r"::error file=[^,:]*,line=\d+,col=\d+::.*", line), line


def test_newlines_in_a_toml_key_and_a_file_name_are_inert_in_validate_github(tmp_path):
    repo = project(tmp_path)
    hostile_file(repo)
    done = subprocess.run([sys.executable, "-m", "mvconf", "validate", "--format", "github"],
                          cwd=repo, capture_output=True, text=True)
    assert done.returncode == 1
    inert(done.stdout + done.stderr)
    assert "a%0A%3A%3Awarning title=Security notice%3A%3Arotate" in done.stdout  # a property
    hostile_key(repo)
    done = subprocess.run([sys.executable, "-m", "mvconf", "validate", "--format", "github"],
                          cwd=repo, capture_output=True, text=True)
    assert done.returncode == 1
    inert(done.stdout + done.stderr)
    assert "Security notice::rotate your key" in done.stdout  # shown, on the annotation's line
    text = subprocess.run([sys.executable, "-m", "mvconf", "validate"], cwd=repo,
                          capture_output=True, text=True)
    assert text.returncode == 1 and BAD not in text.stderr.splitlines()


def test_newlines_in_a_toml_key_and_a_file_name_are_inert_in_the_action_log(tmp_path):
    repo = project(tmp_path)
    hostile_file(repo, "b")
    fake, state = fake_gh(tmp_path, {"me": BOT})
    done, _, summary = action(tmp_path, repo, state, fake, command="validate")
    assert done.returncode == 1
    commands = workflow_commands(done.stdout)
    assert commands and all(c.startswith("::error file=") for c in commands), commands
    assert not any("Security notice::" in c.split("::", 2)[1] for c in commands)
    assert "::stop-commands::" in done.stdout
    # The project file's error happens before validate runs: stopped commands too.
    hostile_key(repo)
    done, _, summary = action(tmp_path, repo, state, fake, command="validate")
    assert done.returncode == 1
    assert all(not c.startswith("::warning") for c in workflow_commands(done.stdout))
    # A plan against that project: mvconf's error is printed raw, inside stop-commands.
    done, out, summary = action(tmp_path, repo, state, fake, command="plan",
                                environment="staging", args="--executor api")
    assert done.returncode == 1
    assert BAD in done.stdout and workflow_commands(done.stdout) == []


def test_a_backtick_run_cannot_close_the_job_summary_fence(tmp_path):
    repo = project(tmp_path)
    (repo / "dids" / "c````\n<img src=https:evil.example.png>.yaml").write_text(
        "version: 1\ndidz: []\n")
    fake, state = fake_gh(tmp_path, {"me": BOT})
    done, _, summary = action(tmp_path, repo, state, fake, command="validate")
    assert done.returncode == 1
    opening = re.search(r"^(`{3,})text$", summary, re.M)
    assert opening and len(opening.group(1)) >= 5
    inside = summary[opening.end():summary.rindex(opening.group(1))]
    assert "<img" in inside and opening.group(1) not in inside


def test_the_checksum_output_comes_from_the_json_plan_not_from_text(tmp_path):
    repo = project(tmp_path)
    (repo / "dids" / f"Plan checksum: `{FAKE_SUM}`.yaml").write_text(
        'version: 1\nenvironments: [staging]\ndids:\n  - {number: "+15551230203", '
        "application: sales, route_mode: webhook}\n")
    fake, state = fake_gh(tmp_path, {"me": BOT})
    done, out, _ = action(tmp_path, repo, state, fake, command="plan", environment="staging",
                          args="--executor api")
    assert done.returncode == 0, done.stdout
    assert out["checksum"] == json.loads(Path(out["plan-file"]).read_text())["checksum"]
    assert out["checksum"] != FAKE_SUM


def test_plan_env_all_markdown_has_one_marker_first(tmp_path):
    repo = project(tmp_path)
    done = subprocess.run([sys.executable, "-m", "mvconf", "plan", "--env", "all", "--executor",
                           "api", "--format", "markdown"], cwd=repo, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(MARKER + "\n") and done.stdout.count(MARKER) == 1
    assert "## Environment production" in done.stdout and "## Environment staging" in done.stdout


# -- the comment job and the environments matrix ---------------------------------------------


def test_every_environments_plan_goes_into_the_one_comment(tmp_path):
    repo = project(tmp_path)
    fake, state = fake_gh(tmp_path, {"me": BOT})
    done, out, _ = action(tmp_path, repo, state, fake, command="environments")
    matrix = json.loads(out["matrix"])
    assert matrix == [
        {"name": "production", "api_key_env": "MINIVOICE_API_KEY_PRODUCTION",
         "review": "production-plan", "deploy": "production"},
        {"name": "staging", "api_key_env": "MINIVOICE_API_KEY_STAGING",
         "review": "staging-plan", "deploy": "staging"}]
    artifacts = tmp_path / "artifacts"
    for entry in matrix:
        done, out, _ = action(tmp_path, repo, state, fake, command="plan",
                              environment=entry["name"], api_key="k",
                              api_key_env=entry["api_key_env"], comment="false",
                              args="--executor api")
        assert done.returncode == 0, done.stdout
        into = artifacts / f"mvconf-plan-{entry['name']}"
        into.mkdir(parents=True)
        shutil.copy(out["markdown-file"], into)
        shutil.copy(out["plan-file"], into)
    assert gh_state(state).get("comments", {}) == {}  # comment: false
    for _ in range(2):
        done, _, _ = action(tmp_path, repo, state, fake, command="comment", plans=str(artifacts))
        assert done.returncode == 0, done.stdout
    [body] = [c["body"] for c in gh_state(state)["comments"]["7"]]
    assert body.startswith(MARKER) and body.count(MARKER) == 1
    for entry in matrix:
        checksum = json.loads((artifacts / f"mvconf-plan-{entry['name']}" / "plan.json")
                              .read_text())["checksum"]
        assert f"<!-- mvconf-checksum:{entry['name']}:{checksum} -->" in body


# -- the drift issue -------------------------------------------------------------------------


def drift_state(repo: Path, app: str) -> None:
    path = repo / "staging-state.json"
    data = json.loads(path.read_text())
    for record in data["dids"]:
        if record["number_e164"] == "+15551230202":
            record["application_id"] = app
    path.write_text(json.dumps(data))


def test_the_github_drift_issue_is_opened_updated_closed_and_never_duplicated(tmp_path):
    repo = project(tmp_path)
    foreign = {"number": 1, "title": "drift", "body": "<!-- mvconf-drift:staging -->\nfake",
               "state": "open", "user": MALLORY}
    fake, state = fake_gh(tmp_path, {"me": BOT, "issues": [foreign]})

    def run():
        done, out, _ = action(tmp_path, repo, state, fake, command="drift",
                              environment="staging", args="--executor api",
                              github={"GITHUB_EVENT_NAME": "schedule"})
        assert done.returncode == 0, done.stdout + done.stderr
        return [i for i in gh_state(state)["issues"] if i["user"] == BOT], done.stdout

    ours, log = run()  # the example's staging account differs from its manifests
    assert "opened #100" in log
    assert len(ours) == 1 and ours[0]["state"] == "open"
    assert ours[0]["body"].startswith("<!-- mvconf-drift:staging -->\n")
    assert "+15551230202" in ours[0]["body"]
    drift_state(repo, "app_s3")
    ours, log = run()
    assert "updated #100" in log and len(ours) == 1 and "app&#95;s3" in ours[0]["body"]
    applied = subprocess.run([sys.executable, "-m", "mvconf", "apply", "--env", "staging",
                              "--executor", "api", "--auto-approve"], cwd=repo,
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    ours, log = run()
    assert "closed #100" in log and len(ours) == 1 and ours[0]["state"] == "closed"
    notes = gh_state(state)["comments"]["100"]
    assert len(notes) == 1 and "clean again" in notes[0]["body"]
    ours, log = run()  # still clean: nothing more
    assert log.count("clean") and len(gh_state(state)["comments"]["100"]) == 1
    drift_state(repo, "app_s3")
    ours, log = run()
    assert "reopened #100" in log and len(ours) == 1 and ours[0]["state"] == "open"
    assert gh_state(state)["issues"][0] == foreign  # never touched


def gitlab_job(name: str) -> dict:
    return yaml.safe_load((ROOT / "examples/ci/gitlab-ci.yml").read_text())[name]


def run_gitlab_job(name: str, repo: Path, lab: FakeGitLab,
                   extra: dict) -> subprocess.CompletedProcess:
    """The job's script lines in bash, as a GitLab runner would (without its before_script)."""
    job = gitlab_job(name)
    script = "set -eo pipefail\n" + "\n".join(job["script"])
    env = {**os.environ, "MVCONF_HOME": str(ROOT), "CI_API_V4_URL": lab.url,
           "CI_PROJECT_ID": "42", "MVCONF_GITLAB_TOKEN": "bot-token",
           "CI_PIPELINE_URL": "https://gitlab.example/acme/numbers/-/pipelines/1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **extra}
    return subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_gitlab_drift_job_opens_updates_closes_one_issue(tmp_path):
    repo = project(tmp_path)
    with FakeGitLab({"bot-token": {"id": 9, "username": "project_42_bot"}}) as lab:
        lab.issues.append({"iid": 1, "title": "x", "description": "<!-- mvconf-drift:staging -->"
                           "\nfake", "state": "opened", "author": {"id": 66}})

        def run():
            done = run_gitlab_job("drift", repo, lab, {"MVCONF_ENV": "staging"})
            assert done.returncode == 0, done.stdout + done.stderr
            return [i for i in lab.issues if i["author"]["id"] == 9], done.stdout

        ours, log = run()
        assert len(ours) == 1 and ours[0]["state"] == "opened" and "opened #" in log
        assert ours[0]["description"].startswith("<!-- mvconf-drift:staging -->\n")
        drift_state(repo, "app_s3")
        ours, log = run()
        assert len(ours) == 1 and "updated #" in log and "app&#95;s3" in ours[0]["description"]
        subprocess.run([sys.executable, "-m", "mvconf", "apply", "--env", "staging",
                        "--executor", "api", "--auto-approve"], cwd=repo, check=True,
                       capture_output=True)
        ours, log = run()
        assert len(ours) == 1 and ours[0]["state"] == "closed" and "closed #" in log
        assert "clean again" in lab.issue_notes[ours[0]["iid"]][0]["body"]
        drift_state(repo, "app_s3")
        ours, log = run()
        assert len(ours) == 1 and ours[0]["state"] == "opened"
        assert lab.issues[0]["description"].endswith("fake")  # another user's: untouched


@pytest.mark.skipif("sarif" not in invoke("validate", "--help").stdout,
                    reason="validate --format sarif (SPEC §15) is not in this build")
def test_the_action_writes_validates_sarif_for_code_scanning(tmp_path):
    repo = project(tmp_path)
    fake, state = fake_gh(tmp_path, {"me": BOT})
    done, _, _ = action(tmp_path, repo, state, fake, command="validate",
                        sarif=str(tmp_path / "mvconf.sarif"))
    assert done.returncode == 0, done.stdout
    sarif = json.loads((tmp_path / "mvconf.sarif").read_text())
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "mvconf"
    assert all(not c.startswith("::warning") for c in workflow_commands(done.stdout))


@pytest.mark.parametrize("name", ["PATH", "PYTHONPATH", "GITHUB_OUTPUT", "A B", "1X"])
def test_the_key_never_replaces_a_variable_of_the_job(tmp_path, name):
    repo = project(tmp_path)
    fake, state = fake_gh(tmp_path, {"me": BOT})
    done, _, _ = action(tmp_path, repo, state, fake, command="plan", environment="staging",
                        api_key="sk-live-1", api_key_env=name, github={"PYTHONPATH": ""})
    assert done.returncode == 1 and "::error title=mvconf::api-key-env" in done.stdout
    assert "sk-live-1" not in done.stdout + done.stderr


def test_two_open_drift_issues_of_ours_are_folded_into_the_first(tmp_path):
    repo = project(tmp_path)
    mark = "<!-- mvconf-drift:staging -->\nold"
    fake, state = fake_gh(tmp_path, {"me": BOT, "issues": [
        {"number": n, "title": "t", "body": mark, "state": "open", "user": BOT}
        for n in (3, 4)]})
    done, _, _ = action(tmp_path, repo, state, fake, command="drift", environment="staging",
                        args="--executor api")
    assert done.returncode == 0, done.stdout
    first, second = gh_state(state)["issues"]
    assert first["state"] == "open" and "+15551230202" in first["body"]
    assert second["state"] == "closed" and second["body"] == mark
    assert gh_state(state)["comments"]["4"][0]["body"] == "Duplicate of #3."


def test_the_gitlab_validate_job_fails_while_its_environments_differ_from_mvconf_toml(tmp_path):
    repo = project(tmp_path)
    with FakeGitLab({}) as lab:
        listed = gitlab_job("variables")["MVCONF_ENVIRONMENTS"]
        assert listed.split() == gitlab_job(".environments")["parallel"]["matrix"][0]["MVCONF_ENV"]
        done = run_gitlab_job("validate", repo, lab, {"MVCONF_ENVIRONMENTS": listed})
        assert done.returncode == 0, done.stderr
        done = run_gitlab_job("validate", repo, lab, {"MVCONF_ENVIRONMENTS": "staging"})
        assert done.returncode == 1
        assert "defines the environments production staging, the pipeline lists staging" \
            in done.stderr


def test_a_drift_issue_edited_in_the_web_editor_is_still_ours(tmp_path):
    """The web editor saves a body with CRLF: the marker line is still the marker."""
    repo = project(tmp_path)
    edited = {"number": 7, "title": "drift", "state": "open", "user": BOT,
              "body": "<!-- mvconf-drift:staging -->\r\nedited by a maintainer\r\n"}
    fake, state = fake_gh(tmp_path, {"me": BOT, "issues": [edited]})
    done, out, _ = action(tmp_path, repo, state, fake, command="drift", environment="staging",
                          args="--executor api", github={"GITHUB_EVENT_NAME": "schedule"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "updated #7" in done.stdout
    assert [i["number"] for i in gh_state(state)["issues"] if i["user"] == BOT] == [7]


def test_the_comment_reads_the_checksum_of_a_plan_too_big_to_parse_whole(tmp_path):
    sys.path.insert(0, str(ROOT / "ci"))
    import comment

    checksum = "ab" * 32
    plan = tmp_path / "plan.json"
    change = '{"number": "+15551230001", "action": "noop", "padding": "' + "x" * 800 + '"}'
    with open(plan, "w") as handle:  # a 100,000-DID plan's size and layout
        handle.write('{\n  "format_version": 1,\n  "environment": "staging",\n'
                     f'  "checksum": "{checksum}",\n  "changes": [\n    ')
        handle.write(",\n    ".join([change] * 70_000))
        handle.write("\n  ]\n}\n")
    markdown = tmp_path / "plan.md"
    markdown.write_text(f"{MARKER}\nthe plan\n")
    assert plan.stat().st_size > 50_000_000
    assert comment.read_part(str(markdown), str(plan)) == ("staging", "the plan\n", checksum)
