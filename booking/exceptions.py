"""Booking's domain errors, each with the code and status of api-v1.md."""

from clinic_site.exceptions import Conflict


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    field = "start"
    default_detail = "That time is no longer available."


class PatientOverlap(Conflict):
    code = "patient_overlap"
    field = "start"
    default_detail = "You already have an appointment at that time."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = "The appointment cannot move to that status from where it is now."


class CancellationCutoff(Conflict):
    code = "cancellation_cutoff"
    default_detail = "Online cancellation has closed for this appointment; please call the clinic."


class RescheduleCutoff(Conflict):
    code = "reschedule_cutoff"
    default_detail = "Online rescheduling has closed for this appointment; please call the clinic."


class RescheduleLimit(Conflict):
    code = "reschedule_limit"
    default_detail = "This appointment has been rescheduled as often as the clinic allows online."


class RecordNotFinalised(Conflict):
    code = "record_not_finalised"
    default_detail = "Finalise the consultation record before completing the appointment."


class HoldExpired(Conflict):
    code = "hold_expired"
    default_detail = "The time held for you has expired."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used for a different booking; use a new key for a "
        "new request."
    )
