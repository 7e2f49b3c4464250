"""Work run in a forked child process while this one goes on: work that holds the CPU, on
another core, where a thread would wait for the GIL.

The child's work yields items; each is pickled and sent through a pipe as it is made (a thread
of the child writes them, so making the next never waits for this process to read), and
`items()` gives them here in order, while the event loop runs. Anything that goes wrong in the
child (an exception, an item that does not pickle, the child killed, stopped or stuck for
STALL seconds) only ends the items early, and `complete` stays False: what the caller did not
get, it does itself, as it would without a child, so every error and message is the one the
work gives in this process. The child writes nothing else anywhere.

Used only where `usable()`: Linux (fork is unsafe on macOS and absent on Windows), a second
CPU that nothing else is running on, FREE_DESCRIPTORS file descriptors to spare, and no other
thread (a thread holding a lock at the fork would hold it in the child forever).
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

_END = (0).to_bytes(4, "big")  # a frame of no bytes: every item was sent
_STOPS = {signal.SIGINT, signal.SIGTERM}
FREE_DESCRIPTORS = 64  # file descriptors left free under the limit, or no child
STALL = 10.0  # seconds without a byte from the child before it is given up (and killed)


def usable() -> bool:
    """Whether a child could run beside this process: Linux, a second CPU for this process that
    nothing else is running on, FREE_DESCRIPTORS to spare, and no thread but this one."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or \
            threading.active_count() != 1:
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
        if cpus < 2 or not second_cpu_free(cpus):
            return False
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        # The pipe takes two descriptors here and the child opens files of its own: never
        # where that could leave the run itself without one (`ulimit -n` set low).
        return soft == resource.RLIM_INFINITY or \
            soft - len(os.listdir("/proc/self/fd")) >= FREE_DESCRIPTORS
    except (OSError, ValueError):
        return False


def second_cpu_free(cpus: int) -> bool:
    """Whether fewer other processes are running right now than there are CPUs beside this
    one (/proc/loadavg's running count, this process included): on a busy machine a child
    only adds its own work to the queue (a 10,000-DID plan, 1.39 -> 1.60 s)."""
    try:
        with open("/proc/loadavg", "rb") as handle:
            running = int(handle.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return True
    return running - 1 < cpus - 1


class Forked:
    """`work()` running in a child process from the moment this is made."""

    def __init__(self, work: Callable[[], Iterable[Any]]):
        read, write = os.pipe()
        # Ctrl-C or a stop held off across the fork: one arriving meanwhile would otherwise
        # raise in the child's own start (a traceback on the user's terminal); here it is
        # delivered as soon as the fork is done.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            self._pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read)
            os.close(write)
            raise
        if self._pid == 0:  # the child: never returns
            os.close(read)
            _child(work, write, held)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(write)
        self._read: int | None = read  # the pipe's end here, read without blocking
        os.set_blocking(read, False)
        self.complete = False  # whether every item of the work came

    async def items(self, stall: float | None = None) -> AsyncIterator[Any]:
        """The work's items as they come, until the last or until the child stops: it failed,
        was killed, or sent nothing for `stall` seconds (stopped, or stuck: it is killed). The
        event loop runs while this waits, so a signal is handled at once."""
        fd = self._read
        if fd is None:
            return
        stall = STALL if stall is None else stall
        loop = asyncio.get_running_loop()
        buffer = bytearray()
        try:
            while True:
                while len(buffer) < 4 or len(buffer) < 4 + int.from_bytes(buffer[:4], "big"):
                    if not await _readable(loop, fd, stall):
                        return  # silent for too long: killed by cancel() below
                    try:
                        data = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        continue
                    if not data:
                        return  # cut short: the child failed or was killed
                    buffer += data
                size = int.from_bytes(buffer[:4], "big")
                if size == 0:
                    self.complete = True
                    return
                frame = bytes(buffer[4:4 + size])
                del buffer[:4 + size]
                yield _unpickled(frame)
        except OSError:  # closed by cancel(), or broken
            return
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop the child, if it is still running, and forget it."""
        if self._pid > 0:
            if not self.complete:
                try:
                    os.kill(self._pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:
                pass
            self._pid = 0
        if self._read is not None:
            os.close(self._read)
            self._read = None


async def _readable(loop: asyncio.AbstractEventLoop, fd: int, timeout: float) -> bool:
    """Whether `fd` has bytes to read within `timeout` seconds. Not asyncio.wait_for: before
    Python 3.12 it can swallow a cancellation (Ctrl-C's) that comes as the wait ends."""
    ready = loop.create_future()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(True))
    timer = loop.call_later(timeout, lambda: ready.done() or ready.set_result(False))
    try:
        return await ready
    finally:
        timer.cancel()
        loop.remove_reader(fd)


def _unpickled(data: bytes) -> Any:
    # Many new objects that live on: collections while they are made would go over them again
    # and again for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)  # noqa: S301 - written by this process's own child
    finally:
        if enabled:
            gc.enable()


def _child(work: Callable[[], Iterable[Any]], write: int, held: Any) -> None:
    code = 0
    try:
        # Ctrl-C and a stop reach the whole process group: the child ends at once, silently;
        # the parent reports the stop. Nothing it could print reaches the user's terminal.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        os.close(quiet)
        frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        broken = threading.Event()

        def writer() -> None:
            try:
                while (frame := frames.get()) is not None:
                    view = memoryview(frame)
                    while view:
                        view = view[os.write(write, view):]
            except OSError:  # the parent is gone, or stopped reading
                broken.set()

        sender = threading.Thread(target=writer, daemon=True)
        sender.start()
        try:
            for item in work():
                if broken.is_set():
                    break
                data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
                frames.put(len(data).to_bytes(4, "big") + data)
            else:
                frames.put(_END)
        except BaseException:  # noqa: BLE001 - the items end early; the parent does the rest
            code = 1
        frames.put(None)
        sender.join()
    except BaseException:  # noqa: BLE001 - the parent reads a short stream as a failure
        code = 1
    finally:
        os._exit(code)
