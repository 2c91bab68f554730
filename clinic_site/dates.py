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


def parse_query_date(value) -> date | None:
    """A date from a query string ("2026-12-01"), or None for anything else — including a
    well-formed impossible date (2026-02-30) and one outside the clinic's calendar range."""
    from django.utils.dateparse import parse_date

    try:
        parsed = parse_date(str(value or "").strip())
    except ValueError:
        return None
    return parsed if in_range(parsed) else None


def parse_query_datetime(value) -> datetime | None:
    """An aware date and time from a query string (a "+" of the offset may arrive as a space),
    or None for anything else: naive times, nonsense, times outside the calendar range."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    try:
        parsed = parse_datetime(str(value or "").strip().replace(" ", "+"))
    except ValueError:
        return None
    if parsed is None or timezone.is_naive(parsed) or not in_range(parsed):
        return None
    return parsed
