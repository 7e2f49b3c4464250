"""Flags shared by every command that talks to the API."""

from __future__ import annotations

import functools

import click

from mvconf.workflow import Connection


def api_options(func):
    """--api-url, --api-key-file, --emulator and --parallelism, passed on as `conn`."""

    @click.option("--api-url", envvar=None, help="MiniVoice API base URL [env MINIVOICE_API_URL; "
                  "default https://api.minivoice.eu].")
    @click.option("--api-key-file", type=click.Path(dir_okay=False),
                  help="Read the API key from this file instead of MINIVOICE_API_KEY.")
    @click.option("--emulator", "emulator", type=click.Path(dir_okay=False, exists=True),
                  help="Run against an in-process emulator on this state file.")
    @click.option("--parallelism", default=8, show_default=True, type=click.IntRange(1, 256),
                  help="API requests in flight at once.")
    @functools.wraps(func)
    def wrapper(*args, api_url, api_key_file, emulator, parallelism, **kwargs):
        conn = Connection(api_url, api_key_file, emulator, parallelism)
        return func(*args, conn=conn, **kwargs)

    return wrapper


executor_option = click.option(
    "--executor", type=click.Choice(["api", "manual"]), default=None,
    help="Who makes each change: the API, or a person following printed steps [default: manual].")
target_option = click.option(
    "--target", "targets", multiple=True, metavar="NUMBER",
    help="Only this DID (repeatable), for exceptional use.")
