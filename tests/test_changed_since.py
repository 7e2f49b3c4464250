"""`plan`/`apply --changed-since REV` (SPEC §16): only DIDs whose resolved desired state differs
from REV's, or that REV did not manage, are read; the plan says what it did not read."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvconf.emulator.inprocess import InProcessSender
from mvconf.manifest import load_desired

from .helpers import did, invoke

N = "+1555123"  # numbers +15551230000 ...


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def init(repo: Path) -> None:
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.invalid")
    git(repo, "config", "user.name", "ci")


def commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base", "--allow-empty")


def put(repo: Path, name: str, text: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


def state(repo: Path, numbers: list[str], app: str = "app_1") -> Path:
    path = repo / "state.json"
    path.write_text(json.dumps({
        "api_keys": [{"key": "test-key", "customer_id": "cust_123", "application_id": app}],
        "dids": [did(n, app, destinations=[]) for n in numbers]}))
    return path


@pytest.fixture
def requests(monkeypatch):
    """Every request mvconf sends to the (in-process) emulator, as (method, path)."""
    sent: list[tuple[str, str]] = []
    original = InProcessSender.send

    async def counting(self, method, path, body=None, headers=None):
        sent.append((method, path))
        return await original(self, method, path, body, headers)

    monkeypatch.setattr(InProcessSender, "send", counting)
    return sent


BASE = """
version: 1
applications: {main: app_1, other: app_2}
dids:
  - range: "+15551230000..+15551230019"
    application: main
    route_mode: webhook
  - number: "+15551230005"
    application: other
    route_mode: webhook
  - number: "+15551230100"
    application: other
    route_mode: webhook
  - number: "+15551230101"
    application: main
    route_mode: reject
"""


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "dids/a.yaml", BASE)
    commit(tmp_path)
    state(tmp_path, [f"{N}{i:04d}" for i in range(20)] + [f"{N}0100", f"{N}0101"])
    return tmp_path


def plan_json(*args: str) -> dict:
    result = invoke("plan", *args, "--emulator", "state.json", "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_an_alias_edit_reads_exactly_the_dids_that_use_it(repo, requests):
    put(repo, "dids/a.yaml", BASE.replace("other: app_2", "other: app_3"))
    plan = plan_json("dids", "--changed-since", "HEAD")
    assert [c["number"] for c in plan["changes"]] == [f"{N}0005", f"{N}0100"]
    assert all(c["action"] == "update" for c in plan["changes"])
    commit_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                text=True).stdout.strip()
    assert plan["scope"] == {"changed_since": "HEAD", "revision": commit_sha, "read": 2,
                             "unchanged": 20}
    reads = [r for r in requests if r[0] == "GET"]
    assert len(requests) <= 2 + 2 and sorted(p for _, p in reads) == sorted(
        f"/v1/dids/by-number/{n}" for n in (f"{N}0005", f"{N}0100"))


def test_edits_to_ranges_overrides_and_new_numbers_are_read_and_nothing_else(repo, requests):
    edited = BASE.replace('"+15551230000..+15551230019"', '"+15551230000..+15551230021"')
    edited = edited.replace("  - number: \"+15551230101\"\n    application: main\n"
                            "    route_mode: reject\n", "")  # no longer managed: not read
    edited += "  - number: \"+15551230007\"\n    route_mode: reject\n"  # a new override
    edited = edited.replace("""  - number: "+15551230005"
    application: other""", """  - number: "+15551230005"
    application: other
    description: a new comment changes nothing""")
    put(repo, "dids/a.yaml", edited)
    plan = plan_json("dids", "--changed-since", "HEAD", "--allow-all-missing")
    numbers = [c["number"] for c in plan["changes"]]
    assert sorted(numbers) == [f"{N}0007", f"{N}0020", f"{N}0021"]
    assert plan["scope"]["read"] == 3 and plan["scope"]["unchanged"] == 20
    assert len(requests) <= 3 + 2


def test_nothing_changed_reads_nothing(repo, requests):
    plan = plan_json("dids", "--changed-since", "HEAD")
    assert plan["changes"] == [] and plan["scope"]["unchanged"] == 22
    assert requests == []
    for fmt in ("text", "markdown"):  # 22 DIDs are managed: the heading must not say none
        shown = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "HEAD",
                       "--format", fmt).stdout
        assert "no DIDs managed" not in shown and "no changes" in shown, shown


def test_a_full_plan_has_scope_null(repo):
    assert plan_json("dids")["scope"] is None


def test_text_and_markdown_say_how_many_were_not_read(repo):
    put(repo, "dids/a.yaml", BASE.replace("other: app_2", "other: app_3"))
    text = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "HEAD")
    assert text.code == 0, text.stderr
    assert ("Not read: 20 DIDs unchanged since HEAD (a full plan checks them for drift)"
            in text.stdout)
    md = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "HEAD",
                "--format", "markdown")
    assert "Not read: 20 DIDs unchanged since HEAD (a full plan checks them for drift)" \
        in md.stdout
    full = invoke("plan", "dids", "--emulator", "state.json")
    assert "Not read" not in full.stdout


def test_the_figure_has_thousands_separators_and_the_revision_is_escaped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "dids/a.yaml", """
        version: 1
        dids:
          - range: "+15551230000..+15551239999"
            application: app_1
            route_mode: webhook
        """)
    commit(tmp_path)
    git(tmp_path, "tag", "v1|`x`")
    put(tmp_path, "dids/b.yaml", 'version: 1\ndids:\n  - {number: "+15551240000", '
        "application: app_1, route_mode: webhook}\n")
    state(tmp_path, [f"{N}{i:04d}" for i in range(10)] + ["+15551240000"])
    text = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "v1|`x`")
    assert "Not read: 10,000 DIDs unchanged since v1|`x` (a full plan" in text.stdout
    md = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "v1|`x`",
                "--format", "markdown")
    assert "Not read: 10,000 DIDs unchanged since v1&#124;&#96;x&#96; (a full plan" in md.stdout


PROJECT = """
manifests = ["dids"]

[environments.staging]
api_key_env = "KEY_STAGING"
emulator = "state.json"
applications = { sales = "app_1" }
"""


def test_a_project_file_edit_counts_for_the_dids_it_changes(tmp_path, monkeypatch, requests):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "mvconf.toml", PROJECT)
    put(tmp_path, "dids/a.yaml", """
        version: 1
        dids:
          - {number: "+15551230000", application: sales, route_mode: webhook}
          - {number: "+15551230001", application: app_1, route_mode: webhook}
          - {number: "+15551230002", application: sales, route_mode: webhook}
        """)
    commit(tmp_path)
    state(tmp_path, [f"{N}000{i}" for i in range(3)])
    put(tmp_path, "mvconf.toml", PROJECT.replace('sales = "app_1"', 'sales = "app_9"'))
    result = invoke("plan", "--env", "staging", "--changed-since", "HEAD", "--format", "json")
    assert result.code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [c["number"] for c in plan["changes"]] == [f"{N}0000", f"{N}0002"]
    assert plan["scope"]["unchanged"] == 1 and len(requests) <= 2 + 2


def test_the_project_files_manifest_paths_at_the_revision_are_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "mvconf.toml", 'manifests = ["old"]\n')
    put(tmp_path, "old/a.yaml", 'version: 1\ndids:\n  - {number: "+15551230000", '
        "application: app_1, route_mode: webhook}\n")
    commit(tmp_path)
    git(tmp_path, "mv", "old", "new")
    put(tmp_path, "mvconf.toml", 'manifests = ["new"]\n')
    state(tmp_path, [f"{N}0000"])
    plan = plan_json("--changed-since", "HEAD")
    assert plan["changes"] == [] and plan["scope"]["unchanged"] == 1


def test_the_threshold_counts_every_managed_did(repo):
    edited = BASE.replace("application: other\n    route_mode: webhook\n  - number: "
                          "\"+15551230100\"", "application: main\n    route_mode: reject\n"
                          "  - number: \"+15551230100\"")
    put(repo, "dids/a.yaml", edited.replace("other: app_2", "other: app_3"))
    # 2 of the 2 DIDs read change, 2 of the 22 managed: under 30%.
    result = invoke("apply", "dids", "--emulator", "state.json", "--changed-since", "HEAD",
                    "--executor", "api", "--auto-approve")
    assert result.code == 0, result.stderr
    data = json.loads((repo / "state.json").read_text())
    apps = {d["number_e164"]: (d["application_id"], d["route_mode"]) for d in data["dids"]}
    assert apps[f"{N}0005"] == ("app_1", "reject") and apps[f"{N}0100"] == ("app_3", "webhook")


def test_the_wrong_account_guard_applies_to_the_dids_read(repo):
    put(repo, "dids/a.yaml", BASE + "".join(
        f'  - {{number: "+1555777000{i}", application: main, route_mode: webhook}}\n'
        for i in range(3)))
    result = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "HEAD")
    assert result.code == 1 and "none of the 3 numbers is in this account" in result.stderr


def test_a_scoped_saved_plan_applies_and_its_checksum_covers_the_scope(repo):
    put(repo, "dids/a.yaml", BASE.replace("other: app_2", "other: app_3"))
    made = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "HEAD",
                  "--executor", "api", "--out", "plan.json")
    assert made.code == 0, made.stderr
    saved = json.loads((repo / "plan.json").read_text())
    tampered = {**saved, "scope": {**saved["scope"], "unchanged": 2000}}
    (repo / "tampered.json").write_text(json.dumps(tampered))
    refused = invoke("apply", "tampered.json", "--emulator", "state.json")
    assert refused.code == 1 and "checksum does not match" in refused.stderr
    for scope in ({"read": "1"}, {"extra": 1}, {"changed_since": "main\x1b]0;x\x07"},
                  {"changed_since": "x" * 5000}, {"revision": "HEAD"}):
        (repo / "odd.json").write_text(json.dumps({**saved, "scope": {**saved["scope"],
                                                                      **scope}}))
        odd = invoke("apply", "odd.json", "--emulator", "state.json")
        assert odd.code == 1 and "not a usable saved plan: scope" in odd.stderr, scope
        assert "\x1b" not in odd.stderr
    applied = invoke("apply", "plan.json", "--emulator", "state.json", "--checksum",
                     saved["checksum"])
    assert applied.code == 0, applied.stderr
    data = json.loads((repo / "state.json").read_text())
    assert {d["application_id"] for d in data["dids"]
            if d["number_e164"] in (f"{N}0005", f"{N}0100")} == {"app_3"}
    again = invoke("apply", "plan.json", "--emulator", "state.json", "--changed-since", "HEAD")
    assert again.code != 0 and "saved plan is applied as it was reviewed" in again.stderr


@pytest.mark.parametrize(("revision", "message"), [
    ("no-such-branch", "--changed-since no-such-branch: no such revision"),
    ("HEAD\x1b[31m", "--changed-since: not a git revision"),
    ("--output=x", "--changed-since --output=x: no such revision"),
    ("^HEAD", "--changed-since ^HEAD: no such revision"),
])
def test_a_bad_revision_is_a_clear_error(repo, revision, message):
    result = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", revision)
    assert result.code == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (repo / "x").exists()


def test_outside_a_git_repository_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    put(tmp_path, "dids/a.yaml", BASE)
    state(tmp_path, [f"{N}0000"])
    result = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "HEAD")
    assert result.code == 1 and "is not in a git repository" in result.stderr


def test_invalid_manifests_at_the_revision_name_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "dids/a.yaml", "version: 2\ndids: []\n")
    commit(tmp_path)
    put(tmp_path, "dids/a.yaml", BASE)
    state(tmp_path, [f"{N}0000"])
    result = invoke("plan", "dids", "--emulator", "state.json", "--changed-since", "HEAD")
    assert result.code == 1 and "HEAD:dids/a.yaml" in result.stderr, result.stderr


# The property: for generated manifests and generated edits, the DIDs read are exactly those
# whose resolved desired state differs (or that are new), and the scoped plan is the full plan
# restricted to them.

APPS = st.sampled_from(["app_1", "app_2", "app_3"])
ALIAS = st.sampled_from(["a", "b", "app_1", "app_2"])
MODES = st.sampled_from(["webhook", "reject", "forward"])


@st.composite
def entry(draw):
    return {"application": draw(st.none() | ALIAS), "route_mode": draw(st.none() | MODES),
            "dest": draw(st.sampled_from(["+15559990001", "+15559990002"])),
            "status": draw(st.sampled_from(["active", "active", "suspended"]))}


@st.composite
def config(draw):
    return {
        "alias_a": draw(APPS), "alias_b": draw(APPS),
        "default_app": draw(ALIAS), "default_mode": draw(MODES),
        "default2_mode": draw(MODES),
        "r0": draw(st.none() | st.integers(3, 9).map(lambda last: (0, last))),
        "r1": draw(st.none() | st.integers(12, 19).map(lambda last: (10, last))),
        "r1_entry": draw(entry()),
        "r0_entry": draw(entry()),
        **{f"n{i}": draw(st.none() | entry()) for i in (2, 5, 11, 30, 31)},
    }


def _fields(spec: dict) -> str:
    out = ""
    if spec["application"]:
        out += f"    application: {spec['application']}\n"
    if spec["route_mode"]:
        out += f"    route_mode: {spec['route_mode']}\n"
    if spec["route_mode"] == "forward":
        out += f"    destinations: [\"{spec['dest']}\"]\n"
    if spec["status"] != "active":
        out += f"    status: {spec['status']}\n"
    return out


def render(cfg: dict) -> dict[str, str]:
    first = (f"version: 1\napplications: {{a: {cfg['alias_a']}, b: {cfg['alias_b']}}}\n"
             f"defaults: {{application: {cfg['default_app']}, route_mode: {cfg['default_mode']}"
             + (", destinations: [\"+15559990003\"]" if cfg["default_mode"] == "forward" else "")
             + "}\ndids:\n")
    for name in ("r0", "r1"):
        if cfg[name]:
            lo, hi = cfg[name]
            first += f'  - range: "{N}{lo:04d}..{N}{hi:04d}"\n' + _fields(cfg[name + "_entry"])
    second = ("version: 1\ndefaults: {application: b, route_mode: "
              f"{cfg['default2_mode']}"
              + (", destinations: [\"+15559990004\"]" if cfg["default2_mode"] == "forward" else "")
              + "}\ndids:\n")
    for i in (2, 5, 11, 30, 31):
        if cfg[f"n{i}"]:
            second += f'  - number: "{N}{i:04d}"\n' + _fields(cfg[f"n{i}"])
    return {"dids/a.yaml": _listed(first), "dids/sub/b.yaml": _listed(second)}


def _listed(text: str) -> str:
    return text[:-1] + " []\n" if text.endswith("dids:\n") else text


@st.composite
def base_and_edit(draw):
    base, other = draw(config()), draw(config())
    flips = draw(st.lists(st.booleans(), min_size=len(base), max_size=len(base)))
    edited = {k: (other[k] if flip else base[k]) for (k, flip) in zip(base, flips, strict=True)}
    return base, edited


def _resolved(root: Path) -> dict[str, tuple]:
    return {d.number: (d.application_id, d.route_mode, d.destinations, d.status)
            for d in load_desired([str(root / "dids")])}


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(base_and_edit())
def test_property_the_dids_read_are_exactly_those_that_differ(pair):
    base, edited = pair
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        try:
            os.chdir(root)
            init(root)
            for name, text in render(base).items():
                put(root, name, text)
            commit(root)
            before = _resolved(root)
            for name, text in render(edited).items():
                put(root, name, text)
            after = _resolved(root)
            state(root, [f"{N}{i:04d}" for i in range(0, 32, 2)])
            expected = [n for n, s in after.items() if before.get(n) != s]
            scoped = plan_json("dids", "--changed-since", "HEAD", "--allow-all-missing")
            full = plan_json("dids", "--allow-all-missing")
        finally:
            os.chdir(here)
    assert [c["number"] for c in scoped["changes"]] == expected
    assert scoped["scope"]["read"] == len(expected)
    assert scoped["scope"]["unchanged"] == len(after) - len(expected)
    wanted = set(expected)

    def comparable(change):
        return {k: v for k, v in change.items() if k != "live_etag"}

    assert [comparable(c) for c in scoped["changes"]] == \
        [comparable(c) for c in full["changes"] if c["number"] in wanted]


def test_the_reviewed_checksum_holds_at_merge_when_the_revision_is_named_otherwise(repo):
    git(repo, "branch", "-M", "main")
    put(repo, "dids/a.yaml", BASE.replace("other: app_2", "other: app_3"))
    reviewed = plan_json("dids", "--changed-since", "main", "--executor", "api")
    result = invoke("apply", "dids", "--emulator", "state.json", "--changed-since", "HEAD",
                    "--executor", "api", "--checksum", reviewed["checksum"], "--auto-approve")
    assert result.code == 0, result.stderr
    assert full_checksum_differs(repo, reviewed["checksum"])


def full_checksum_differs(repo, scoped: str) -> bool:
    """A full plan of the same changes is another plan: its checksum is not the scoped one."""
    put(repo, "dids/a.yaml", BASE.replace("other: app_2", "other: app_3"))
    return plan_json("dids", "--target", f"{N}0005", "--target", f"{N}0100",
                     "--executor", "api")["checksum"] != scoped


def test_an_environment_new_since_the_revision_reads_all_its_dids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "mvconf.toml", 'manifests = ["dids"]\n')
    put(tmp_path, "dids/a.yaml", 'version: 1\ndids:\n  - {number: "+15551230000", '
        "application: app_1, route_mode: webhook}\n")
    commit(tmp_path)
    put(tmp_path, "mvconf.toml", PROJECT)
    state(tmp_path, [f"{N}0000"])
    result = invoke("plan", "--env", "staging", "--changed-since", "HEAD", "--format", "json")
    assert result.code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["scope"]["read"] == 1 and plan["scope"]["unchanged"] == 0


def test_a_project_file_invalid_at_the_revision_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "mvconf.toml", PROJECT + "bogus = 1\n")
    put(tmp_path, "dids/a.yaml", BASE)
    commit(tmp_path)
    put(tmp_path, "mvconf.toml", PROJECT)
    state(tmp_path, [f"{N}0000"])
    result = invoke("plan", "--env", "staging", "--changed-since", "HEAD")
    assert result.code == 1 and "HEAD:mvconf.toml" in result.stderr, result.stderr


def test_a_symlinked_manifest_is_followed_at_the_revision_as_in_the_working_tree(
        tmp_path, monkeypatch, requests):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    entry = "{version: 1, dids: [{number: '+15551230001', application: app_1, route_mode: %s}]}"
    put(tmp_path, "shared/target", entry % "webhook")  # not a .yaml name: read through the link
    (tmp_path / "dids").mkdir()
    os.symlink("../shared/target", tmp_path / "dids" / "link.yaml")
    put(tmp_path, "dids/other.yaml", """
        version: 1
        dids:
          - number: "+15551230002"
            application: app_1
            route_mode: webhook
        """)
    commit(tmp_path)
    state(tmp_path, [f"{N}0001", f"{N}0002"])
    assert plan_json("dids", "--changed-since", "HEAD")["scope"]["read"] == 0
    # The pull request edits the file the link names, and only it.
    put(tmp_path, "shared/target", entry % "reject")
    requests.clear()
    plan = plan_json("dids", "--changed-since", "HEAD")
    assert plan["scope"]["read"] == 1 and plan["scope"]["unchanged"] == 1
    assert [c["number"] for c in plan["changes"]] == [f"{N}0001"]
    assert requests == [("GET", f"/v1/dids/by-number/{N}0001")]


def test_a_link_that_cannot_be_followed_at_the_revision_counts_its_dids_as_new(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    outside = tempfile.mkdtemp()
    Path(outside, "x.yaml").write_text(
        "version: 1\ndids:\n  - number: '+15551230003'\n    application: app_1\n"
        "    route_mode: webhook\n")
    (tmp_path / "dids").mkdir()
    os.symlink(Path(outside, "x.yaml"), tmp_path / "dids" / "abs.yaml")
    commit(tmp_path)
    state(tmp_path, [f"{N}0003"])
    plan = plan_json("dids", "--changed-since", "HEAD")
    assert plan["scope"]["read"] == 1  # its content at the revision is not in git: read


@pytest.mark.parametrize("edit", [
    ('emulator = "state.json"', 'emulator = "other-state.json"'),
    ('api_key_env = "KEY_STAGING"', 'api_key_env = "KEY_STAGING_NEW"'),
])
def test_an_environment_pointed_at_another_account_reads_all_its_dids(tmp_path, monkeypatch,
                                                                      edit):
    monkeypatch.chdir(tmp_path)
    init(tmp_path)
    put(tmp_path, "mvconf.toml", PROJECT)
    put(tmp_path, "dids/a.yaml", 'version: 1\ndids:\n  - {number: "+15551230000", '
        "application: app_1, route_mode: webhook}\n  - {number: \"+15551230001\", "
        "application: app_1, route_mode: webhook}\n")
    commit(tmp_path)
    state(tmp_path, [f"{N}0000", f"{N}0001"])
    (tmp_path / "other-state.json").write_text((tmp_path / "state.json").read_text())

    def scope() -> dict:
        result = invoke("plan", "--env", "staging", "--changed-since", "HEAD", "--format",
                        "json", env={"KEY_STAGING": "x", "KEY_STAGING_NEW": "x"})
        assert result.code == 0, result.stderr
        return json.loads(result.stdout)["scope"]

    assert scope()["read"] == 0
    put(tmp_path, "mvconf.toml", PROJECT.replace(*edit))
    assert scope() == {**scope(), "read": 2, "unchanged": 0}


def test_an_empty_revision_is_refused_over_http_too(repo):
    """`--changed-since ""` (a CI variable that is not set) is refused on every path: over
    HTTP `plan` starts reading early, and must not turn it into a full plan."""
    from .helpers import start, stop

    proc, url = start(repo / "state.json")
    try:
        env = {"MINIVOICE_API_KEY": "test-key", "MINIVOICE_API_URL": url}
        for command in (("plan", "dids"), ("plan", "dids", "--format", "json"),
                        ("apply", "dids", "--executor", "api", "--auto-approve")):
            result = invoke(*command, "--changed-since", "", env=env)
            assert result.code == 1, (command, result.stdout)
            assert "--changed-since: not a git revision" in result.stderr
    finally:
        stop(proc)
