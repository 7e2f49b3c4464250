"""The built-in rules: ids, names, default levels and the help shown in SARIF and the README."""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("error", "warning", "off")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    short: str
    default: str  # the level without configuration
    help: str


RULES: dict[str, Rule] = {rule.id: rule for rule in (
    Rule("MV101", "high-cost-destination",
         "Forward destination is a premium-rate, shared-cost or personal number", "error",
         "Forwarding to premium-rate, shared-cost or personal numbers is the classic toll-fraud "
         "path (international revenue share): every forwarded call is billed to you and paid "
         "out to whoever holds the number. The number type comes from libphonenumber. Grant a "
         "reviewed exception in the manifest (policy_exceptions) when the destination is "
         "really meant, or set the level in [policy] rules of mvconf.toml."),
    Rule("MV102", "emergency-destination",
         "Destination is an emergency number", "error",
         "A forward number or the user part of a sip:/sips: URI that is an emergency number of "
         "the DID's or the destination's country (112, 911, 999...) sends customers' calls to "
         "emergency services. The emergency numbers come from libphonenumber's short-number "
         "metadata."),
    Rule("MV103", "country-not-allowed",
         "Forward destination is in a country that is not allowed", "warning",
         "Calls forwarded abroad cost more and are a fraud path. With allowed_countries set in "
         "[policy] (ISO 3166 region codes), a forward destination outside them is an error; "
         "without it, a destination in another country than the DID's own is a warning."),
    Rule("MV104", "sip-host-not-allowed",
         "SIP destination host is not allowed", "warning",
         "A SIP URI sends calls and their audio to whatever host it names. With "
         "allowed_sip_domains set in [policy] (exact hosts, or *.example.net for its "
         "subdomains), any other host is an error; without it, a host that is an IP address "
         "is a warning."),
    Rule("MV105", "unusual-destination-type",
         "Forward destination is not valid, or is a UAN, VoIP, pager or unknown number", "warning",
         "Numbers that libphonenumber does not know as valid, and UAN, VoIP, pager or unknown "
         "types, are rarely the intended target of a forward and are worth a second look."),
)}
