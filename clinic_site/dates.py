"""The calendar range the clinic's software works in.

Dates and times from users are refused outside it, so date arithmetic (a day either side of a
range, a week ahead) can never run off Python's calendar (year 1 to 9999) and answer a 500.
"""

from __future__ import annotations

from datetime import date, datetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def in_range(value: date | datetime | None) -> bool:
    if value is None:
        return False
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= day <= LATEST


OUT_OF_RANGE = f"Give a date between {EARLIEST:%Y} and {LATEST:%Y}."
