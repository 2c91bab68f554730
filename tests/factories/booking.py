"""Availability and appointments for tests, built through the models and services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import factory
from django.utils import timezone

from booking import services
from clinic_site.accounts.roles import Role
from doctors.models import VisitType, WeeklyWindow

from .accounts import make_user
from .doctors import DoctorFactory


class VisitTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitType

    doctor = factory.SubFactory(DoctorFactory)
    name = "Consultation"
    duration_minutes = 30
    mode = "in_person"
    price = 40


def give_week(
    doctor,
    windows: Iterable[tuple[str, str]] = (("09:00", "13:00"),),
    weekdays: Iterable[int] = range(7),
) -> None:
    """Every weekday of `weekdays` gets the same wall-clock windows ("HH:MM", "HH:MM")."""
    WeeklyWindow.objects.bulk_create(
        WeeklyWindow(
            doctor=doctor,
            weekday=weekday,
            start=dt.time.fromisoformat(start),
            end=dt.time.fromisoformat(end),
        )
        for weekday in weekdays
        for start, end in windows
    )


def bookable_doctor(*, duration: int = 30, **doctor_kwargs):
    """A doctor working 09:00-13:00 every day with one visit type; returns (doctor, visit_type)."""
    doctor = DoctorFactory(**doctor_kwargs)
    give_week(doctor)
    return doctor, VisitTypeFactory(doctor=doctor, duration_minutes=duration)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    """An aware datetime: `hhmm` wall-clock on `day` in the clinic's time zone."""
    return dt.datetime.combine(
        day, dt.time.fromisoformat(hhmm), tzinfo=timezone.get_default_timezone()
    )


def book(visit_type, start, *, patient=None, actor=None, now=None, **kwargs):
    """Book through the service (the patient books for themself unless `actor` is given)."""
    patient = patient or make_user(Role.PATIENT)
    return services.appointment_book(
        actor=actor or patient,
        patient=patient,
        visit_type=visit_type,
        start=start,
        now=now,
        **kwargs,
    )
