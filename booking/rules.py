"""The appointment lifecycle of scheduling-rules.md as pure functions.

`check(action, ctx)` raises the domain error a service must answer with; `allowed_actions(ctx)`
lists the actions for which `check` passes, so the API's `allowed_actions` and the services can
never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from clinic_site.exceptions import Forbidden

from .exceptions import (
    CancellationCutoff,
    InvalidTransition,
    RecordNotFinalised,
    RescheduleCutoff,
    RescheduleLimit,
)

# Roles as plain strings (clinic_site.accounts.roles.Role values).
PATIENT, DOCTOR, RECEPTIONIST, ADMIN = "patient", "doctor", "receptionist", "admin"

HELD = "HELD"
REQUESTED = "REQUESTED"
CONFIRMED = "CONFIRMED"
CHECKED_IN = "CHECKED_IN"
COMPLETED = "COMPLETED"
CANCELLED = "CANCELLED"
NO_SHOW = "NO_SHOW"
RELEASED = "RELEASED"

ACTIONS = ("confirm", "decline", "cancel", "reschedule", "check_in", "no_show", "complete")


@dataclass(frozen=True)
class ActionContext:
    """Who wants to act on which appointment, and when."""

    role: str | None
    is_the_patient: bool
    is_the_doctor: bool
    status: str
    start: datetime
    end: datetime
    now: datetime
    local_date: date  # the appointment's date in the clinic's time zone
    today: date  # today in the clinic's time zone
    cancellation_cutoff: timedelta
    reschedule_cutoff: timedelta
    reschedule_count: int
    max_reschedules: int
    record_finalised: bool = False

    @property
    def is_front_desk(self) -> bool:
        return self.role in (RECEPTIONIST, ADMIN)

    @property
    def acts_as_patient(self) -> bool:
        return self.is_the_patient and not self.is_front_desk and not self.is_the_doctor

    @property
    def is_staff_for_it(self) -> bool:
        """Receptionists and administrators for every appointment; a doctor for their own."""
        return self.is_front_desk or (self.role == DOCTOR and self.is_the_doctor)


def _require(condition: bool, error=Forbidden) -> None:
    if not condition:
        raise error()


def check(action: str, ctx: ActionContext) -> None:
    """Raise the error for `action` by this actor now, or return if it is allowed."""
    checker = _CHECKS.get(action)
    if checker is None:
        raise ValueError(f"Unknown action {action!r}")
    checker(ctx)


def _confirm(ctx: ActionContext) -> None:
    _require(ctx.is_staff_for_it)
    _require(ctx.status == REQUESTED and ctx.now < ctx.start, InvalidTransition)


def _decline(ctx: ActionContext) -> None:
    _require(ctx.is_staff_for_it)
    _require(ctx.status == REQUESTED, InvalidTransition)


def _cancel(ctx: ActionContext) -> None:
    if ctx.is_staff_for_it:
        # Staff: until check-in (a pending hold may be let go as well).
        _require(ctx.status in (HELD, REQUESTED, CONFIRMED), InvalidTransition)
        return
    _require(ctx.acts_as_patient)
    _require(ctx.status in (HELD, REQUESTED, CONFIRMED), InvalidTransition)
    if ctx.status != HELD:
        _require(ctx.now <= ctx.start - ctx.cancellation_cutoff, CancellationCutoff)


def _reschedule(ctx: ActionContext) -> None:
    if ctx.is_staff_for_it:
        _require(ctx.status in (REQUESTED, CONFIRMED), InvalidTransition)
        return
    _require(ctx.acts_as_patient)
    _require(ctx.status in (REQUESTED, CONFIRMED), InvalidTransition)
    _require(ctx.now <= ctx.start - ctx.reschedule_cutoff, RescheduleCutoff)
    _require(ctx.reschedule_count < ctx.max_reschedules, RescheduleLimit)


def _check_in(ctx: ActionContext) -> None:
    _require(ctx.is_staff_for_it)
    _require(ctx.status == CONFIRMED and ctx.local_date == ctx.today, InvalidTransition)


def _no_show(ctx: ActionContext) -> None:
    _require(ctx.is_staff_for_it)
    _require(ctx.status == CONFIRMED and ctx.now >= ctx.start, InvalidTransition)


def _complete(ctx: ActionContext) -> None:
    _require(ctx.role == DOCTOR and ctx.is_the_doctor)
    _require(ctx.status == CHECKED_IN, InvalidTransition)
    _require(ctx.record_finalised, RecordNotFinalised)


_CHECKS = {
    "confirm": _confirm,
    "decline": _decline,
    "cancel": _cancel,
    "reschedule": _reschedule,
    "check_in": _check_in,
    "no_show": _no_show,
    "complete": _complete,
}


def allowed_actions(ctx: ActionContext) -> list[str]:
    allowed = []
    for action in ACTIONS:
        try:
            check(action, ctx)
        except (
            Forbidden,
            InvalidTransition,
            CancellationCutoff,
            RescheduleCutoff,
            RescheduleLimit,
            RecordNotFinalised,
        ):
            continue
        allowed.append(action)
    return allowed


def status_after_reschedule(*, status: str, by_staff: bool, confirmation_required: bool) -> str:
    """A patient's reschedule waits for confirmation again when the clinic requires it; a staff
    reschedule is confirmed."""
    if by_staff or not confirmation_required:
        return CONFIRMED
    return REQUESTED


def initial_status(*, by_staff: bool, confirmation_required: bool) -> str:
    return CONFIRMED if by_staff or not confirmation_required else REQUESTED


def refund_percent(
    *,
    cancelled_by_clinic: bool,
    no_show: bool,
    now: datetime,
    start: datetime,
    full_refund_before: timedelta,
    late_percent: int,
) -> int:
    """Refund on cancellation (scheduling-rules.md, Payments and refunds)."""
    if no_show:
        return 0
    if cancelled_by_clinic:
        return 100
    return 100 if now <= start - full_refund_before else late_percent
