"""Consultation-record writes. Each is one transaction that takes the locks booking's services
take, in the same order — the doctor row, the patient row, the appointment — then the record,
and re-checks the rules inside them. Finalising with `complete=True` completes the appointment
through booking's own lifecycle service in the same transaction: both happen, or neither.

Reads are logged here too (`record_access_log`), because a log row is a write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from booking import services as booking_services
from booking.models import Appointment, Status
from clinic_site.accounts.models import User
from clinic_site.activity import NO_ACTOR, Action, log_events
from clinic_site.exceptions import Forbidden
from clinic_site.policies import clinic_tz
from doctors.models import Doctor

from . import rules
from .exceptions import RecordFinalised, RecordNotFinalised, RecordNotOpen
from .models import (
    AccessChannel,
    Addendum,
    ConsultationRecord,
    PrescriptionItem,
    RecordAccess,
    RequestedTest,
)
from .permissions import can_write_record


def _utc_now(now: datetime | None) -> datetime:
    return (now or timezone.now()).astimezone(UTC)


def _lock(appointment: Appointment) -> tuple[Appointment, ConsultationRecord | None]:
    """Doctor, patient, appointment (booking's order), then the record: the fresh, locked rows."""
    Doctor.objects.select_for_update().get(pk=appointment.doctor_id)
    User.objects.select_for_update().get(pk=appointment.patient_id)
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("doctor", "patient", "visit_type")
        .get(pk=appointment.pk)
    )
    record = ConsultationRecord.objects.select_for_update().filter(appointment=locked).first()
    return locked, record


def _require_writer(actor: User, appointment: Appointment) -> None:
    if not can_write_record(actor, appointment):
        raise Forbidden("Only the treating doctor writes the consultation record.")


def _require_open(appointment: Appointment, now: datetime) -> None:
    tz = clinic_tz()
    if not rules.record_open(
        status=appointment.status,
        local_date=appointment.start.astimezone(tz).date(),
        today=now.astimezone(tz).date(),
    ):
        raise RecordNotOpen()


def record_save(
    *,
    appointment: Appointment,
    actor: User,
    diagnosis: str,
    notes: str,
    prescriptions: list[dict[str, Any]],
    tests: list[dict[str, Any]],
    now: datetime | None = None,
) -> ConsultationRecord:
    """Create or update the draft record of `appointment`: the text fields, and the whole list
    of prescription items and requested tests (replaced, in the order given).

    Only the treating doctor, only while the appointment is open for a record
    (rules.record_open); a finalised record is refused (`RecordFinalised`, 409).
    """
    now = _utc_now(now)
    with transaction.atomic():
        appointment, record = _lock(appointment)
        _require_writer(actor, appointment)
        if record is not None and record.is_finalised:
            raise RecordFinalised()
        _require_open(appointment, now)
        diagnosis = rules.clean_text("diagnosis", diagnosis, max_length=rules.MAX_DIAGNOSIS)
        notes = rules.clean_text("notes", notes, max_length=rules.MAX_NOTES)
        items = rules.clean_items(
            "prescriptions", prescriptions, spec=rules.PRESCRIPTION_FIELDS, required="drug"
        )
        requested = rules.clean_items("tests", tests, spec=rules.TEST_FIELDS, required="name")

        if record is None:
            record = ConsultationRecord(appointment=appointment, author=actor)
        record.diagnosis = diagnosis
        record.notes = notes
        record.save()
        record.prescriptions.all().delete()
        record.tests.all().delete()
        PrescriptionItem.objects.bulk_create(
            PrescriptionItem(record=record, position=position, **item)
            for position, item in enumerate(items)
        )
        RequestedTest.objects.bulk_create(
            RequestedTest(record=record, position=position, **item)
            for position, item in enumerate(requested)
        )
    return record


def record_finalise(
    *,
    appointment: Appointment,
    actor: User,
    complete: bool = False,
    now: datetime | None = None,
) -> ConsultationRecord:
    """Sign the record off (finalised_at, finalised_by); from then on only addenda change it.

    A diagnosis is required (ValidationError on "diagnosis" → 400). With `complete=True` the
    appointment is also completed by booking's lifecycle service, in the same transaction: if
    completing is refused (e.g. the patient is not checked in), the record stays a draft.
    """
    now = _utc_now(now)
    with transaction.atomic():
        appointment, record = _lock(appointment)
        _require_writer(actor, appointment)
        if record is not None and record.is_finalised:
            raise RecordFinalised("This consultation record is already finalised.")
        _require_open(appointment, now)
        if record is None or not record.diagnosis.strip():
            raise ValidationError(
                {"diagnosis": ["Write the diagnosis before finalising the record."]}
            )
        record.finalised_at = now
        record.finalised_by = actor
        record.save(update_fields=["finalised_at", "finalised_by", "updated_at"])
        if complete and appointment.status != Status.COMPLETED:
            booking_services.appointment_act(
                appointment=appointment, actor=actor, action="complete", now=now
            )
    return record


def addendum_add(
    *, appointment: Appointment, actor: User, text: str, now: datetime | None = None
) -> Addendum:
    """Append a signed, timestamped addendum to a finalised record (the treating doctor only).
    A draft is still edited directly, so an addendum to it is refused (`RecordNotFinalised`)."""
    now = _utc_now(now)
    with transaction.atomic():
        appointment, record = _lock(appointment)
        _require_writer(actor, appointment)
        if record is None or not record.is_finalised:
            raise RecordNotFinalised(
                "Addenda are for finalised records; edit the draft record instead."
            )
        text = rules.clean_text("text", text, max_length=rules.MAX_ADDENDUM, required=True)
        return Addendum.objects.create(record=record, text=text, author=actor, created_at=now)


# --- The access log ---------------------------------------------------------------------------


def record_access_log(
    *,
    record: ConsultationRecord,
    user: User | None,
    how: str,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> RecordAccess:
    """Write down one read of `record` (who, when, how: page, api, pdf, export or dashboard)."""
    return record_accesses_log(
        records=[record], user=user, how=how, ip_address=ip_address, now=now
    )[0]


def record_accesses_log(
    *,
    records: Iterable[ConsultationRecord],
    user: User | None,
    how: str,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> list[RecordAccess]:
    """One log row per record shown at once (a list, an export, previous visits), in one insert;
    and one activity event per record (clinic_site.activity) in one more — plus one read of
    appointment references and patients' names if the records come without them."""
    if how not in AccessChannel.values:
        raise ValueError(f"Unknown access channel {how!r}")
    now = _utc_now(now)
    records = list(records)
    user_id = user.pk if user is not None and user.is_authenticated else None
    accesses = RecordAccess.objects.bulk_create(
        RecordAccess(record=record, user_id=user_id, at=now, how=how, ip_address=ip_address)
        for record in records
    )
    actor = user if user_id is not None else NO_ACTOR
    named = _whose(records)
    events = []
    for record in records:
        reference, patient = named[record.appointment_id]
        events.append(
            {
                "action": Action.RECORD_READ,
                "actor": actor,
                "ip_address": ip_address,
                "at": now,
                "target": f"Record {reference} · {patient}",
                "target_type": "record",
                "target_id": str(record.pk),
                "details": {"how": how, "appointment": reference},
            }
        )
    log_events(events)
    return accesses


def _whose(records: list[ConsultationRecord]) -> dict[int, tuple[str, str]]:
    """Appointment id → (reference, patient's name) of each record, for its activity event:
    from the rows already loaded, and at most one query for those that are not."""
    named: dict[int, tuple[str, str]] = {}
    for record in records:
        if ConsultationRecord.appointment.is_cached(record):
            appointment = record.appointment
            if Appointment.patient.is_cached(appointment):
                named[appointment.pk] = (appointment.reference, appointment.patient.full_name)
    missing = {record.appointment_id for record in records} - set(named)
    if missing:
        rows = Appointment.objects.filter(pk__in=missing).values_list(
            "pk", "reference", "patient__full_name"
        )
        named.update({pk: (reference, patient) for pk, reference, patient in rows})
    return named
