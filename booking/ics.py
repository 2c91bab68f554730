"""iCalendar (.ics) files for appointment e-mails.

The UID is stable per appointment (`<reference>@<host>`), so a calendar that imported the
confirmation replaces that event when a later file arrives with a higher SEQUENCE (after a
reschedule) or removes it (METHOD:CANCEL). Times are written in UTC, which every calendar reads
the same way, whatever the clinic's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings

PRODID = "-//Clinic Portal//Appointments//EN"


@dataclass(frozen=True)
class CalendarEntry:
    """Plain values for one VEVENT (no ORM objects, so building the file is a pure function)."""

    reference: str
    start: datetime
    end: datetime
    summary: str
    location: str
    description: str
    url: str
    sequence: int


def calendar_host() -> str:
    """The host part of the UID: the portal's own host name, stable across deployments."""
    return urlsplit(settings.WAGTAILADMIN_BASE_URL).hostname or "clinic-portal"


def event_uid(reference: str) -> str:
    return f"{reference}@{calendar_host()}"


def build_ics(entry: CalendarEntry, *, cancel: bool = False, now: datetime | None = None) -> str:
    """The calendar file as text: METHOD:PUBLISH for a booking, METHOD:CANCEL to withdraw it."""
    from icalendar import Calendar, Event  # only when an e-mail carries a calendar entry

    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancel else "PUBLISH")

    event = Event()
    event.add("uid", event_uid(entry.reference))
    event.add("dtstamp", stamp)
    event.add("dtstart", entry.start.astimezone(UTC))
    event.add("dtend", entry.end.astimezone(UTC))
    event.add("sequence", entry.sequence)
    event.add("summary", entry.summary)
    if entry.location:
        event.add("location", entry.location)
    event.add("description", entry.description)
    if entry.url:
        event.add("url", entry.url)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")
