"""`mvconf verify-events`: check recorded calls against the manifests."""

from __future__ import annotations

import json
import sys

import click

from mvconf.commands.options import debug_option, project_options
from mvconf.core.errors import InputError

MAX_EVENTS_BYTES = 256 * 1024 * 1024


@click.command(name="verify-events")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--events", "events_path", required=True, type=click.Path(dir_okay=False,
              allow_dash=True), help="Events as JSON lines or a JSON array; - for stdin.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@project_options(needs_api=False)
@debug_option
def verify_events(paths, events_path, fmt, ctx) -> int:
    """Check recorded calls against the manifests (exit 2 when traffic contradicts them)."""
    from mvconf.commands.views.console import print_lines
    from mvconf.config.scope import scope_of
    from mvconf.events.verify import exit_code, read_events, text_report, verify
    from mvconf.manifest import load_desired

    desired = load_desired(ctx.manifest_paths(paths), scope=scope_of(ctx))
    try:
        if events_path == "-":  # bounded as a file is: a pipe from /dev/zero ends too
            raw = sys.stdin.buffer.read(MAX_EVENTS_BYTES + 1)
            if len(raw) > MAX_EVENTS_BYTES:
                raise InputError(f"the events on stdin are larger than {MAX_EVENTS_BYTES:,} "
                                 "bytes; they are not read")
            text = raw.decode("utf-8", errors="replace")
        else:
            from mvconf.core.files import read_bounded  # a regular file only: never /dev/zero

            text = read_bounded(events_path, "the events file", MAX_EVENTS_BYTES).decode(
                "utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read events from {events_path}: {exc.strerror}") from None
    result = verify(desired, read_events(text))
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        print_lines(text_report(result))
    for item in result["malformed"]:
        click.echo(f"{events_path}:{item['line']}: skipped: {item['problem']}", err=True)
    return exit_code(result)
