"""`mvconf validate`: check manifests offline, and the routing policy on what they say."""

from __future__ import annotations

import dataclasses
import functools
import json

import click

from mvconf.commands.options import debug_option, project_options
from mvconf.core.errors import ManifestError, MvconfError


def _github_escape(text: str, prop: bool = False) -> str:
    """GitHub's workflow-command escaping: data `%` `\\r` `\\n`; properties also `:` `,`."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _warn(warning, fmt: str) -> None:
    if fmt == "github":
        click.echo(f"::warning file={_github_escape(warning.path, True)},line={warning.line},"
                   f"col={warning.column}::{_github_escape(warning.message)}")
    else:
        click.echo(f"Warning: {warning}", err=True)


def _annotate(problems) -> None:
    for p in problems:
        click.echo(f"::error file={_github_escape(p.path, True)},line={p.line},col={p.column}"
                   f"::{_github_escape(p.message)}")
    click.echo(f"{len(problems)} problem(s) found.", err=True)


def _github_errors(func):
    """With --format github, every error is an escaped annotation, also those found before the
    command runs (the project file's): a newline in a TOML key or a file name cannot start a
    line of the log, so it cannot become a workflow command (SPEC §19)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs.get("fmt") != "github":
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except ManifestError as exc:
            _annotate(exc.problems)
        except MvconfError as exc:
            from mvconf.core.logs import redact

            click.echo(f"::error title=mvconf::{_github_escape(redact(str(exc)))}")
        return 1

    return wrapper


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True,
              help="Also reject numbers that are not valid for their region.")
@click.option("--format", "fmt", type=click.Choice(["text", "github", "sarif"]), default="text",
              show_default=True, help="github: GitHub Actions annotations; sarif: SARIF 2.1.0 "
              "for code scanning.")
@click.option("--skip-other-yaml", is_flag=True,
              help="In directories, check only YAML files with a top-level 'version: 1' or "
              "'dids:' line (for a repository with other YAML; the pre-commit hook's default).")
@_github_errors
@project_options(needs_api=False)
@debug_option
def validate(paths: tuple[str, ...], strict: bool, fmt: str, skip_other_yaml: bool,
             ctx) -> int:
    """Check manifests offline (no API key needed), and the routing policy on every value they
    would write. Exit 0 when valid (warnings allowed), 1 otherwise. Without --env, a project's
    manifests are checked in every environment."""
    from mvconf.config.project import policy_of
    from mvconf.config.scope import scope_of
    from mvconf.core import clock
    from mvconf.manifest import load_manifests
    from mvconf.manifest.findings import manifest_findings

    paths = tuple(ctx.manifest_paths(paths))
    environments = [ctx.environment] if ctx.environment or not ctx.names else list(ctx.names)
    counts, problems, findings, warned = [], [], {}, []
    today = clock.today()
    for name in environments:
        try:
            scope = dataclasses.replace(scope_of(ctx, name), skip_other_yaml=skip_other_yaml)
            loaded = load_manifests(list(paths), strict=strict, scope=scope)
            counts.append((name, len(loaded.dids)))
            for path in loaded.skipped if name == environments[0] else ():
                if fmt == "github":
                    click.echo(f"::warning file={_github_escape(str(path), True)}::not a "
                               "regular file; skipped")
                else:
                    click.echo(f"Warning: {path}: not a regular file; skipped", err=True)
            for warning in loaded.warnings:
                if warning not in warned:
                    warned.append(warning)
                    if fmt != "sarif":
                        _warn(warning, fmt)
            for finding in manifest_findings(loaded, policy_of(ctx, name), today):
                findings.setdefault(finding, []).append(name)
        except ManifestError as exc:
            problems += [p for p in exc.problems if p not in problems]
    found = sorted((f if len(names) == len(environments) else dataclasses.replace(
        f, message=f"{f.message} (environment {', '.join(names)})")
        for f, names in findings.items()),
        key=lambda f: (f.path, f.line, f.column, f.rule, f.value, f.level))
    if fmt == "sarif":
        from mvconf import __version__
        from mvconf.policy.sarif import sarif_log

        click.echo(json.dumps(sarif_log(found, __version__, sorted(problems)), indent=2))
        return 1 if problems or any(f.blocks for f in found) else 0
    try:
        if problems:
            raise ManifestError(sorted(problems))
    except ManifestError as exc:
        if fmt != "github":
            raise
        _annotate(exc.problems)
        return 1
    show_findings(found, fmt)
    errors = sum(f.blocks for f in found)
    if errors:
        click.echo(f"{errors} policy error(s) found.", err=True)
        return 1
    where = ", ".join(paths) or "."
    if environments == [None]:
        line = f"Valid: {counts[0][1]} DID(s) in {where}."
    else:
        each = ", ".join(f"{count} in {name}" for name, count in counts)
        line = f"Valid: {where}: DIDs {each}."
    click.echo(_github_escape(line) if fmt == "github" else line)
    return 0


def show_findings(findings, fmt: str) -> None:
    from mvconf.policy import describe, printable

    for f in findings:
        excepted = (f" (excepted until {f.exception['expires']}: {f.exception['reason']})"
                    if f.exception else "")
        if fmt == "github":
            kind = "notice" if f.exception else f.level
            click.echo(printable(f"::{kind} file={_github_escape(f.path, True)},line={f.line},"
                                 f"col={f.column},title={_github_escape(f.rule, True)}::"
                                 f"{_github_escape(f.message + excepted)}"))
        else:
            click.echo(describe(f), err=True)
