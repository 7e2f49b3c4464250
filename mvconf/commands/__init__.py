"""One module per command, named after it. `COMMANDS` maps each command's name to the module
that defines it and the function's name there: a run imports only its own command (click's
"lazily loading subcommands" pattern), and `--help` imports them all to list them."""

from __future__ import annotations

COMMANDS = {
    "apply": ("mvconf.commands.apply", "apply"),
    "diff": ("mvconf.commands.diff", "diff"),
    "emulator": ("mvconf.commands.emulator", "emulator"),
    "import": ("mvconf.commands.import_", "import_"),
    "plan": ("mvconf.commands.plan", "plan"),
    "receive-events": ("mvconf.commands.receive_events", "receive_events"),
    "rollback": ("mvconf.commands.rollback", "rollback"),
    "schema": ("mvconf.commands.schema", "schema"),
    "validate": ("mvconf.commands.validate", "validate"),
    "verify-events": ("mvconf.commands.verify_events", "verify_events"),
}
