"""Logging for `--debug`, with the API key masked wherever it might appear."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

# Secrets are matched in any case: an API (or a proxy, or a log pipeline) that upper-cases what
# it echoes would otherwise show the key with only the case of its letters lost.
_SECRETS: set[str] = set()  # lower-cased
_SECRET_BYTES: set[bytes] = set()  # the same, encoded once: searched in every API answer
_PATTERN: list[re.Pattern | None] = [None]  # every secret, any case; rebuilt when one is added
_AUTH = re.compile(r"(?i)(authorization['\"]?\s*[:,=]\s*\(?['\"]?(b['\"])?bearer\s+)[^\s'\"),]+")


# A shorter "secret" cannot be told apart from ordinary text: masking it would mangle every
# value that happens to contain it (a one-letter emulator key would turn "webhook" into
# "webhoo***"). Real MiniVoice keys are far longer.
MIN_SECRET_LENGTH = 8


def register_secret(secret: str) -> None:
    """Remember a secret so that no log line, message, plan or journal ever shows it."""
    lowered = secret.lower()
    if len(lowered) >= MIN_SECRET_LENGTH and lowered not in _SECRETS:
        _SECRETS.add(lowered)
        _SECRET_BYTES.add(lowered.encode("utf-8", "replace"))
        longest_first = sorted(_SECRETS, key=len, reverse=True)
        _PATTERN[0] = re.compile("|".join(map(re.escape, longest_first)), re.IGNORECASE)


def redact(text: str) -> str:
    pattern = _PATTERN[0]
    if pattern is not None:
        text = pattern.sub("***", text)
    return _AUTH.sub(r"\1***", text)


def contains_secret(data: bytes) -> bool:
    if not _SECRET_BYTES:
        return False
    lowered = data.lower()  # ASCII letters only, as keys are printable ASCII
    return any(secret in lowered for secret in _SECRET_BYTES)


def holds_secret(text: str) -> bool:
    """Whether `text` holds a registered secret, in any case (what `redact` would mask, bar
    the Authorization pattern), without building the masked text."""
    if not _SECRETS:
        return False
    lowered = text.lower()
    return any(secret in lowered for secret in _SECRETS)


def redact_data(value: Any) -> Any:
    """`value` (parsed JSON) with every registered secret masked in its strings and keys."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    if isinstance(value, dict):
        return {redact(k): redact_data(v) for k, v in value.items()}
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def enable_debug_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    for name in ("mvconf", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        logger.propagate = False


def log_to_stderr(name: str, level: int = logging.WARNING) -> None:
    """Messages of logger `name` at `level` and above on stderr, as they are (a server's own
    log); the key is masked as in --debug."""
    logger = logging.getLogger(name)
    if any(getattr(h, "mvconf_stderr", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.mvconf_stderr = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    logger.addHandler(handler)
    if not logger.level or logger.level > level:
        logger.setLevel(level)
