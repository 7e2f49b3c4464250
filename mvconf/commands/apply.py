"""`mvconf apply`: make the changes, through the API or as steps for a person."""

from __future__ import annotations

import os

import click

from mvconf.commands.options import (
    all_missing_option,
    api_options,
    apply_options,
    changed_since_option,
    debug_option,
    default_executor,
    executor_option,
    project_options,
    target_option,
)
from mvconf.commands.wave_options import wave_options
from mvconf.core.errors import InputError


def saved_plan_text(paths: tuple[str, ...]) -> str | None:
    """The text of a saved plan when the only argument is one (a JSON file with format_version).
    A saved plan among manifest paths is a usage error (SPEC §11)."""
    if len(paths) > 1:
        plans = [p for p in paths if p.endswith(".json") and os.path.isfile(p)]
        if plans:
            raise click.UsageError(f"{plans[0]} looks like a saved plan: a saved plan is "
                                   "applied alone (`mvconf apply PLAN.json`), not with manifest "
                                   "paths")
        return None
    if len(paths) != 1 or not os.path.isfile(paths[0]) or paths[0].endswith((".yaml", ".yml")):
        return None
    from mvconf.core.files import read_bounded  # a regular file of bounded size only
    from mvconf.core.jsontext import loads  # strict JSON, of bounded depth
    from mvconf.core.text import printable

    try:
        raw = read_bounded(paths[0], "the saved plan", 64 * 1024 * 1024)
        text = raw.decode("utf-8")
        data = loads(raw)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = "" if isinstance(exc, OSError) else " (not UTF-8)" if isinstance(
            exc, UnicodeDecodeError) else f" ({printable(str(exc)[:120])})"
        raise InputError(f"{paths[0]} is neither a manifest (.yaml/.yml) nor a saved plan "
                         f"(JSON from `mvconf plan --out`){why}") from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise InputError(f"{paths[0]} is JSON but not a saved plan (no format_version)")
    return text


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]... | PLAN_FILE")
@executor_option
@target_option
@changed_since_option
@all_missing_option
@click.option("--checksum", metavar="HEX",
              help="Apply only if the plan's checksum is this (the one shown when it was "
              "reviewed); otherwise change nothing.")
@api_options
@apply_options
@wave_options
@project_options(needs_api=True)
@debug_option
def apply(paths, executor, targets, changed_since, allow_all_missing, checksum, api, opts,
          ctx) -> int:
    """Make the changes: through the API, or as steps for a person (exit 3 while steps remain).

    PATH: manifests (files or directories; default: the project's `manifests`). PLAN_FILE: a
    plan saved with `mvconf plan --out`, applied as it was reviewed."""
    import dataclasses

    from mvconf.commands.views.apply import TerminalApplyView
    from mvconf.plan.model import load_plan
    from mvconf.run import flows
    from mvconf.run.runtime import Runtime

    opts = dataclasses.replace(opts, checksum=checksum)
    view = TerminalApplyView(opts.allow_mass_change)
    runtime = Runtime(api, ctx, view, writes=True, lock_timeout=opts.lock_timeout)
    saved = saved_plan_text(paths)
    if saved is not None:
        if changed_since:
            raise click.UsageError("--changed-since chooses what a new plan reads; a saved "
                                   "plan is applied as it was reviewed (its scope is in it)")
        plan = load_plan(saved, paths[0])
        return flows.apply_saved(runtime, plan, executor=executor, targets=targets, opts=opts,
                                 view=view)
    request = flows.PlanRequest(executor or default_executor(ctx), targets, allow_all_missing,
                                changed_since, tuple(paths))
    return flows.apply(runtime, ctx.manifest_paths(paths), request, opts=opts, view=view,
                       show=view.show_changes)
