"""`mvconf import`: bring existing DIDs under management, or accept drift into the manifests
(SPEC §12)."""

from __future__ import annotations

import functools
import sys

import click

from mvconf.commands.options import api_options, debug_option, project_options
from mvconf.core.errors import ConfigError, InputError

MAX_LIST_BYTES = 4 * 1024 * 1024
EXIT_COMMENTED = 2


def read_numbers(given: tuple[str, ...], from_file: str | None) -> list[str]:
    """Numbers from the arguments and --from-file (one a line, # comments; - for stdin)."""
    from mvconf.core.phone import e164_problem

    raw = [(item, "") for item in given]  # (number, where it was read)
    if from_file:
        try:
            if from_file == "-":
                text = sys.stdin.read(MAX_LIST_BYTES + 1)
            else:
                with open(from_file, encoding="utf-8") as handle:
                    text = handle.read(MAX_LIST_BYTES + 1)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read numbers from {from_file}: "
                             f"{getattr(exc, 'strerror', None) or 'not UTF-8 text'}") from None
        if len(text) > MAX_LIST_BYTES:
            raise InputError(f"{from_file} is larger than {MAX_LIST_BYTES} bytes")
        lines = text.removeprefix("\ufeff").split("\n")  # a BOM, as manifests allow one
        raw += [(line.split("#", 1)[0].strip(), f"{from_file}:{number}: ")
                for number, line in enumerate(lines, 1)]
    numbers, problems = [], []
    for item, where in raw:  # the rules of `validate`: E.164 as manifests write it
        if not item:
            continue
        problem = e164_problem(item)
        if problem:
            problems.append(f"{where}number {item!r} {problem}")
        numbers.append(item)
    if problems:  # every bad number at once, as validate reports every problem
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"]
                                 if len(problems) > 20 else [])
        raise ConfigError("\n".join(shown))
    return list(dict.fromkeys(numbers))


@click.command(name="import")
@click.argument("numbers", nargs=-1)
@click.option("--from-file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Numbers to import, one a line (# comments); - for stdin.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the manifest here "
              "instead of stdout.")
@click.option("--into", "into", type=click.Path(exists=True),
              help="Merge into these manifests (a file or directory) instead: update drifted "
              "DIDs in place, keeping comments; with no NUMBER, every managed DID that drifted.")
@click.option("--no-ranges", is_flag=True, help="One entry per number, never a range.")
@api_options
@project_options(needs_api=True)
@debug_option
def import_(numbers, from_file, out, into, no_ranges, api, ctx) -> int:
    """Read live DIDs and write valid manifest entries for them (exit 2 when some could only be
    written as comments)."""
    from mvconf.commands.views.apply import TerminalView
    from mvconf.run import flows
    from mvconf.run.runtime import Runtime

    if out and into:
        raise click.UsageError("--out writes a new manifest and --into merges into existing "
                               "ones: give one of them")
    wanted = read_numbers(numbers, from_file)
    runtime = Runtime(api, ctx, TerminalView())
    if into:
        from mvconf.adopt.merge import accept_drift
        from mvconf.config.project import policy_of
        from mvconf.config.scope import scope_of
        from mvconf.core import clock

        others = {name: scope_of(ctx, name) for name in ctx.names
                  if ctx.environment and name != ctx.environment}
        from mvconf.run.ahead import read_ahead

        project = ctx.manifest_paths(()) if ctx.project else []
        ahead = read_ahead(api, ctx, [into])  # --emulator: read while the manifests load
        read = functools.partial(flows.read_numbers, runtime, ahead=ahead)
        try:
            return accept_drift(read, into, wanted, scope_of(ctx), _echo, others=others,
                                project=project, policy=policy_of(ctx), today=clock.today())
        finally:
            if ahead is not None:
                ahead.cancel()
    if not wanted:
        raise click.UsageError("give numbers (or --from-file), or --into PATH to accept drift")
    return _import_new(runtime, wanted, out, not no_ranges)


def _echo(line: str, err: bool = False) -> None:
    from mvconf.render.escape import terminal

    click.echo(terminal(line, one_line=True), err=err)


def _import_new(runtime, wanted: list[str], out: str | None, ranges: bool) -> int:
    from mvconf.adopt.merge import manifest_for, names_from
    from mvconf.config.project import policy_of
    from mvconf.config.scope import scope_of
    from mvconf.core import clock
    from mvconf.core.clock import utc_now
    from mvconf.core.files import write_output
    from mvconf.run import flows

    context = runtime.context
    names = names_from(context.manifest_paths(()) if context.project else [], scope_of(context))
    live = flows.read_numbers(runtime, wanted)
    absent = [n for n, d in live.items() if d is None]
    if absent:
        click.echo("Not in the account (404 not_found), skipped: " + ", ".join(absent), err=True)
    found = [d for d in live.values() if d is not None]
    text, skipped = manifest_for(found, names, ranges, runtime.endpoint.label, utc_now(),
                                 policy_of(context), clock.today())
    for line in skipped:
        click.echo(f"Warning: {line}; written as a comment", err=True)  # printable already
    if out:
        write_output(out, text)
        click.echo(f"Wrote {len(found) - len(skipped)} DID(s) to {out}.", err=True)
    else:
        click.echo(text, nl=False)
    return EXIT_COMMENTED if skipped else 0
