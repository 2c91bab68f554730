"""Who may read and write consultation records (permissions.md), used by pages, API, PDF,
exports and the dashboard alike.

- write: the treating doctor only;
- read: the treating doctor (drafts too); another doctor only finalised records of their own
  patients (a confirmed, current or past visit with them — continuity of care); administrators
  (every read logged like any other); the patient only their own, once the visit is COMPLETED and
  the record finalised; receptionists never (403, as api-v1.md says); editors never (404).

Every successful read through `record_get_for_user` writes a `RecordAccess` row.
"""

from __future__ import annotations

import ipaddress

from django.http import Http404

from booking.models import Appointment, Status
from booking.permissions import role_of
from clinic_site.accounts.roles import Role
from clinic_site.exceptions import Forbidden

from . import selectors
from .models import AccessChannel, ConsultationRecord


def is_treating_doctor(user, appointment: Appointment) -> bool:
    return (
        role_of(user) == Role.DOCTOR
        and appointment.doctor.user_id is not None
        and appointment.doctor.user_id == user.pk
    )


def can_write_record(user, appointment: Appointment) -> bool:
    """Only the treating doctor writes, finalises and signs addenda (the services also check
    the appointment's status and whether the record is finalised)."""
    return is_treating_doctor(user, appointment)


def can_read_record(
    user, appointment: Appointment, record: ConsultationRecord | None = None
) -> bool:
    """Whether `user` may read the record of `appointment` (`record`: the record, if already
    loaded; without one the answer is about a finalised record)."""
    role = role_of(user)
    finalised = record.is_finalised if record is not None else True
    if role == Role.ADMIN:
        return True
    if role == Role.DOCTOR:
        if is_treating_doctor(user, appointment):
            return True
        return finalised and selectors.cares_for(user, appointment.patient_id)
    if role == Role.PATIENT:
        return (
            appointment.patient_id == user.pk
            and appointment.status == Status.COMPLETED
            and finalised
        )
    return False  # receptionists, editors, anonymous


def client_ip(request) -> str | None:
    """The caller's address for the access log (REMOTE_ADDR, as the proxy in front sets it)."""
    if request is None:
        return None
    value = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record_get_for_user(
    user, appointment: Appointment, *, how: str, request=None
) -> ConsultationRecord:
    """The appointment's record (items and addenda prefetched) if `user` may read it, logging
    the read; Http404 when there is none or it is not theirs to see — except receptionists, who
    are refused outright (Forbidden → 403 `permission_denied`), record or not."""
    if how not in AccessChannel.values:
        raise ValueError(f"Unknown access channel {how!r}")
    if role_of(user) == Role.RECEPTIONIST:
        raise Forbidden("Receptionists do not see consultation records.")
    record = selectors.record_for_appointment(appointment)
    if record is None or not can_read_record(user, appointment, record):
        raise Http404("No consultation record.")
    from .services import record_access_log  # services import this module

    record_access_log(record=record, user=user, how=how, ip_address=client_ip(request))
    return record
