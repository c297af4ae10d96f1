"""Norwegian working days and bank account numbers."""

from __future__ import annotations

from datetime import date

import pytest

from subscriptions.bank_accounts import bank_account_normalize, is_valid_bank_account
from subscriptions.working_days import easter_sunday, is_working_day, public_holidays, working_days_after


@pytest.mark.parametrize(
    ("year", "easter"), [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5))]
)
def test_easter_sunday_falls_on_the_published_dates(year, easter):
    assert easter_sunday(year) == easter


def test_the_moving_holidays_of_2026_follow_easter():
    holidays = public_holidays(2026)

    assert {date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)} <= holidays
    assert {date(2026, 1, 1), date(2026, 5, 1), date(2026, 5, 17), date(2026, 12, 25), date(2026, 12, 26)} <= holidays


def test_three_working_days_from_a_friday_skip_the_weekend():
    assert working_days_after(date(2026, 12, 4), 3) == date(2026, 12, 9)


def test_three_working_days_before_christmas_skip_the_holidays():
    # Wed 23 Dec: Thu 24 counts, Fri 25 and Sat 26 and Sun 27 do not.
    assert working_days_after(date(2026, 12, 23), 3) == date(2026, 12, 29)


def test_three_working_days_over_easter_skip_thursday_to_monday():
    # Wed 1 April 2026: Skjærtorsdag, Langfredag and 2. påskedag are holidays.
    assert working_days_after(date(2026, 4, 1), 3) == date(2026, 4, 9)


def test_a_request_made_on_a_sunday_counts_from_monday():
    assert not is_working_day(date(2026, 12, 6))
    assert working_days_after(date(2026, 12, 6), 3) == date(2026, 12, 9)


@pytest.mark.parametrize("typed", ["86011117947", "8601.11.17947", "8601 11 17947"])
def test_a_valid_account_number_passes_however_it_is_grouped(typed):
    assert is_valid_bank_account(bank_account_normalize(typed))


@pytest.mark.parametrize("typed", ["86011117948", "8601111794", "860111179470", "8601111794a", "٨٦٠١١١١٧٩٤٧"])
def test_a_wrong_check_digit_or_length_fails(typed):
    assert not is_valid_bank_account(bank_account_normalize(typed))
