"""The busy ranges the slot engine reads: every blocked range touching [lower, upper), and a query
whose cost is bounded by the range rather than by the doctor's whole history.

Regression (benchmarks/slots.py): the query was bounded only by `blocked_end > lower` and
`blocked_start < upper`; the index (doctor, blocked_end) then read every appointment after the
range, so a doctor with 150,000 appointments took 30 ms instead of 2 ms for the same 60 days.
It is now also bounded on both sides by `start` (index doctor + start), with a margin longer
than any blocked range can be.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.validators import MaxValueValidator
from django.utils import timezone

from booking.models import Appointment, Status
from booking.selectors import MAX_BLOCKED_SPAN, busy_ranges_query
from booking.services import new_reference
from clinic_site.accounts.roles import Role
from clinic_site.models import ClinicPolicies
from doctors.models import DURATION_CHOICES, Doctor
from tests.factories import at, bookable_doctor, make_user

pytestmark = pytest.mark.django_db


def row(doctor, visit_type, start, *, minutes, before, after):
    """An appointment written through the ORM with its own buffers (the longest allowed)."""
    end = start + timedelta(minutes=minutes)
    return Appointment.objects.create(
        reference=new_reference(),
        doctor=doctor,
        patient=make_user(Role.PATIENT),
        visit_type=visit_type,
        start=start,
        end=end,
        buffer_before=timedelta(minutes=before),
        buffer_after=timedelta(minutes=after),
        blocked_start=start - timedelta(minutes=before),
        blocked_end=end + timedelta(minutes=after),
        status=Status.CONFIRMED,
        created_at=timezone.now(),
    )


def test_the_longest_blocked_ranges_touching_either_edge_are_found():
    inside, inside_type = bookable_doctor(duration=120)
    outside, outside_type = bookable_doctor(duration=120)
    day = timezone.localdate() + timedelta(days=10)
    next_day = day + timedelta(days=1)
    lower, upper = at(day, "12:00"), at(next_day, "12:00")
    longest = {"minutes": 120, "before": 120, "after": 120}
    touching = [
        row(inside, inside_type, at(day, "08:01"), **longest),  # blocked 06:01-12:01
        row(inside, inside_type, at(next_day, "13:59"), **longest),  # blocked 11:59-17:59
    ]
    row(outside, outside_type, at(day, "08:00"), **longest)  # blocked 06:00-12:00
    row(outside, outside_type, at(next_day, "14:00"), **longest)  # blocked 12:00-18:00

    now = timezone.now()
    found = sorted(busy_ranges_query([inside.pk, outside.pk], lower, upper, now=now))
    assert found == sorted((inside.pk, a.blocked_start, a.blocked_end) for a in touching)


def _most(model, field: str) -> int:
    validators = model._meta.get_field(field).validators
    return max(v.limit_value for v in validators if isinstance(v, MaxValueValidator))


def test_the_margin_is_longer_than_any_blocked_range():
    """The longest visit type plus the largest buffers any policy or doctor may set."""
    visit = max(minutes for minutes, _ in DURATION_CHOICES)
    buffers = max(
        _most(model, "buffer_before_minutes") + _most(model, "buffer_after_minutes")
        for model in (ClinicPolicies, Doctor)
    )
    assert timedelta(minutes=visit + buffers) < MAX_BLOCKED_SPAN


def test_the_query_is_bounded_by_start_on_both_sides():
    lower = timezone.now()
    upper = lower + timedelta(days=60)
    sql = str(busy_ranges_query([1], lower, upper, now=lower).query)
    assert '"booking_appointment"."start" >' in sql
    assert '"booking_appointment"."start" <' in sql
