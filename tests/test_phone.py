"""The E.164 checks: the fast way to a parsed number must give exactly what parsing gives."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mvconf.core.phone import e164_problem, parse_e164

CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def parsed_or_error(parse, text):
    try:
        return parse(text)
    except phonenumbers.NumberParseException as exc:
        return ("error", exc.error_type, exc._msg)


@settings(max_examples=3000)
@given(st.sampled_from(CODES), st.text("0123456789", min_size=0, max_size=15))
@example(1, "1555123000")  # a national prefix: parse strips it
@example(44, "02079460000")
@example(39, "0612345678")  # Italy keeps its leading zero
@example(7, "89123456789")
@example(800, "12345678")  # a non-geographic code
@example(1, "5")
def test_the_fast_parse_equals_phonenumbers_parse(code, national):
    text = f"+{code}{national}"
    if len(text) > 16:
        return
    assert parsed_or_error(parse_e164, text) == parsed_or_error(
        lambda t: phonenumbers.parse(t, None), text)


@pytest.mark.parametrize("text", ["+15551230000", "+442079460000", "+390612345678"])
def test_ordinary_numbers_pass(text):
    assert e164_problem(text) is None


@pytest.mark.parametrize(("text", "why"), [
    ("+1555", "too short"), ("+999123456", "not a phone number"), ("+15551230000\n", "U+000A"),
    ("15551230000", "E.164 form")])
def test_bad_numbers_say_why(text, why):
    assert why in (e164_problem(text) or "")


def e164_problem_by_parsing(text: str, strict: bool) -> str | None:
    """What e164_problem answers, the slow way: parse, format, check possible and valid."""
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return "not a phone number"
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != text:
        return "not canonical"
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return "impossible"
    if strict and not phonenumbers.is_valid_number(parsed):
        return "not valid"
    return None


def kind_of(problem: str | None) -> str | None:
    if problem is None:
        return None
    for word, kind in (("not a phone number", "not a phone number"),
                       ("canonical", "not canonical"), ("--strict", "not valid")):
        if word in problem:
            return kind
    return "impossible"


@settings(max_examples=3000)
@given(st.sampled_from(CODES), st.text("0123456789", min_size=1, max_size=14), st.booleans())
@example(1, "6502000000", False)
@example(44, "2079460000", True)
@example(44, "02079460000", False)  # a trunk zero: the same number written otherwise
@example(39, "0612345678", True)
@example(1, "555", False)
def test_the_fast_check_answers_as_parsing_does(code, national, strict):
    text = f"+{code}{national}"
    if len(text) > 16:
        return
    e164_problem.cache_clear()
    expected = e164_problem_by_parsing(text, strict)
    assert kind_of(e164_problem(text, strict)) == expected


@pytest.mark.parametrize(("text", "number"), [
    ("+15550100123", "+15550100123"), ("+1 555-010-0123", "+15550100123"),
    ("tel:+15550100123", "+15550100123"), ("15550100123", "+15550100123"),
    ("+1 555 010 0123 ext. 77", None), ("+15550100123;ext=77", None), ("not a number", None)])
def test_numbers_from_the_api_are_matched_in_international_forms_but_not_with_extensions(
        text, number):
    from mvconf.core.phone import to_e164

    assert to_e164(text) == number
