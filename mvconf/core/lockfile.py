"""One run at a time per file (SPEC §11): a lock beside it, held for the whole run.

filelock takes an OS lock (flock) on `PATH.lock`, which the kernel releases when the holder
dies, so a crashed run never leaves the file locked. Inside the lock file we write who holds it
(pid, host, start time, command), for two reasons: a second run can name the holder in its
error, and the next holder can say that it took over from a run that died without releasing.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import TracebackType

from mvconf.core.clock import utc_now
from mvconf.core.errors import Busy, MvconfError
from mvconf.core.files import read_bounded, require_regular


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_holder(info: dict) -> str:
    return (f"pid {info.get('pid')} on {info.get('host')}, {info.get('command', 'mvconf')} "
            f"started {info.get('started')}")


class RunLock:
    """`with RunLock(path, "apply", timeout):` holds `path.lock`; `took_over` names a dead
    previous holder, when there was one."""

    def __init__(self, path: str | os.PathLike, command: str, timeout: float = 0.0,
                 what: str = "the file"):
        self.target, self.what = path, what
        self.path = Path(f"{path}.lock")
        self.command = command
        self.timeout = timeout
        self.took_over: str | None = None
        from filelock import FileLock  # only runs that lock pay for importing it

        self._lock = FileLock(str(self.path), timeout=timeout, blocking=timeout > 0)

    def _read(self) -> dict:
        try:
            data = json.loads(read_bounded(self.path, "the lock file", 4096) or b"{}")
        except (OSError, ValueError, MvconfError):
            return {}
        return data if isinstance(data, dict) else {}

    def __enter__(self) -> RunLock:
        from filelock import Timeout

        # A device, FIFO or directory is never locked (no /dev/zero.lock) nor used (files.py).
        require_regular(self.target, self.what)
        require_regular(self.path, "the lock file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            holder = self._read()
            who = describe_holder(holder) if holder.get("pid") else "another run"
            wait = (f"after waiting {self.timeout:g}s" if self.timeout > 0
                    else "(pass --lock-timeout SECONDS to wait for it)")
            raise Busy(f"{self.path} is held by {who}; not started {wait}") from None
        except OSError as exc:
            raise Busy(f"cannot take the lock {self.path}: {exc.strerror}") from None
        previous = self._read()
        if previous.get("held") and previous.get("host") == socket.gethostname() and \
                isinstance(previous.get("pid"), int) and not _alive(previous["pid"]):
            self.took_over = describe_holder(previous)
        self._write(held=True)
        return self

    def _write(self, held: bool) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "started": utc_now(), "held": held}
        try:
            self.path.write_text(json.dumps(info) + "\n", encoding="utf-8")
        except OSError:
            pass  # the OS lock is what excludes; the note is only for messages

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._write(held=False)
        self._lock.release()
