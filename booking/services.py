"""Booking writes. Each service is one transaction that locks what it contends for in a fixed
order — the doctor row, then the patient row, then the appointment — re-checks the rules inside
the lock, writes its transition or reschedule row and queues side effects on commit. A new
booking takes the doctor row only (the first of that order): the patient's overlap is checked
inside it and guaranteed by the patient exclusion constraint.

The database constraints (exclusion constraints on PostgreSQL, a conditional unique constraint
everywhere) are the last line of defence; a violation surfaces as the same 409 a rule gives.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.functions import JSONArray
from django.utils import timezone

from clinic_site.accounts.exceptions import EmailNotVerified
from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.activity import NO_ACTOR, Action, log_event
from clinic_site.db import JSONArrayAgg
from clinic_site.exceptions import Forbidden
from clinic_site.policies import Policies, clinic_tz, get_policies
from doctors import rules as slot_engine
from doctors.models import Doctor, ScheduleException, VisitMode, VisitType, WeeklyWindow

from . import rules
from .exceptions import HoldExpired, IdempotencyKeyReused, PatientOverlap, SlotUnavailable
from .models import (
    ACTIVE_CONDITION,
    INACTIVE_STATUSES,
    Appointment,
    HoldKind,
    PaymentStatus,
    Reschedule,
    Status,
    Transition,
)
from .notifications import Kind, notify_appointment, notify_for_status
from .permissions import action_context, can_book_for_others, can_reorder_queue, role_of
from .selectors import (
    MAX_BLOCKED_SPAN,
    confirmation_required,
    effective_buffers,
    local_day_range,
    slot_alternatives,
    slot_offered,
    slot_rules,
)

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U
REFERENCE_LENGTH = 8


def _utc_now(now: datetime | None) -> datetime:
    """`now` in UTC: adding durations to a time of the clinic's zone would add wall-clock time,
    which is wrong by an hour on a daylight-saving night."""
    return (now or timezone.now()).astimezone(UTC)


def new_reference() -> str:
    """A short, unguessable public reference such as "K7Q2M9XD" (30^8 ≈ 6.6·10^11)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


# --- Database errors --------------------------------------------------------------------------

_SLOT_CONSTRAINTS = ("booking_appt_doctor_no_overlap", "booking_appt_doctor_start_unique")
_PATIENT_CONSTRAINTS = ("booking_appt_patient_no_overlap",)
_RETRYABLE_SQLSTATES = ("40P01", "40001")  # deadlock, serialisation failure


def _constraint_name(exc: Exception) -> str:
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    message = str(exc)
    if "booking_appointment.doctor_id, booking_appointment.start" in message:
        return "booking_appt_doctor_start_unique"
    if "booking_appointment.reference" in message:
        return "booking_appointment_reference_key"
    return message


def translate_database_error(exc: Exception):
    """A domain error for a database error that means "a booking rule refused this", else None.

    Registered with the API's exception handler, so even a write that slipped past a service's
    checks answers 409, never 500.
    """
    if isinstance(exc, IntegrityError):
        name = _constraint_name(exc)
        if any(c in name for c in _SLOT_CONSTRAINTS):
            return SlotUnavailable()
        if any(c in name for c in _PATIENT_CONSTRAINTS):
            return PatientOverlap()
    if isinstance(exc, OperationalError):
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            return SlotUnavailable("That time was taken at the same moment; please choose again.")
    return None


# --- Locks and helpers ------------------------------------------------------------------------


def _lock(doctor_id: int, patient_id: int) -> tuple[Doctor, User]:
    """Doctor first, then patient: the one order every writer uses (no deadlocks)."""
    doctor = Doctor.objects.select_for_update().get(pk=doctor_id)
    patient = User.objects.select_for_update().get(pk=patient_id)
    return doctor, patient


def _release_expired_holds(*, doctor_id: int, patient_id: int, now: datetime) -> int:
    """Expired holds block nothing: release them before anything overlapping is written."""
    return _release(
        Appointment.objects.filter(status=Status.HELD, hold_expires_at__lte=now).filter(
            Q(doctor_id=doctor_id) | Q(patient_id=patient_id)
        ),
        now=now,
    )


def holds_release_expired(*, now: datetime | None = None) -> int:
    """The periodic tidy-up (`manage.py release_expired_holds`): release every expired hold.

    Nothing depends on it for correctness — the booking path already treats expired holds as
    free — it keeps the table and the staff lists tidy. Doctor by doctor, taking the same doctor
    lock the booking path takes, so it never races a booking for the same rows.
    """
    now = _utc_now(now)
    released = 0
    doctor_ids = (
        Appointment.objects.filter(status=Status.HELD, hold_expires_at__lte=now)
        .values_list("doctor_id", flat=True)
        .distinct()
    )
    for doctor_id in sorted(set(doctor_ids)):
        with transaction.atomic():
            Doctor.objects.select_for_update().get(pk=doctor_id)
            released += _release(
                Appointment.objects.filter(
                    status=Status.HELD, hold_expires_at__lte=now, doctor_id=doctor_id
                ),
                now=now,
            )
    return released


def _release(expired_holds, *, now: datetime) -> int:
    expired = list(expired_holds.select_for_update().values_list("pk", flat=True))
    if not expired:
        return 0
    Appointment.objects.filter(pk__in=expired).update(
        status=Status.RELEASED, payment_status=PaymentStatus.NOT_REQUIRED, updated_at=now
    )
    Transition.objects.bulk_create(
        Transition(
            appointment_id=pk,
            from_status=Status.HELD,
            to_status=Status.RELEASED,
            at=now,
            reason="The hold expired.",
        )
        for pk in expired
    )
    return len(expired)


def _slot_taken(
    visit_type, start, now, policies, *, exclude_appointment: int | None = None
) -> SlotUnavailable:
    alternatives = slot_alternatives(
        visit_type, start, now=now, policies=policies, exclude_appointment=exclude_appointment
    )
    return SlotUnavailable(
        "That time is not available. Please choose another time.",
        extra={"alternatives": [{"start": s.start, "end": s.end} for s in alternatives]},
    )


def _patient_busy(patient_id: int, start: datetime, end: datetime, now: datetime, exclude=None):
    qs = (
        Appointment.objects.filter(ACTIVE_CONDITION, patient_id=patient_id)
        .filter(start__lt=end, end__gt=start)
        .exclude(status=Status.HELD, hold_expires_at__lte=now)
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _record(appointment, *, from_status, to_status, by, at, reason="", details=None):
    transition = Transition.objects.create(
        appointment=appointment,
        from_status=from_status or "",
        to_status=to_status,
        by=by,
        at=at,
        reason=reason,
        details=details or {},
    )
    _log_activity(
        appointment,
        Action.APPOINTMENT_TRANSITION,
        by=by,
        at=at,
        reason=reason,
        details={"from": from_status or "", "to": to_status, **(details or {})},
    )
    return transition


def _log_activity(appointment, action, *, by, at, reason="", details=None) -> None:
    """The activity-log twin of a transition or reschedule row. Booking facts only: whether a
    reason was given, not its words (the appointment's own history keeps those)."""
    log_event(
        action=action,
        actor=by if by is not None else NO_ACTOR,  # None: the system, as in the transition row
        target=f"Appointment {appointment.reference}",
        target_type="appointment",
        target_id=appointment.reference,
        details={**(details or {}), "reason_given": bool((reason or "").strip())},
        at=at,
    )


def _meeting_token() -> str:
    return "clinic-" + secrets.token_urlsafe(12).replace("_", "").replace("-", "")[:16]


def meeting_url(appointment: Appointment) -> str | None:
    """The video visit's room; None for visits that are not (or no longer) by video."""
    if not appointment.meeting_token or appointment.visit_type.mode != VisitMode.VIDEO:
        return None
    return settings.CLINIC_MEETING_BASE_URL.rstrip("/") + "/" + appointment.meeting_token


# --- Booking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    patient: User
    visit_type: VisitType
    start: datetime
    reason: str = ""
    walk_in: bool = False


def _authorise_booking(actor: User, patient: User, doctor: Doctor, walk_in: bool) -> bool:
    """Return whether `actor` books as staff; raise if they may not book this at all."""
    if can_book_for_others(actor):
        if patient.role != Role.PATIENT:
            raise ValidationError({"patient": ["Appointments are booked for patients."]})
        return True
    if role_of(actor) != Role.PATIENT or actor.pk != patient.pk:
        raise Forbidden("Only patients (for themselves) and the front desk can book.")
    if walk_in:
        raise Forbidden("Walk-in bookings are made at the front desk.")
    if not actor.email_verified:
        raise EmailNotVerified()
    if (
        not doctor.accepting_new_patients
        and not Appointment.objects.filter(
            doctor=doctor, patient=patient, status=Status.COMPLETED
        ).exists()
    ):
        raise Forbidden(
            f"{doctor.name} is not taking new patients at the moment; the front desk can help."
        )
    return False


def appointment_book(
    *,
    actor: User,
    patient: User,
    visit_type: VisitType | None = None,
    start: datetime,
    reason: str = "",
    walk_in: bool = False,
    now: datetime | None = None,
    idempotency_key: str = "",
    policies: Policies | None = None,
    visit_type_id: int | None = None,
    doctor_id: int | None = None,
) -> Appointment:
    """Book `start` with `visit_type` for `patient` — only an offered slot, only once.

    The visit type comes as an object, or as `visit_type_id` (and the `doctor_id` it must
    belong to) straight from a request: it is then read with the lock, so an unknown one is a
    field error. With an `idempotency_key`, asking again (a retry after a lost answer, a double
    submit) returns the appointment the first request made, whatever happened to it since; the
    same key for a different booking is refused.

    The common path is six statements (docs/performance.md counts the request's): the doctor
    locked with the visit type, the day's windows and exceptions; every appointment the rules
    look at (the doctor's around that day, the patient's at that time, the key's); the insert,
    its transition and activity rows; the notice queued on commit. The patient's overlap is
    checked here and guaranteed by the exclusion constraint on PostgreSQL, so unlike the other
    writers this one does not lock the patient row.
    """
    now = _utc_now(now)
    start = start.astimezone(UTC)
    policies = policies or get_policies()
    from_request = visit_type is None
    if not from_request:
        visit_type_id, doctor_id = visit_type.pk, visit_type.doctor_id
    for _ in range(5):
        try:
            return _book(
                actor=actor,
                patient=patient,
                visit_type_id=visit_type_id,
                doctor_id=doctor_id,
                start=start,
                reason=reason,
                walk_in=walk_in,
                now=now,
                idempotency_key=idempotency_key,
                policies=policies,
                from_request=from_request,
            )
        except _ReferenceTaken:
            continue  # the whole transaction again, with a new reference
        except _ConstraintRefusal as refusal:
            # The database refused the row (a booking committed at the same moment): the
            # transaction is gone, so the alternatives are read after it.
            raise _slot_taken(refusal.visit_type, start, now, policies) from None
    raise RuntimeError("Could not find a free appointment reference.")


class _ReferenceTaken(Exception):
    """The drawn reference exists already (about one booking in 10^11)."""


class _ConstraintRefusal(Exception):
    def __init__(self, visit_type: VisitType):
        self.visit_type = visit_type


def _booking_visit_type(visit_type_id, doctor_id, day) -> VisitType | None:
    """The visit type with its doctor, the doctor row locked, and the schedule of `day` (its
    weekday's windows and the exceptions covering it) as `weekly` and `changes` — one
    statement. None when the doctor does not offer the visit type."""
    weekly = (
        WeeklyWindow.objects.filter(doctor_id=OuterRef("doctor_id"), weekday=day.weekday())
        .values("doctor_id")
        .annotate(rows=JSONArrayAgg(JSONArray("start", "end")))
        .values("rows")
    )
    changes = (
        ScheduleException.objects.filter(
            doctor_id=OuterRef("doctor_id"), date_from__lte=day, date_to__gte=day
        )
        .values("doctor_id")
        .annotate(rows=JSONArrayAgg(JSONArray("kind", "date_from", "date_to", "start", "end")))
        .values("rows")
    )
    found = (
        VisitType.objects.select_related("doctor")
        .select_for_update(of=("doctor",))
        .annotate(weekly_rows=Subquery(weekly), change_rows=Subquery(changes))
        .filter(pk=visit_type_id, doctor_id=doctor_id)
        .order_by()
        .first()
    )
    if found is None:
        return None
    found.weekly = {
        day.weekday(): [
            (time.fromisoformat(s), time.fromisoformat(e))
            for s, e in json.loads(found.weekly_rows or "[]")
        ]
    }
    found.changes = [
        slot_engine.ScheduleChange(
            kind,
            date.fromisoformat(date_from),
            date.fromisoformat(date_to),
            time.fromisoformat(s) if s else None,
            time.fromisoformat(e) if e else None,
        )
        for kind, date_from, date_to, s, e in json.loads(found.change_rows or "[]")
    ]
    return found


_AROUND_FIELDS = (
    "pk",
    "doctor_id",
    "patient_id",
    "visit_type_id",
    "start",
    "end",
    "blocked_start",
    "blocked_end",
    "status",
    "hold_expires_at",
    "created_by_id",
    "idempotency_key",
)


def _around(*, doctor_id, patient_id, start, end, day, actor, idempotency_key):
    """In one statement, every appointment the booking rules look at: the doctor's active
    ones whose blocked range touches the local day (the slot check), the patient's active ones
    at that time (the overlap check, their own hold among them), and the one made with this
    idempotency key."""
    tz = clinic_tz()
    lower = datetime.combine(day - timedelta(days=1), time.min, tzinfo=tz)
    upper = datetime.combine(day + timedelta(days=2), time.min, tzinfo=tz)
    wanted = ACTIVE_CONDITION & (
        Q(
            doctor_id=doctor_id,
            blocked_end__gt=lower,
            blocked_start__lt=upper,
            start__gt=lower - MAX_BLOCKED_SPAN,
            start__lt=upper + MAX_BLOCKED_SPAN,
        )
        | Q(patient_id=patient_id, start__lt=end, end__gt=start)
    )
    if idempotency_key:
        wanted |= Q(created_by=actor, idempotency_key=idempotency_key)
    return [
        dict(zip(_AROUND_FIELDS, row, strict=True))
        for row in Appointment.objects.filter(wanted).values_list(*_AROUND_FIELDS)
    ]


def _offered_in(
    rows, visit_type, start, *, day, now, policies, own_hold_pk, earliest, front_desk
) -> bool:
    """Is `start` an offered slot of the day, given the appointments `_around` read?"""
    doctor_id = visit_type.doctor_id
    busy = slot_engine.BusyRanges(
        (r["blocked_start"], r["blocked_end"])
        for r in rows
        if r["doctor_id"] == doctor_id and r["pk"] != own_hold_pk
    )
    offered = slot_engine.offered_slots(
        date_from=day,
        date_to=day,
        tz=clinic_tz(),
        now=now,
        weekly=visit_type.weekly,
        changes=visit_type.changes,
        busy=busy,
        rules=slot_rules(visit_type, policies, front_desk=front_desk),
        earliest=earliest,
    )
    return any(slot.start.astimezone(UTC) == start for slot in offered)


def _patient_busy_in(rows, patient_id, start, end, *, own_hold_pk) -> bool:
    """Does the patient have another active appointment overlapping [start, end)?"""
    return any(
        r["patient_id"] == patient_id and r["start"] < end and r["end"] > start
        for r in rows
        if r["pk"] != own_hold_pk
    )


def _release_expired_in(rows, *, now) -> int:
    """Expired holds block nothing: release those among `rows` (those in the way) before
    anything is written."""
    expired = [r["pk"] for r in rows if r["status"] == Status.HELD and r["hold_expires_at"] <= now]
    if not expired:
        return 0
    return _release(
        Appointment.objects.filter(pk__in=expired, status=Status.HELD, hold_expires_at__lte=now),
        now=now,
    )


def _insert_booked(appointment: Appointment) -> None:
    """Insert a new booking, without a savepoint: a refusal ends the whole transaction, and
    appointment_book answers it (or draws another reference) outside."""
    try:
        appointment.save(force_insert=True)
    except (IntegrityError, OperationalError) as exc:
        if isinstance(exc, IntegrityError) and "reference" in _constraint_name(exc):
            raise _ReferenceTaken() from exc
        error = translate_database_error(exc)
        if isinstance(error, SlotUnavailable):
            raise _ConstraintRefusal(appointment.visit_type) from exc
        raise (error or exc) from exc


def _book(
    *,
    actor,
    patient,
    visit_type_id,
    doctor_id,
    start,
    reason,
    walk_in,
    now,
    idempotency_key,
    policies,
    from_request,
) -> Appointment:
    tz = clinic_tz()
    day = start.astimezone(tz).date()
    with transaction.atomic():
        visit_type = _booking_visit_type(visit_type_id, doctor_id, day)
        # Asked for by id, an inactive doctor is no doctor at all; a visit type already in hand
        # is refused by the slot rules (nothing is offered) like any other time.
        if visit_type is None or (from_request and not visit_type.doctor.is_active):
            if not Doctor.objects.filter(pk=doctor_id, is_active=True).exists():
                raise ValidationError({"doctor": ["No such doctor."]})
            raise ValidationError({"visit_type": ["This doctor offers no such visit type."]})
        doctor = visit_type.doctor
        by_staff = _authorise_booking(actor, patient, doctor, walk_in)
        duration = timedelta(minutes=visit_type.duration_minutes)
        end = start + duration
        rows = _around(
            doctor_id=doctor.pk,
            patient_id=patient.pk,
            start=start,
            end=end,
            day=day,
            actor=actor,
            idempotency_key=idempotency_key,
        )
        if idempotency_key:
            earlier = next(
                (
                    r
                    for r in rows
                    if r["created_by_id"] == actor.pk and r["idempotency_key"] == idempotency_key
                ),
                None,
            )
            if earlier is not None:
                if (earlier["patient_id"], earlier["visit_type_id"], earlier["start"]) != (
                    patient.pk,
                    visit_type.pk,
                    start,
                ):
                    raise IdempotencyKeyReused()
                return Appointment.objects.select_related("doctor", "patient", "visit_type").get(
                    pk=earlier["pk"]
                )
        rows = [r for r in rows if r["status"] not in INACTIVE_STATUSES]
        if _release_expired_in(rows, now=now):
            rows = [r for r in rows if r["status"] != Status.HELD or r["hold_expires_at"] > now]
        own_hold_pk = next(
            (
                r["pk"]
                for r in rows
                if r["status"] == Status.HELD
                and (r["patient_id"], r["doctor_id"], r["start"], r["visit_type_id"])
                == (patient.pk, doctor.pk, start, visit_type.pk)
            ),
            None,
        )

        details: dict[str, Any] = {}
        earliest = None
        if walk_in:
            if day != now.astimezone(tz).date():
                raise _slot_taken(visit_type, start, now, policies)
            # A slot that has begun but not ended: start > now - d.
            earliest = now - duration + timedelta(microseconds=1)
            details["walk_in"] = True
        if not _offered_in(
            rows,
            visit_type,
            start,
            day=day,
            now=now,
            policies=policies,
            own_hold_pk=own_hold_pk,
            earliest=earliest,
            front_desk=by_staff,
        ):
            raise _slot_taken(visit_type, start, now, policies, exclude_appointment=own_hold_pk)
        if walk_in and start < now + policies.minimum_notice:
            details["notice_bypassed"] = True
        if _patient_busy_in(rows, patient.pk, start, end, own_hold_pk=own_hold_pk):
            raise PatientOverlap()

        if own_hold_pk is not None:
            own_hold = Appointment.objects.select_related("doctor", "patient", "visit_type").get(
                pk=own_hold_pk
            )
            if own_hold.hold_kind == HoldKind.PAYMENT:
                # Asking again for a slot held for payment: the hold stands until it is paid or
                # expires; booking again must not turn it into an unpaid appointment.
                return own_hold
            return _convert_hold(
                own_hold, actor=actor, by_staff=by_staff, now=now, policies=policies
            )

        before, after = effective_buffers(doctor, policies)
        price = visit_type.price
        if price == 0:
            payment = PaymentStatus.NOT_REQUIRED
        elif policies.payment_at_booking and not by_staff:
            payment = PaymentStatus.PENDING
        else:
            payment = PaymentStatus.AT_DESK
        if payment == PaymentStatus.PENDING:
            status = Status.HELD
        else:
            status = rules.initial_status(
                by_staff=by_staff, confirmation_required=confirmation_required(doctor, policies)
            )
        appointment = Appointment(
            reference=new_reference(),
            doctor=doctor,
            patient=patient,
            visit_type=visit_type,
            start=start,
            end=end,
            buffer_before=before,
            buffer_after=after,
            blocked_start=start - before,
            blocked_end=end + after,
            status=status,
            reason=reason.strip(),
            price=price,
            payment_status=payment,
            walk_in=walk_in,
            meeting_token=_meeting_token() if visit_type.mode == VisitMode.VIDEO else "",
            created_by=actor,
            created_at=now,
            idempotency_key=idempotency_key,
            requested_at=now if status == Status.REQUESTED else None,
            confirmed_at=now if status == Status.CONFIRMED else None,
        )
        if status == Status.HELD:
            appointment.hold_kind = HoldKind.PAYMENT
            appointment.hold_expires_at = now + timedelta(minutes=policies.payment_hold_minutes)
        _insert_booked(appointment)
        # A new appointment has no consultation record: say so, rather than ask.
        Appointment.record.related.set_cached_value(appointment, None)
        _record(appointment, from_status="", to_status=status, by=actor, at=now, details=details)
        notify_for_status(appointment)
    return appointment


def _insert(appointment: Appointment, *, now: datetime, policies: Policies) -> None:
    """Insert with a fresh reference; constraint violations become the matching 409 (a refused
    slot with its alternatives, like the service's own check gives)."""
    try:
        _insert_row(appointment)
    except SlotUnavailable:
        raise _slot_taken(appointment.visit_type, appointment.start, now, policies) from None


def _insert_row(appointment: Appointment) -> None:
    for _ in range(5):
        appointment.reference = new_reference()
        try:
            with transaction.atomic():
                appointment.save(force_insert=True)
            return
        except IntegrityError as exc:
            if "reference" in _constraint_name(exc):
                continue
            error = translate_database_error(exc)
            raise (error or exc) from exc
        except OperationalError as exc:
            error = translate_database_error(exc)
            raise (error or exc) from exc
    raise RuntimeError("Could not find a free appointment reference.")


def _convert_hold(hold, *, actor, by_staff, now, policies) -> Appointment:
    status = rules.initial_status(
        by_staff=by_staff, confirmation_required=confirmation_required(hold.doctor, policies)
    )
    appointment = _apply(
        hold,
        to_status=status,
        actor=actor,
        now=now,
        updates={
            "hold_kind": "",
            "hold_expires_at": None,
            "requested_at": now if status == Status.REQUESTED else None,
            "confirmed_at": now if status == Status.CONFIRMED else None,
        },
    )
    notify_for_status(appointment)
    return appointment


def hold_create(
    *,
    patient: User,
    visit_type: VisitType,
    start: datetime,
    kind: HoldKind,
    actor: User | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Reserve an offered slot for one patient until it expires (payment, waiting-list offer)."""
    now = _utc_now(now)
    policies = get_policies()
    start = start.astimezone(UTC)
    minutes = (
        policies.payment_hold_minutes
        if kind == HoldKind.PAYMENT
        else policies.waitlist_offer_minutes
    )
    duration = timedelta(minutes=visit_type.duration_minutes)
    with transaction.atomic():
        doctor, patient = _lock(visit_type.doctor_id, patient.pk)
        visit_type.doctor = doctor
        _release_expired_holds(doctor_id=doctor.pk, patient_id=patient.pk, now=now)
        if slot_offered(visit_type=visit_type, start=start, now=now, policies=policies) is None:
            raise _slot_taken(visit_type, start, now, policies)
        if _patient_busy(patient.pk, start, start + duration, now):
            raise PatientOverlap()
        before, after = effective_buffers(doctor, policies)
        hold = Appointment(
            doctor=doctor,
            patient=patient,
            visit_type=visit_type,
            start=start,
            end=start + duration,
            buffer_before=before,
            buffer_after=after,
            blocked_start=start - before,
            blocked_end=start + duration + after,
            status=Status.HELD,
            hold_kind=kind,
            hold_expires_at=now + timedelta(minutes=minutes),
            price=visit_type.price,
            payment_status=PaymentStatus.PENDING
            if kind == HoldKind.PAYMENT
            else PaymentStatus.AT_DESK,
            meeting_token=_meeting_token() if visit_type.mode == VisitMode.VIDEO else "",
            created_by=actor,
            created_at=now,
        )
        _insert(hold, now=now, policies=policies)
        _record(
            hold,
            from_status="",
            to_status=Status.HELD,
            by=actor,
            at=now,
            details={"hold": kind.value if hasattr(kind, "value") else kind},
        )
    return hold


def hold_accept(*, hold: Appointment, actor: User, now: datetime | None = None) -> Appointment:
    """The held patient takes the slot: the hold becomes their appointment, if it is still live."""
    now = _utc_now(now)
    policies = get_policies()
    with transaction.atomic():
        _lock(hold.doctor_id, hold.patient_id)
        hold = Appointment.objects.select_for_update().select_related("doctor").get(pk=hold.pk)
        if hold.status != Status.HELD or hold.hold_expires_at <= now:
            raise HoldExpired()
        if hold.hold_kind != HoldKind.WAITLIST_OFFER:
            # A payment hold becomes an appointment when it is paid, never by accepting it.
            raise Forbidden("This time is held until the payment goes through.")
        if actor.pk != hold.patient_id and not can_book_for_others(actor):
            raise Forbidden()
        return _convert_hold(
            hold, actor=actor, by_staff=can_book_for_others(actor), now=now, policies=policies
        )


# --- Lifecycle --------------------------------------------------------------------------------

_TARGETS = {
    "confirm": (Status.CONFIRMED, "confirmed_at"),
    "decline": (Status.CANCELLED, "cancelled_at"),
    "cancel": (Status.CANCELLED, "cancelled_at"),
    "check_in": (Status.CHECKED_IN, "checked_in_at"),
    "no_show": (Status.NO_SHOW, "no_show_at"),
    "complete": (Status.COMPLETED, "completed_at"),
}


def _locked(appointment: Appointment) -> Appointment:
    _lock(appointment.doctor_id, appointment.patient_id)
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("doctor", "patient", "visit_type", "record")
        .get(pk=appointment.pk)
    )


def _apply(appointment, *, to_status, actor, now, reason="", details=None, updates=None):
    from_status = appointment.status
    fields = {"status": to_status, "updated_at": now, **(updates or {})}
    for name, value in fields.items():
        setattr(appointment, name, value)
    appointment.save(update_fields=list(fields))
    if from_status != to_status:
        _record(
            appointment,
            from_status=from_status,
            to_status=to_status,
            by=actor,
            at=now,
            reason=reason,
            details=details,
        )
    return appointment


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Please give a reason; the patient will see it."]})
    return reason


def appointment_act(
    *,
    appointment: Appointment,
    actor: User,
    action: str,
    reason: str = "",
    excused: bool | None = None,
    now: datetime | None = None,
) -> Appointment:
    """confirm, decline, cancel, check_in, no_show or complete, by the rules of the lifecycle."""
    if action not in _TARGETS:
        raise ValueError(f"Unknown action {action!r}")
    now = _utc_now(now)
    policies = get_policies()
    with transaction.atomic():
        appointment = _locked(appointment)
        ctx = action_context(actor, appointment, now=now, policies=policies)
        rules.check(action, ctx)
        to_status, stamp = _TARGETS[action]
        updates: dict[str, Any] = {stamp: now}
        details: dict[str, Any] = {}
        if action == "decline":
            reason = _reason_required(reason)
            updates["cancellation_reason"] = reason
            details["declined"] = True
        elif action == "cancel":
            if ctx.is_staff_for_it and appointment.status != Status.HELD:
                reason = _reason_required(reason)
            updates["cancellation_reason"] = (reason or "").strip()
            details["by"] = "clinic" if ctx.is_staff_for_it else "patient"
            if appointment.status == Status.HELD:
                updates["payment_status"] = PaymentStatus.NOT_REQUIRED
        elif action == "check_in":
            day_start, day_end = local_day_range(ctx.local_date)
            last = Appointment.objects.filter(
                doctor_id=appointment.doctor_id,
                status=Status.CHECKED_IN,
                start__gte=day_start,
                start__lt=day_end,
            ).aggregate(m=Max("queue_position"))["m"]
            updates["queue_position"] = (last or 0) + 1
        elif action == "no_show":
            updates["no_show_excused"] = bool(excused)
            details["excused"] = bool(excused)
        from_status = appointment.status
        appointment = _apply(
            appointment,
            to_status=to_status,
            actor=actor,
            now=now,
            reason=(reason or "").strip(),
            details=details,
            updates=updates,
        )
        _notify_action(appointment, action, from_status=from_status, by_clinic=ctx.is_staff_for_it)
        return appointment


def _notify_action(appointment: Appointment, action: str, *, from_status: str, by_clinic: bool):
    """The patient hears of confirmations, declines and cancellations; a withdrawn hold was never
    an appointment, and the desk's own steps (check-in, no-show, complete) need no message."""
    if action == "confirm":
        notify_appointment(appointment, Kind.CONFIRMED)
    elif action == "decline":
        notify_appointment(appointment, Kind.DECLINED, by_clinic=True)
    elif action == "cancel" and from_status != Status.HELD:
        notify_appointment(appointment, Kind.CANCELLED, by_clinic=by_clinic)


def appointment_reschedule(
    *,
    appointment: Appointment,
    actor: User,
    new_start: datetime,
    reason: str = "",
    visit_type: VisitType | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment to another offered slot of the same doctor, in one transaction."""
    now = _utc_now(now)
    policies = get_policies()
    new_start = new_start.astimezone(UTC)
    with transaction.atomic():
        appointment = _locked(appointment)
        ctx = action_context(actor, appointment, now=now, policies=policies)
        rules.check("reschedule", ctx)
        _release_expired_holds(
            doctor_id=appointment.doctor_id, patient_id=appointment.patient_id, now=now
        )
        new_visit_type = visit_type or appointment.visit_type
        if new_visit_type.doctor_id != appointment.doctor_id or not new_visit_type.is_active:
            raise ValidationError({"visit_type": ["Choose a visit type this doctor offers."]})
        new_visit_type.doctor = appointment.doctor
        by_staff = ctx.is_staff_for_it
        if (
            slot_offered(
                visit_type=new_visit_type,
                start=new_start,
                now=now,
                policies=policies,
                exclude_appointment=appointment.pk,
                front_desk=ctx.is_front_desk,
            )
            is None
        ):
            raise _slot_taken(
                new_visit_type, new_start, now, policies, exclude_appointment=appointment.pk
            )
        duration = timedelta(minutes=new_visit_type.duration_minutes)
        new_end = new_start + duration
        if _patient_busy(appointment.patient_id, new_start, new_end, now, exclude=appointment.pk):
            raise PatientOverlap()
        before, after = effective_buffers(appointment.doctor, policies)
        old_start, old_visit_type = appointment.start, appointment.visit_type
        status = rules.status_after_reschedule(
            status=appointment.status,
            by_staff=by_staff,
            confirmation_required=confirmation_required(appointment.doctor, policies),
        )
        updates = {
            "start": new_start,
            "end": new_end,
            "visit_type": new_visit_type,
            "buffer_before": before,
            "buffer_after": after,
            "blocked_start": new_start - before,
            "blocked_end": new_end + after,
            "reschedule_count": appointment.reschedule_count + (0 if by_staff else 1),
            "reminder_sent_at": None,  # the new time gets its own reminder
        }
        if status == Status.REQUESTED and appointment.status != Status.REQUESTED:
            updates["requested_at"] = now
        if status == Status.CONFIRMED and appointment.status != Status.CONFIRMED:
            updates["confirmed_at"] = now
        if new_visit_type.mode == VisitMode.VIDEO and not appointment.meeting_token:
            updates["meeting_token"] = _meeting_token()
        elif new_visit_type.mode != VisitMode.VIDEO and appointment.meeting_token:
            updates["meeting_token"] = ""  # no longer a video visit: no room to join
        try:
            with transaction.atomic():
                _apply(
                    appointment,
                    to_status=status,
                    actor=actor,
                    now=now,
                    reason=(reason or "").strip(),
                    details={"rescheduled": True},
                    updates=updates,
                )
        except (IntegrityError, OperationalError) as exc:
            error = translate_database_error(exc)
            if isinstance(error, SlotUnavailable):
                appointment.refresh_from_db()
                raise _slot_taken(
                    new_visit_type, new_start, now, policies, exclude_appointment=appointment.pk
                ) from exc
            raise (error or exc) from exc
        Reschedule.objects.create(
            appointment=appointment,
            old_start=old_start,
            new_start=new_start,
            old_visit_type=old_visit_type,
            new_visit_type=new_visit_type,
            changed_by=actor,
            reason=(reason or "").strip(),
            changed_at=now,
        )
        _log_activity(
            appointment,
            Action.APPOINTMENT_RESCHEDULED,
            by=actor,
            at=now,
            reason=reason,
            details={
                "old_start": old_start,
                "new_start": new_start,
                "visit_type": new_visit_type.name,
                **(
                    {"old_visit_type": old_visit_type.name}
                    if old_visit_type != new_visit_type
                    else {}
                ),
            },
        )
        notify_appointment(appointment, Kind.RESCHEDULED, old_start=old_start)
    return appointment


# --- Queue ------------------------------------------------------------------------------------


def queue_reorder(*, doctor: Doctor, day, order: list[str], actor: User) -> list[Appointment]:
    """Set the queue of `doctor` on `day` to exactly `order` (appointment references)."""
    if not can_reorder_queue(actor):
        raise Forbidden()
    from .selectors import queue_for

    with transaction.atomic():
        Doctor.objects.select_for_update().get(pk=doctor.pk)
        queue = list(queue_for(doctor, day).select_for_update(of=("self",)))
        by_reference = {a.reference: a for a in queue}
        wanted = [str(ref).strip().upper() for ref in order]
        if sorted(wanted) != sorted(by_reference) or len(set(wanted)) != len(wanted):
            raise ValidationError(
                {
                    "order": [
                        "List every checked-in appointment of that day exactly once "
                        f"({len(by_reference)} in the queue)."
                    ]
                }
            )
        for position, reference in enumerate(wanted, start=1):
            appointment = by_reference[reference]
            if appointment.queue_position != position:
                appointment.queue_position = position
                appointment.save(update_fields=["queue_position", "updated_at"])
        return [by_reference[ref] for ref in wanted]


def queue_call_next(*, doctor: Doctor, actor: User, now: datetime | None = None):
    """The doctor calls in the next waiting patient of today's queue (None if nobody waits).

    Only the doctor themself; the called patient stays CHECKED_IN (and first in the queue) until
    the visit is completed, but no longer counts as waiting.
    """
    from .permissions import is_doctor_of
    from .selectors import queue_for

    if not is_doctor_of(actor, doctor):
        raise Forbidden("Only the doctor calls patients in.")
    now = _utc_now(now)
    with transaction.atomic():
        Doctor.objects.select_for_update().get(pk=doctor.pk)
        waiting = (
            queue_for(doctor, now.astimezone(clinic_tz()).date())
            .filter(called_at__isnull=True)
            .select_for_update(of=("self",))
            .first()
        )
        if waiting is None:
            return None
        waiting.called_at = now
        waiting.save(update_fields=["called_at", "updated_at"])
        return waiting
