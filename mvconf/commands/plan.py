"""`mvconf plan`: show what differs between the manifests and the live account."""

from __future__ import annotations

import click

from mvconf.commands.options import (
    all_missing_option,
    api_options,
    debug_option,
    executor_option,
    target_option,
)
from mvconf.plan.change import Executor


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Also save the JSON plan here, "
              "for `mvconf apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 without changes, 2 with changes.")
@click.option("--strict", is_flag=True, help="Reject numbers that are not valid for their region.")
@executor_option
@target_option
@all_missing_option
@api_options
@debug_option
def plan(paths, fmt, out, detailed_exitcode, strict, executor, targets, allow_all_missing,
         conn) -> int:
    """Read the live account and show what would change."""
    from mvconf.commands.apply_view import TerminalView
    from mvconf.commands.console import print_lines, write_chunks
    from mvconf.files import write_output
    from mvconf.plan import render
    from mvconf.session import Session

    result = Session(conn, TerminalView()).plan(
        list(paths), executor=executor or Executor.manual, strict=strict, targets=targets,
        allow_all_missing=allow_all_missing)
    if out:
        write_output(out, result.json_chunks())
    if fmt == "text":
        print_lines(render.text_lines(result))
    elif fmt == "json":
        write_chunks(result.json_chunks())
    else:
        click.echo(render.render(result, fmt), nl=False)
    if result.conflicts:
        click.echo(f"Error: {len(result.conflicts)} DID(s) in conflict with their pinned id: "
                   + ", ".join(c.number for c in result.conflicts), err=True)
        return 1
    return 2 if detailed_exitcode and result.has_changes else 0
