"""Appointments (and slot holds), their transitions and reschedule history.

A *hold* is an appointment row in status HELD with an expiry: it reserves the slot for one
patient while a payment or a waiting-list offer is pending. Keeping holds in the same table lets
one set of database constraints cover appointments and holds alike; an expired hold is moved to
RELEASED by the booking transaction before anything overlapping is written.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from clinic_site.db import PostgresExclusionConstraint, RangeOperators, TsTzRange
from doctors.models import Doctor, VisitType


class Status(models.TextChoices):
    HELD = "HELD", "Held"
    REQUESTED = "REQUESTED", "Requested"
    CONFIRMED = "CONFIRMED", "Confirmed"
    CHECKED_IN = "CHECKED_IN", "Checked in"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"
    NO_SHOW = "NO_SHOW", "No-show"
    RELEASED = "RELEASED", "Released"


# Statuses whose time is taken (scheduling-rules.md: every status but CANCELLED; a released hold
# is not an appointment at all). An expired HELD row still counts here until it is released.
INACTIVE_STATUSES = (Status.CANCELLED, Status.RELEASED)
FINAL_STATUSES = (Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW, Status.RELEASED)
ACTIVE_CONDITION = ~Q(status__in=INACTIVE_STATUSES)


class HoldKind(models.TextChoices):
    PAYMENT = "payment", "Payment pending"
    WAITLIST_OFFER = "waitlist_offer", "Waiting-list offer"


class PaymentStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", "Nothing to pay"
    AT_DESK = "at_desk", "Pay at the desk"
    PENDING = "pending", "Payment pending"
    PAID = "paid", "Paid"
    REFUNDED = "refunded", "Refunded"


class Appointment(models.Model):
    reference = models.CharField(max_length=12, unique=True, editable=False)
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The blocked range [start - buffer_before, end + buffer_after) as stored columns: PostgreSQL
    # cannot compute it inside the exclusion constraint (timestamptz + interval is not immutable).
    buffer_before = models.DurationField()
    buffer_after = models.DurationField()
    blocked_start = models.DateTimeField()
    blocked_end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.TextField(blank=True)
    hold_kind = models.CharField(max_length=16, choices=HoldKind.choices, blank=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    payment_status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.AT_DESK
    )
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    walk_in = models.BooleanField(default=False)
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    queue_position = models.PositiveIntegerField(null=True, blank=True)
    # When the doctor called the patient in from the waiting room (the queue's "call next").
    called_at = models.DateTimeField(null=True, blank=True)
    no_show_excused = models.BooleanField(null=True, blank=True)
    meeting_token = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    # The client's key for this booking request (the API's Idempotency-Key header, the web
    # form's hidden token): asking again with it answers with this appointment.
    idempotency_key = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.TextField(blank=True)
    # Set when the reminder is queued (booking/notifications.py), so no run sends it twice;
    # a reschedule clears it, so the new time gets its own reminder.
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "pk"]
        indexes = [
            models.Index(fields=["doctor", "start"], name="booking_appt_doctor_start"),
            models.Index(fields=["patient", "start"], name="booking_appt_patient_start"),
            models.Index(fields=["status", "start"], name="booking_appt_status_start"),
            models.Index(fields=["doctor", "blocked_end"], name="booking_appt_doctor_bend"),
            # The staff list's default order: its first page reads 25 index entries instead of
            # joining and sorting every appointment.
            models.Index(fields=["start", "id"], name="booking_appt_start_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="booking_appt_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="booking_appt_status_known"
            ),
            models.CheckConstraint(
                condition=Q(buffer_before__gte=timedelta(0), buffer_after__gte=timedelta(0)),
                name="booking_appt_buffers_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(blocked_start=F("start") - F("buffer_before"))
                & Q(blocked_end=F("end") + F("buffer_after")),
                name="booking_appt_blocked_range_matches",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.HELD)
                | Q(hold_expires_at__isnull=False, hold_kind__in=HoldKind.values),
                name="booking_appt_hold_has_expiry",
            ),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="booking_appt_idempotency_key_unique",
            ),
            # Every database: one active appointment per doctor and start time.
            models.UniqueConstraint(
                fields=["doctor", "start"],
                condition=ACTIVE_CONDITION,
                name="booking_appt_doctor_start_unique",
            ),
            # PostgreSQL: no two active rows of a doctor with overlapping blocked ranges...
            PostgresExclusionConstraint(
                name="booking_appt_doctor_no_overlap",
                expressions=[
                    (TsTzRange("blocked_start", "blocked_end"), RangeOperators.OVERLAPS),
                    ("doctor", RangeOperators.EQUAL),
                ],
                condition=ACTIVE_CONDITION,
            ),
            # ...and no two active rows of a patient with overlapping [start, end).
            PostgresExclusionConstraint(
                name="booking_appt_patient_no_overlap",
                expressions=[
                    (TsTzRange("start", "end"), RangeOperators.OVERLAPS),
                    ("patient", RangeOperators.EQUAL),
                ],
                condition=ACTIVE_CONDITION,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.doctor} {self.start:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status not in INACTIVE_STATUSES


class Transition(models.Model):
    """One status change: from, to, by whom, when, why (and any rule that was bypassed)."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_status__in=Status.values), name="booking_transition_to_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.from_status or '—'} → {self.to_status}"


class Reschedule(models.Model):
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="reschedules"
    )
    old_start = models.DateTimeField()
    new_start = models.DateTimeField()
    old_visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="+")
    new_visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.old_start} → {self.new_start}"
