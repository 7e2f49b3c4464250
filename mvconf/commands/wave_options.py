"""`apply --waves` and the flags of its checks (SPEC §17), parsed into a WavePlan on `opts`."""

from __future__ import annotations

import functools

import click

ON_FAILURE = ("rollback", "stop")


def _sizes(_ctx, _param, value):
    if value is None:
        return None
    from mvconf.apply.waves import parse_sizes

    try:
        return parse_sizes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def wave_options(func):
    """Listed above apply_options, so that `opts` is there to carry the plan."""

    @click.option("--waves", "sizes", metavar="SIZES", callback=_sizes,
                  help="Write the plan's API changes in waves of these cumulative sizes, counts "
                  "or percentages of the writes (1,10%,100%), checking after each but the last.")
    @click.option("--wave-check", metavar="CMD",
                  help="Check a wave with CMD (through the shell; exit 0 passes). Its "
                  "environment has MVCONF_WAVE, MVCONF_WAVE_NUMBERS and MVCONF_JOURNAL.")
    @click.option("--wave-events", type=click.Path(dir_okay=False), metavar="FILE",
                  help="Check a wave with the calls receive-events records in FILE.")
    @click.option("--wave-min-calls", default=1, show_default=True, type=click.IntRange(1),
                  help="Calls each DID of a wave needs in --wave-events after the wave.")
    @click.option("--wave-timeout", default=600.0, show_default=True,
                  type=click.FloatRange(0, 86400, min_open=True),
                  help="Seconds a wave's checks may take (more than 0).")
    @click.option("--wave-wait", default=0.0, show_default=True,
                  type=click.FloatRange(0, 86400), help="Seconds to wait before checking a wave.")
    @click.option("--on-check-failure", type=click.Choice(ON_FAILURE), default="rollback",
                  show_default=True, help="After a failed check: restore every DID the run "
                  "changed, or leave them.")
    @functools.wraps(func)
    def wrapper(*args, sizes, wave_check, wave_events, wave_min_calls, wave_timeout, wave_wait,
                on_check_failure, opts, **kwargs):
        source = click.get_current_context().get_parameter_source
        given = [f"--{name.replace('_', '-')}" for name in (
            "wave_check", "wave_events", "wave_min_calls", "wave_timeout", "wave_wait",
            "on_check_failure") if source(name) == click.core.ParameterSource.COMMANDLINE]
        if sizes is None:
            if given:
                raise click.UsageError(f"{given[0]} is used only with --waves")
            return func(*args, opts=opts, **kwargs)
        if not wave_check and not wave_events:
            raise click.UsageError("--waves needs a check between waves: --wave-check CMD "
                                   "and/or --wave-events FILE (--wave-check true with "
                                   "--wave-wait S only pauses)")
        opts.waves = _plan(sizes, wave_check, wave_events, wave_min_calls, wave_timeout,
                           wave_wait, on_check_failure)
        return func(*args, opts=opts, **kwargs)

    return wrapper


def _plan(sizes, command, events, min_calls, timeout, wait, on_failure):
    from mvconf.apply.waves import CommandCheck, WavePlan
    from mvconf.events.wave_events import EventsCheck, check_readable

    checks = []
    if command:
        checks.append(CommandCheck(command))
    if events:
        check_readable(events)
        checks.append(EventsCheck(events, min_calls))
    return WavePlan(sizes, checks, wait=wait, timeout=timeout, on_failure=on_failure)
