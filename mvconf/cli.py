"""The command line: each command parses its flags and makes one call; one error boundary."""

from __future__ import annotations

import _signal  # signal's C half: `signal` itself imports enum first (about 10 ms)
import os


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C while this module imports what it needs (before `run` can catch it): the same
    message and exit code as later on, instead of a KeyboardInterrupt traceback."""
    os.write(2, b"Interrupted.\n")
    os._exit(130)


# First of all: only where Ctrl-C would raise KeyboardInterrupt; a SIGINT that is ignored (a
# background job) or handled by whoever imports this module is left as it is. Restored below,
# once imported.
_STARTING = _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
if _STARTING:
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)

import errno  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

# mvconf uses no pydantic plugins. Looking for them reads the metadata of every installed
# distribution when the first model is built (measured in ARCHITECTURE.md). Documented by
# pydantic; set it to "" to look for plugins anyway.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click  # noqa: E402

from mvconf import __version__  # noqa: E402
from mvconf.commands import COMMANDS  # noqa: E402
from mvconf.commands.options import State  # noqa: E402
from mvconf.core.errors import Interrupted, ManifestError, MvconfError  # noqa: E402
from mvconf.core.logs import redact  # noqa: E402
from mvconf.render.escape import terminal  # noqa: E402

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class OutputClosed(Exception):
    """stdout's reader went away (a broken pipe), while the command was printing."""


class LazyGroup(click.Group):
    """Commands imported when they are asked for, not all of them for every run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def invoke(self, ctx: click.Context):
        # click turns a broken pipe into a silent exit 1 before run() could say anything.
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
                raise OutputClosed from None
            raise

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), name)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="mvconf")
def cli() -> None:
    """Manage MiniVoice phone numbers (DIDs) as code."""


logging.getLogger("mvconf").addHandler(logging.NullHandler())
if _STARTING and _signal.getsignal(_signal.SIGINT) is _interrupted_while_starting:
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run a command and turn every outcome into an exit code (SPEC §6)."""
    # A plan makes millions of small objects that live to its end, almost none in cycles.
    # Python's default young-generation threshold (700) ran a collection, and in time full ones
    # over everything, every few hundred of them (ARCHITECTURE.md has the cost). Cycles are still
    # collected, in batches of 10,000 allocations, so servers (emulator, receive-events) stay
    # bounded.
    gc.set_threshold(10_000, 10, 10)
    code = run(argv)
    # The command is over: every file it wrote was closed (and synced) by the command itself,
    # its locks and temporary folders released by their `with` blocks. What is left is freeing
    # a plan's objects one by one at interpreter exit, 0.1 s of a 10,000-DID plan: skipped,
    # once what is printed has been flushed.
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None when started with that descriptor closed (>&-)
                stream.flush()
    except (OSError, ValueError):  # a closed pipe (`| head`): as Python itself would fail,
        code = code or (0 if _output_closed() else 1)  # unless an apply's views knew it
    os._exit(code)


def run(argv: list[str] | None = None) -> int:
    try:
        result = cli.main(args=argv, prog_name="mvconf", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return 130
    except click.ClickException as exc:  # usage errors exit 1, not click's 2 (SPEC §6)
        exc.show()
        return 1
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(terminal(str(problem)), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found.", err=True)
        return 1
    except Interrupted as exc:
        click.echo(str(exc), err=True)
        return exc.exit_code
    except MvconfError as exc:
        click.echo(f"Error: {terminal(redact(str(exc)))}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except (BrokenPipeError, OutputClosed):
        # The reader went away (`| head`): stop there, and say so where it can still be read.
        try:
            sys.stderr.write("mvconf: stopped: the output was closed (broken pipe)\n")
        except (OSError, AttributeError):
            pass
        return 1
    except OSError as exc:
        if exc.errno not in _WRITE_FAILED:
            return _bug(exc)
        # A full disk or a full /dev/full under stdout: the machine's problem, not a bug.
        click.echo(f"Error: cannot write: {exc.strerror or exc}", err=True)
        return 1
    except Exception as exc:  # a bug: say so briefly, the traceback only with --debug
        return _bug(exc)
    if _output_closed():
        try:  # stderr may have gone with stdout (`2>&1 | head`): the exit code stands
            sys.stderr.write("mvconf: the output was closed (broken pipe) before the run "
                             "ended; the rest was not shown\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
    return result if isinstance(result, int) else 0


def _output_closed() -> bool:
    views = sys.modules.get("mvconf.commands.views.apply")
    return bool(views and views.Output.closed)


_WRITE_FAILED = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


def _interrupted(exc: BaseException) -> bool:
    """Whether `exc` is Ctrl-C's KeyboardInterrupt, wrapped by a library it went through:
    pydantic's serializer turns it into an error whose message ends with its name (and its
    empty message)."""
    seen: BaseException | None = exc
    for _ in range(16):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt) or (
                type(seen).__name__ == "PydanticSerializationError"
                and str(seen).endswith(": KeyboardInterrupt: ")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _bug(exc: Exception) -> int:
    if _interrupted(exc):
        click.echo("Interrupted.", err=True)
        return 130
    click.echo(f"Error: unexpected {type(exc).__name__}: {terminal(redact(str(exc)))}",
               err=True)
    if State.debug:
        traceback.print_exc()
    else:
        click.echo("Run again with --debug for the traceback.", err=True)
    return 1

