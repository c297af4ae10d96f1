"""Norwegian working days: Monday to Friday except the public holidays
(helligdager), which the promise "support decides within three working
days" counts in.

The fixed holidays are 1 January, 1 May, 17 May, 25 and 26 December; the
moving ones follow Easter Sunday (Skjærtorsdag, Langfredag, 2. påskedag,
Kristi himmelfartsdag, 2. pinsedag). Easter Sunday, 1. påskedag and
1. pinsedag fall on Sundays and are weekend days anyway. Easter is computed
by the anonymous Gregorian algorithm (Meeus/Jones/Butcher), a few lines of
arithmetic, so no holiday calendar library is needed for twelve dates.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

FIXED = ((1, 1), (5, 1), (5, 17), (12, 25), (12, 26))
# Days after Easter Sunday: Skjærtorsdag, Langfredag, 2. påskedag,
# Kristi himmelfartsdag, 2. pinsedag.
EASTER_OFFSETS = (-3, -2, 1, 39, 50)


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday of ``year``."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def public_holidays(year: int) -> frozenset[date]:
    """Norway's public holidays in ``year`` that can fall on a weekday."""
    easter = easter_sunday(year)
    fixed = {date(year, month, day) for month, day in FIXED}
    moving = {easter + timedelta(days=offset) for offset in EASTER_OFFSETS}
    return frozenset(fixed | moving)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def working_days_after(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (which itself does not
    count, whatever day it is)."""
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current
