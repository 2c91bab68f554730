"""Reads of consultation records, scoped by who asks. Reading a record's content is logged by
the caller (permissions.record_get_for_user, or services.record_accesses_log for lists)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from booking.models import Appointment, Status
from clinic_site.accounts.models import User
from doctors.models import Doctor

from .models import Addendum, ConsultationRecord, Medicine

# A doctor's "own patients" (permissions.md): patients with a visit booked and confirmed with
# them, under way, or done. Requests not yet accepted, cancellations and holds do not count.
CARE_STATUSES = (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED)
UNFINISHED_STATUSES = (Status.CHECKED_IN, Status.COMPLETED)


def _record_prefetches(prefix: str = "") -> list:
    return [
        f"{prefix}prescriptions",
        f"{prefix}tests",
        Prefetch(
            f"{prefix}addenda",
            queryset=Addendum.objects.select_related("author").order_by("created_at", "pk"),
        ),
    ]


def record_queryset() -> QuerySet[ConsultationRecord]:
    """Records with everything their representation shows: 4 queries for any number."""
    return ConsultationRecord.objects.select_related(
        "appointment__doctor",
        "appointment__patient",
        "appointment__visit_type",
        "author",
        "finalised_by",
    ).prefetch_related(*_record_prefetches())


def record_for_appointment(appointment: Appointment) -> ConsultationRecord | None:
    """The appointment's record with its items and addenda, or None. No permission check and
    no access log: callers that show it go through permissions.record_get_for_user."""
    return record_queryset().filter(appointment_id=appointment.pk).first()


def cares_for(doctor_user: User, patient_id: int) -> bool:
    """Whether `patient_id` is one of the own patients of the doctor signed in as
    `doctor_user`."""
    return Appointment.objects.filter(
        doctor__user=doctor_user, patient_id=patient_id, status__in=CARE_STATUSES
    ).exists()


def previous_visits(patient: User, *, doctor: Doctor, before: datetime) -> QuerySet[Appointment]:
    """The patient's completed visits with the clinic (every doctor) that started before
    `before`, newest first, each with its finalised record, items and addenda — for `doctor`,
    who must be caring for the patient (else nothing). Four queries, whatever the number.

    Showing them is reading records: log it with services.record_accesses_log(how="dashboard").
    """
    own_patient = Appointment.objects.filter(
        doctor=doctor, patient=OuterRef("patient"), status__in=CARE_STATUSES
    )
    return (
        Appointment.objects.filter(
            Exists(own_patient),
            patient=patient,
            status=Status.COMPLETED,
            start__lt=before,
            record__finalised_at__isnull=False,
        )
        .select_related("doctor", "visit_type", "record", "record__author", "record__finalised_by")
        .prefetch_related(*_record_prefetches("record__"))
        .order_by("-start", "-pk")
    )


def medicine_search(q: str | None = None) -> QuerySet[Medicine]:
    """Active medicines whose name contains `q`; names starting with it first."""
    qs = Medicine.objects.filter(is_active=True)
    q = (q or "").replace("\x00", "").strip()[:100]
    if not q:
        return qs.order_by("name")
    return (
        qs.filter(name__icontains=q)
        .annotate(
            rank=Case(
                When(name__istartswith=q, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "name")
    )


def medicine_suggestions(q: str | None, limit: int = 10) -> list[Medicine]:
    """At most `limit` (1-50) suggestions for what the doctor has typed so far."""
    limit = max(1, min(int(limit), 50))
    return list(medicine_search(q)[:limit])


def unfinished_records(doctor_user: User) -> QuerySet[Appointment]:
    """The doctor's checked-in or completed appointments whose record is missing or still a
    draft, oldest first (with patient, visit type and the draft, if any)."""
    return (
        Appointment.objects.filter(doctor__user=doctor_user, status__in=UNFINISHED_STATUSES)
        .filter(Q(record__isnull=True) | Q(record__finalised_at__isnull=True))
        .select_related("doctor", "patient", "visit_type", "record")
        .order_by("start", "pk")
    )
