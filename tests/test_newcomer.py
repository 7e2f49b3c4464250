"""What a new user meets on the first day: errors that say where to look."""

from __future__ import annotations

from .helpers import KEY, many, mvconf, start, stop


def test_a_401_names_where_the_key_came_from(write, state_file, tmp_path):
    manifest, state = many(write, state_file, 2)
    proc, url = start(state)
    try:
        result = mvconf("plan", manifest, env={"MINIVOICE_API_KEY": "wrong-key-123456",
                                               "MINIVOICE_API_URL": url})
        assert result.returncode == 1
        assert "401" in result.stderr and "read from MINIVOICE_API_KEY" in result.stderr
        key_file = tmp_path / "key"
        key_file.write_text("another-wrong-key\n")
        result = mvconf("plan", manifest, "--api-key-file", key_file,
                        env={"MINIVOICE_API_URL": url, "MINIVOICE_API_KEY": KEY})
        assert result.returncode == 1 and f"the API key file {key_file}" in result.stderr
        assert "another-wrong-key" not in result.stderr
    finally:
        stop(proc)


def test_the_mass_change_warning_says_the_flag_was_given(write, state_file, tmp_path):
    from .helpers import invoke

    manifest, state = many(write, state_file, 12)
    plan = invoke("plan", manifest, "--emulator", state)
    assert "apply will refuse without --allow-mass-change" in plan.stdout
    result = invoke("apply", manifest, "--emulator", state, "--executor", "api",
                    "--auto-approve", "--allow-mass-change", "--journal", tmp_path / "j")
    assert result.code == 0, result.stderr
    assert "allowed by --allow-mass-change" in result.stdout
    assert "will refuse" not in result.stdout


def test_manual_steps_are_printed_once(write, state_file, tmp_path):
    from .helpers import invoke

    manifest, state = many(write, state_file, 1)
    result = invoke("apply", manifest, "--emulator", state, "--executor", "manual",
                    "--journal", tmp_path / "j")
    assert result.code == 3, result.stderr  # manual changes left to make (SPEC §6)
    step = next(line for line in result.stdout.splitlines() if line.strip().startswith("1. "))
    assert result.stdout.count(step.strip()) == 1, result.stdout


def test_the_project_executor_setting_and_the_journal_it_moved(write, state_file, tmp_path,
                                                              monkeypatch):
    from .helpers import invoke

    monkeypatch.chdir(tmp_path)
    manifest, state = many(write, state_file, 1)
    first = invoke("apply", manifest, "--emulator", state.name, "--executor", "api",
                   "--auto-approve")
    assert first.code == 0 and (tmp_path / ".mvconf" / "journal.jsonl").exists()
    (tmp_path / "mvconf.toml").write_text(
        '[defaults]\nexecutor = "api"\n\n[environments.staging]\n'
        f'api_key_env = "MINIVOICE_API_KEY_STAGING"\nemulator = "{state.name}"\n')
    result = invoke("rollback", "--env", "staging", "--auto-approve")
    assert result.code == 1
    assert "there is one at .mvconf/journal.jsonl" in result.stderr
    assert "--journal .mvconf/journal.jsonl" in result.stderr
    back = invoke("rollback", "--env", "staging", "--auto-approve", "--journal",
                  ".mvconf/journal.jsonl")
    assert back.code == 0, back.stderr  # through the API: the project's executor setting
    assert "1 applied" in back.stdout


def test_a_port_out_of_range_is_a_clear_url_error(write, state_file):
    from .helpers import invoke

    manifest, _ = many(write, state_file, 1)
    for url in ("http://127.0.0.1:99999", "http://127.0.0.1:abc"):
        result = invoke("plan", manifest, "--api-url", url, env={"MINIVOICE_API_KEY": KEY})
        assert result.code == 1 and "has a port that is not a number" in result.stderr


def test_a_symlinked_project_file_is_judged_by_its_target(tmp_path, monkeypatch, write):
    import os

    from .helpers import invoke

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may replace what is in here
    (shared / "mvconf.toml").write_text("max_dids = 5\n")
    project = tmp_path / "proj"
    project.mkdir()
    os.symlink(shared / "mvconf.toml", project / "mvconf.toml")
    write("proj/dids.yaml", 'version: 1\ndids:\n  - {number: "+15551230002", application: '
          "app_1, route_mode: webhook}\n")
    monkeypatch.chdir(project)
    result = invoke("validate", "dids.yaml")
    assert result.code == 1 and "writable by" in result.stderr
