"""Errors mvconf reports to people.

    MvconfError              anything that ends a command with exit 1 and a clean message
      ├── ManifestError      one or more problems in manifest files, each with path:line:column
      ├── ConfigError        missing key, refused URL, unusable flags
      ├── ApiError           the MiniVoice API (or the network to it) failed; status, code, message
      │     └── ApiUnreachable   no answer at all, after every retry
      ├── PlanError          a saved plan or journal that cannot be used (stale, wrong API,
      │                      threshold)
      ├── InputError         any other bad input file (events, state files)
      ├── Busy               another run holds the lock of a journal or state file
      └── Interrupted        SIGINT or SIGTERM ended the run (exit 130 or 143), after clean-up

Everything else that escapes a command is a bug: the CLI prints a short message and, with
`--debug`, the traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class MvconfError(Exception):
    """Root of the errors a user can cause or fix."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one manifest file, at a 1-based line and column."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class ManifestError(MvconfError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigError(MvconfError):
    pass


class PlanError(MvconfError):
    pass


class InputError(MvconfError):
    pass


class Busy(MvconfError):
    pass


class Interrupted(MvconfError):
    """The run was stopped by a signal; `exit_code` is 128 + its number (SPEC §14)."""

    def __init__(self, signum: int, message: str = "Interrupted."):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(message)


class ApiError(MvconfError):
    """The API answered with an error, or could not be reached.

    `status` is the HTTP status (None when no answer came), `code` and `message` come from the
    documented error envelope `{"error": {"code": ..., "message": ...}}` when the API sent one.
    """

    def __init__(
        self,
        summary: str,
        *,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        transient: bool | None = None,
    ):
        self.summary = summary
        self.status = status
        self.code = code
        self.api_message = message
        self._transient = transient
        super().__init__(self._text())

    def _text(self) -> str:
        if self.code:
            return (f"{self.summary}: MiniVoice answered {self.status} {self.code}: "
                    f"{self.api_message}")
        return self.summary

    def with_hint(self, hint: str) -> ApiError:
        """The same error, with `hint` (what the user can check) after the API's words."""
        copy = ApiError(self.summary, status=self.status, code=self.code,
                        message=self.api_message, transient=self._transient)
        copy.args = (f"{copy._text()}; {hint}",)
        return copy

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self._text()

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if sent again (SPEC §2, §10)."""
        if self._transient is not None:
            return self._transient
        return self.status is None or self.status == 429 or self.status >= 500


class ApiUnreachable(ApiError):
    """No answer came from the API for as long as retries were allowed (name not found,
    connection refused, TLS failure, timeouts). Every other request would fail the same way."""
