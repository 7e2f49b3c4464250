"""Hostile project files and aliases (issue 7/7, round 3): an mvconf.toml someone else can
write, key variables that would send one account's key to another, reserved names, deep
nesting, aliases that redirect ids or hide characters."""

from __future__ import annotations

import os
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_a_linked_project_file_names_the_targets_open_directory(project, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "mvconf.toml"
    real.write_text(project.read_text())
    project.unlink()
    project.symlink_to(real)
    os.chmod(shared, 0o777)
    try:
        result = invoke("validate", "dids.yaml")
    finally:
        os.chmod(shared, 0o755)
    assert result.code == 1
    assert f"links to {real}, which is in a directory writable by group and others " \
           f"({shared})" in result.stderr


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


@pytest.mark.parametrize("setting", ['parallelism = "5"', "parallelism = true",
                                     "parallelism = 5.0", "min_managed = false"])
def test_settings_are_taken_only_in_their_own_toml_type(project, setting):
    # TOML has types: a quoted number or a boolean is a mistake to point at, not a number.
    result = write_toml(project, f"[defaults]\n{setting}\n")
    assert result.code == 1
    assert "mvconf.toml:2:1: defaults." in result.stderr


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


def validate(tmp_path, dids: str, *extra):
    path = tmp_path / "n.yaml"
    path.write_text("version: 1\ndids:\n" + dids)
    return invoke("validate", path, *extra)


def entry(number, mode="webhook", destinations=None, key="number"):
    more = f", destinations: {destinations}" if destinations else ""
    return f'  - {{{key}: "{number}", application: app_1, route_mode: {mode}{more}}}\n'


def test_a_kept_trunk_zero_is_refused_naming_the_canonical_form(tmp_path):
    result = validate(tmp_path, entry("+4402012345678"))
    assert result.code == 1
    assert "number +4402012345678 is not in canonical E.164 form: the same number is " \
        "+442012345678" in result.stderr
    own = validate(tmp_path, entry("+442012345678", "forward", '["+4402012345678"]'))
    assert own.code == 1 and "the same number is +442012345678" in own.stderr
    end = validate(tmp_path, entry("+4402012345600..+4402012345699", key="range"))
    assert end.code == 1 and "range end +4402012345600 is not in canonical" in end.stderr
    assert validate(tmp_path, entry("+442012345678")).code == 0


def test_a_range_stays_in_one_country_code(tmp_path):
    result = validate(tmp_path, entry("+79999999990..+80000000009", key="range"))
    assert result.code == 1
    assert "range +79999999990..+80000000009 crosses from +7 into +800: a range stays in one " \
        "country code" in result.stderr


def test_the_managed_dids_are_capped_before_ranges_are_expanded(tmp_path):
    dids = "".join(entry(f"+1{415 + i // 100:03d}{i % 100:02d}00000..+1{415 + i // 100:03d}"
                         f"{i % 100:02d}99999", key="range") for i in range(1000))
    path = tmp_path / "n.yaml"
    path.write_text("version: 1\ndids:\n" + dids)
    assert 80_000 < path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        result = invoke("validate", path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.code == 1 and "Traceback" not in result.stderr
    assert "the manifests manage 100,000,000 DIDs, more than the cap of 1,000,000 (set " \
        "max_dids in mvconf.toml to change it)" in result.stderr
    assert peak < 200 * 1024 * 1024, peak  # 100,000,000 DIDs held were many GB


def test_max_dids_is_a_project_setting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mvconf.toml").write_text("max_dids = 150\n")
    result = validate(tmp_path, entry("+14155550100..+14155550199", key="range")
                      + entry("+14155550150") + entry("+14155550300")
                      + entry("+14155550400..+14155550449", key="range"))
    assert result.code == 1 and "manage 151 DIDs, more than the cap of 150" in result.stderr
    (tmp_path / "mvconf.toml").write_text("max_dids = 151\n")
    assert invoke("validate", "n.yaml").code == 0


@pytest.mark.parametrize("dids", [
    entry("+15551230001", "forward", '["+15551230002"]')
    + entry("+15551230002", "forward", '["+15551230001"]'),
    entry("+15551230001", "forward", '["+15559990000", "+15551230002"]')
    + entry("+15551230002", "forward", '["+15551230003"]')
    + entry("+15551230003", "forward", '["+15551230001"]'),
    entry("+15551230001", "forward", '["+15551230105"]')
    + entry("+15551230100..+15551230199", "forward", '["+15551230001"]', key="range"),
])
def test_a_forwarding_loop_among_managed_dids_is_reported(tmp_path, dids):
    result = validate(tmp_path, dids)
    assert result.code == 1 and "forwarding loop among managed DIDs: +15551230001 -> " \
        in result.stderr, result.stderr
    assert result.stderr.count("forwarding loop") == 1


def test_forwarding_chains_without_a_loop_are_valid(tmp_path):
    result = validate(tmp_path, entry("+15551230001", "forward", '["+15551230002"]')
                      + entry("+15551230002", "forward", '["+15551230003"]')
                      + entry("+15551230003", "webhook")
                      + entry("+15551230004", "forward", '["+15551230002"]'))
    assert result.code == 0, result.stderr


@settings(max_examples=400, deadline=None)
@given(st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z"))
def test_every_accepted_number_is_its_own_canonical_form(text):
    import phonenumbers

    from mvconf.core.phone import e164_problem

    if e164_problem(text) is None:
        parsed = phonenumbers.parse(text, None)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == text


@pytest.mark.parametrize("url", [
    "{key}",  # the two variables swapped
    "https://{key}",
    "https://{upper}.example.com",  # a host name is read lower-cased
    "http://127.0.0.1:9/?k={key}",
    "http://127.0.0.1:9/v1#{key}",
    "https://api.example.com/{quoted}",
    "https://api.example.com/{twice}",  # %-encoded twice
    "https://api.example.com/{often}",  # and six times
    "https://api.example.com/x?k={half}",  # half of the key: a leak in every log line
    "https://{tail}.example.com",  # the key cut off at its start
    "https://{wide}.example.com",  # in fullwidth letters, which IDNA reads as the key
])
def test_a_url_that_holds_the_key_is_refused_without_showing_or_sending_it(write, url):
    """The key is never sent anywhere but as the key (not to a DNS resolver as a host name),
    and never printed, in an error or as a plan's api_url, whatever the URL variable holds."""
    from urllib.parse import quote

    from .helpers import KEY

    manifest = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "route_mode: reject}\n")
    quoted = quote(KEY, safe="").replace("-", "%2D")
    given = url.format(key=KEY, upper=KEY.upper(), quoted=quoted,
                       twice=quoted.replace("%", "%25"),
                       often=quoted.replace("%", "%25252525252525"),
                       half=KEY[:(len(KEY) + 1) // 2],
                       wide="".join(chr(ord(c) - 0x21 + 0xFF01) for c in KEY),
                       tail=KEY[-12:].lower())
    for command in (("plan", manifest), ("plan", manifest, "--format", "markdown"),
                    ("plan", manifest, "--target", "+15551230002")):
        result = invoke(*command, env={"MINIVOICE_API_KEY": KEY, "MINIVOICE_API_URL": given})
        assert result.code == 1 and "the API URL holds the API key" in result.stderr
        assert "Nothing was sent" in result.stderr
        assert KEY.lower() not in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize(("url", "key"), [
    ("https://api.minivoice.example", "minivoice-prod-7f3a9c2e1b5d"),  # a word in common
    ("http://127.0.0.1:8080", "127.0.0.1:8-key-3e9f0a1"),  # 11 characters in common
])
def test_a_key_that_shares_a_few_characters_with_the_url_is_not_refused(monkeypatch, url, key):
    """Only the key, or a run of 12 of its characters (half, for a longer key), counts."""
    from mvconf.minivoice.connect import api_endpoint

    monkeypatch.setenv("MINIVOICE_API_KEY", key)
    assert api_endpoint(url, None).url == url


@pytest.mark.parametrize(("url", "key"), [
    ("{key}", "https://api.minivoice.eu"),  # the two variables swapped
    ("http://{key}", "http://127.0.0.1:9"),
    ("https://{key}.invalid", "https://api.minivoice.eu"),
])
def test_swapped_url_and_key_variables_are_refused_without_showing_either(write, url, key):
    from .helpers import KEY

    manifest = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "route_mode: reject}\n")
    result = invoke("plan", manifest, "--debug",
                    env={"MINIVOICE_API_KEY": key, "MINIVOICE_API_URL": url.format(key=KEY)})
    assert result.code == 1 and "is a URL: are MINIVOICE_API_URL and the key swapped?" in \
        result.stderr
    assert KEY.lower() not in (result.stdout + result.stderr).lower()


def test_a_url_without_a_scheme_is_not_shown(write):
    """Not a URL at all (a key of another account, perhaps): refused without echoing it."""
    manifest = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "route_mode: reject}\n")
    result = invoke("plan", manifest, env={"MINIVOICE_API_KEY": "the-right-key-0001",
                                           "MINIVOICE_API_URL": "an-other-key-00002"})
    assert result.code == 1 and "has no scheme" in result.stderr
    assert "an-other-key-00002" not in result.stderr


def test_a_state_file_named_after_its_key_does_not_put_the_key_in_the_plan(write, state_file):
    """`--emulator` names the state file as the plan's api_url: the key in that name is
    masked there, in every format, as everywhere else."""
    import json

    from .helpers import did

    key = "emu-key-7f3a9c2e1b"
    manifest = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "application: app_123, route_mode: reject}\n")
    state = state_file([did("+15551230002")], name=f"{key}.json",
                       keys=[{"key": key, "customer_id": "cust_123",
                              "application_id": "app_123"}])
    for fmt in ("json", "markdown", "text"):
        result = invoke("plan", manifest, "--emulator", state, "--format", fmt)
        assert result.code == 0, result.stderr
        assert key not in result.stdout + result.stderr
        if fmt == "json":
            assert json.loads(result.stdout)["api_url"].startswith("emulator:")


@pytest.mark.parametrize("url", ["ftp://user:s3cr3t-token-0123456789@host",
                                 "https://user:s3cr3t-token-0123456789@api.example.com",
                                 "https://s3cr3t-token-0123456789@api.example.com",
                                 "gopher://s3cr3t-token-0123456789.example",
                                 "http://:s3cr3t-token-0123456789@",
                                 "https://[s3cr3t-token-0123456789]/",
                                 "https://[s3cr3t-token-0123456789/"])
def test_a_wrong_url_is_refused_without_showing_it(write, url):
    """A URL refused for its scheme, credentials or host is not echoed: what is wrong with it
    may be a secret pasted in."""
    manifest = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "route_mode: reject}\n")
    result = invoke("plan", manifest, "--api-url", url,
                    env={"MINIVOICE_API_KEY": "zzz-other-key-000000000000"})
    assert result.code == 1 and "the API URL" in result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr


def test_a_bad_state_file_named_after_its_key_does_not_show_the_key(write, state_file):
    """The state file's keys are masked as soon as they are read: an error about the file
    names it, and its name may hold one."""
    from .helpers import did

    key = "emu-key-bad-4d5e6f7a8b"  # its own: masking is for the whole process
    manifest = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "application: app_123, route_mode: reject}\n")
    state = state_file([did("+15551230002"), {"id": "did_9"}], name=f"{key}.json",
                       keys=[{"key": key, "customer_id": "cust_123",
                              "application_id": "app_123"}])
    result = invoke("plan", manifest, "--emulator", state)
    assert result.code == 1 and "emulator state file" in result.stderr
    assert key not in result.stdout + result.stderr


def test_a_state_file_replaced_while_it_is_read_is_read_again(state_file, monkeypatch):
    """Its signature is taken before it is read: one replaced meanwhile is not taken for what
    was read."""
    import json as json_module

    from mvconf.emulator import store as store_module

    from .helpers import did

    path = state_file([did("+15551230002")])
    real = store_module._read_state

    def replaced_meanwhile(where):
        data = real(where)
        text = json_module.loads(path.read_text())
        text["dids"][0]["route_mode"] = "reject"
        fresh = path.with_suffix(".new")
        fresh.write_text(json_module.dumps(text, indent=2))
        fresh.replace(path)
        return data

    monkeypatch.setattr(store_module, "_read_state", replaced_meanwhile)
    store = store_module.Store(path)
    monkeypatch.setattr(store_module, "_read_state", real)
    assert store.find_number("+15551230002")["route_mode"] == "webhook"
    store.refresh()
    assert store.find_number("+15551230002")["route_mode"] == "reject"


def test_an_unreadable_state_file_named_after_the_key_in_use_does_not_show_it(write, tmp_path):
    """The key variable's key is masked before the state file is read: a file that does not
    parse (its keys unknown) is named in the error."""
    key = "emu-key-unparsed-9a8b7c6d"  # its own: masking is for the whole process
    manifest = write("m.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", '
                     "application: app_123, route_mode: reject}\n")
    state = tmp_path / f"broken-{key}.json"
    state.write_text('{"api_keys": [')
    result = invoke("plan", manifest, "--emulator", state, env={"MINIVOICE_API_KEY": key})
    assert result.code == 1 and "emulator state file" in result.stderr
    assert key not in result.stdout + result.stderr
