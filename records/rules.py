"""Consultation-record rules as pure functions on plain values (no ORM, no request)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

# Appointment statuses (booking.models.Status values) as plain strings.
CONFIRMED = "CONFIRMED"
CHECKED_IN = "CHECKED_IN"
COMPLETED = "COMPLETED"

MAX_DIAGNOSIS = 1000
MAX_NOTES = 20000
MAX_ADDENDUM = 5000
MAX_ITEMS = 50

PRESCRIPTION_FIELDS = {  # field: max length (None: free text up to MAX_NOTES)
    "drug": 200,
    "dose": 100,
    "frequency": 100,
    "duration": 100,
    "instructions": 2000,
}
TEST_FIELDS = {"name": 200, "notes": 2000}


def record_open(*, status: str, local_date: date, today: date) -> bool:
    """Whether a record may be written (or finalised) for an appointment now: from the day of a
    confirmed visit (the doctor may start before the desk checks the patient in), while checked
    in, and for a completed visit whose record is not finalised yet (older data). Never for
    requests, holds, cancelled or missed visits."""
    if status == CONFIRMED:
        return local_date == today
    return status in (CHECKED_IN, COMPLETED)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError
    return value.replace("\x00", "").strip()


def clean_text(field: str, value: Any, *, max_length: int, required: bool = False) -> str:
    """Free text, trimmed; a field error (as the API and forms show it) when wrong."""
    try:
        text = _text(value)
    except TypeError:
        raise ValidationError({field: ["Enter text."]}) from None
    if required and not text:
        raise ValidationError({field: ["This field is required."]})
    if len(text) > max_length:
        raise ValidationError({field: [f"At most {max_length} characters, please."]})
    return text


def clean_items(
    field: str, items: Iterable[Mapping[str, Any]] | None, *, spec: dict[str, int], required: str
) -> list[dict[str, str]]:
    """A list of prescription items or requested tests, each trimmed and checked; items left
    entirely empty (a blank row of a form) are dropped. Errors name the item by its number."""
    cleaned: list[dict[str, str]] = []
    errors: list[str] = []
    for number, item in enumerate(items or [], start=1):
        if not isinstance(item, Mapping):
            errors.append(f"Item {number}: expected an object.")
            continue
        row: dict[str, str] = {}
        for name, max_length in spec.items():
            try:
                row[name] = _text(item.get(name))
            except TypeError:
                errors.append(f"Item {number}: {name} must be text.")
                row[name] = ""
                continue
            if len(row[name]) > max_length:
                errors.append(f"Item {number}: {name} has more than {max_length} characters.")
        if not any(row.values()):
            continue
        if not row[required]:
            errors.append(f"Item {number}: the {required} is required.")
        cleaned.append(row)
    if len(cleaned) > MAX_ITEMS:
        errors.append(f"At most {MAX_ITEMS} items, please.")
    if errors:
        raise ValidationError({field: errors})
    return cleaned
