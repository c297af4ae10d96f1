"""ICCIDs: 19–20 digits ending in a Luhn check digit (ITU-T E.118);
Norwegian ones start 8947."""

from __future__ import annotations


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: these sit left of the check digit
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_iccid(value: str) -> bool:
    return value.isdigit() and 19 <= len(value) <= 20 and luhn_check_digit(value[:-1]) == value[-1]


def with_check_digit(payload: str) -> str:
    """``payload`` completed with its Luhn check digit: a full ICCID."""
    return payload + luhn_check_digit(payload)
