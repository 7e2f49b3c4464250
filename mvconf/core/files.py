"""Writing files so that a crash never leaves one half-written, and so that a user's path is
never turned into something else.

`write_atomic` writes a temp file beside the target, fsyncs it and renames it over the target.
For a path the user names (`--out`), `write_output` adds the checks that make that safe:

- only a regular file is written: a device (`/dev/null`), a directory or a FIFO is refused,
  where a rename would have replaced the device node or hung;
- a symlink is followed: its target is replaced and the link stays a link;
- an existing file keeps its permission bits (a new one gets 0644 less the umask), and, when
  root rewrites it, its owner and group;
- every error names the user's path, never a temp file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from mvconf.core.errors import InputError


def write_atomic(path: str | os.PathLike, text: str | Iterable[str],
                 mode: int | None = None, owner: tuple[int, int] | None = None) -> None:
    """Write a temp file beside `path`, fsync it, then rename it over `path`. `text` may be
    a string or an iterable of pieces, written as they come. `mode`: the new file's mode;
    `owner`: the (uid, gid) it keeps, when a run as root rewrites another user's file (a
    checkout mounted into a container), so that its owner can still write it."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            if owner is not None and hasattr(os, "fchown") and os.geteuid() == 0 and \
                    owner != (os.geteuid(), os.getegid()):
                os.fchown(handle.fileno(), *owner)
            if mode is not None:  # after chown, which clears setuid and setgid
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
    try:
        replace_file(path, text)
    except OSError as exc:  # replace_file's own InputErrors name `path` already
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def replace_file(path: str | os.PathLike, text: str | Iterable[str]) -> None:
    """`write_output` without naming the path in errors (OSError is left to the caller, as
    from `write_atomic`): through a symlink, keeping an existing file's permission bits, only
    over a regular file (InputError)."""
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
    owner = (info.st_uid, info.st_gid) if info is not None else None
    write_atomic(target, text, mode, owner)


# Reading: every file mvconf reads (journals, saved plans, event logs, emulator state files) goes
# through `open_regular`, so a device (/dev/zero, /dev/full), a FIFO or a directory is refused
# at once, before anything is read or a lock is created beside it, and is read in bounded pieces.

MAX_LINE_BYTES = 1024 * 1024  # one journal or event line; longer is not a record


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def require_regular(path: str | os.PathLike, what: str) -> bool:
    """Whether `path` exists; InputError when it exists but is not a regular file (through a
    symlink). For a file mvconf will create or append to, checked before anything is written."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise InputError(f"cannot use {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {path} is {_kind(info.st_mode)}; only a regular file is "
                         "used")
    return True


def open_regular(path: str | os.PathLike, what: str, *, append: bool = False,
                 readable: bool = False):
    """A binary handle on the regular file `path`, for reading (or appending, creating it, and
    with `readable` reading it too). A FIFO is opened without blocking and refused, like a
    device or a directory; InputError names `what` and `path`. FileNotFoundError (when
    reading) is left to the caller."""
    access = os.O_RDWR if readable else os.O_WRONLY
    flags = (access | os.O_APPEND | os.O_CREAT) if append else os.O_RDONLY
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0),
                     0o666)
    except FileNotFoundError:
        raise
    except OSError as exc:  # a directory (EISDIR), a FIFO without a reader (ENXIO)...
        require_regular(path, what)
        raise InputError(f"cannot open {what} {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{what} {path} is {_kind(info.st_mode)}; only a regular file is "
                             "used")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, ("a+b" if readable else "ab") if append else "rb")


def read_bounded(path: str | os.PathLike, what: str, limit: int) -> bytes:
    """The whole regular file, refused (InputError) when larger than `limit` bytes."""
    with open_regular(path, what) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what} {path} is larger than {limit:,} bytes; it is not read")
    return data


def iter_lines(handle, max_line: int = MAX_LINE_BYTES):
    """(line number, bytes without the newline) for each line of a binary handle, read in
    pieces: memory is bounded by `max_line` whatever the file's size. A longer line is given
    as None (its bytes are skipped), for the caller to report by number."""
    number = 0
    while True:
        line = handle.readline(max_line + 1)
        if not line:
            return
        number += 1
        if len(line) > max_line and not line.endswith(b"\n"):
            while True:  # skip the rest of an overlong line, piece by piece
                rest = handle.readline(max_line)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line.rstrip(b"\n")
