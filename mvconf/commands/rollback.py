"""`mvconf rollback`: restore the values recorded before the last applied changes."""

from __future__ import annotations

import click

from mvconf.commands.options import (
    api_options,
    apply_options,
    debug_option,
    default_executor,
    executor_option,
    project_options,
)


@click.command()
@click.option("--last", type=click.IntRange(1), default=None,
              help="Undo the last N applied or confirmed changes [default: the last run's].")
@executor_option
@api_options
@apply_options
@project_options(needs_api=True)
@debug_option
def rollback(last, executor, conn, opts, ctx) -> int:
    """Restore the values recorded before the last applied changes."""
    from mvconf.commands.apply_view import TerminalApplyView
    from mvconf.session import Session

    view = TerminalApplyView(opts.allow_mass_change)
    session = Session(conn, view, writes=True, lock_timeout=opts.lock_timeout, context=ctx)
    return session.rollback(last, executor=executor or default_executor(), opts=opts, view=view,
                            show=view.show_plan)
