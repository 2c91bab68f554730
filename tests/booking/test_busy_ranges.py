"""The busy ranges the slot engine reads: every blocked range touching [lower, upper), and a query
whose cost is bounded by the range rather than by the doctor's whole history; the next available
time reads only the days up to each doctor's first free one.

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
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import selectors
from booking.models import Appointment, Status
from booking.selectors import MAX_BLOCKED_SPAN, busy_ranges_query, next_available, slot_search
from booking.services import new_reference
from clinic_site.accounts.roles import Role
from clinic_site.models import ClinicPolicies
from clinic_site.policies import get_policies
from doctors.models import DURATION_CHOICES, Doctor, VisitType, WeeklyWindow
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


# --- next_available reads the busy ranges of the first free day, not of the horizon (issue 11) --

NOW = at(timezone.localdate() + timedelta(days=3), "06:00")


def _block_day(doctor, visit_type, day):
    """Book 09:00-13:00 solid (the whole window of `bookable_doctor`) with two rows."""
    for hhmm in ("09:00", "11:00"):
        row(doctor, visit_type, at(day, hhmm), minutes=120, before=0, after=0)


def _first_offered(visit_type):
    slots = slot_search(
        visit_type=visit_type,
        date_from=NOW.date(),
        date_to=NOW.date() + timedelta(days=60),
        now=NOW,
    )
    return slots[0].start if slots else None


@pytest.mark.parametrize("blocked_days", [0, 1, 2, 5, 13, 40, 61])
def test_next_available_is_the_first_slot_of_the_horizon(blocked_days):
    doctor, visit_type = bookable_doctor()
    short = VisitType.objects.create(doctor=doctor, name="Short", duration_minutes=15, price=10)
    other_doctor, weekly_only = bookable_doctor()
    WeeklyWindow.objects.filter(doctor=other_doctor).exclude(weekday=NOW.weekday()).delete()
    for n in range(blocked_days):
        _block_day(doctor, visit_type, NOW.date() + timedelta(days=n))
    _block_day(other_doctor, weekly_only, NOW.date())  # its only day this week: next week's
    visit_types = list(VisitType.objects.select_related("doctor").order_by("pk"))

    found = next_available(visit_types, now=NOW)

    assert found == {vt.pk: _first_offered(vt) for vt in visit_types}
    assert found[weekly_only.pk] == at(NOW.date() + timedelta(days=7), "09:00")
    assert (found[visit_type.pk] is None) == (blocked_days == 61)
    assert (found[short.pk] is None) == (blocked_days == 61)


def test_next_available_loads_no_bookings_after_the_first_free_day(monkeypatch):
    doctor, visit_type = bookable_doctor()
    _block_day(doctor, visit_type, NOW.date())
    loaded = []
    real = selectors.busy_ranges_by_doctor

    def spy(bounds, *, now):
        found = real(bounds, now=now)
        loaded.append(sum(len(ranges) for ranges in found.values()))
        return found

    monkeypatch.setattr(selectors, "busy_ranges_by_doctor", spy)
    policies = get_policies()
    with CaptureQueriesContext(connection) as few_bookings:
        first = selectors.next_available([visit_type], now=NOW, policies=policies)
    loaded_with_few = list(loaded)
    for n in range(2, 61):  # the rest of the horizon booked solid after the free day
        _block_day(doctor, visit_type, NOW.date() + timedelta(days=n))
    loaded.clear()
    with CaptureQueriesContext(connection) as many_bookings:
        again = selectors.next_available([visit_type], now=NOW, policies=policies)

    assert first == again == {visit_type.pk: at(NOW.date() + timedelta(days=1), "09:00")}
    assert loaded == loaded_with_few == [2, 0]  # today's two rows, then tomorrow: none
    # windows, exceptions, then one busy-range query per day searched
    assert len(few_bookings.captured_queries) == len(many_bookings.captured_queries) == 4
