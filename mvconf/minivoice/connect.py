"""Which API to talk to and with which key: the rules for URLs and keys (SPEC §2).

An `Endpoint` is where requests go and how plans and journals name that place (`label`). Its key
is kept out of every repr. How requests get there (HTTP, or the emulator in-process) is decided
by the module that joins the stages, not here.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mvconf import __version__
from mvconf.core.errors import ConfigError
from mvconf.core.hosts import is_loopback
from mvconf.core.logs import MIN_SECRET_LENGTH, register_secret

DEFAULT_URL = "https://api.minivoice.eu"
KEY_VARIABLE = "MINIVOICE_API_KEY"


@dataclass(frozen=True)
class Endpoint:
    """An API to talk to. `label` is what plans record as api_url; `key` never leaves here."""

    label: str
    key: str
    url: str | None = None  # None: not reached over HTTP (the in-process emulator)
    key_source: str = KEY_VARIABLE  # where the key was read from, for a 401's message

    def __repr__(self) -> str:  # never show the key, even in a debugger or traceback
        return f"Endpoint(label={self.label!r})"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "User-Agent": f"mvconf/{__version__}",
                "Accept": "application/json",
                # Uncompressed answers: the size cap then bounds memory without a decoder.
                "Accept-Encoding": "identity"}


def api_endpoint(api_url: str | None, api_key_file: str | None, *,
                 key_variable: str = KEY_VARIABLE, configured_url: str | None = None,
                 other_keys: tuple[str, ...] = ()) -> Endpoint:
    """The remote API from flags and environment, its URL checked and its key read: the URL
    from --api-url, MINIVOICE_API_URL, the project's environment, or the default; the key from
    --api-key-file or `key_variable` only (an environment's own variable, SPEC §9).
    `other_keys`: the project's other environments' keys, which the URL must not hold either."""
    key, source = _read_key(api_key_file, key_variable)
    register_secret(key)  # before anything that may name the URL
    for other in other_keys:
        register_secret(other)
    url = (api_url or os.environ.get("MINIVOICE_API_URL") or configured_url
           or DEFAULT_URL).rstrip("/")
    if any(_holds_key(url, other) for other in other_keys):
        raise ConfigError("the API URL holds the API key of another environment; check "
                          "MINIVOICE_API_URL, --api-url and the project's api_url. Nothing was "
                          "sent")
    if _holds_key(url, key):
        # The variables swapped, or the key pasted into the URL: never sent (not even to a DNS
        # resolver as a host name), and never printed, in an error or as a plan's api_url.
        raise ConfigError(f"the API URL holds the API key (from {source}); check that "
                          "MINIVOICE_API_URL (or --api-url, or the project's api_url) and the key "
                          "are not swapped. Nothing was sent")
    _check_url(url)
    return Endpoint(label=url, key=key, url=url, key_source=source)


# A URL holding this many characters of a key in a row (or half the key, when that is more)
# holds the key: a part pasted, or cut off, is as much a leak in a log as the whole.
KEY_PART = 12
MAX_DECODINGS = 64  # %-decodings looked through; a URL that needs more is refused


def _holds_key(url: str, key: str) -> bool:
    """Whether the key, or a run of KEY_PART of its characters (half the key, when longer), is
    in the URL, in any case (a host name is read lower-cased) and %-encoded any number of
    times (up to MAX_DECODINGS; deeper is refused too). Keys shorter than MIN_SECRET_LENGTH
    are not looked for, as they are not masked."""
    if len(key) < MIN_SECRET_LENGTH:
        return False
    key = key.lower()
    run = min(len(key), max(KEY_PART, (len(key) + 1) // 2))
    parts = {key[start:start + run] for start in range(len(key) - run + 1)}
    forms = [url.lower()]
    while True:  # until nothing is left to decode: each round makes the text shorter
        decoded = unquote(forms[-1]).lower()
        if decoded == forms[-1]:
            break
        if len(forms) > MAX_DECODINGS:
            return True  # %-encoded this deep is no URL anyone means: nothing is sent
        forms.append(decoded)
    # A host name is read through IDNA, which maps compatibility forms (fullwidth letters,
    # mathematical bold) to plain ones: the key written so reaches a DNS resolver as itself.
    forms += [unicodedata.normalize("NFKC", form).casefold() for form in forms]
    return any(part in form for form in forms for part in parts)


MAX_KEY_FILE_BYTES = 4096


def _read_key(api_key_file: str | None, variable: str = KEY_VARIABLE) -> tuple[str, str]:
    if api_key_file:
        key, where = _read_key_file(api_key_file), f"the API key file {api_key_file}"
        if not key:
            raise ConfigError(f"{where} is empty")
    else:
        key, where = os.environ.get(variable, "").strip(), variable
        if not key:
            other = (f" ({KEY_VARIABLE} is not used for an environment)"
                     if variable != KEY_VARIABLE else "")
            raise ConfigError(f"{variable} is not set (or empty); set it to your MiniVoice "
                              f"application API key, or pass --api-key-file{other}")
    _check_key(key, where)
    return key, where


def _read_key_file(path: str) -> str:
    """The file's text, stripped: only a regular file under the size cap is read, so a FIFO,
    a device or /dev/zero is refused at once instead of hanging or filling memory."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(f"cannot read the API key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"the API key file {path} is not a regular file")
        if info.st_size > MAX_KEY_FILE_BYTES:
            raise ConfigError(f"the API key file {path} is larger than {MAX_KEY_FILE_BYTES} "
                              "bytes; it should hold the key alone")
        data = handle.read(MAX_KEY_FILE_BYTES + 1)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"the API key file {path} is not text") from None


def _check_key(key: str, where: str) -> None:
    """A key goes into an HTTP header: refuse one that cannot, before any request, without
    printing it (an HTTP library's own error would show the whole header). A key that is a URL
    means the URL and key were swapped: the URL then holds the key, which is not printed."""
    if "://" in key or key.lower().startswith(("http:", "https:")):
        raise ConfigError(f"the API key from {where} is a URL: are MINIVOICE_API_URL and the "
                          "key swapped? Nothing was sent")
    for index, char in enumerate(key):
        if not "!" <= char <= "~":
            kind = "a space" if char == " " else (
                "a control character" if ord(char) < 32 or ord(char) == 127
                else "a non-ASCII character")
            raise ConfigError(f"the API key from {where} contains {kind} (U+{ord(char):04X}) at "
                              f"position {index + 1}; an API key is printable ASCII. Nothing "
                              "was sent")


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018  (a bad [IPv6] host is found only when it is asked for)
    except ValueError:  # not shown: what is wrong with it may be a secret pasted in
        raise ConfigError(f"the API URL must be an http(s) URL such as {DEFAULT_URL}; the one "
                          "given cannot be read as one (its host?)") from None
    if "://" not in url:  # not a URL at all (a key, perhaps): not shown
        raise ConfigError(f"the API URL must be an http(s) URL such as {DEFAULT_URL}; the one "
                          "given has no scheme (http:// or https://)")
    # Not shown in these errors: what is wrong with it may be a secret pasted in (user:token@).
    if parts.username or parts.password or "@" in parts.netloc:
        raise ConfigError("the API URL must not contain credentials (user:password@); use "
                          "MINIVOICE_API_KEY")
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"the API URL must be an http(s) URL such as {DEFAULT_URL}; the one "
                          f"given is not http:// or https://")
    if not parts.hostname:
        raise ConfigError(f"the API URL must be an http(s) URL such as {DEFAULT_URL}; the one "
                          "given has no host")
    try:
        parts.port  # noqa: B018  (urllib checks the port only when it is asked for)
    except ValueError:
        raise ConfigError("the API URL has a port that is not a number from 0 to 65535") \
            from None
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"refusing plain http to {parts.hostname}: the API key would travel "
                          "unencrypted; use https (plain http is allowed to loopback only)")
