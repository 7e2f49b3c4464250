"""Hostile project files and aliases (issue 7/7, round 3): an mvconf.toml someone else can
write, key variables that would send one account's key to another, reserved names, deep
nesting, aliases that redirect ids or hide characters."""

from __future__ import annotations

import os

import pytest

from .helpers import invoke

MANIFEST = 'version: 1\ndids:\n  - {number: "+15551230001", application: app_1, ' \
           'route_mode: webhook}\n'


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp/project/mvconf.toml, and the working directory tmp/project/sub with a manifest."""
    root = tmp_path / "project"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "dids.yaml").write_text(MANIFEST)
    toml = root / "mvconf.toml"
    toml.write_text('[defaults]\nmax_change_percent = 30\n')
    monkeypatch.chdir(root / "sub")
    return toml


def write_toml(project, text):
    project.write_text(text)
    return invoke("validate", "dids.yaml")


@pytest.mark.parametrize(("mode", "who"), [(0o664, "its group"), (0o646, "others")])
def test_a_parent_project_file_others_can_write_is_refused(project, mode, who):
    os.chmod(project, mode)
    result = invoke("validate", "dids.yaml")
    assert result.code == 1 and "Traceback" not in result.stderr
    assert f"{project} is writable by {who}, so it is not used" in result.stderr
    assert f"--project {project}" in result.stderr
    assert invoke("validate", "dids.yaml", "--project", project).code == 0  # named: trusted


def test_a_parent_project_file_of_another_owner_is_refused(project):
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    os.chown(project, 4242, -1)
    result = invoke("validate", "dids.yaml")
    assert result.code == 1 and "is owned by another user (uid 4242)" in result.stderr
    assert invoke("validate", "dids.yaml", "--project", project).code == 0


def test_a_project_file_in_a_directory_others_can_write_is_refused(project):
    os.chmod(project.parent, 0o777)
    try:
        result = invoke("validate", "dids.yaml")
    finally:
        os.chmod(project.parent, 0o755)
    assert result.code == 1 and "is in a directory writable by group and others" in result.stderr


ENVS = '''[environments.staging]
api_key_env = "{staging}"
[environments.production]
api_key_env = "{production}"
'''


@pytest.mark.parametrize(("staging", "production", "why"), [
    ("MINIVOICE_API_KEY_PRODUCTION", "MINIVOICE_API_KEY_PRODUCTION",
     "mvconf.toml:4:1: environments.production.api_key_env: MINIVOICE_API_KEY_PRODUCTION is "
     "also the key variable of environment 'staging'"),
    ("MINIVOICE_API_KEY", "PROD_KEY",
     "mvconf.toml:2:1: environments.staging.api_key_env: MINIVOICE_API_KEY is the key of runs "
     "without an environment"),
    ("STAGING_KEY", "PATH",
     "mvconf.toml:4:1: environments.production.api_key_env: 'PATH' does not look like a "
     "variable holding a key: its name must contain KEY, TOKEN or SECRET"),
    ("STAGING_KEY", "prod_key", "environments.production.api_key_env: string should match"),
])
def test_key_variables_are_one_per_environment_and_named_as_keys(project, staging, production,
                                                                 why):
    result = write_toml(project, ENVS.format(staging=staging, production=production))
    assert result.code == 1 and "Traceback" not in result.stderr
    assert why in result.stderr.replace("String should", "string should"), result.stderr


def test_a_derived_key_variable_is_one_per_environment_too(project):
    result = write_toml(project, '[environments.eu-west]\n[environments.eu_west]\n')
    assert result.code == 1
    assert "MINIVOICE_API_KEY_EU_WEST is also the key variable of environment" in result.stderr


def test_the_environment_name_all_is_reserved(project):
    result = write_toml(project, '[environments.staging]\n\n[environments.all]\n'
                        'api_key_env = "ALL_KEY"\n')
    assert result.code == 1
    assert "mvconf.toml:3:1: the environment name 'all' is reserved" in result.stderr


def test_a_deeply_nested_project_file_is_a_clear_error(project):
    result = write_toml(project, "manifests = " + "[" * 5000 + "]" * 5000 + "\n")
    assert result.code == 1 and "RecursionError" not in result.stderr
    assert "mvconf.toml:1:" in result.stderr and "nested too deeply" in result.stderr


def test_an_alias_shaped_like_an_application_id_is_refused(project):
    (project.parent / "sub" / "dids.yaml").write_text(
        "version: 1\napplications:\n  app_1: app_999\n" + MANIFEST.split("\n", 1)[1])
    result = invoke("validate", "dids.yaml")
    assert result.code == 1
    assert "dids.yaml:3:3: alias 'app_1' is shaped like an application id" in result.stderr
    toml = write_toml(project, '[environments.staging]\napplications = { app_1 = "app_9" }\n')
    assert toml.code == 1 and "alias 'app_1' is shaped like an application id" in toml.stderr


def test_an_alias_with_an_invisible_character_is_refused(project):
    (project.parent / "sub" / "dids.yaml").write_text(
        "version: 1\napplications:\n  \"sales\u200b\": app_2\n" + MANIFEST.split("\n", 1)[1])
    result = invoke("validate", "dids.yaml")
    assert result.code == 1
    assert "alias 'sales\\u200b' contains U+200B (ZERO WIDTH SPACE)" in result.stderr
    toml = write_toml(project, '[environments.staging]\napplications = { "a\u200bb" = "app_9" '
                      '}\n')
    assert toml.code == 1 and "contains U+200B" in toml.stderr
