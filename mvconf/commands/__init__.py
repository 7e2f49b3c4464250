"""One module per command, named after it; `ALL` lists them in the order `--help` shows."""

from __future__ import annotations

from mvconf.commands.apply import apply
from mvconf.commands.diff import diff
from mvconf.commands.emulator import emulator
from mvconf.commands.import_ import import_
from mvconf.commands.plan import plan
from mvconf.commands.receive_events import receive_events
from mvconf.commands.rollback import rollback
from mvconf.commands.schema import schema
from mvconf.commands.validate import validate
from mvconf.commands.verify_events import verify_events

ALL = [validate, schema, plan, apply, rollback, import_, diff, emulator, receive_events,
       verify_events]
