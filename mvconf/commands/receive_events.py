"""`mvconf receive-events`: a small webhook receiver that records MiniVoice events."""

from __future__ import annotations

import click

from mvconf.commands.options import debug_option
from mvconf.errors import InputError


@click.command(name="receive-events")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8766, show_default=True, type=click.IntRange(0, 65535))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Append each webhook body here as one JSON line.")
@debug_option
def receive_events(host, port, out) -> int:
    """A small webhook receiver that records MiniVoice events for verify-events."""
    from mvconf.events.receiver import create_receiver
    from mvconf.serve import serve

    try:
        app = create_receiver(out)
    except OSError as exc:
        raise InputError(f"cannot open {out} for appending: {exc.strerror}") from None
    return serve(app, host, port)
