"""The phone-number corpus of tests/api/phone_oracle.rs, with an independent verdict on each.

Every region's example numbers (and every non-geographic calling code's) from the metadata
of Python's `phonenumbers` (a port of libphonenumber, pinned in scripts/requirements.txt), in
national, international, `00`, E.164, spaced, dashed and dotted forms, each also with a region
given, plus invalid variants (a digit too many, two too few). Each input is read by
wa-dispatch's rules (docs/api.md, "Normalization": `+` or `00` is international; digits alone are
international unless a region is given, then national) and judged by `phonenumbers`: valid
or not, and its E.164. One JSON object per line on standard output:
{"text", "country", "valid", "e164"}; the first line names the metadata version."""
import json
import re

import phonenumbers as pn
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

ALLOWED = re.compile(r"^[0-9 ().+-]*$")
TYPES = [T.FIXED_LINE, T.MOBILE, T.TOLL_FREE, T.PREMIUM_RATE, T.SHARED_COST, T.VOIP,
         T.PERSONAL_NUMBER, T.PAGER, T.UAN, T.VOICEMAIL]


def verdict(text, country):
    """(valid, E.164) for `text` read as wa-dispatch reads it, judged by `phonenumbers`."""
    trimmed = text.strip()
    if len(text) > 64 or not ALLOWED.match(text) or not trimmed or "+" in trimmed[1:]:
        return False, None
    digits = "".join(c for c in trimmed if c.isdigit())
    if trimmed.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif country is None:
        international = digits
    else:
        international = None
    try:
        if international is not None:
            number = pn.parse("+" + international, None)
        else:
            number = pn.parse(digits, country)
    except pn.NumberParseException:
        return False, None
    if not pn.is_valid_number(number):
        return False, None
    return True, pn.format_number(number, F.E164)


def grouped(digits, separator):
    return separator.join(digits[i:i + 3] for i in range(0, len(digits), 3))


def forms(number, region):
    """(text, country) inputs for one example number."""
    e164 = pn.format_number(number, F.E164)
    cc, nsn = str(number.country_code), pn.national_significant_number(number)
    yield pn.format_number(number, F.INTERNATIONAL), None
    yield e164, None
    yield f"00{cc} {nsn}", None
    yield f"+{cc} {grouped(nsn, ' ')}", None
    yield f"{cc}-{grouped(nsn, '-')}", None
    yield f"+{cc}.{grouped(nsn, '.')}", None
    if region:
        yield pn.format_number(number, F.NATIONAL), region
        yield grouped(pn.format_number(number, F.NATIONAL).replace(" ", ""), " "), region
        yield pn.format_number(number, F.INTERNATIONAL), region  # the region is ignored
    yield e164 + "9", None  # a digit too many
    yield e164[:-2], None  # two too few


def main():
    print(json.dumps({"metadata": pn.__version__}))
    seen = set()
    examples = [(region, pn.example_number_for_type(region, t)) for region in sorted(pn.SUPPORTED_REGIONS)
                for t in TYPES]
    examples += [(None, pn.example_number_for_non_geo_entity(cc))
                 for cc in sorted(pn.COUNTRY_CODES_FOR_NON_GEO_REGIONS)]
    for region, number in examples:
        if number is None:
            continue
        for text, country in forms(number, region):
            if (text, country) in seen:
                continue
            seen.add((text, country))
            valid, e164 = verdict(text, country)
            print(json.dumps({"text": text, "country": country, "valid": valid, "e164": e164}))


if __name__ == "__main__":
    main()
