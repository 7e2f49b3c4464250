"""`mvconf schema`: print the JSON Schema of the manifest format."""

from __future__ import annotations

import click

from mvconf.commands.options import debug_option


@click.command()
@debug_option
def schema() -> int:
    """Print the JSON Schema of the manifest format."""
    from mvconf.manifest.schema import schema_text

    click.echo(schema_text(), nl=False)
    return 0
