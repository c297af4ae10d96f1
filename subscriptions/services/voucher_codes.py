"""Voucher codes: 16 digits, the last a Luhn check digit, drawn from the
operating system's cryptographic random source.

Fifteen random digits give 10^15 codes, so a guess hits one of a million
codes sold about once in a billion tries, and the redemption throttle allows
a handful of tries an hour. The check digit catches a mistyped digit (and most
swapped neighbours) before anything is looked up. Codes are stored only as
their keyed hash: a copy of the database does not give the codes away, and
nobody can work a code back from its row."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

from django.conf import settings

from subscriptions.iccid import luhn_check_digit

CODE_DIGITS = 16
RANDOM_DIGITS = CODE_DIGITS - 1
# What people put between the digits when they type a code off a card:
# spaces of every kind and dashes (a phone keyboard's "-" or a typographic one).
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")


def code_generate() -> str:
    """A fresh code: 15 random digits and their check digit."""
    payload = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    return payload + luhn_check_digit(payload)


def code_normalize(typed: str) -> str | None:
    """The 16 digits of a code as someone typed it ("1234 5678-9012 3456",
    full-width digits from a Chinese keyboard), or None if it is not 16 digits."""
    digits = SEPARATORS.sub("", unicodedata.normalize("NFKC", typed))
    return digits if SIXTEEN_DIGITS.fullmatch(digits) else None


def code_check_digit_ok(code: str) -> bool:
    """True if the 16 digits end in their Luhn check digit."""
    return SIXTEEN_DIGITS.fullmatch(code) is not None and luhn_check_digit(code[:-1]) == code[-1]


def code_format(code: str) -> str:
    """The code in groups of four, as printed: "1234 5678 9012 3456"."""
    return " ".join(code[start : start + 4] for start in range(0, len(code), 4))


def code_hash(code: str) -> str:
    """HMAC-SHA256 of the 16 digits under VOUCHER_HASH_KEY, in hex: the only
    form in which a code is stored."""
    return hmac.new(settings.VOUCHER_HASH_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()
