"""What libphonenumber says of one E.164 number (its region, type and validity), found with one
region lookup instead of three.

`phonenumbers.number_type` and `is_valid_number` each look the number's region up again, and
for a code shared by many regions (+1: 25 of them) that lookup tries each region in turn, with
a metadata lookup and a compiled-pattern cache lookup per region: 80 us for a number that is
valid nowhere, three times per destination. Here the lookup is done once, over the code's
regions prepared once (their metadata and leading-digits patterns), and type and validity are
derived from its answer the way phonenumbers derives them. tests/test_policy.py checks that the
three answers equal phonenumbers' own on generated numbers of every shared code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberType
from phonenumbers import phonenumberutil as _util

from mvconf.core.phone import parse_e164


@dataclass(frozen=True, slots=True)
class Facts:
    parsed: phonenumbers.PhoneNumber
    own: str | None  # the region whose rules the number follows (region_code_for_number)
    kind: int  # a PhoneNumberType (number_type)
    valid: bool  # is_valid_number


def parse(number: str) -> phonenumbers.PhoneNumber | None:
    try:
        return parse_e164(number)
    except NumberParseException:
        return None


@lru_cache(maxsize=1024)
def regions_of_code(code: int) -> tuple[str, ...]:
    return tuple(r for r in phonenumbers.region_codes_for_country_code(code) if r != "001")


@lru_cache(maxsize=1024)
def _lookup(code: int) -> tuple[tuple[str, re.Pattern | None, PhoneMetadata], ...]:
    """The code's regions in phonenumbers' order, with their metadata and leading digits."""
    prepared = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is not None:
            lead = metadata.leading_digits
            prepared.append((region, re.compile(lead) if lead is not None else None, metadata))
    return tuple(prepared)


# The descriptions _number_type_helper tries, in its order, after the general one.
_KINDS = (("premium_rate", PhoneNumberType.PREMIUM_RATE), ("toll_free", PhoneNumberType.TOLL_FREE),
          ("shared_cost", PhoneNumberType.SHARED_COST), ("voip", PhoneNumberType.VOIP),
          ("personal_number", PhoneNumberType.PERSONAL_NUMBER), ("pager", PhoneNumberType.PAGER),
          ("uan", PhoneNumberType.UAN), ("voicemail", PhoneNumberType.VOICEMAIL))
Desc = tuple[frozenset[int], re.Pattern] | None  # possible lengths (empty: any), pattern
_TYPERS: dict[int, tuple] = {}  # id(metadata) -> (metadata, general, kinds, fixed, mobile, same)


def _desc(desc: object) -> Desc:
    """phonenumbers' _is_number_matching_desc, prepared: None matches nothing."""
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(pattern)  # type: ignore[union-attr]


def _typer(metadata: PhoneMetadata) -> tuple:
    typer = _TYPERS.get(id(metadata))
    if typer is None or typer[0] is not metadata:
        kinds = tuple((kind, d) for name, kind in _KINDS
                      if (d := _desc(getattr(metadata, name))) is not None)
        typer = _TYPERS[id(metadata)] = (
            metadata, _desc(metadata.general_desc), kinds, _desc(metadata.fixed_line),
            _desc(metadata.mobile), metadata.same_mobile_and_fixed_line_pattern)
    return typer


def _matches(national: str, desc: Desc) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def number_kind(national: str, metadata: PhoneMetadata) -> int:
    """phonenumbers' _number_type_helper with the metadata's patterns compiled once: it looks
    each pattern up in phonenumbers' cache on every call, 11 times per number."""
    _, general, kinds, fixed, mobile, same = _typer(metadata)
    if not _matches(national, general):
        return PhoneNumberType.UNKNOWN
    for kind, desc in kinds:
        if _matches(national, desc):
            return kind
    if _matches(national, fixed):
        if same or _matches(national, mobile):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not same and _matches(national, mobile):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


# A leading-digits pattern made only of digits, classes, groups, alternatives and bounded
# repeats: what it matches depends on as many leading digits as its widest match, no more.
_BOUNDED = re.compile(r"[0-9\[\]()|?:\-{},]*")
# (code, leading digits) -> (the regions without leading digits that come before the first
# region whose leading digits match, with their metadata; that region, or None)
_CANDIDATES: dict[tuple[int, str], tuple[tuple[tuple[str, PhoneMetadata], ...], str | None]] = {}


@lru_cache(maxsize=1024)
def _lead_width(code: int) -> int | None:
    """How many leading digits decide which of the code's leading-digits patterns match; None
    when a pattern may look further (nothing is kept by leading digits then)."""
    widest = 0
    for _, lead, _ in _lookup(code):
        if lead is None:
            continue
        if not _BOUNDED.fullmatch(lead.pattern):
            return None
        try:
            widest = max(widest, re._parser.parse(lead.pattern).getwidth()[1])  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - another Python's parser: look each number up
            return None
    return widest if widest < 64 else None


def _candidates(code: int, national: str) -> tuple[tuple[tuple[str, PhoneMetadata], ...],
                                                    str | None]:
    before = []
    for region, lead, metadata in _lookup(code):
        if lead is None:
            before.append((region, metadata))
        elif lead.match(national):
            return tuple(before), region
    return tuple(before), None


def _own_region(parsed: phonenumbers.PhoneNumber, national: str) -> str | None:
    """phonenumbers.region_code_for_number: the first of the code's regions whose leading
    digits match the number, or that has no leading digits and a type for the number. Which
    leading digits match is kept per leading digits (a shared code has up to 25 regions)."""
    code = parsed.country_code
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return None
    if len(regions) == 1:
        return regions[0]
    width = _lead_width(code)
    if width is None:
        before, matched = _candidates(code, national)
    else:
        key = (code, national[:width])
        found = _CANDIDATES.get(key)
        if found is None:
            if len(_CANDIDATES) >= 65536:
                _CANDIDATES.clear()
            found = _CANDIDATES[key] = _candidates(code, national[:width])
        before, matched = found
    for region, metadata in before:
        if number_kind(national, metadata) != PhoneNumberType.UNKNOWN:
            return region
    return matched


def facts(parsed: phonenumbers.PhoneNumber) -> Facts:
    national = _util.national_significant_number(parsed)
    own = _own_region(parsed, national)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(parsed.country_code, own)
    kind = PhoneNumberType.UNKNOWN if metadata is None else number_kind(national, metadata)
    # phonenumbers.is_valid_number_for_region(parsed, own), whose type is the kind just found
    valid = (own is not None and metadata is not None and kind != PhoneNumberType.UNKNOWN
             and (own == _util.REGION_CODE_FOR_NON_GEO_ENTITY
                  or parsed.country_code == _util.country_code_for_valid_region(own)))
    return Facts(parsed, own, kind, valid)


_BY_PREFIX: dict[str, object] = {}  # the first eight characters -> region
_UNSEEN = object()
_INVALID: dict[str, str | None] = {}  # an invalid number -> its guessed region, by number


def region_of(number: str, known: Facts | None = None) -> str | None:
    """The region of an E.164 number: its country code's one region, or (for codes shared by
    several, like +1) the region of its leading digits; for an invalid number of a shared code,
    the code's main region. Found once per leading digits (the country code and area code fit
    in the first eight characters), as every DID of a run is judged; `known` when the number's
    facts are at hand already."""
    prefix = number[:8]
    found = _BY_PREFIX.get(prefix, _UNSEEN)
    if found is not _UNSEEN:
        return found  # type: ignore[return-value]
    if number in _INVALID:  # forwards share a few destinations
        return _INVALID[number]
    parsed = known.parsed if known is not None else parse(number)
    found = None
    if parsed is not None:
        number_facts = known if known is not None else facts(parsed)
        regions = regions_of_code(parsed.country_code)
        own = number_facts.own
        found = regions[0] if len(regions) == 1 else (own if regions else None) or \
            phonenumbers.region_code_for_country_code(parsed.country_code)
        found = None if found == "ZZ" else found
        if not number_facts.valid:
            # an invalid number's region is a guess: never one for its prefix
            if len(_INVALID) > 65536:
                _INVALID.clear()
            _INVALID[number] = found
            return found
    if len(_BY_PREFIX) > 65536:
        _BY_PREFIX.clear()
    _BY_PREFIX[prefix] = found
    return found
