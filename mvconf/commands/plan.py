"""`mvconf plan`: show what differs between the manifests and the live account."""

from __future__ import annotations

import click

from mvconf.commands.options import (
    all_missing_option,
    api_options,
    changed_since_option,
    debug_option,
    default_executor,
    executor_option,
    project_options,
    target_option,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Also save the JSON plan here, "
              "for `mvconf apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 without changes, 2 with changes.")
@click.option("--strict", is_flag=True, help="Reject numbers that are not valid for their region.")
@executor_option
@target_option
@changed_since_option
@all_missing_option
@api_options
@project_options(needs_api=True, allow_all=True)
@debug_option
def plan(paths, fmt, out, detailed_exitcode, strict, executor, targets, changed_since,
         allow_all_missing, api, ctx, every_env) -> int:
    """Read the live account and show what would change (`--env all`: one plan per
    environment, each against its own account)."""
    if not (every_env or targets or changed_since is not None or api.emulator):
        from mvconf.run.early import plan_early  # reads while the rest is imported

        def prepare():
            from mvconf.commands.views.apply import TerminalView
            from mvconf.run import flows

            return (flows.PlanRequest(executor or default_executor(ctx), (), allow_all_missing,
                                      None, tuple(paths)), TerminalView())

        early = plan_early(api, ctx, ctx.manifest_paths(paths), prepare, strict=strict)
        if early is not None:
            return finish([early], fmt, out, detailed_exitcode, every_env=False)
    import dataclasses

    from mvconf.commands.views.apply import TerminalView
    from mvconf.run import flows
    from mvconf.run.runtime import Runtime

    if every_env and out:
        raise click.UsageError("--out saves one plan: use --env NAME with --out")
    if every_env:
        _one_account_each(ctx, api)
    names = ctx.names if every_env else (ctx.environment,)
    plans = []
    for name in names:
        context, each = ctx, api
        if every_env:
            context = dataclasses.replace(ctx, environment=name)
            each = api if api.api_url else dataclasses.replace(
                api, emulator=context.emulator(api.emulator))
        request = flows.PlanRequest(executor or default_executor(ctx), targets,
                                    allow_all_missing, changed_since, tuple(paths))
        plans.append(flows.plan(Runtime(each, context, TerminalView()),
                                ctx.manifest_paths(paths), request, strict=strict))
    return finish(plans, fmt, out, detailed_exitcode, every_env)


def finish(plans, fmt: str, out, detailed_exitcode: bool, every_env: bool) -> int:
    """Save, show and judge the plans made: the exit code."""
    from mvconf.core.files import write_output
    from mvconf.policy import printable

    if out:
        write_output(out, plans[0].json_chunks())
    show(plans, fmt, every_env)
    conflicts = [c for p in plans for c in p.conflicts]
    if conflicts:
        click.echo(f"Error: {len(conflicts)} DID(s) in conflict with their pinned id: "
                   + ", ".join(c.number for c in conflicts), err=True)
        return 1
    errors = [f for p in plans for f in p.policy_errors]
    if errors:  # SPEC §15: shown (and saved with --out) for review, but not to be applied
        click.echo(f"Error: {len(errors)} routing-policy error(s): "
                   + ", ".join(printable(f"{f['number']} {f['rule']}") for f in errors[:10])
                   + (" ..." if len(errors) > 10 else ""), err=True)
        return 1
    return 2 if detailed_exitcode and any(p.has_changes for p in plans) else 0


def _one_account_each(ctx, api) -> None:
    """`--env all` plans each environment against its own API with its own key: one URL or key
    given for the whole run would send every environment's key to one host, or one key to
    every host. An --emulator state file stands for one account, so it is refused too."""
    import dataclasses
    import os

    given = [name for name, value in (("--api-url", api.api_url),
                                      ("--api-key-file", api.api_key_file),
                                      ("--emulator", api.emulator)) if value]
    remote = [n for n in ctx.names if not dataclasses.replace(ctx, environment=n).emulator(None)]
    if os.environ.get("MINIVOICE_API_URL", "").strip() and len(remote) > 1:
        given.append("MINIVOICE_API_URL")
    if given:
        raise click.UsageError(f"--env all plans each environment against its own account: "
                               f"{' and '.join(given)} would make one API or key serve them "
                               "all. Unset it, or plan one environment with --env NAME")


def show(plans, fmt: str, every_env: bool) -> None:
    from mvconf.commands.views.console import print_lines, write_chunks
    from mvconf.render import text as render

    if fmt == "json":
        if not every_env:
            write_chunks(plans[0].json_chunks())
            return
        pieces = ['{"environments": {']
        for index, plan in enumerate(plans):
            pieces.append(("" if index == 0 else ", ") + f'"{plan.environment}": ')
            pieces.extend(plan.json_chunks())
        pieces.append("}}\n")
        write_chunks(pieces)
        return
    if fmt == "markdown" and every_env:
        from mvconf.render.markdown import every_environment

        click.echo(every_environment(plans, [render.summary_line(p) for p in plans]), nl=False)
        return
    for plan in plans:
        if every_env:
            heading = f"Environment {plan.environment} ({plan.api_url})"
            print_lines([(f"== {heading}", "bold")])
        if fmt == "text":
            print_lines(render.text_lines(plan))
        else:
            from mvconf.render.formats import render as in_format  # markdown's modules: only now

            click.echo(in_format(plan, fmt), nl=False)
        if every_env and fmt == "text" and plan is not plans[-1]:
            click.echo("")
