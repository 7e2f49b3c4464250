"""`mvconf emulator`: serve a MiniVoice-compatible API from a state file."""

from __future__ import annotations

import click

from mvconf.commands.options import debug_option


@click.command()
@click.option("--state", "state", required=True, type=click.Path(dir_okay=False),
              help="Emulator state file (JSON or YAML); writes are saved back to it.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="0 picks a free port.")
@click.option("--latency-ms", default=0.0, type=click.FloatRange(0), show_default=True,
              help="Delay every API response by this much.")
@click.option("--rate-limit", default=0, type=click.IntRange(0), show_default=True,
              help="Answer 429 beyond N API requests per second (0: no limit).")
@click.option("--rate-burst", default=0, type=click.IntRange(0), show_default=True,
              help="Make --rate-limit a token bucket: bursts of up to this many requests, "
              "refilled at --rate-limit a second (0: one-second fixed windows).")
@click.option("--fail-rate", default=0.0, type=click.FloatRange(0, 1), show_default=True,
              help="Answer this fraction of API requests with 503.")
@click.option("--drop-rate", default=0.0, type=click.FloatRange(0, 1), show_default=True,
              help="Carry out this fraction of API requests but close the connection instead "
              "of answering (a lost answer).")
@click.option("--seed", type=int, default=None,
              help="Make --fail-rate and --drop-rate repeatable.")
@click.option("--read-only", is_flag=True, help="Refuse API writes with 405, as an account "
              "without API writes does.")
@click.option("--allow-remote-webhooks", is_flag=True,
              help="Let test calls (POST /_account/calls) post to webhook URLs that are not on "
              "this machine.")
@debug_option
def emulator(state, host, port, latency_ms, rate_limit, rate_burst, fail_rate, drop_rate, seed,
             read_only, allow_remote_webhooks) -> int:
    """Serve a MiniVoice-compatible API for local work and tests."""
    from mvconf.core.logs import log_to_stderr
    from mvconf.emulator.app import create_app
    from mvconf.emulator.faults import Faults
    from mvconf.emulator.store import Store
    from mvconf.web.serve import serve

    log_to_stderr("mvconf.emulator")  # its own problems (a state file that no longer parses)

    store = Store(state, lock="mvconf emulator")
    faults = Faults(latency_ms=latency_ms, rate_limit=rate_limit, rate_burst=rate_burst,
                    fail_rate=fail_rate,
                    drop_rate=drop_rate, seed=seed)
    try:
        return serve(create_app(store, faults, read_only=read_only,
                                remote_webhooks=allow_remote_webhooks), host, port)
    finally:
        store.close()

