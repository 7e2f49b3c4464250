"""Phone numbers and SIP URIs: parsing, checks and the normal forms used for comparison."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    ValidationResult,
)

from mvconf.core.facts import APP_ID, E164_SHAPE
from mvconf.core.text import INVISIBLE_CATEGORIES

SIP_URI = re.compile(r"^(sips?):(\S+)\Z", re.IGNORECASE)

_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "has no valid country code",
    ValidationResult.TOO_SHORT: "is too short for its country",
    ValidationResult.TOO_LONG: "is too long for its country",
    ValidationResult.INVALID_LENGTH: "has an impossible length for its country",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is a local-only length, not a full number",
}




def invisible_problem(text: str) -> str | None:
    """The first control or invisible character in `text` (a newline, NUL, BEL, a right-to-left
    mark...), named by code point, or None."""
    if text.isascii() and text.isprintable():  # the usual case: ASCII has no such character
        return None  # but the controls (C0 and DEL), which isprintable() rejects
    for char in text:
        if char != " " and (unicodedata.category(char) in INVISIBLE_CATEGORIES or
                            (char.isspace() and char != " ")):
            name = unicodedata.name(char, "a control character")
            return f"contains U+{ord(char):04X} ({name}), a control or invisible character"
    return None


def alias_problem(alias: str) -> str | None:
    """Why `alias` cannot name an application (in a manifest's or an environment's
    `applications`), or None: an alias shaped like an application id would redirect that id
    (`app_123: app_999`), and an invisible character makes two aliases look alike."""
    if APP_ID.match(alias):
        return "is shaped like an application id; an alias must not look like one (it would " \
               "redirect every DID naming that id)"
    if not alias.strip():
        return "is empty"
    return invisible_problem(alias)


# Small caches: each number is usually checked once, and a cache of every number of a large
# run would hold them all to its end.
@lru_cache(maxsize=4096)
def e164_problem(text: str, strict: bool = False) -> str | None:
    """Why `text` is not an acceptable E.164 number, or None when it is."""
    if not E164_SHAPE.match(text):  # '+' and digits only: nothing invisible to name
        return invisible_problem(text) or ("must be in E.164 form: '+', country code and "
                                           "digits, e.g. \"+15551230002\"")
    split = _plain_split(text)
    if split is not None:  # the usual case: checked by its country code and length alone
        code, national = split
        reason = _length_reason(code, len(national))
        parsed = None
    else:
        try:
            parsed = phonenumbers.parse(text, None)
        except NumberParseException as exc:
            return f"is not a phone number ({exc._msg})"
        canonical = canonical_e164(parsed, text)
        if canonical != text:  # "+4402012345678" (a trunk zero kept) is +442012345678
            return (f"is not in canonical E.164 form: the same number is {canonical} (no trunk "
                    "prefix such as 0 after the country code); write it so")
        reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != ValidationResult.IS_POSSIBLE:
        return _REASONS.get(reason, "is not a possible number")
    if strict and not phonenumbers.is_valid_number(parsed or parse_e164(text)):
        return "is possible but not a valid number for its region (--strict)"
    return None


@lru_cache(maxsize=1024)
def _length_reason(code: int, length: int) -> ValidationResult:
    """phonenumbers.is_possible_number_with_reason for a number of this country code and
    national-number length: that check reads only the two (its metadata's possible lengths)."""
    return phonenumbers.is_possible_number_with_reason(
        PhoneNumber(country_code=code, national_number=int("9" * length)))


def canonical_e164(parsed: PhoneNumber, text: str) -> str:
    """The E.164 form phonenumbers gives `parsed`; `text` itself when it is plainly that (the
    fast path's numbers: country code then national number, no leading zeros to keep)."""
    if not parsed.italian_leading_zero and text == f"+{parsed.country_code}" \
            f"{parsed.national_number}":
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_code(text: str) -> int | None:
    """The country calling code of an E.164-shaped number, or None when it has none."""
    try:
        return parse_e164(text).country_code
    except NumberParseException:
        return None


def parse_e164(text: str) -> PhoneNumber:
    """`phonenumbers.parse(text, None)` for E.164-shaped text, without the text processing
    parse does first when the answer is plain: a known country code, then a national number that
    neither starts with 0 nor with anything its country's national prefix pattern matches (parse
    may strip those). Every other number is parsed. The result is equal either way
    (tests/test_phone.py compares them across every country code).
    """
    split = _plain_split(text)
    if split is None:
        return phonenumbers.parse(text, None)
    return PhoneNumber(country_code=split[0], national_number=int(split[1]))


def _plain_split(text: str) -> tuple[int, str] | None:
    """(country code, national number) of E.164-shaped text when parse would give exactly
    those, else None (see parse_e164)."""
    digits = text[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(digits) <= 2 or not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    prefix = _national_prefix(code)
    if prefix is False or (prefix is not None and prefix.match(national)):
        return None
    return code, national


@lru_cache(maxsize=512)
def _national_prefix(code: int) -> re.Pattern | None | bool:
    """The compiled national prefix pattern of a country code's main region (None: it has
    none; False: no metadata at all)."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code))
    if metadata is None:
        return False
    prefix = metadata.national_prefix_for_parsing
    return re.compile(prefix) if prefix is not None else None


def to_e164(text: str) -> str | None:
    """Best-effort E.164 form of a number written in any international form, else None.

    Used where numbers come from outside the manifests (API objects, webhook events), which may
    carry spaces, dashes or a missing '+'.
    """
    if not isinstance(text, str):
        return None
    if E164_SHAPE.match(text):  # already E.164: as it is, without parsing
        return text
    return _parsed_e164(text)


@lru_cache(maxsize=4096)
def _parsed_e164(text: str) -> str | None:
    raw = text.strip()
    if raw.lower().startswith("tel:"):
        raw = raw[4:]
    if raw and raw[0].isdigit():
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, None)
    except NumberParseException:
        return None
    if parsed.extension:  # "+1 555 0100 ext. 7" is an extension behind a number, not the number
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normal_destination(value: str) -> str:
    """Destinations compared by meaning: E.164 numbers as E.164, SIP URIs with a lower-case
    scheme."""
    match = SIP_URI.match(value)
    if match:
        return f"{match.group(1).lower()}:{match.group(2)}"
    return to_e164(value) or value


def is_sip_uri(value: str) -> bool:
    return bool(SIP_URI.match(value)) and invisible_problem(value) is None
