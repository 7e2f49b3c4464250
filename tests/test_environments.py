"""Environments (SPEC §9): one manifest set, a staging and a production account, each with its
own ids, key and journal. Runs on a copy of examples/environments."""

from __future__ import annotations

import json
import shutil

import pytest

from .helpers import ROOT, invoke
from .hostile_server import hostile_server, send_json


@pytest.fixture
def project(tmp_path, monkeypatch):
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "environments", copy)
    monkeypatch.chdir(copy)
    return copy


def plan_json(*args, env=None):
    result = invoke("plan", "--format", "json", *args, env=env)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def desired_apps(plan):
    return {c["number"]: c["desired"].get("application_id") for c in plan["changes"]}


def test_each_environment_resolves_aliases_to_its_own_ids(project):
    staging, production = plan_json("--env", "staging"), plan_json("--env", "production")
    assert desired_apps(staging) == {"+15551230201": "app_s1", "+15551230202": "app_s2",
                                     "+15551230209": "app_s1"}
    assert desired_apps(production) == {"+15551230101": "app_p1", "+15551230102": "app_p2",
                                        "+15551230109": "app_p1"}
    assert staging["environment"] == "staging" and production["environment"] == "production"


def test_a_staging_only_file_never_reaches_production(project):
    numbers = set(desired_apps(plan_json("--env", "production")))
    assert not {"+15551230201", "+15551230202", "+15551230209"} & numbers


def test_commands_that_talk_to_the_api_need_an_environment(project):
    result = invoke("plan")
    assert result.code == 1 and "pass --env NAME" in result.stderr
    assert "production, staging" in result.stderr
    unknown = invoke("plan", "--env", "prod")
    assert unknown.code == 1 and "choose one of production, staging" in unknown.stderr


def test_validate_without_env_checks_every_environment(project):
    result = invoke("validate")
    assert result.code == 0 and "3 in production, 3 in staging" in result.stdout
    (project / "dids" / "staging.yaml").write_text(
        (project / "dids" / "staging.yaml").read_text().replace("sales", "salse"))
    broken = invoke("validate")
    assert broken.code == 1 and "'salse'" in broken.stderr


def test_an_unknown_environment_name_in_a_manifest_is_an_error(project):
    path = project / "dids" / "staging.yaml"
    path.write_text(path.read_text().replace("[staging]", "[stagin]"))
    result = invoke("validate")
    assert result.code == 1 and "unknown environment 'stagin'" in result.stderr
    assert "dids/staging.yaml:3:" in result.stderr


def test_a_staging_plan_is_refused_in_production(project):
    saved = project / "staging-plan.json"
    assert invoke("plan", "--env", "staging", "--out", saved).code == 0
    result = invoke("apply", saved, "--env", "production")
    assert result.code == 1
    assert "emulator:staging-state.json, not emulator:production-state.json" in result.stderr \
        or "environment staging" in result.stderr


def test_a_plan_for_another_environment_on_the_same_api_is_refused(project):
    saved = project / "staging-plan.json"
    assert invoke("plan", "--env", "staging", "--out", saved,
                  "--emulator", "staging-state.json").code == 0
    result = invoke("apply", saved, "--env", "production", "--emulator", "staging-state.json")
    assert result.code == 1 and "made for environment staging, not production" in result.stderr


def test_an_environments_key_comes_only_from_its_variable(project):
    with hostile_server(lambda h: send_json(h, 200, {})) as (url, recorder):
        result = invoke("plan", "--env", "staging", "--api-url", url,
                        env={"MINIVOICE_API_KEY": "the-default-key-0001",
                             "MINIVOICE_API_KEY_STAGING": ""})
    assert result.code == 1 and "MINIVOICE_API_KEY_STAGING is not set" in result.stderr
    assert recorder.requests == []


def test_apply_on_staging_leaves_production_untouched(project):
    production = (project / "production-state.json").read_bytes()
    result = invoke("apply", "--env", "staging", "--executor", "api", "--auto-approve",
                    "--allow-mass-change")
    assert result.code == 0, result.stderr
    assert (project / "production-state.json").read_bytes() == production
    journal = project / ".mvconf" / "journal-staging.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records and {r["environment"] for r in records} == {"staging"}
    assert not (project / ".mvconf" / "journal-production.jsonl").exists()
    assert plan_json("--env", "staging")["summary"]["update"] == 0


def test_plan_env_all_shows_one_plan_per_environment(project):
    data = plan_json("--env", "all")
    assert set(data["environments"]) == {"staging", "production"}
    assert data["environments"]["staging"]["summary"]["update"] == 2
    assert data["environments"]["production"]["summary"]["update"] == 1
    text = invoke("plan", "--env", "all", "--detailed-exitcode")
    assert text.code == 2 and "== Environment staging" in text.stdout


@pytest.mark.parametrize("given", ["--api-url", "--api-key-file", "MINIVOICE_API_URL"])
def test_plan_env_all_never_gives_one_url_or_key_to_every_account(project, given):
    toml = project / "mvconf.toml"
    toml.write_text(toml.read_text().replace('emulator = "staging-state.json"',
                                             'api_url = "https://staging.invalid"')
                    .replace('emulator = "production-state.json"',
                             'api_url = "https://production.invalid"'))
    (project / "one.key").write_text("the-one-key-00001\n")
    keys = {"MINIVOICE_API_KEY_STAGING": "staging-key-00001",
            "MINIVOICE_API_KEY_PRODUCTION": "production-key-0001"}
    with hostile_server(lambda h: send_json(h, 200, {})) as (url, recorder):
        args = {"--api-url": ["--api-url", url], "--api-key-file": ["--api-key-file", "one.key"],
                "MINIVOICE_API_URL": []}[given]
        env = {**keys, **({"MINIVOICE_API_URL": url} if given == "MINIVOICE_API_URL" else {})}
        result = invoke("plan", "--env", "all", *args, env=env)
    assert result.code == 1 and f"{given} would make one API or key serve them all" in \
        result.stderr
    assert recorder.requests == []


def test_project_file_errors_have_positions(project):
    (project / "mvconf.toml").write_text('[environments.staging]\napi_key_evn = "X"\n')
    result = invoke("validate")
    assert result.code == 1
    assert "mvconf.toml:2:1: unknown key 'environments.staging.api_key_evn'; did you mean " \
        "'api_key_env'?" in result.stderr
    (project / "mvconf.toml").write_text("[environments.staging\n")
    broken = invoke("validate")
    assert broken.code == 1 and "mvconf.toml:1:" in broken.stderr and "not valid TOML" in \
        broken.stderr


@pytest.mark.parametrize("where", ["project", "MINIVOICE_API_URL"])
def test_a_url_that_holds_another_environments_key_is_refused(project, where):
    """Production's api_url holding staging's key (a paste in the wrong place): nothing is
    sent, neither key is printed, in `--env all` and for the one environment."""
    keys = {"MINIVOICE_API_KEY_STAGING": "staging-key-00001",
            "MINIVOICE_API_KEY_PRODUCTION": "production-key-0001"}
    with hostile_server(lambda h: send_json(h, 200, {})) as (url, recorder):
        holding = f"{url}/{keys['MINIVOICE_API_KEY_STAGING']}"
        toml = project / "mvconf.toml"
        configured = holding if where == "project" else "https://production.invalid"
        toml.write_text(toml.read_text().replace('emulator = "production-state.json"',
                                                 f'api_url = "{configured}"'))
        env = {**keys, **({"MINIVOICE_API_URL": holding} if where != "project" else {})}
        runs = [("plan", "--env", "production")] + \
            ([("plan", "--env", "all")] if where == "project" else [])
        for command in runs:
            result = invoke(*command, env=env)
            assert result.code == 1, (command, result.stdout)
            assert "holds the API key of another environment" in result.stderr
            shown = result.stdout + result.stderr
            assert not any(key in shown for key in keys.values())
    assert recorder.requests == []
