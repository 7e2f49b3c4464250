"""Which API a command uses and how: the flags every API-using command takes, as plain data. Kept
apart (and light) so that parsing the command line loads nothing of the stages. (Not a network
connection: those are the senders' lanes, in minivoice/direct.py.)"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RETRY_TIMEOUT = 300.0


@dataclass(frozen=True)
class ApiSettings:
    api_url: str | None = None
    api_key_file: str | None = None
    emulator: str | None = None
    parallelism: int | None = 8
    retry_timeout: float = DEFAULT_RETRY_TIMEOUT
