"""`mvconf import`: bring existing DIDs under management."""

from __future__ import annotations

import click

from mvconf.commands.options import api_options, debug_option, project_options
from mvconf.errors import ApiError, ConfigError


@click.command(name="import")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the manifest here "
              "instead of stdout.")
@api_options
@project_options(needs_api=True)
@debug_option
def import_(numbers, out, conn, ctx) -> int:
    """Read live DIDs and print a manifest for them."""
    from mvconf.clock import utc_now
    from mvconf.commands.apply_view import TerminalView
    from mvconf.files import write_output
    from mvconf.importer import manifest_text
    from mvconf.numbers import to_e164
    from mvconf.session import Session

    wanted = []
    for raw in numbers:
        number = to_e164(raw)
        if number is None:
            raise ConfigError(f"{raw!r} is not a phone number in E.164 form")
        wanted.append(number)
    wanted = list(dict.fromkeys(wanted))
    session = Session(conn, TerminalView(), context=ctx)
    live = session.read_numbers(wanted)
    absent = [n for n, d in live.items() if d is None]
    if absent:
        raise ApiError(f"not in the account (404 not_found): {', '.join(absent)}; nothing written")
    text, warnings = manifest_text([live[n] for n in wanted], session.endpoint.label, utc_now())
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    if out:
        write_output(out, text)
        click.echo(f"Wrote {len(wanted) - len(warnings)} DID(s) to {out}.", err=True)
    else:
        click.echo(text, nl=False)
    return 0
