"""`mvconf diff --base REV`: the desired state at a git revision against the working tree,
offline (no key, no network), for pull requests from forks, which get no secrets (SPEC §12)."""

from __future__ import annotations

import json

import click

from mvconf.commands.options import debug_option, project_options


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--base", "base", required=True, metavar="REV",
              help="The git revision to compare with (a branch, tag or commit).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 without differences, 2 with differences.")
@project_options(needs_api=False)
@debug_option
def diff(paths, base, fmt, detailed_exitcode, ctx) -> int:
    """Compare the manifests at a git revision with the working tree, offline."""
    from mvconf.commands.views.console import print_lines
    from mvconf.config.scope import scope_of
    from mvconf.core.errors import ManifestError, Problem
    from mvconf.manifest import load_desired
    from mvconf.manifest.compare import compare
    from mvconf.manifest.revision import manifests_at

    paths = ctx.manifest_paths(paths)
    scope = scope_of(ctx)
    with manifests_at(base, paths) as (old_paths, root):
        try:
            old = load_desired(old_paths, scope=scope) if old_paths else []
        except ManifestError as exc:
            raise ManifestError([Problem(p.path.replace(root + "/", f"{base}:", 1), p.line,
                                         p.column, p.message) for p in exc.problems]) from None
        old = [_at(d, root, base) for d in old]
    new = load_desired(paths, scope=scope)
    result = compare(old, new)
    if fmt == "json":
        click.echo(json.dumps(result.to_data(base), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        from mvconf.render.markdown import diff_markdown

        click.echo(diff_markdown(result, base), nl=False)
    else:
        print_lines(_text(result, base))
    return 2 if detailed_exitcode and result.any else 0


def _at(did, root: str, base: str):
    import dataclasses

    return dataclasses.replace(did, source=did.source.replace(root + "/", f"{base}:", 1))


def _text(result, base: str) -> list[tuple[str, str | None]]:
    lines: list[tuple[str, str | None]] = []
    for did in result.added:
        lines.append((f"+ {did.number}  added  ({did.source})", "green"))
    for did in result.removed:
        lines.append((f"- {did.number}  no longer managed  (was {did.source})", "red"))
    for did, fields in result.changed:
        lines.append((f"~ {did.number}  changed  ({did.source})", "yellow"))
        for name, values in fields.items():
            lines.append((f"    {name}: {json.dumps(values['from'], ensure_ascii=False)} -> "
                          f"{json.dumps(values['to'], ensure_ascii=False)}", None))
    if not result.any:
        lines.append((f"No differences from {base}.", "green"))
    counts = result.summary()
    lines.append((f"Diff against {base}: {counts['added']} added, {counts['removed']} removed, "
                  f"{counts['changed']} changed.", "bold"))
    return lines
