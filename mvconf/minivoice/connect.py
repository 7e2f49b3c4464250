"""Which API to talk to and with which key: the rules for URLs and keys (SPEC §2).

An `Endpoint` is where requests go and how plans and journals name that place (`label`). Its key
is kept out of every repr. How requests get there (HTTP, or the emulator in-process) is decided
by the module that joins the stages, not here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from mvconf import __version__
from mvconf.errors import ConfigError
from mvconf.hosts import is_loopback
from mvconf.logs import register_secret

DEFAULT_URL = "https://api.minivoice.eu"
KEY_VARIABLE = "MINIVOICE_API_KEY"


@dataclass(frozen=True)
class Endpoint:
    """An API to talk to. `label` is what plans record as api_url; `key` never leaves here."""

    label: str
    key: str
    url: str | None = None  # None: not reached over HTTP (the in-process emulator)

    def __repr__(self) -> str:  # never show the key, even in a debugger or traceback
        return f"Endpoint(label={self.label!r})"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "User-Agent": f"mvconf/{__version__}",
                "Accept": "application/json"}


def api_endpoint(api_url: str | None, api_key_file: str | None) -> Endpoint:
    """The remote API from flags and environment, its URL checked and its key read."""
    key = _read_key(api_key_file)
    url = (api_url or os.environ.get("MINIVOICE_API_URL") or DEFAULT_URL).rstrip("/")
    _check_url(url)
    register_secret(key)
    return Endpoint(label=url, key=key, url=url)


def _read_key(api_key_file: str | None) -> str:
    if api_key_file:
        try:
            with open(api_key_file, encoding="utf-8") as handle:
                key = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the API key file {api_key_file}: "
                              f"{getattr(exc, 'strerror', None) or 'not text'}") from None
        if not key:
            raise ConfigError(f"the API key file {api_key_file} is empty")
        return key
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key:
        raise ConfigError(f"{KEY_VARIABLE} is not set (or empty); set it to your MiniVoice "
                          "application API key, or pass --api-key-file")
    return key


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the API URL {url!r} must be an http(s) URL such as {DEFAULT_URL}")
    if parts.username or parts.password:
        raise ConfigError("the API URL must not contain credentials; use MINIVOICE_API_KEY")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"refusing plain http to {parts.hostname}: the API key would travel "
                          "unencrypted; use https (plain http is allowed to loopback only)")
