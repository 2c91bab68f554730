"""Doctor records. Their public pages follow them (home.services.doctor_page_ensure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.text import slugify

from clinic_site.accounts.models import User

from .models import (
    DURATION_CHOICES,
    Doctor,
    ExceptionKind,
    ScheduleException,
    Specialty,
    VisitMode,
    VisitType,
    WeeklyWindow,
)

# Called with `doctor=` inside the transaction that creates a doctor. The public site registers
# here (home.apps) to give every new doctor a page, without this app importing it.
DOCTOR_CREATED: list = []


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
    for callback in DOCTOR_CREATED:
        callback(doctor=doctor)
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


@transaction.atomic
def schedule_exception_delete(*, exception: ScheduleException, actor) -> None:
    """Remove a day off or extra hours. Appointments already booked are not touched."""
    Doctor.objects.select_for_update().get(pk=exception.doctor_id)
    ScheduleException.objects.filter(pk=exception.pk).delete()


# --- Visit types ------------------------------------------------------------------------------

ALLOWED_DURATIONS = frozenset(minutes for minutes, _ in DURATION_CHOICES)
MAX_PRICE = Decimal("999999.99")  # VisitType.price: max_digits=8, decimal_places=2


def _visit_type_errors(
    *,
    doctor: Doctor,
    name: str,
    duration_minutes: int,
    mode: str,
    price: Decimal,
    active: bool = True,
    exclude_pk: int | None = None,
) -> dict[str, list[str]]:
    """Errors by field. Two active visit types of one doctor may not share a name: patients
    pick by name."""
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the visit type a name, e.g. “First consultation”."]
    elif len(name) > 80:
        errors["name"] = ["Keep the name to 80 characters or fewer."]
    elif active:
        same_name = VisitType.objects.filter(doctor=doctor, name__iexact=name, is_active=True)
        if exclude_pk is not None:
            same_name = same_name.exclude(pk=exclude_pk)
        if same_name.exists():
            errors["name"] = [f"{doctor} already has an active visit type called “{name}”."]
    if duration_minutes not in ALLOWED_DURATIONS:
        allowed = ", ".join(str(m) for m in sorted(ALLOWED_DURATIONS))
        errors["duration_minutes"] = [f"Choose one of {allowed} minutes."]
    if mode not in VisitMode.values:
        errors["mode"] = ["Choose in person, video or telephone."]
    if price is None or not isinstance(price, Decimal) or not price.is_finite():
        errors["price"] = ["Give a price (0 for free)."]
    elif price < 0:
        errors["price"] = ["The price cannot be negative."]
    elif price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        errors["price"] = ["Give a price up to 999999.99 with at most two decimals."]
    return errors


@transaction.atomic
def visit_type_create(
    *,
    doctor: Doctor,
    actor,
    name: str,
    duration_minutes: int,
    mode: str = VisitMode.IN_PERSON,
    price: Decimal = Decimal("0"),
    is_active: bool = True,
) -> VisitType:
    """A new visit type, listed after the doctor's others."""
    name = (name or "").strip()
    Doctor.objects.select_for_update().get(pk=doctor.pk)
    errors = _visit_type_errors(
        doctor=doctor,
        name=name,
        duration_minutes=duration_minutes,
        mode=mode,
        price=price,
        active=is_active,
    )
    if errors:
        raise ValidationError(errors)
    last = (
        VisitType.objects.filter(doctor=doctor)
        .order_by("-sort_order")
        .values_list("sort_order", flat=True)
    ).first()
    return VisitType.objects.create(
        doctor=doctor,
        name=name,
        duration_minutes=duration_minutes,
        mode=mode,
        price=price,
        is_active=is_active,
        sort_order=0 if last is None else last + 1,
    )


@transaction.atomic
def visit_type_update(
    *,
    visit_type: VisitType,
    actor,
    name: str,
    duration_minutes: int,
    mode: str,
    price: Decimal,
    is_active: bool,
) -> VisitType:
    """Change a visit type. Appointments already booked keep their own start and end."""
    name = (name or "").strip()
    Doctor.objects.select_for_update().get(pk=visit_type.doctor_id)
    errors = _visit_type_errors(
        doctor=visit_type.doctor,
        name=name,
        duration_minutes=duration_minutes,
        mode=mode,
        price=price,
        active=is_active,
        exclude_pk=visit_type.pk,
    )
    if errors:
        raise ValidationError(errors)
    visit_type.name = name
    visit_type.duration_minutes = duration_minutes
    visit_type.mode = mode
    visit_type.price = price
    visit_type.is_active = is_active
    visit_type.save(update_fields=["name", "duration_minutes", "mode", "price", "is_active"])
    return visit_type


def visit_type_remove(*, visit_type: VisitType, actor) -> bool:
    """Delete a visit type nobody has booked; one that appointments use is deactivated instead,
    so their history keeps it. Returns True when it was deleted."""
    with transaction.atomic():
        Doctor.objects.select_for_update().get(pk=visit_type.doctor_id)
        try:
            with transaction.atomic():
                VisitType.objects.filter(pk=visit_type.pk).delete()
        except (ProtectedError, RestrictedError):
            VisitType.objects.filter(pk=visit_type.pk).update(is_active=False)
            visit_type.is_active = False
            return False
    return True
