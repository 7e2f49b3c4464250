"""Where the API is and which key to use: environment, flags, or the in-process emulator."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mvconf import __version__
from mvconf.errors import ConfigError
from mvconf.logs import register_secret
from mvconf.minivoice.client import MiniVoiceClient

DEFAULT_URL = "https://api.minivoice.eu"
TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS = 15.0, 5.0


@dataclass(frozen=True)
class Target:
    """An API to talk to. `label` is what plans record as api_url; `key` never leaves here."""

    label: str
    key: str
    url: str | None = None  # None: the in-process emulator
    emulator_store: object | None = field(default=None, compare=False)

    def __repr__(self) -> str:  # never show the key, even in a debugger or traceback
        return f"Target(label={self.label!r})"


def resolve_target(api_url: str | None, api_key_file: str | None, emulator: str | None) -> Target:
    if emulator:
        return _emulator_target(emulator)
    key = _read_key(api_key_file)
    url = (api_url or os.environ.get("MINIVOICE_API_URL") or DEFAULT_URL).rstrip("/")
    _check_url(url)
    register_secret(key)
    return Target(label=url, key=key, url=url)


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
    key = os.environ.get("MINIVOICE_API_KEY", "").strip()
    if not key:
        raise ConfigError("MINIVOICE_API_KEY is not set (or empty); set it to your MiniVoice "
                          "application API key, or pass --api-key-file")
    return key


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the API URL {url!r} must be an http(s) URL such as {DEFAULT_URL}")
    if parts.username or parts.password:
        raise ConfigError("the API URL must not contain credentials; use MINIVOICE_API_KEY")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(f"refusing plain http to {parts.hostname}: the API key would travel "
                          "unencrypted; use https (plain http is allowed to loopback only)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _emulator_target(state_path: str) -> Target:
    from mvconf.emulator.store import Store

    store = Store(state_path)
    wanted = os.environ.get("MINIVOICE_API_KEY", "").strip()
    key = wanted if wanted and store.customer_of(wanted) else store.first_key()
    register_secret(key)
    return Target(label=f"emulator:{state_path}", key=key, emulator_store=store)


@asynccontextmanager
async def open_client(target: Target, parallelism: int = 8,
                      **options) -> AsyncIterator[MiniVoiceClient]:
    """`parallelism` keep-alive connections for the whole run, or the emulator in-process."""
    headers = {"Authorization": f"Bearer {target.key}",
               "User-Agent": f"mvconf/{__version__}", "Accept": "application/json"}
    if target.url is None:
        from mvconf.emulator.inprocess import InProcessSender

        yield MiniVoiceClient(InProcessSender(target.emulator_store, headers), **options)
        return
    import httpx

    from mvconf.minivoice.http import open_lanes

    timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    async with open_lanes(parallelism, base_url=target.url, headers=headers, timeout=timeout,
                          follow_redirects=False) as sender:
        yield MiniVoiceClient(sender, **options)
