"""Writing files so that a crash never leaves one half-written, and so that a user's path is
never turned into something else.

`write_atomic` writes a temp file beside the target, fsyncs it and renames it over the target.
For a path the user names (`--out`), `write_output` adds the checks that make that safe:

- only a regular file is written: a device (`/dev/null`), a directory or a FIFO is refused,
  where a rename would have replaced the device node or hung;
- a symlink is followed: its target is replaced and the link stays a link;
- an existing file keeps its permission bits (a new one gets 0644 less the umask);
- every error names the user's path, never a temp file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from mvconf.errors import InputError


def write_atomic(path: str | os.PathLike, text: str | Iterable[str],
                 mode: int | None = None) -> None:
    """Write a temp file beside `path`, fsync it, then rename it over `path`. `text` may be
    a string or an iterable of pieces, written as they come. `mode`: the new file's mode."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_output(path: str, text: str | Iterable[str]) -> None:
    """Write a file the user named, with the checks above; InputError names `path`."""
    target = Path(os.path.realpath(path))  # through a symlink to what it names
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise InputError(f"cannot write {path}: it is {kind}; give a file path")
    if not target.parent.is_dir():
        raise InputError(f"cannot write {path}: the directory {Path(path).parent} does not "
                         "exist")
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    try:
        write_atomic(target, text, mode)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
