"""Which hosts count as this machine (SPEC §2: plain http and the account setup, loopback only)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1, `localhost`, and IPv4-mapped loopback (::ffff:127.0.0.1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
