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
