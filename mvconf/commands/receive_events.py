"""`mvconf receive-events`: a small webhook receiver that records MiniVoice events."""

from __future__ import annotations

import os

import click

from mvconf.commands.options import debug_option
from mvconf.core.errors import ConfigError, InputError


@click.command(name="receive-events")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8766, show_default=True, type=click.IntRange(0, 65535))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Append each webhook body here as one JSON line (a regular file).")
@click.option("--path", "hook_path", default=None,
              help="Accept webhooks on this one path only (any other is a 404) [default: any "
              "path].")
@click.option("--token-env", metavar="NAME", default=None,
              help="Require the secret in environment variable NAME in each webhook's "
              "X-Mvconf-Token header.")
@debug_option
def receive_events(host, port, out, hook_path, token_env) -> int:
    """A small webhook receiver that records MiniVoice events for verify-events."""
    from mvconf.core.logs import register_secret
    from mvconf.events.receiver import create_receiver
    from mvconf.web.serve import serve

    if hook_path is not None and not hook_path.startswith("/"):
        raise ConfigError(f"--path must start with '/': {hook_path!r}")
    token = None
    if token_env is not None:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise ConfigError(f"--token-env {token_env}: {token_env} is not set (or empty)")
        if not (token.isascii() and token.isprintable()):
            raise ConfigError(f"--token-env {token_env}: the secret must be printable ASCII")
        register_secret(token)
    try:
        app = create_receiver(out, hook_path, token)
    except OSError as exc:
        raise InputError(f"cannot open {out} for appending: {exc.strerror}") from None
    return serve(app, host, port)
