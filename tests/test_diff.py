"""`mvconf diff --base REV`: offline, exact, and naming the revision in errors (SPEC §12)."""

from __future__ import annotations

import json
import subprocess

import pytest

from .helpers import invoke


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "ci@example.invalid")
    git(tmp_path, "config", "user.name", "ci")
    (tmp_path / "dids").mkdir()
    write(tmp_path, {"+15551230001": "app_1", "+15551230002": "app_1", "+15551230003": "app_1"})
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def write(repo, apps: dict[str, str], mode="webhook"):
    (repo / "dids" / "main.yaml").write_text("version: 1\ndids:\n" + "".join(
        f'  - {{number: "{n}", application: {a}, route_mode: {mode}}}\n'
        for n, a in apps.items()))


def test_diff_lists_exactly_what_was_added_removed_and_changed(repo):
    write(repo, {"+15551230001": "app_1", "+15551230002": "app_2", "+15551230004": "app_1"})
    result = invoke("diff", "--base", "HEAD", "--format", "json", "--detailed-exitcode",
                    env={"MINIVOICE_API_KEY": "", "MINIVOICE_API_URL": "https://192.0.2.1"})
    assert result.code == 2, result.stderr
    data = json.loads(result.stdout)
    assert [d["number"] for d in data["added"]] == ["+15551230004"]
    assert [d["number"] for d in data["removed"]] == ["+15551230003"]
    assert data["changed"] == [{"number": "+15551230002", "source": "dids/main.yaml:4",
                                "fields": {"application_id": {"from": "app_1",
                                                              "to": "app_2"}}}]
    assert data["summary"] == {"added": 1, "removed": 1, "changed": 1}


def test_no_differences_exit_0(repo):
    result = invoke("diff", "--base", "HEAD", "--detailed-exitcode")
    assert result.code == 0 and "No differences from HEAD." in result.stdout


def test_the_working_tree_is_never_checked_out(repo):
    write(repo, {"+15551230001": "app_9"})
    before = (repo / "dids" / "main.yaml").read_text()
    invoke("diff", "--base", "HEAD")
    assert (repo / "dids" / "main.yaml").read_text() == before
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                            text=True).stdout
    assert status.strip() == "M dids/main.yaml"


def test_invalid_manifests_at_the_base_name_the_revision(repo):
    (repo / "dids" / "main.yaml").write_text("version: 1\ndids:\n  - {number: nope}\n")
    git(repo, "commit", "-qam", "broken")
    write(repo, {"+15551230001": "app_1"})
    result = invoke("diff", "--base", "HEAD")
    assert result.code == 1 and "HEAD:dids/main.yaml:3" in result.stderr


def test_an_unknown_revision_is_a_clear_error(repo):
    result = invoke("diff", "--base", "--upload-pack=evil")
    assert result.code == 1 and "no such revision" in result.stderr


def test_markdown_diff_is_inert(repo):
    (repo / "dids" / "main.yaml").write_text(
        'version: 1\ndids:\n  - {number: "+15551230001", application: app_1, route_mode: sip, '
        'destinations: ["sip:`<script>`|x@example.com"]}\n')
    result = invoke("diff", "--base", "HEAD", "--format", "markdown")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("<!-- mvconf-plan -->")
    assert "<script>" not in result.stdout and "`" not in result.stdout.split("\n", 3)[3]
