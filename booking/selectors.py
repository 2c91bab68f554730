"""Reads: offered slots (the slot engine fed from the database), appointment lists, the queue.

`slot_search` loads everything one doctor's slots depend on for a whole date range in a fixed
number of queries (policies, visit type with doctor, weekly windows, exceptions, busy ranges) and
hands it to the pure rules of `doctors.rules`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
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
    # Unordered: BusyRanges sorts what it needs, the database need not.
    return qs.order_by().values_list("doctor_id", "blocked_start", "blocked_end")


def _as_time(value) -> time | None:
    return time.fromisoformat(value) if isinstance(value, str) else value


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _schedules(doctor_ids: Sequence[int], date_from: date, date_to: date):
    """Weekly windows and the exceptions touching date_from..date_to of these doctors.

    Two plain SQL statements: on two small tables Django's query building cost four times the
    queries themselves (~1.1 of 1.4 ms, a third of a one-day slot search; issue 11). SQLite
    gives dates and times as ISO text, PostgreSQL as values.
    """
    weekly: dict[int, dict[int, list[rules.Window]]] = defaultdict(lambda: defaultdict(list))
    changes: dict[int, list[rules.ScheduleChange]] = defaultdict(list)
    ids = [int(pk) for pk in doctor_ids]
    if not ids:
        return weekly, changes
    # Only quoted identifiers and placeholders go into the text; every value is a parameter.
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    windows_sql = (
        f"SELECT {qn('doctor_id')}, {qn('weekday')}, {qn('start')}, {qn('end')} "  # noqa: S608
        f"FROM {qn(WeeklyWindow._meta.db_table)} WHERE {qn('doctor_id')} IN ({marks})"
    )
    changes_sql = (
        f"SELECT {qn('doctor_id')}, {qn('kind')}, {qn('date_from')}, {qn('date_to')}, "  # noqa: S608
        f"{qn('start')}, {qn('end')} FROM {qn(ScheduleException._meta.db_table)} "
        f"WHERE {qn('doctor_id')} IN ({marks}) AND {qn('date_to')} >= %s "
        f"AND {qn('date_from')} <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(windows_sql, ids)
        for doctor_id, weekday, start, end in cursor.fetchall():
            weekly[doctor_id][weekday].append((_as_time(start), _as_time(end)))
        cursor.execute(changes_sql, [*ids, date_from, date_to])
        for doctor_id, kind, first, last, start, end in cursor.fetchall():
            changes[doctor_id].append(
                rules.ScheduleChange(
                    kind, _as_date(first), _as_date(last), _as_time(start), _as_time(end)
                )
            )
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


def busy_ranges_by_doctor(
    bounds: dict[int, tuple[datetime, datetime]], *, now: datetime
) -> dict[int, list[rules.Range]]:
    """Blocked ranges of active appointments and live holds touching each doctor's own
    `bounds[doctor_id] = (lower, upper)`, in one query."""
    # Doctors with the same bounds (usually all of them: the first free day is today or
    # tomorrow) share one condition; building one per doctor costs more than the query.
    by_bounds: dict[tuple[datetime, datetime], list[int]] = defaultdict(list)
    for doctor_id, pair in bounds.items():
        by_bounds[pair].append(doctor_id)
    condition = Q()
    for (lower, upper), doctor_ids in by_bounds.items():
        condition |= Q(
            doctor_id__in=doctor_ids,
            blocked_end__gt=lower,
            blocked_start__lt=upper,
            start__gt=lower - MAX_BLOCKED_SPAN,
            start__lt=upper + MAX_BLOCKED_SPAN,
        )
    found: dict[int, list[rules.Range]] = defaultdict(list)
    rows = (
        Appointment.objects.filter(ACTIVE_CONDITION)
        .filter(condition)
        .exclude(status=Status.HELD, hold_expires_at__lte=now)
        .order_by()
        .values_list("doctor_id", "blocked_start", "blocked_end")
    )
    for doctor_id, start, end in rows:
        found[doctor_id].append((start, end))
    return found


def _days_bounds(first: date, last: date, rules_: rules.SlotRules) -> tuple[datetime, datetime]:
    """What the candidates of local dates first..last can block: from first's midnight minus the
    buffer before to the midnight after `last` plus the buffer after (and an hour either side,
    for a midnight the clocks skip)."""
    tz = clinic_tz()
    lower = datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC)
    upper = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    hour = timedelta(hours=1)
    return lower - rules_.buffer_before - hour, upper + rules_.buffer_after + hour


NO_BUSY = rules.BusyRanges(())


def next_available(
    visit_types: Sequence[VisitType],
    *,
    now: datetime | None = None,
    policies: Policies | None = None,
) -> dict[int, datetime | None]:
    """The first offered start of each visit type (keyed by visit type id), within the horizon.

    Its cost must not grow with the bookings after each doctor's first free slot (issue 11), so
    it searches forward from each visit type's first candidate day (the first slot the rules
    would offer if nothing were booked) and loads only those days' busy ranges: one day; when
    it is fully booked the next day; then 2, 4, 8, … days, one query per round for every doctor
    together (at most 7 rounds for 60 days). Usually: three queries (windows, exceptions, one
    day of busy ranges). Chosen over a next-available value kept up to date by every booking,
    cancellation, hold expiry and schedule change: this needs no new column nor writes inside
    the booking transaction, and cannot go stale.
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
    found: dict[int, datetime | None] = {vt.pk: None for vt in visit_types}
    # visit type id -> (visit type, its rules, the first day still to search)
    pending = {vt.pk: (vt, slot_rules(vt, policies), today) for vt in visit_types}
    length = 1
    for round_ in itertools.count():
        if not pending:
            break
        if round_ >= 2:
            length *= 2
        rounds: dict[int, tuple[date, date]] = {}
        bounds: dict[int, tuple[datetime, datetime]] = {}
        for pk, (visit_type, slot_rule, cursor) in list(pending.items()):
            free = rules.offered_slots(
                date_from=cursor,
                date_to=last,
                tz=tz,
                now=now,
                weekly=weekly[visit_type.doctor_id],
                changes=changes[visit_type.doctor_id],
                busy=NO_BUSY,
                rules=slot_rule,
                limit=1,
            )
            if not free:  # nothing left to offer even with nothing booked
                del pending[pk]
                continue
            first = free[0].start.astimezone(tz).date()
            end = min(first + timedelta(days=length - 1), last)
            rounds[pk] = (first, end)
            lower, upper = _days_bounds(first, end, slot_rule)
            if visit_type.doctor_id in bounds:
                known = bounds[visit_type.doctor_id]
                lower, upper = min(lower, known[0]), max(upper, known[1])
            bounds[visit_type.doctor_id] = (lower, upper)
        if not rounds:
            break
        busy_by_doctor = busy_ranges_by_doctor(bounds, now=now)
        busy = {d: rules.BusyRanges(busy_by_doctor[d]) for d in bounds}
        for pk, (first, end) in rounds.items():
            visit_type, slot_rule, _ = pending[pk]
            slots = rules.offered_slots(
                date_from=first,
                date_to=end,
                tz=tz,
                now=now,
                weekly=weekly[visit_type.doctor_id],
                changes=changes[visit_type.doctor_id],
                busy=busy[visit_type.doctor_id],
                rules=slot_rule,
                limit=1,
            )
            if slots:
                found[pk] = slots[0].start
                del pending[pk]
            else:
                pending[pk] = (visit_type, slot_rule, end + timedelta(days=1))
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
