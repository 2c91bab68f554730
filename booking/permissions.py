"""Who may do what with appointments, schedules and the queue (permissions.md).

What a user may not see is a 404, exactly like what does not exist.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404

from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.exceptions import Forbidden
from clinic_site.policies import Policies, clinic_tz
from doctors.models import Doctor

from . import rules
from .exceptions import CancellationCutoff, InvalidTransition, RescheduleCutoff, RescheduleLimit
from .models import Appointment
from .selectors import appointments_visible_to

FRONT_DESK = (Role.RECEPTIONIST, Role.ADMIN)
# References are made by booking.services.new_reference (letters and digits, 8 of them).
REFERENCE_PATTERN = re.compile(r"[0-9A-Z]{6,12}")


def role_of(user) -> Role | None:
    return user.role if getattr(user, "is_authenticated", False) else None


def is_front_desk(user) -> bool:
    return role_of(user) in FRONT_DESK


def is_doctor_of(user, doctor: Doctor) -> bool:
    return role_of(user) == Role.DOCTOR and doctor.user_id is not None and doctor.user_id == user.pk


def can_list_appointments(user) -> bool:
    return role_of(user) in (Role.PATIENT, Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN)


def can_search_patients(user) -> bool:
    """Filtering by patient and searching by name or reference: staff (doctors: own patients)."""
    return role_of(user) in (Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN)


def can_book_for_others(user) -> bool:
    return is_front_desk(user)


def can_view_queue(user, doctor: Doctor) -> bool:
    return is_front_desk(user) or is_doctor_of(user, doctor)


def can_reorder_queue(user) -> bool:
    return is_front_desk(user)


def can_see_meeting_url(user, appointment: Appointment) -> bool:
    """The video link is the patient's and the treating doctor's (and administrators'); the
    front desk never gets it (api-v1.md, `meeting_url`)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        role_of(user) == Role.ADMIN
        or appointment.patient_id == user.pk
        or is_doctor_of(user, appointment.doctor)
    )


def appointment_get_for_user(user, reference: str) -> Appointment:
    """The appointment `reference` if `user` may see it, else Http404."""
    reference = str(reference).strip().upper()
    if not REFERENCE_PATTERN.fullmatch(reference):  # never reaches the database
        raise Http404("No such appointment.")
    try:
        return appointments_visible_to(user).get(reference=reference)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment.") from None


def action_context(
    user: User, appointment: Appointment, *, now: datetime, policies: Policies
) -> rules.ActionContext:
    tz = clinic_tz()
    try:
        record = appointment.record
    except ObjectDoesNotExist:  # no consultation record yet
        record = None
    role = role_of(user)
    return rules.ActionContext(
        role=role.value if role else None,
        is_the_patient=appointment.patient_id == user.pk,
        is_the_doctor=appointment.doctor.user_id is not None
        and appointment.doctor.user_id == user.pk,
        status=appointment.status,
        start=appointment.start,
        end=appointment.end,
        now=now,
        local_date=appointment.start.astimezone(tz).date(),
        today=now.astimezone(tz).date(),
        cancellation_cutoff=policies.cancellation_cutoff,
        reschedule_cutoff=policies.reschedule_cutoff,
        reschedule_count=appointment.reschedule_count,
        max_reschedules=policies.max_reschedules,
        record_finalised=bool(record is not None and record.finalised_at is not None),
    )


def allowed_actions(user, appointment: Appointment, *, now: datetime, policies: Policies):
    return rules.allowed_actions(action_context(user, appointment, now=now, policies=policies))


def duration_words(delta) -> str:
    """ "2 hours", "90 minutes", "1 day" — how policies read in sentences."""
    minutes = int(delta.total_seconds() // 60)
    if minutes and minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


_FINISHED = {
    "COMPLETED": "This visit has taken place.",
    "CANCELLED": "This appointment is cancelled.",
    "NO_SHOW": "This appointment was missed.",
    "CHECKED_IN": "You are checked in for this visit.",
    "HELD": "This time is only held for you until you confirm it.",
    "RELEASED": "This hold has ended.",
}


def patient_action_notes(
    user, appointment: Appointment, *, now: datetime, policies: Policies
) -> dict[str, str | None]:
    """For the patient's own actions (cancel, reschedule): None when allowed now, else why not,
    in words — decided by the same rules the services apply."""
    ctx = action_context(user, appointment, now=now, policies=policies)
    notes: dict[str, str | None] = {}
    for action in ("cancel", "reschedule"):
        try:
            rules.check(action, ctx)
        except CancellationCutoff:
            notes[action] = (
                f"Online cancellation closes {duration_words(policies.cancellation_cutoff)} "
                "before the visit. To cancel now, please call the clinic."
            )
        except RescheduleCutoff:
            notes[action] = (
                f"Online rescheduling closes {duration_words(policies.reschedule_cutoff)} "
                "before the visit. To change it now, please call the clinic."
            )
        except RescheduleLimit:
            notes[action] = (
                f"This appointment has been moved {appointment.reschedule_count} times, the "
                "most the clinic allows online. Please call the clinic to change it again."
            )
        except InvalidTransition:
            notes[action] = _FINISHED.get(appointment.status, "This can no longer be changed.")
        except Forbidden:
            notes[action] = "Only the patient or the clinic can change this appointment."
        else:
            notes[action] = None
    return notes
