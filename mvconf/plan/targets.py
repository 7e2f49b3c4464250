"""Terraform-style `--target`: which managed numbers a command is limited to."""

from __future__ import annotations

from mvconf.core.errors import ConfigError
from mvconf.core.phone import to_e164
from mvconf.manifest import DesiredDid


def select_targets(desired: list[DesiredDid], targets: tuple[str, ...]) -> list[DesiredDid]:
    """Only these numbers; each must be managed."""
    if not targets:
        return desired
    wanted = select_numbers([d.number for d in desired], targets)
    return [d for d in desired if d.number in wanted]


def select_numbers(managed: list[str], targets: tuple[str, ...]) -> set[str]:
    if not targets:
        return set(managed)
    wanted = {}
    for raw in targets:
        number = to_e164(raw)
        if number is None:
            raise ConfigError(f"--target {raw!r} is not a phone number in E.164 form")
        wanted[number] = raw
    known = set(managed)
    unknown = [raw for number, raw in wanted.items() if number not in known]
    if unknown:
        raise ConfigError(f"--target {', '.join(unknown)}: not managed by any loaded manifest")
    return set(wanted)
