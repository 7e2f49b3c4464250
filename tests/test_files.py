"""`--out` paths: only regular files are written; links, modes and the user's path are kept."""

from __future__ import annotations

import os
import stat

import pytest

from mvconf.core.errors import InputError
from mvconf.core.files import write_output


def test_a_device_is_refused_and_left_a_device():
    with pytest.raises(InputError, match="cannot write /dev/null: it is not a regular file"):
        write_output("/dev/null", "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        write_output(str(fifo), "x")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(InputError, match="it is a directory"):
        write_output(str(tmp_path), "x")


def test_a_missing_directory_names_the_users_path(tmp_path):
    with pytest.raises(InputError) as info:
        write_output(str(tmp_path / "nodir" / "plan.json"), "x")
    assert str(tmp_path / "nodir") in str(info.value) and ".tmp" not in str(info.value)


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_output(str(link), "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_an_existing_files_mode_is_kept(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old")
    path.chmod(0o644)
    write_output(str(path), "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_text() == "new"
    path.chmod(0o600)
    write_output(str(path), "newer")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_plan_out_errors_are_clear(cli, tmp_path):
    result = cli("plan", "examples/receptionist", "--emulator", "examples/receptionist/state.json",
                 "--out", tmp_path / "nodir" / "plan.json")
    assert result.code == 1 and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_root_rewriting_another_users_file_keeps_its_owner(tmp_path):
    path = tmp_path / "dids.yaml"
    path.write_text("version: 1\n")
    os.chown(path, 65534, 65534)
    path.chmod(0o664)
    write_output(str(path), "version: 1\ndids: []\n")
    info = path.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (65534, 65534, 0o664)
    assert path.read_text() == "version: 1\ndids: []\n"
