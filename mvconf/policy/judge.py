"""The rules applied to one DID's routing. Each destination is judged once per run and
settings (cached), so 10,000 DIDs forwarding to a few numbers cost a few evaluations."""

from __future__ import annotations

import datetime
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from urllib.parse import unquote

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

from mvconf.core.phone import SIP_URI
from mvconf.policy.config import PolicyConfig
from mvconf.policy.exceptions import Granted
from mvconf.policy.findings import Finding
from mvconf.policy.numbers import facts, parse, region_of, regions_of_code

HIGH_COST = {PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
             PhoneNumberType.SHARED_COST: "a shared-cost number",
             PhoneNumberType.PERSONAL_NUMBER: "a personal number"}
UNUSUAL = {PhoneNumberType.UAN: "a UAN (universal access) number",
           PhoneNumberType.VOIP: "a VoIP number", PhoneNumberType.PAGER: "a pager number",
           PhoneNumberType.UNKNOWN: "of unknown type"}
Raw = tuple[str, str]  # (rule, message)
CACHE_SIZE = 65536  # destinations judged per settings, kept for the run


# Reach emergency services from any mobile phone in the world (GSM), whatever the region.
EVERYWHERE = ("112", "911")


def _emergency(dialled: str, regions: Iterable[str | None]) -> str | None:
    """The first of `regions` where `dialled` is exactly an emergency number. Exactly: as a
    prefix (`connects_to_emergency_number`) every extension 1120-1129 of a French PBX would be
    one. 112 and 911 are emergency numbers everywhere (a non-geographic +800 DID included)."""
    for region in dict.fromkeys(regions):
        if region and shortnumberinfo.is_emergency_number(dialled, region):
            return region
    return "from any mobile phone" if dialled in EVERYWHERE else None


def _forward(destination: str, did_region: str | None, config: PolicyConfig) -> tuple[Raw, ...]:
    parsed = parse(destination)
    if parsed is None:
        return ()
    found: list[Raw] = []
    known = facts(parsed)
    region = region_of(destination, known)
    shown = f" ({region})" if region else ""
    what = f"forward destination {destination}"
    kind, valid = known.kind, known.valid
    if kind in HIGH_COST:
        found.append(("MV101", f"{what} is {HIGH_COST[kind]}{shown}; calls forwarded there "
                      "are billed at a high rate (toll fraud)"))
    national = phonenumbers.national_significant_number(parsed)
    hit = _emergency(national, (did_region, region))
    if hit:
        found.append(("MV102", f"{what} is an emergency number ({hit})"))
    if config.allowed_countries is not None:
        if region not in config.allowed_countries:
            found.append(("MV103", f"{what} is in {region or 'no known country'}, not in "
                          f"allowed_countries ({', '.join(sorted(config.allowed_countries))})"))
    elif region and did_region and region != did_region:
        found.append(("MV103", f"{what} is in {region}, another country than the DID's "
                      f"({did_region})"))
    if not valid:
        found.append(("MV105", f"{what} is not a valid number for its region"))
    elif kind in UNUSUAL:
        found.append(("MV105", f"{what} is {UNUSUAL[kind]}{shown}"))
    return tuple(found)


def sip_parts(uri: str) -> tuple[str | None, str]:
    """The user part (None without one) and the lower-case host of a sip:/sips: URI."""
    match = SIP_URI.match(uri)
    rest = match.group(2) if match else uri
    rest = rest.split("?", 1)[0]
    user, at, hostport = rest.rpartition("@")
    user = user.split(";", 1)[0].split(":", 1)[0] if at else None
    hostport = hostport.split(";", 1)[0]
    if hostport.startswith("["):
        host = hostport[1:hostport.find("]")] if "]" in hostport else hostport[1:]
    else:
        host = hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport
    return user, host.lower().rstrip(".")


_VISUAL = re.compile(r"[-.() ]")  # visual separators of a dialled number (RFC 3966)
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}"
                   r"[a-z0-9])?$|^[0-9a-f:.]+$")


def _reroutes(uri: str) -> str | None:
    """Why a SIP URI may send calls somewhere other than its host: a maddr parameter, headers
    (a Route), or more than one @ (parsers differ on which host counts)."""
    match = SIP_URI.match(uri)
    rest = unquote(match.group(2) if match else uri).lower()
    if "maddr=" in rest:
        return "it has a maddr parameter"
    if "?" in rest:
        return "it has headers (?...)"
    if rest.count("@") > 1:
        return "it has more than one @"
    return None


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")  # 127.1, 3325256711, 0xC6336407, 010.0.0.1


def _is_ip(host: str) -> bool:
    """An IP address, in any form a resolver takes as one: inet_aton's legacy IPv4 forms too
    (fewer parts, one number, hex and octal parts), which ipaddress refuses."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    if not _LEGACY_IPV4.fullmatch(host):
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _sip(uri: str, did_region: str | None, config: PolicyConfig) -> tuple[Raw, ...]:
    found: list[Raw] = []
    user, host = sip_parts(uri)
    what = f"SIP destination {uri}"
    if user:  # as a SIP server reads it: %-escapes decoded, visual separators dropped
        user = _VISUAL.sub("", unquote(user))
        dialled, regions = user, [did_region]
        if user.startswith("+"):  # an E.164 user part: judged in its own country too
            parsed = parse(user)
            if parsed is not None:
                dialled = phonenumbers.national_significant_number(parsed)
                regions += regions_of_code(parsed.country_code)
        if dialled.isdigit() and len(dialled) <= 8:
            hit = _emergency(dialled, regions)
            if hit:
                found.append(("MV102", f"{what}: its user part {user} is an emergency number "
                              f"({hit})"))
    elsewhere = _reroutes(uri)
    if elsewhere:
        found.append(("MV104", f"{what}: {elsewhere}, so where calls go cannot be judged from "
                      "its host"))
    elif not _HOST.match(host or ""):
        found.append(("MV104", f"{what}: host {host or '(none)'} is not a host name or address"))
    elif config.allowed_sip_domains is not None:
        if not host_allowed(host, config.allowed_sip_domains):
            found.append(("MV104", f"{what}: host {host or '(none)'} is not in "
                          f"allowed_sip_domains ({', '.join(config.allowed_sip_domains)})"))
    elif _is_ip(host):
        found.append(("MV104", f"{what}: host {host} is an IP address, not a domain "
                      "(set allowed_sip_domains to say which hosts are yours)"))
    return tuple(found)


def judge(number: str, route_mode: str, destinations: Iterable[str],
          config: PolicyConfig) -> list[tuple[int, str, str]]:
    """(destination index, rule, message) for every rule that fires on this routing, whatever
    its level (levels and exceptions are applied by `judge_did`)."""
    if route_mode not in ("forward", "sip"):
        return []
    destinations = list(destinations)
    if not destinations:
        return []
    out = []
    did_region = region_of(number)
    cache = config.cache
    forward = route_mode == "forward"
    for index, value in enumerate(destinations):
        if not isinstance(value, str):
            continue
        key = (forward, value, did_region)
        raws = cache.get(key)
        if raws is None:
            raws = (_forward(value, did_region, config) if value.startswith("+") else ()) \
                if forward else _sip(value, did_region, config)
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            cache[key] = raws
        if raws:
            out += [(index, rule, message) for rule, message in raws]
    return out


def judge_did(number: str, route_mode: str, destinations: Iterable[str], config: PolicyConfig,
              today: datetime.date, granted: Iterable[Granted] = (),
              locate: Callable[[int], tuple[str, int, int]] | None = None,
              fallback: tuple[str, int, int] = ("", 1, 1),
              fired: set[str] | None = None) -> list[Finding]:
    """The findings on one DID's routing at their levels, each excused by an active exception
    for its rule when the DID has one. `fired` collects the rules that fired (for stale
    exceptions); `locate` gives a destination's place (asked only for a finding)."""
    destinations = list(destinations)
    granted = list(granted)
    findings = []
    for index, rule, message in judge(number, route_mode, destinations, config):
        if fired is not None:
            fired.add(rule)
        level = config.level(rule)
        if level == "off":
            continue
        exception = None
        expired = None
        for grant in granted:
            if grant.rule == rule:
                if grant.active(today):
                    exception = grant.to_data()
                    break
                expired = grant
        if exception is None and expired is not None:
            message += f" (its exception at {expired.source} expired on {expired.expires})"
        path, line, column = locate(index) if locate else fallback
        findings.append(Finding(rule, level, number, "destinations", destinations[index],
                                message, path, line, column, exception))
    return findings


def stale_exceptions(granted: Iterable[Granted], fired: set[str], number: str) -> list[Finding]:
    """A warning for each exception whose rule did not fire on the DIDs that carry it."""
    out = []
    for grant in granted:
        if grant.rule in fired:
            continue
        path, _, rest = grant.source.rpartition(":")
        path, _, line = path.rpartition(":")
        out.append(Finding(grant.rule, "warning", number, "policy_exceptions", grant.rule,
                           f"stale exception: {grant.rule} does not fire on {number}; remove "
                           "the exception", path, int(line or 1),
                           int(rest) if rest.isdigit() else 1))
    return out
