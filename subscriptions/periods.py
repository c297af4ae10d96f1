"""Calendar arithmetic for plan periods, done on Oslo wall-clock time so that
a month bought at 14:00 on 31 January ends at 14:00 on 28/29 February."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
UTC = ZoneInfo("UTC")

MONTHS = {"month": 1, "quarter": 3, "year": 12}
DAYS = {"day": 1, "week": 7}


def add_months(moment: datetime, months: int) -> datetime:
    year, month0 = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def period_end(start: datetime, period: str) -> datetime:
    """The end of a plan period of the given length that starts at ``start``
    (an aware datetime); returned in UTC."""
    local = start.astimezone(OSLO)
    if period in DAYS:
        end = local.replace(tzinfo=None) + timedelta(days=DAYS[period])
    elif period in MONTHS:
        end = add_months(local.replace(tzinfo=None), MONTHS[period])
    else:
        raise ValueError(f"unknown period {period!r}")
    return end.replace(tzinfo=OSLO).astimezone(UTC)
