"""`mvconf apply` and `mvconf rollback`."""

from __future__ import annotations

import json
import os

import click

from mvconf.apply.journal import DEFAULT_PATH
from mvconf.cli import debug_option
from mvconf.commands.options import api_options, executor_option, target_option
from mvconf.console import print_lines
from mvconf.errors import InputError

journal_option = click.option("--journal", type=click.Path(dir_okay=False), default=DEFAULT_PATH,
                              show_default=True, help="Change log (JSON lines, append-only).")
mass_option = click.option("--allow-mass-change", is_flag=True,
                           help="Allow a plan where more than 30% of 10+ DIDs change.")
approve_option = click.option("--auto-approve", is_flag=True,
                              help="Write through the API without asking (needed without a TTY).")
wait_option = click.option("--wait", is_flag=True,
                           help="After printing manual steps, poll until they are made.")
wait_timeout_option = click.option("--wait-timeout", default=600.0, show_default=True,
                                   type=click.FloatRange(0),
                                   help="Seconds --wait polls before giving up (exit 3).")


def apply_options(conn, journal, auto_approve, wait, wait_timeout, allow_mass_change):
    from mvconf.apply.applier import ApplyOptions

    return ApplyOptions(journal=journal, auto_approve=auto_approve, wait=wait,
                        wait_timeout=wait_timeout, allow_mass_change=allow_mass_change,
                        parallelism=conn.parallelism)


def saved_plan_text(paths: tuple[str, ...]) -> str | None:
    """The text of a saved plan when the only argument is one (a JSON file with format_version)."""
    if len(paths) != 1 or not os.path.isfile(paths[0]) or paths[0].endswith((".yaml", ".yml")):
        return None
    try:
        with open(paths[0], encoding="utf-8") as handle:
            text = handle.read(64 * 1024 * 1024)
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError):
        raise InputError(f"{paths[0]} is neither a manifest (.yaml/.yml) nor a saved plan "
                         "(JSON from `mvconf plan --out`)") from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise InputError(f"{paths[0]} is JSON but not a saved plan (no format_version)")
    return text


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@executor_option
@approve_option
@wait_option
@wait_timeout_option
@journal_option
@mass_option
@target_option
@api_options
@debug_option
def apply(paths, executor, auto_approve, wait, wait_timeout, journal, allow_mass_change, targets,
          conn) -> int:
    """Make the changes: through the API, or as steps for a person (exit 3 while steps remain)."""
    from mvconf.apply.applier import apply_plan, retarget
    from mvconf.plan import render
    from mvconf.plan.model import load_plan, with_changes
    from mvconf.plan.safety import assess
    from mvconf.workflow import plan_from_manifests, select_targets_numbers

    opts = apply_options(conn, journal, auto_approve, wait, wait_timeout, allow_mass_change)
    saved = saved_plan_text(paths)
    target = conn.target()
    if saved is not None:
        plan = load_plan(saved, paths[0])
        keep = select_targets_numbers([c.number for c in plan.changes], targets)
        changes = retarget(plan, executor, lambda c: c.number in keep)
        plan = with_changes(plan, changes, assess(changes))
        opts.reviewed = True
    else:
        plan = plan_from_manifests(list(paths), conn, executor=executor or "manual",
                                   targets=targets, target=target)
        if plan.has_changes or plan.conflicts:
            print_lines(render.text_lines(plan))
    return apply_plan(plan, target, opts)


@click.command()
@journal_option
@click.option("--last", type=click.IntRange(1), default=None,
              help="Undo the last N applied or confirmed changes [default: the last run's].")
@executor_option
@approve_option
@wait_option
@wait_timeout_option
@mass_option
@api_options
@debug_option
def rollback(journal, last, executor, auto_approve, wait, wait_timeout, allow_mass_change,
             conn) -> int:
    """Restore the values recorded before the last applied changes."""
    from mvconf.apply.applier import apply_plan
    from mvconf.apply.rollback import rollback_plan
    from mvconf.plan import render
    from mvconf.workflow import now_utc

    target = conn.target()
    plan = rollback_plan(journal, last, executor or "manual", target, now_utc(), conn.parallelism)
    print_lines(render.text_lines(plan))
    opts = apply_options(conn, journal, auto_approve, wait, wait_timeout, allow_mass_change)
    return apply_plan(plan, target, opts)


COMMANDS = [apply, rollback]
