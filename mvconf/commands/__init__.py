"""One module per command; each defines a click command and `register` adds them all."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from mvconf.commands import (
        apply_cmds,
        emulator_cmd,
        events_cmds,
        import_cmd,
        manifest_cmds,
        plan_cmd,
    )

    for module in (manifest_cmds, plan_cmd, apply_cmds, import_cmd, emulator_cmd, events_cmds):
        for command in module.COMMANDS:
            group.add_command(command)
