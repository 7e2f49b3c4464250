"""Every flag that more than one command takes, `--debug` included."""

from __future__ import annotations

import functools

import click

from mvconf.core.api_settings import ApiSettings
from mvconf.core.facts import JOURNAL_PATH


class State:
    """What the error boundary in cli.py needs to know of the running command."""

    debug = False


def debug_option(func):
    """`--debug` on every command, after its name: more detail and tracebacks of bugs."""

    @click.option("--debug", is_flag=True, help="Show more detail, and the traceback of a bug.")
    @functools.wraps(func)
    def wrapper(*args, debug: bool, **kwargs):
        State.debug = debug
        if debug:
            from mvconf.core.logs import enable_debug_logging

            enable_debug_logging()
        return func(*args, **kwargs)

    return wrapper


def api_options(func):
    """--api-url, --api-key-file, --emulator and --parallelism, passed on as `api`."""

    @click.option("--api-url", envvar=None, help="MiniVoice API base URL [env MINIVOICE_API_URL; "
                  "default https://api.minivoice.eu].")
    @click.option("--api-key-file", type=click.Path(dir_okay=False),
                  help="Read the API key from this file instead of MINIVOICE_API_KEY.")
    @click.option("--emulator", "emulator", type=click.Path(dir_okay=False, exists=True),
                  help="Run against an in-process emulator on this state file.")
    @click.option("--parallelism", default=None, type=click.IntRange(1, 256),
                  help="API requests in flight at once [default: 8, or the project's].")
    @click.option("--retry-timeout", default=300.0, show_default=True,
                  type=click.FloatRange(0, 86400),
                  help="Seconds to keep retrying one request through timeouts, connection errors "
                  "and 5xx answers (429s are waited out, not counted).")
    @functools.wraps(func)
    def wrapper(*args, api_url, api_key_file, emulator, parallelism, retry_timeout, **kwargs):
        api = ApiSettings(api_url, api_key_file, emulator, parallelism, retry_timeout)
        return func(*args, api=api, **kwargs)

    return wrapper


def _executor(_ctx, _param, value):
    from mvconf.plan.executor import Executor  # loaded when used, not to print --help

    return Executor(value) if value else None


def default_executor(ctx=None):
    """What --executor means when not given: the project's `executor` setting (its
    environment's, else its defaults'), else `manual` (SPEC §3)."""
    from mvconf.plan.executor import Executor

    chosen = ctx.setting("executor") if ctx is not None else None
    return Executor(chosen) if chosen else Executor.manual


executor_option = click.option(
    "--executor", type=click.Choice(["api", "manual"]), default=None, callback=_executor,
    help="Who makes each change: the API, or a person following printed steps [default: the "
    "project's `executor` setting, else manual].")
all_missing_option = click.option(
    "--allow-all-missing", is_flag=True,
    help="Plan even when none of the managed numbers is in the account (3 or more); without it "
    "that is an error, as it usually means a wrong API URL or key.")
changed_since_option = click.option(
    "--changed-since", "changed_since", metavar="REV",
    help="Read and plan only the DIDs whose desired state differs from git revision REV (a "
    "branch, tag or commit), and those REV did not manage; the others are not read (drift "
    "in them is a full plan's job).")
target_option = click.option(
    "--target", "targets", multiple=True, metavar="NUMBER",
    help="Only this DID (repeatable), for exceptional use.")
journal_option = click.option(
    "--journal", type=click.Path(dir_okay=False), default=None,
    help=f"Change log (JSON lines, append-only) [default: {JOURNAL_PATH}, or "
    ".mvconf/journal-ENV.jsonl with --env, or the project's].")
mass_option = click.option("--allow-mass-change", is_flag=True,
                           help="Allow a plan beyond the threshold (by default more than 30% of "
                           "10 or more managed DIDs changing).")
approve_option = click.option("--auto-approve", is_flag=True,
                              help="Write through the API without asking (needed without a TTY).")
wait_option = click.option("--wait", is_flag=True,
                           help="After printing manual steps, poll until they are made.")
wait_timeout_option = click.option("--wait-timeout", default=600.0, show_default=True,
                                   type=click.FloatRange(0),
                                   help="Seconds --wait polls before giving up (exit 3).")


def apply_options(func):
    """The flags apply and rollback share, passed on as `opts` (an ApplyOptions)."""

    @approve_option
    @wait_option
    @wait_timeout_option
    @journal_option
    @click.option("--lock-timeout", default=0.0, show_default=True, type=click.FloatRange(0),
                  help="Seconds to wait for another run holding the journal's lock.")
    @mass_option
    @click.option("--max-change-percent", default=None, type=click.IntRange(0, 100),
                  help="Refuse when more than this share of the managed DIDs would change "
                  "[default: 30, or the project's].")
    @click.option("--min-managed", default=None, type=click.IntRange(0),
                  help="The threshold applies from this many managed DIDs on [default: 10, or "
                  "the project's].")
    @functools.wraps(func)
    def wrapper(*args, auto_approve, wait, wait_timeout, journal, lock_timeout,
                allow_mass_change, max_change_percent, min_managed, **kwargs):
        from mvconf.apply.applier import ApplyOptions

        opts = ApplyOptions(journal=journal, auto_approve=auto_approve, wait=wait,
                            wait_timeout=wait_timeout, allow_mass_change=allow_mass_change,
                            max_change_percent=max_change_percent, min_managed=min_managed,
                            lock_timeout=lock_timeout, command=func.__name__)
        return func(*args, opts=opts, **kwargs)

    return wrapper


def project_options(needs_api: bool, allow_all: bool = False):
    """`--env NAME` and `--project FILE` (SPEC §9), resolved into `ctx` (a project Context).
    Listed below api_options and apply_options, so that it also settles what the flags left to
    the project: parallelism, the journal and the threshold."""

    def decorate(func):
        @click.option("--env", "env_name", metavar="NAME",
                      help="The environment of mvconf.toml to use (required when it defines "
                      "any, for commands that talk to the API)"
                      + ("; 'all' plans every environment." if allow_all else "."))
        @click.option("--project", "project_file", type=click.Path(dir_okay=False),
                      help="The project file [default: mvconf.toml here or in a parent].")
        @functools.wraps(func)
        def wrapper(*args, env_name, project_file, **kwargs):
            from mvconf.config.project import choose

            every = allow_all and env_name == "all"
            ctx = choose(project_file, None if every else env_name,
                         needs_api=needs_api and not every)
            if every and not ctx.names:
                raise click.UsageError("--env all: the project defines no environments")
            _settle(ctx, kwargs)
            return func(*args, ctx=ctx, every_env=every, **kwargs) if allow_all else \
                func(*args, ctx=ctx, **kwargs)

        return wrapper

    return decorate


def _settle(ctx, kwargs: dict) -> None:
    """Flags first, then the environment's settings, then [defaults], then the built-ins."""
    import dataclasses


    api = kwargs.get("api")
    if api is not None:
        parallelism = api.parallelism or ctx.setting("parallelism") or 8
        emulator = api.emulator if api.api_url else ctx.emulator(api.emulator)
        kwargs["api"] = api = dataclasses.replace(api, parallelism=parallelism,
                                                    emulator=emulator)
    opts = kwargs.get("opts")
    if opts is not None:
        from mvconf.plan.safety import MINIMUM_MANAGED, THRESHOLD_PERCENT

        opts.parallelism = api.parallelism if api else 8
        opts.journal = ctx.journal(opts.journal, JOURNAL_PATH)
        for name, builtin in (("max_change_percent", THRESHOLD_PERCENT),
                              ("min_managed", MINIMUM_MANAGED)):
            if getattr(opts, name) is None:
                configured = ctx.setting(name)
                setattr(opts, name, builtin if configured is None else configured)
