"""Doctor records. Their public pages follow them (home.services.doctor_page_ensure)."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from clinic_site.accounts.models import User

from .models import Doctor, ExceptionKind, ScheduleException, Specialty, WeeklyWindow


@transaction.atomic
def doctor_create(
    *,
    name: str,
    specialties: list[Specialty],
    user: User | None = None,
    slug: str | None = None,
    biography: str = "",
    phone: str = "",
    languages: str = "",
    accepting_new_patients: bool = True,
    photo=None,
    date_joined: dt.date | None = None,
) -> Doctor:
    base = slug or slugify(name.replace("Dr ", "").replace("Dr. ", "")) or "doctor"
    candidate, n = base, 2
    while Doctor.objects.filter(slug=candidate).exists():
        candidate = f"{base}-{n}"
        n += 1
    doctor = Doctor.objects.create(
        name=name.strip(),
        slug=candidate,
        user=user,
        biography=biography,
        phone=phone,
        languages=languages,
        accepting_new_patients=accepting_new_patients,
        photo=photo,
        **({"date_joined": date_joined} if date_joined else {}),
    )
    doctor.specialties.set(specialties)
    return doctor


WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _window_label(weekday: int, start, end) -> str:
    return f"{WEEKDAY_NAMES[weekday]} {start:%H:%M}–{end:%H:%M}"


def weekly_windows_problems(windows: list[tuple[int, dt.time, dt.time]]) -> list[str]:
    """Inverted windows and windows that overlap on the same weekday (touching is fine)."""
    problems = []
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, start, end in windows:
        if not 0 <= weekday <= 6:
            problems.append(f"Weekday {weekday} does not exist (0 is Monday, 6 is Sunday).")
            continue
        if end <= start:
            problems.append(f"{_window_label(weekday, start, end)} ends before it starts.")
            continue
        by_day.setdefault(weekday, []).append((start, end))
    for weekday, day_windows in sorted(by_day.items()):
        day_windows.sort()
        for (s1, e1), (s2, e2) in pairwise(day_windows):
            if s2 < e1:
                problems.append(f"{_window_label(weekday, s1, e1)} overlaps {s2:%H:%M}–{e2:%H:%M}.")
    return problems


@transaction.atomic
def weekly_schedule_replace(*, doctor: Doctor, windows, actor) -> list[WeeklyWindow]:
    """Replace the doctor's whole week. Existing appointments are not touched."""
    problems = weekly_windows_problems(list(windows))
    if problems:
        raise ValidationError({"non_field_errors": problems})
    Doctor.objects.select_for_update().get(pk=doctor.pk)
    WeeklyWindow.objects.filter(doctor=doctor).delete()
    return WeeklyWindow.objects.bulk_create(
        WeeklyWindow(doctor=doctor, weekday=weekday, start=start, end=end)
        for weekday, start, end in sorted(windows)
    )


@transaction.atomic
def schedule_exception_add(
    *,
    doctor: Doctor,
    kind: str,
    actor,
    date_from: dt.date,
    date_to: dt.date | None = None,
    start: dt.time | None = None,
    end: dt.time | None = None,
    reason: str = "",
) -> ScheduleException:
    errors: dict[str, list[str]] = {}
    if kind == ExceptionKind.DAY_OFF:
        date_to = date_to or date_from
        if date_to < date_from:
            errors["date_to"] = ["The last day off is before the first."]
        start = end = None
    elif kind == ExceptionKind.EXTRA_HOURS:
        date_to = date_from
        if start is None:
            errors["start"] = ["Give the start of the extra hours."]
        if end is None:
            errors["end"] = ["Give the end of the extra hours."]
        if start is not None and end is not None and end <= start:
            errors["end"] = ["The extra hours end before they start."]
    else:
        errors["kind"] = ['Use "day_off" or "extra_hours".']
    if errors:
        raise ValidationError(errors)
    Doctor.objects.select_for_update().get(pk=doctor.pk)
    return ScheduleException.objects.create(
        doctor=doctor,
        kind=kind,
        date_from=date_from,
        date_to=date_to,
        start=start,
        end=end,
        reason=reason.strip(),
        created_by=actor,
    )
