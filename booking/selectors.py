"""Reads: offered slots (the slot engine fed from the database), appointment lists, the queue.

`slot_search` loads everything one doctor's slots depend on for a whole date range in a fixed
number of queries (policies, visit type with doctor, weekly windows, exceptions, busy ranges) and
hands it to the pure rules of `doctors.rules`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.policies import Policies, clinic_tz, get_policies
from doctors import rules
from doctors.models import Doctor, ScheduleException, VisitType, WeeklyWindow

from .models import ACTIVE_CONDITION, Appointment, Status


def effective_buffers(doctor: Doctor, policies: Policies) -> tuple[timedelta, timedelta]:
    before = doctor.buffer_before_minutes
    after = doctor.buffer_after_minutes
    return (
        timedelta(minutes=policies.buffer_before_minutes if before is None else before),
        timedelta(minutes=policies.buffer_after_minutes if after is None else after),
    )


def confirmation_required(doctor: Doctor, policies: Policies) -> bool:
    if doctor.confirmation_required is not None:
        return doctor.confirmation_required
    return policies.confirmation_required


def slot_rules(
    visit_type: VisitType, policies: Policies, *, front_desk: bool = False
) -> rules.SlotRules:
    """The slot rules of one visit type. The front desk still books a doctor whose online
    booking is closed (`accepting_bookings` off); nobody books an inactive doctor or visit type."""
    doctor = visit_type.doctor
    before, after = effective_buffers(doctor, policies)
    return rules.SlotRules(
        duration=timedelta(minutes=visit_type.duration_minutes),
        buffer_before=before,
        buffer_after=after,
        minimum_notice=policies.minimum_notice,
        horizon_days=policies.booking_horizon_days,
        bookable=doctor.is_active
        and visit_type.is_active
        and (front_desk or doctor.accepting_bookings),
    )


def _day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """Absolute bounds that contain every blocked range touching these local dates."""
    tz = clinic_tz()
    lower = datetime.combine(date_from - timedelta(days=1), time.min, tzinfo=tz)
    upper = datetime.combine(date_to + timedelta(days=2), time.min, tzinfo=tz)
    return lower, upper


# Longer than any blocked range can be: a visit is at most 120 minutes and each buffer at most
# 120 (visit-type choices; policy and doctor limits), so six hours; a day leaves room.
MAX_BLOCKED_SPAN = timedelta(days=1)


def busy_ranges_query(
    doctor_ids: Iterable[int],
    lower: datetime,
    upper: datetime,
    *,
    now: datetime,
    exclude_appointment: int | None = None,
) -> QuerySet:
    """Blocked ranges of active appointments and live holds of these doctors in [lower, upper).

    Expired holds are free. `exclude_appointment` does not block: the appointment being
    rescheduled (its own new time) or the hold being turned into its patient's appointment.
    """
    qs = Appointment.objects.filter(
        ACTIVE_CONDITION,
        doctor_id__in=list(doctor_ids),
        blocked_end__gt=lower,
        blocked_start__lt=upper,
        # The same rows, bounded on both sides by the start (index doctor + start): without it
        # the scan reads every appointment after the range (or before it), so the cost grew
        # with a doctor's whole history and future instead of with the range.
        start__gt=lower - MAX_BLOCKED_SPAN,
        start__lt=upper + MAX_BLOCKED_SPAN,
    ).exclude(status=Status.HELD, hold_expires_at__lte=now)
    if exclude_appointment is not None:
        qs = qs.exclude(pk=exclude_appointment)
    return qs.values_list("doctor_id", "blocked_start", "blocked_end")


def _schedules(doctor_ids: Sequence[int], date_from: date, date_to: date):
    weekly: dict[int, dict[int, list[rules.Window]]] = defaultdict(lambda: defaultdict(list))
    for doctor_id, weekday, start, end in WeeklyWindow.objects.filter(
        doctor_id__in=doctor_ids
    ).values_list("doctor_id", "weekday", "start", "end"):
        weekly[doctor_id][weekday].append((start, end))
    changes: dict[int, list[rules.ScheduleChange]] = defaultdict(list)
    for row in ScheduleException.objects.filter(
        doctor_id__in=doctor_ids, date_to__gte=date_from, date_from__lte=date_to
    ).values_list("doctor_id", "kind", "date_from", "date_to", "start", "end"):
        changes[row[0]].append(rules.ScheduleChange(*row[1:]))
    return weekly, changes


def working_windows(
    doctor: Doctor, date_from: date, date_to: date
) -> dict[date, list[rules.Window]]:
    """The merged working windows of each local date (two queries: windows, exceptions)."""
    weekly, changes = _schedules([doctor.pk], date_from, date_to)
    days = (date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1))
    return {day: rules.windows_of_date(day, weekly[doctor.pk], changes[doctor.pk]) for day in days}


def slot_search(
    *,
    visit_type: VisitType,
    date_from: date,
    date_to: date,
    now: datetime | None = None,
    policies: Policies | None = None,
    exclude_appointment: int | None = None,
    earliest: datetime | None = None,
    front_desk: bool = False,
) -> list[rules.Slot]:
    """Offered slots of one doctor and visit type (`visit_type.doctor` must be loaded)."""
    now = now or timezone.now()
    policies = policies or get_policies()
    doctor_id = visit_type.doctor_id
    weekly, changes = _schedules([doctor_id], date_from, date_to)
    lower, upper = _day_bounds(date_from, date_to)
    busy = rules.BusyRanges(
        (start, end)
        for _, start, end in busy_ranges_query(
            [doctor_id],
            lower,
            upper,
            now=now,
            exclude_appointment=exclude_appointment,
        )
    )
    return rules.offered_slots(
        date_from=date_from,
        date_to=date_to,
        tz=clinic_tz(),
        now=now,
        weekly=weekly[doctor_id],
        changes=changes[doctor_id],
        busy=busy,
        rules=slot_rules(visit_type, policies, front_desk=front_desk),
        earliest=earliest,
    )


def next_available(
    visit_types: Sequence[VisitType],
    *,
    now: datetime | None = None,
    policies: Policies | None = None,
) -> dict[int, datetime | None]:
    """The first offered start of each visit type (keyed by visit type id), within the horizon.

    Three queries for all of them together: windows, exceptions, busy ranges.
    """
    if not visit_types:
        return {}
    now = now or timezone.now()
    policies = policies or get_policies()
    tz = clinic_tz()
    today = now.astimezone(tz).date()
    last = today + timedelta(days=policies.booking_horizon_days)
    doctor_ids = sorted({vt.doctor_id for vt in visit_types})
    weekly, changes = _schedules(doctor_ids, today, last)
    lower, upper = _day_bounds(today, last)
    busy_by_doctor: dict[int, list[rules.Range]] = defaultdict(list)
    for doctor_id, start, end in busy_ranges_query(doctor_ids, lower, upper, now=now):
        busy_by_doctor[doctor_id].append((start, end))
    found: dict[int, datetime | None] = {}
    for visit_type in visit_types:
        doctor_id = visit_type.doctor_id
        busy = rules.BusyRanges(busy_by_doctor[doctor_id])
        slot_rule = slot_rules(visit_type, policies)
        found[visit_type.pk] = None
        # Week by week, so the usual case (a slot this week) looks at a few days only.
        week_start = today
        while week_start <= last and found[visit_type.pk] is None:
            week_end = min(week_start + timedelta(days=6), last)
            slots = rules.offered_slots(
                date_from=week_start,
                date_to=week_end,
                tz=tz,
                now=now,
                weekly=weekly[doctor_id],
                changes=changes[doctor_id],
                busy=busy,
                rules=slot_rule,
            )
            if slots:
                found[visit_type.pk] = slots[0].start
            week_start = week_end + timedelta(days=1)
    return found


# --- Appointments -----------------------------------------------------------------------------


def appointment_queryset() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("doctor", "patient", "visit_type", "record").exclude(
        status=Status.RELEASED
    )


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    """Patients see their own, doctors theirs, receptionists and administrators all."""
    qs = appointment_queryset()
    role = user.role if user.is_authenticated else None
    if role in (Role.RECEPTIONIST, Role.ADMIN):
        return qs
    if role == Role.DOCTOR:
        return qs.filter(doctor__user=user)
    if role == Role.PATIENT:
        return qs.filter(patient=user)
    return qs.none()


def local_day_range(day: date) -> tuple[datetime, datetime]:
    tz = clinic_tz()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def filter_appointments(
    qs: QuerySet[Appointment],
    *,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    doctor: int | None = None,
    patient: int | None = None,
    q: str | None = None,
) -> QuerySet[Appointment]:
    if status:
        qs = qs.filter(status__in=[s.strip().upper() for s in status.split(",") if s.strip()])
    if date_from:
        qs = qs.filter(start__gte=local_day_range(date_from)[0])
    if date_to:
        qs = qs.filter(start__lt=local_day_range(date_to)[1])
    if doctor:
        qs = qs.filter(doctor_id=doctor)
    if patient:
        qs = qs.filter(patient_id=patient)
    if q:
        q = q.strip()
        qs = qs.filter(Q(reference__iexact=q) | Q(patient__full_name__icontains=q))
    return qs


def queue_for(doctor: Doctor, day: date) -> QuerySet[Appointment]:
    """Today's queue of a doctor: checked-in appointments of that local date, in queue order."""
    start, end = local_day_range(day)
    return (
        appointment_queryset()
        .filter(doctor=doctor, status=Status.CHECKED_IN, start__gte=start, start__lt=end)
        .order_by("queue_position", "checked_in_at", "pk")
    )


def slot_offered(
    *,
    visit_type: VisitType,
    start: datetime,
    now: datetime | None = None,
    policies: Policies | None = None,
    exclude_appointment: int | None = None,
    earliest: datetime | None = None,
    front_desk: bool = False,
) -> rules.Slot | None:
    """The offered slot of `visit_type` starting at `start`, or None (`visit_type.doctor` loaded).

    Compared in UTC: an aware time in the repeated hour never equals one of another zone.
    """
    day = start.astimezone(clinic_tz()).date()
    slots = slot_search(
        visit_type=visit_type,
        date_from=day,
        date_to=day,
        now=now,
        policies=policies,
        exclude_appointment=exclude_appointment,
        earliest=earliest,
        front_desk=front_desk,
    )
    start = start.astimezone(UTC)
    return next((slot for slot in slots if slot.start.astimezone(UTC) == start), None)


ALTERNATIVES_DAYS = 14
ALTERNATIVES_COUNT = 3


def slot_alternatives(
    visit_type: VisitType,
    start: datetime,
    *,
    now: datetime | None = None,
    policies: Policies | None = None,
    exclude_appointment: int | None = None,
) -> list[rules.Slot]:
    """What to offer instead of `start`: the next (at most 3) offered slots of that doctor and
    visit type after it, looked for two weeks at a time up to the booking horizon
    (scheduling-rules.md). Only when nothing is left after it: the nearest ones before it."""
    now = now or timezone.now()
    policies = policies or get_policies()
    tz = clinic_tz()
    today = now.astimezone(tz).date()
    last_day = today + timedelta(days=policies.booking_horizon_days)
    asked_day = start.astimezone(tz).date()
    search = {
        "visit_type": visit_type,
        "now": now,
        "policies": policies,
        "exclude_appointment": exclude_appointment,
    }
    found: list[rules.Slot] = []
    day = max(asked_day, today)
    while day <= last_day and len(found) < ALTERNATIVES_COUNT:
        chunk_end = min(day + timedelta(days=ALTERNATIVES_DAYS - 1), last_day)
        slots = slot_search(date_from=day, date_to=chunk_end, **search)
        found += [s for s in slots if s.start >= start][: ALTERNATIVES_COUNT - len(found)]
        day = chunk_end + timedelta(days=1)
    if found:
        return found
    earlier = slot_search(
        date_from=max(today, asked_day - timedelta(days=ALTERNATIVES_DAYS)),
        date_to=min(asked_day, last_day),
        **search,
    )
    return rules.nearest_slots(earlier, start, ALTERNATIVES_COUNT)


# --- The patient portal -----------------------------------------------------------------------

UPCOMING_STATUSES = (Status.HELD, Status.REQUESTED, Status.CONFIRMED, Status.CHECKED_IN)


def patient_upcoming(user: User, *, now: datetime) -> QuerySet[Appointment]:
    """Visits still ahead (or under way today), soonest first; expired holds are not."""
    return (
        appointments_visible_to(user)
        .filter(status__in=UPCOMING_STATUSES, end__gt=now)
        .exclude(status=Status.HELD, hold_expires_at__lte=now)
        .order_by("start", "pk")
    )


def patient_history(user: User, *, now: datetime) -> QuerySet[Appointment]:
    """Everything that is over: final statuses, and requests or bookings whose time has passed."""
    return (
        appointments_visible_to(user)
        .exclude(status=Status.HELD)
        .filter(~Q(status__in=UPCOMING_STATUSES) | Q(end__lte=now))
        .order_by("-start", "-pk")
    )


def appointment_history(appointment: Appointment) -> Appointment:
    """The appointment again, with its transitions and reschedules (and who made them)."""
    return (
        appointment_queryset()
        .prefetch_related("transitions__by", "reschedules__changed_by")
        .get(pk=appointment.pk)
    )
