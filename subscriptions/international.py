"""Calls and texts to other countries: which are free, and what the others
cost.

A destination is read with the phonenumbers library (default region Norway,
so a national number is Norwegian). Norway and the EU/EEA are free: the plan
covers them, and a call there spends the bundle like a call in Norway (the
EU's roam-like-at-home and intra-EU call rules, which Norway follows through
the EEA). Every other destination is international: priced from the rate
table (``InternationalRate``) by the longest prefix that matches, per started
minute of each call and per text, or at ``INTERNATIONAL_DEFAULT_RATES_ORE``
when no rate matches. A destination that is not a phone number (empty, a
name) is not charged here.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import phonenumbers
from django.conf import settings
from django.utils import translation
from phonenumbers import geocoder

from subscriptions.models import InternationalRate, UsageKind

DEFAULT_REGION = "NO"

# Where calls and texts cost what they cost in Norway, by ISO 3166 region
# (finer than calling codes: +44 is also Guernsey, Jersey and Man, none in
# the EU; +39 is also the Vatican, +590 also Saint-Barthélemy, neither in the
# EU; +358 is also Åland, +262 Réunion and Mayotte, which are).
FREE_REGIONS = frozenset(
    # Norway, with Svalbard and Jan Mayen.
    {"NO", "SJ"}
    # The other EEA states outside the EU.
    | {"IS", "LI"}
    # The 27 EU member states.
    | {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"}
    | {"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
    # Parts of EU states inside the EU with their own codes: Åland and the
    # French outermost regions (Azores, Madeira and the Canaries share their
    # state's code).
    | {"AX", "GF", "GP", "MQ", "RE", "YT", "MF"}
)

CALLING_CODE = re.compile(r"^\d{1,3}")


@dataclass(frozen=True)
class Destination:
    """A number called or texted: its calling code, its region (ISO 3166,
    "ZZ" when unknown) and all its digits after the +."""

    country_code: int
    region: str
    digits: str

    @property
    def is_free(self) -> bool:
        return self.region in FREE_REGIONS


def destination_parse(text: str) -> Destination | None:
    """The destination of a call or text as the network writes it:
    +447911123456, 00447911123456, 447911123456, or a Norwegian number
    (22334455, 1881). None when it is not a phone number."""
    digits = re.sub(r"[\s\-().]", "", text or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.isdigit() and len(digits) > 8:
        digits = "+" + digits
    if not digits.lstrip("+").isdigit():
        return None
    try:
        number = phonenumbers.parse(digits, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code is None or number.national_number is None:
        return None
    # A number that is valid nowhere still has a calling code: its main region.
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code
    )
    national = phonenumbers.national_significant_number(number)
    return Destination(country_code=number.country_code, region=region, digits=f"{number.country_code}{national}")


def destination_name(destination: str) -> str:
    """The country of a number, in the active language where the library
    knows it (English and Chinese; English otherwise): for a destination
    priced at the default rate, which has no row of its own to name it."""
    parsed = destination_parse(destination)
    if parsed is None:
        return ""
    language = "zh" if (translation.get_language() or "").startswith("zh") else "en"
    number = phonenumbers.parse("+" + parsed.digits)
    return str(geocoder.country_name_for_number(number, language) or geocoder.country_name_for_number(number, "en"))


def calling_code_of(prefix: str) -> int | None:
    """The country calling code a rate's prefix starts with (44 of 44, 1 of
    1876), or None when it starts with none."""
    for length in (1, 2, 3):
        code = int(prefix[:length]) if prefix[:length].isdigit() else 0
        if code and phonenumbers.region_code_for_country_code(code) != phonenumbers.UNKNOWN_REGION:
            return code
    return None


def calling_code_is_free(code: int) -> bool:
    """Whether every region under a calling code is free (46, 47, 358), so
    that a rate for it would never apply."""
    regions = set(phonenumbers.region_codes_for_country_code(code))
    return bool(regions) and regions <= FREE_REGIONS


def started_minutes(seconds: int) -> int:
    """A call is charged per started minute: 0:01 to 1:00 is one minute."""
    return math.ceil(seconds / 60)


@dataclass(frozen=True)
class Price:
    """What a record costs: the rate (None for the default rate), the
    minutes or texts charged, and the charge in øre."""

    rate: InternationalRate | None
    units: int
    amount_ore: int


class RateBook:
    """The rate table, read once (it is small) and asked per record."""

    def __init__(self, rates: list[InternationalRate]) -> None:
        self.by_prefix: dict[str, list[InternationalRate]] = defaultdict(list)
        for rate in rates:
            self.by_prefix[rate.prefix].append(rate)
        self.longest = max((len(prefix) for prefix in self.by_prefix), default=0)

    @classmethod
    def load(cls) -> RateBook:
        return cls(list(InternationalRate.objects.all()))

    def rate_for(self, *, destination: Destination, on: date) -> InternationalRate | None:
        """The rate of the longest prefix with one valid on ``on``; of two
        valid the same day, the one that started last."""
        for length in range(min(self.longest, len(destination.digits)), 0, -1):
            valid = [rate for rate in self.by_prefix.get(destination.digits[:length], []) if rate.is_valid_on(on)]
            if valid:
                return max(valid, key=lambda rate: rate.valid_from or date.min)
        return None

    def price(self, *, kind: str, quantity: int, destination: str, on: date) -> Price | None:
        """The price of a call or text to a destination outside Norway and
        the EU/EEA; None for data, for a free destination and for one that
        is not a phone number."""
        if kind not in (UsageKind.VOICE, UsageKind.SMS):
            return None
        parsed = destination_parse(destination)
        if parsed is None or parsed.is_free:
            return None
        rate = self.rate_for(destination=parsed, on=on)
        if kind == UsageKind.VOICE:
            units = started_minutes(quantity)
            each = rate.per_minute_ore if rate is not None else settings.INTERNATIONAL_DEFAULT_RATES_ORE["voice"]
        else:
            units = quantity
            each = rate.per_text_ore if rate is not None else settings.INTERNATIONAL_DEFAULT_RATES_ORE["sms"]
        return Price(rate=rate, units=units, amount_ore=units * each)
