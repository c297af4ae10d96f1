"""Norwegian bank account numbers (kontonummer): 11 digits, the last a
MOD-11 check digit over the first ten with the weights 5 4 3 2 7 6 5 4 3 2.
A remainder of 0 gives check digit 0; a remainder of 1 would need a check
digit of 10, so no valid number has it."""

from __future__ import annotations

WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
# What people type between the groups: "1234.56.78903", "1234 56 78903".
SEPARATORS = str.maketrans("", "", " .-\u00a0")


def bank_account_normalize(text: str) -> str:
    """The digits of a typed account number, without the usual separators."""
    return text.translate(SEPARATORS)


def bank_account_check_digit(first_ten: str) -> int | None:
    """The check digit for ten digits, or None when there is none (the
    remainder is 1)."""
    remainder = sum(int(digit) * weight for digit, weight in zip(first_ten, WEIGHTS, strict=True)) % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


def is_valid_bank_account(number: str) -> bool:
    """Eleven digits whose last is the MOD-11 check digit of the others."""
    if len(number) != 11 or not number.isascii() or not number.isdigit():
        return False
    return bank_account_check_digit(number[:10]) == int(number[10])


def bank_account_format(number: str) -> str:
    """The usual grouping, 1234.56.78903."""
    return f"{number[:4]}.{number[4:6]}.{number[6:]}" if len(number) == 11 else number


def bank_account_masked(number: str) -> str:
    """Only the last three digits, for pages and emails."""
    return f"••••.••.••{number[-3:]}" if len(number) == 11 else ""
