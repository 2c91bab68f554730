"""Visits played through to a consultation record, built through the services (booking's
lifecycle and records'), with every step's time given so the frozen clock does not matter."""

from __future__ import annotations

import datetime as dt

from booking import services as booking_services
from records import services

from .booking import book

DIAGNOSIS = "Acute bronchitis"
PRESCRIPTION = {
    "drug": "Amoxicillin",
    "dose": "500 mg",
    "frequency": "three times a day",
    "duration": "7 days",
    "instructions": "Finish the course.",
}
TEST = {"name": "Full blood count", "notes": "Fasting not needed."}


def visit_in_progress(visit_type, start: dt.datetime, *, patient=None):
    """Booked the day before, confirmed by the doctor, checked in ten minutes before `start`."""
    doctor_user = visit_type.doctor.user
    appointment = book(visit_type, start, patient=patient, now=start - dt.timedelta(days=1))
    booking_services.appointment_act(
        appointment=appointment,
        actor=doctor_user,
        action="confirm",
        now=start - dt.timedelta(hours=23),
    )
    return booking_services.appointment_act(
        appointment=appointment,
        actor=doctor_user,
        action="check_in",
        now=start - dt.timedelta(minutes=10),
    )


def write_record(
    appointment,
    *,
    diagnosis: str = DIAGNOSIS,
    notes: str = "Cough for ten days, no fever.",
    prescriptions=None,
    tests=None,
    now: dt.datetime | None = None,
):
    """The treating doctor saves a draft (default: one prescription item and one test)."""
    return services.record_save(
        appointment=appointment,
        actor=appointment.doctor.user,
        diagnosis=diagnosis,
        notes=notes,
        prescriptions=[PRESCRIPTION] if prescriptions is None else prescriptions,
        tests=[TEST] if tests is None else tests,
        now=now or appointment.start + dt.timedelta(minutes=10),
    )


def completed_visit(visit_type, start: dt.datetime, *, patient=None, **record):
    """A visit checked in, documented, finalised and completed in one step."""
    appointment = visit_in_progress(visit_type, start, patient=patient)
    write_record(appointment, **record)
    services.record_finalise(
        appointment=appointment,
        actor=appointment.doctor.user,
        complete=True,
        now=start + dt.timedelta(minutes=25),
    )
    appointment.refresh_from_db()
    return appointment
