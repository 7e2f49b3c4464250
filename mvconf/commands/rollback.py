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


def _older_journal(journal: str) -> None:
    """No journal where this project keeps it, but one at the default place: it was written
    before mvconf.toml (or its `journal` setting) moved the journal. Say where it is."""
    import os

    from mvconf.apply.journal import DEFAULT_PATH
    from mvconf.core.errors import InputError

    if os.path.lexists(journal) or journal == DEFAULT_PATH or not os.path.isfile(DEFAULT_PATH):
        return
    raise InputError(f"no journal at {journal}, but there is one at {DEFAULT_PATH} (written "
                     "before the project file set where this environment's journal goes); "
                     f"to roll back from it: mvconf rollback --journal {DEFAULT_PATH} ...")


@click.command()
@click.option("--last", type=click.IntRange(1), default=None, callback=lambda _c, _p, v:
              None if v is None else min(v, 10**9),  # more than any journal holds: all
              help="Undo the last N applied or confirmed changes [default: the last run's].")
@executor_option
@api_options
@apply_options
@project_options(needs_api=True)
@debug_option
def rollback(last, executor, api, opts, ctx) -> int:
    """Restore the values recorded before the last applied changes."""
    from mvconf.commands.views.apply import TerminalApplyView
    from mvconf.run import flows
    from mvconf.run.runtime import Runtime

    _older_journal(opts.journal)
    view = TerminalApplyView(opts.allow_mass_change)
    runtime = Runtime(api, ctx, view, writes=True, lock_timeout=opts.lock_timeout)
    return flows.rollback(runtime, last, executor=executor or default_executor(ctx), opts=opts,
                          view=view, show=view.show_plan)
