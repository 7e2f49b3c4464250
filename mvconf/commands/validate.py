"""`mvconf validate`: check manifests offline."""

from __future__ import annotations

import click

from mvconf.commands.options import debug_option
from mvconf.errors import ManifestError


def _github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True,
              help="Also reject numbers that are not valid for their region.")
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text",
              show_default=True, help="github: GitHub Actions error annotations.")
@debug_option
def validate(paths: tuple[str, ...], strict: bool, fmt: str) -> int:
    """Check manifests offline (no API key needed). Exit 0 when valid, 1 otherwise."""
    from mvconf.manifest import load_desired

    try:
        desired = load_desired(list(paths), strict=strict)
    except ManifestError as exc:
        if fmt != "github":
            raise
        for p in exc.problems:
            click.echo(f"::error file={_github_escape(p.path, True)},line={p.line},col={p.column}"
                       f"::{_github_escape(p.message)}")
        click.echo(f"{len(exc.problems)} problem(s) found.", err=True)
        return 1
    click.echo(f"Valid: {len(desired)} DID(s) in {', '.join(paths) or '.'}.")
    return 0
