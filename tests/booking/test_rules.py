"""The lifecycle rules keep the Lifecycle table of scheduling-rules.md: every row's allowed actors
pass, other actors are forbidden, other states are invalid transitions, the cut-offs and the
reschedule cap hold at their boundaries, `allowed_actions` is exactly what `check` lets through,
and the initial status, rescheduled status and refund maths follow the policies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.exceptions import (
    CancellationCutoff,
    InvalidTransition,
    RecordNotFinalised,
    RescheduleCutoff,
    RescheduleLimit,
)
from booking.rules import (
    ACTIONS,
    ADMIN,
    CANCELLED,
    CHECKED_IN,
    COMPLETED,
    CONFIRMED,
    DOCTOR,
    NO_SHOW,
    PATIENT,
    RECEPTIONIST,
    REQUESTED,
    ActionContext,
    allowed_actions,
    check,
    initial_status,
    refund_percent,
    status_after_reschedule,
)
from clinic_site.exceptions import ClinicError, Forbidden

START = datetime(2030, 1, 10, 10, 0, tzinfo=UTC)
STATUSES = (REQUESTED, CONFIRMED, CHECKED_IN, COMPLETED, CANCELLED, NO_SHOW)
FINAL = (COMPLETED, CANCELLED, NO_SHOW)

# Who is acting, relative to the appointment.
ACTORS = {
    "the patient": {"role": PATIENT, "is_the_patient": True, "is_the_doctor": False},
    "another patient": {"role": PATIENT, "is_the_patient": False, "is_the_doctor": False},
    "the doctor": {"role": DOCTOR, "is_the_patient": False, "is_the_doctor": True},
    "another doctor": {"role": DOCTOR, "is_the_patient": False, "is_the_doctor": False},
    "receptionist": {"role": RECEPTIONIST, "is_the_patient": False, "is_the_doctor": False},
    "admin": {"role": ADMIN, "is_the_patient": False, "is_the_doctor": False},
    "anonymous": {"role": None, "is_the_patient": False, "is_the_doctor": False},
}


def ctx(actor: str = "the patient", **overrides) -> ActionContext:
    """Three days before a CONFIRMED appointment, cut-offs 2 h, no reschedules yet."""
    start = overrides.pop("start", START)
    now = overrides.pop("now", start - timedelta(days=3))
    values = {
        **ACTORS[actor],
        "status": CONFIRMED,
        "start": start,
        "end": start + timedelta(minutes=30),
        "now": now,
        "local_date": start.date(),
        "today": now.date(),
        "cancellation_cutoff": timedelta(hours=2),
        "reschedule_cutoff": timedelta(hours=2),
        "reschedule_count": 0,
        "max_reschedules": 3,
        "record_finalised": False,
    }
    values.update(overrides)
    return ActionContext(**values)


def on_the_day(actor: str, **overrides) -> ActionContext:
    """The appointment's local date, an hour before it starts."""
    now = overrides.pop("now", START - timedelta(hours=1))
    today = overrides.pop("today", now.date())
    return ctx(actor, now=now, today=today, **overrides)


def passes(action: str, context: ActionContext) -> bool:
    try:
        check(action, context)
    except ClinicError:
        return False
    return True


def refused_with(action: str, context: ActionContext):
    with pytest.raises(ClinicError) as caught:
        check(action, context)
    return type(caught.value)


def others(allowed) -> list[str]:
    return [a for a in ACTORS if a not in allowed]


# --- REQUESTED → CONFIRMED: the doctor, receptionist, admin; before start ------------------------

CONFIRMERS = ("the doctor", "receptionist", "admin")


@pytest.mark.parametrize("actor", CONFIRMERS)
def test_confirm_is_allowed_to_the_doctor_and_front_desk_before_start(actor):
    check("confirm", ctx(actor, status=REQUESTED))
    check("confirm", ctx(actor, status=REQUESTED, now=START - timedelta(seconds=1)))


@pytest.mark.parametrize("actor", others(CONFIRMERS))
def test_confirm_by_anyone_else_is_forbidden(actor):
    assert refused_with("confirm", ctx(actor, status=REQUESTED)) is Forbidden


@pytest.mark.parametrize("status", [s for s in STATUSES if s != REQUESTED])
def test_confirm_from_any_status_but_requested_is_an_invalid_transition(status):
    assert refused_with("confirm", ctx("receptionist", status=status)) is InvalidTransition


@pytest.mark.parametrize("now", [START, START + timedelta(minutes=1)])
def test_confirm_at_or_after_start_is_an_invalid_transition(now):
    assert (
        refused_with("confirm", ctx("the doctor", status=REQUESTED, now=now)) is InvalidTransition
    )


# --- REQUESTED → CANCELLED (declined): the doctor, receptionist, admin ---------------------------


@pytest.mark.parametrize("actor", CONFIRMERS)
def test_decline_is_allowed_to_the_doctor_and_front_desk(actor):
    check("decline", ctx(actor, status=REQUESTED))


@pytest.mark.parametrize("actor", others(CONFIRMERS))
def test_decline_by_anyone_else_is_forbidden(actor):
    assert refused_with("decline", ctx(actor, status=REQUESTED)) is Forbidden


@pytest.mark.parametrize("status", [s for s in STATUSES if s != REQUESTED])
def test_decline_from_any_status_but_requested_is_an_invalid_transition(status):
    assert refused_with("decline", ctx("admin", status=status)) is InvalidTransition


# --- REQUESTED, CONFIRMED → CANCELLED: the patient, until start - cancellation_cutoff -------------


@pytest.mark.parametrize("status", [REQUESTED, CONFIRMED])
def test_patient_may_cancel_a_requested_or_confirmed_appointment_before_the_cutoff(status):
    check("cancel", ctx("the patient", status=status))


def test_patient_may_cancel_exactly_at_the_cancellation_cutoff():
    check("cancel", ctx("the patient", now=START - timedelta(hours=2)))


@pytest.mark.parametrize("late", [timedelta(seconds=1), timedelta(hours=1), timedelta(hours=3)])
def test_patient_cancelling_after_the_cutoff_is_refused_with_cancellation_cutoff(late):
    context = ctx("the patient", now=START - timedelta(hours=2) + late)
    assert refused_with("cancel", context) is CancellationCutoff
    assert CancellationCutoff.code == "cancellation_cutoff"


def test_cancellation_cutoff_is_the_policy_value():
    context = ctx(
        "the patient", now=START - timedelta(hours=5), cancellation_cutoff=timedelta(hours=6)
    )
    assert refused_with("cancel", context) is CancellationCutoff
    check("cancel", replace(context, cancellation_cutoff=timedelta(hours=5)))


@pytest.mark.parametrize("status", [CHECKED_IN, *FINAL])
def test_patient_cancel_after_check_in_or_a_final_status_is_an_invalid_transition(status):
    assert refused_with("cancel", ctx("the patient", status=status)) is InvalidTransition


@pytest.mark.parametrize("actor", ["another patient", "another doctor", "anonymous"])
def test_cancel_by_someone_who_is_neither_the_patient_nor_staff_for_it_is_forbidden(actor):
    assert refused_with("cancel", ctx(actor)) is Forbidden


# --- REQUESTED, CONFIRMED → CANCELLED: receptionist, admin, the doctor; before check-in -----------

STAFF = ("receptionist", "admin", "the doctor")


@pytest.mark.parametrize("actor", STAFF)
@pytest.mark.parametrize("status", [REQUESTED, CONFIRMED])
@pytest.mark.parametrize("now", [START - timedelta(days=3), START - timedelta(minutes=30), START])
def test_staff_may_cancel_before_check_in_whatever_the_patient_cutoff(actor, status, now):
    check("cancel", ctx(actor, status=status, now=now, today=now.date()))


@pytest.mark.parametrize("actor", STAFF)
@pytest.mark.parametrize("status", [CHECKED_IN, *FINAL])
def test_staff_cancel_after_check_in_or_a_final_status_is_an_invalid_transition(actor, status):
    assert refused_with("cancel", ctx(actor, status=status)) is InvalidTransition


def test_a_doctor_who_is_also_the_patient_of_another_doctor_cancels_as_a_patient():
    context = ctx("the patient", role=DOCTOR, now=START - timedelta(hours=1))
    assert refused_with("cancel", context) is CancellationCutoff


# --- CONFIRMED → CHECKED_IN: receptionist, the doctor; on the local date -------------------------


@pytest.mark.parametrize("actor", ["receptionist", "the doctor"])
def test_check_in_is_allowed_on_the_appointments_local_date(actor):
    check("check_in", on_the_day(actor))
    check("check_in", on_the_day(actor, now=START + timedelta(hours=3)))


@pytest.mark.parametrize("actor", ["the patient", "another patient", "another doctor", "anonymous"])
def test_check_in_by_anyone_else_is_forbidden(actor):
    # "admin" is left out on purpose: the Lifecycle table lists receptionist and the doctor,
    # permissions.md gives administrators check-in too; the specs disagree.
    assert refused_with("check_in", on_the_day(actor)) is Forbidden


@pytest.mark.parametrize("days", [-1, 1])
def test_check_in_on_another_date_is_an_invalid_transition(days):
    context = on_the_day("receptionist", today=START.date() + timedelta(days=days))
    assert refused_with("check_in", context) is InvalidTransition


def test_check_in_uses_the_local_today_not_the_utc_date_of_now():
    # 23:30 UTC on the 9th is already the 10th where the clinic is (local_date/today are local).
    context = ctx("receptionist", now=START - timedelta(hours=10, minutes=30), today=START.date())
    check("check_in", context)


@pytest.mark.parametrize("status", [s for s in STATUSES if s != CONFIRMED])
def test_check_in_from_any_status_but_confirmed_is_an_invalid_transition(status):
    assert refused_with("check_in", on_the_day("the doctor", status=status)) is InvalidTransition


# --- CONFIRMED → NO_SHOW: receptionist, the doctor; at or after start ----------------------------


@pytest.mark.parametrize("actor", ["receptionist", "the doctor"])
@pytest.mark.parametrize("after", [timedelta(0), timedelta(minutes=1), timedelta(days=2)])
def test_no_show_is_allowed_at_or_after_start(actor, after):
    check("no_show", ctx(actor, now=START + after))


@pytest.mark.parametrize("actor", ["receptionist", "the doctor"])
def test_no_show_before_start_is_an_invalid_transition(actor):
    context = ctx(actor, now=START - timedelta(seconds=1))
    assert refused_with("no_show", context) is InvalidTransition


@pytest.mark.parametrize("actor", ["the patient", "another patient", "another doctor", "anonymous"])
def test_no_show_by_anyone_else_is_forbidden(actor):
    assert refused_with("no_show", ctx(actor, now=START + timedelta(minutes=5))) is Forbidden


@pytest.mark.parametrize("status", [s for s in STATUSES if s != CONFIRMED])
def test_no_show_from_any_status_but_confirmed_is_an_invalid_transition(status):
    context = ctx("receptionist", status=status, now=START + timedelta(minutes=5))
    assert refused_with("no_show", context) is InvalidTransition


# --- CHECKED_IN → COMPLETED: the doctor; record finalised ----------------------------------------


def test_complete_is_allowed_to_the_doctor_once_the_record_is_finalised():
    check("complete", on_the_day("the doctor", status=CHECKED_IN, record_finalised=True))


def test_complete_without_a_finalised_record_is_refused_with_record_not_finalised():
    context = on_the_day("the doctor", status=CHECKED_IN, record_finalised=False)
    assert refused_with("complete", context) is RecordNotFinalised
    assert RecordNotFinalised.code == "record_not_finalised"


@pytest.mark.parametrize("actor", others(["the doctor"]))
def test_complete_by_anyone_but_the_doctor_is_forbidden(actor):
    context = on_the_day(actor, status=CHECKED_IN, record_finalised=True)
    assert refused_with("complete", context) is Forbidden


@pytest.mark.parametrize("status", [s for s in STATUSES if s != CHECKED_IN])
def test_complete_from_any_status_but_checked_in_is_an_invalid_transition(status):
    context = on_the_day("the doctor", status=status, record_finalised=True)
    assert refused_with("complete", context) is InvalidTransition


# --- Rescheduling ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [REQUESTED, CONFIRMED])
def test_patient_may_reschedule_before_the_cutoff_and_under_the_limit(status):
    check("reschedule", ctx("the patient", status=status, reschedule_count=2))


def test_patient_may_reschedule_exactly_at_the_reschedule_cutoff():
    check("reschedule", ctx("the patient", now=START - timedelta(hours=2)))


def test_patient_rescheduling_after_the_cutoff_is_refused_with_reschedule_cutoff():
    context = ctx("the patient", now=START - timedelta(hours=2) + timedelta(seconds=1))
    assert refused_with("reschedule", context) is RescheduleCutoff


def test_reschedule_cutoff_is_separate_from_the_cancellation_cutoff():
    context = ctx(
        "the patient",
        now=START - timedelta(hours=4),
        cancellation_cutoff=timedelta(hours=2),
        reschedule_cutoff=timedelta(hours=6),
    )
    check("cancel", context)
    assert refused_with("reschedule", context) is RescheduleCutoff
    context = replace(
        context, cancellation_cutoff=timedelta(hours=6), reschedule_cutoff=timedelta(0)
    )
    check("reschedule", context)
    assert refused_with("cancel", context) is CancellationCutoff


@pytest.mark.parametrize("count", [3, 4])
def test_patient_rescheduling_at_the_limit_is_refused_with_reschedule_limit(count):
    context = ctx("the patient", reschedule_count=count, max_reschedules=3)
    assert refused_with("reschedule", context) is RescheduleLimit
    assert RescheduleLimit.code == "reschedule_limit"


@pytest.mark.parametrize("actor", STAFF)
def test_staff_reschedule_at_any_time_before_check_in_without_the_limit(actor):
    context = ctx(actor, now=START + timedelta(minutes=5), reschedule_count=10, max_reschedules=3)
    check("reschedule", context)
    check("reschedule", replace(context, status=REQUESTED))


@pytest.mark.parametrize("actor", ["the patient", *STAFF])
@pytest.mark.parametrize("status", [CHECKED_IN, *FINAL])
def test_reschedule_after_check_in_or_a_final_status_is_an_invalid_transition(actor, status):
    assert refused_with("reschedule", ctx(actor, status=status)) is InvalidTransition


@pytest.mark.parametrize("actor", ["another patient", "another doctor", "anonymous"])
def test_reschedule_by_someone_who_is_neither_the_patient_nor_staff_for_it_is_forbidden(actor):
    assert refused_with("reschedule", ctx(actor)) is Forbidden


# --- Final statuses, unknown actions, allowed_actions -------------------------------------------


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("status", FINAL)
def test_final_statuses_allow_no_action_to_anyone(actor, status):
    context = on_the_day(
        actor, status=status, now=START + timedelta(minutes=5), record_finalised=True
    )
    assert allowed_actions(context) == []


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown action"):
        check("teleport", ctx())


def test_allowed_actions_of_a_typical_day():
    assert allowed_actions(ctx("the patient", status=REQUESTED)) == ["cancel", "reschedule"]
    assert allowed_actions(ctx("the doctor", status=REQUESTED)) == [
        "confirm",
        "decline",
        "cancel",
        "reschedule",
    ]
    assert allowed_actions(on_the_day("receptionist")) == ["cancel", "reschedule", "check_in"]
    assert allowed_actions(on_the_day("the doctor", now=START)) == [
        "cancel",
        "reschedule",
        "check_in",
        "no_show",
    ]
    checked_in = on_the_day("the doctor", status=CHECKED_IN, record_finalised=True)
    assert allowed_actions(checked_in) == ["complete"]
    assert allowed_actions(ctx("another patient")) == []


EXPECTED_ERRORS = (
    Forbidden,
    InvalidTransition,
    CancellationCutoff,
    RescheduleCutoff,
    RescheduleLimit,
    RecordNotFinalised,
)


@st.composite
def contexts(draw):
    start = START + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 3 * 24 * 60)))
    now = START + timedelta(minutes=draw(st.integers(-4 * 24 * 60, 4 * 24 * 60)))
    return ActionContext(
        role=draw(st.sampled_from([PATIENT, DOCTOR, RECEPTIONIST, ADMIN, None])),
        is_the_patient=draw(st.booleans()),
        is_the_doctor=draw(st.booleans()),
        status=draw(st.sampled_from(STATUSES)),
        start=start,
        end=start + timedelta(minutes=draw(st.sampled_from([10, 15, 30, 60, 120]))),
        now=now,
        local_date=start.date(),
        today=now.date() + timedelta(days=draw(st.sampled_from([0, 0, -1, 1]))),
        cancellation_cutoff=timedelta(minutes=draw(st.integers(0, 48 * 60))),
        reschedule_cutoff=timedelta(minutes=draw(st.integers(0, 48 * 60))),
        reschedule_count=draw(st.integers(0, 5)),
        max_reschedules=draw(st.integers(0, 5)),
        record_finalised=draw(st.booleans()),
    )


@settings(max_examples=400, deadline=None)
@given(contexts())
def test_allowed_actions_are_exactly_the_actions_whose_check_passes(context):
    passing = []
    for action in ACTIONS:
        try:
            check(action, context)
        except EXPECTED_ERRORS:
            continue
        passing.append(action)
    assert allowed_actions(context) == passing


@settings(max_examples=400, deadline=None)
@given(contexts())
def test_lifecycle_invariants_hold_for_any_context(context):
    allowed = set(allowed_actions(context))
    if context.status in FINAL:
        assert allowed == set()
    if context.role == PATIENT and not context.is_the_doctor:
        assert allowed <= {"cancel", "reschedule"}
    if "complete" in allowed:
        assert context.role == DOCTOR and context.is_the_doctor and context.record_finalised
    if "check_in" in allowed:
        assert context.status == CONFIRMED and context.local_date == context.today
    if "no_show" in allowed:
        assert context.status == CONFIRMED and context.now >= context.start
    if "confirm" in allowed:
        assert context.status == REQUESTED and context.now < context.start
    if allowed & {"confirm", "decline"}:
        assert context.role in (RECEPTIONIST, ADMIN) or (
            context.role == DOCTOR and context.is_the_doctor
        )


# --- Initial status, status after reschedule ----------------------------------------------------


def test_initial_status_is_requested_when_confirmation_is_required():
    assert initial_status(by_staff=False, confirmation_required=True) == REQUESTED


def test_initial_status_is_confirmed_when_confirmation_is_not_required():
    assert initial_status(by_staff=False, confirmation_required=False) == CONFIRMED


@pytest.mark.parametrize("required", [True, False])
def test_staff_booking_on_behalf_starts_confirmed(required):
    assert initial_status(by_staff=True, confirmation_required=required) == CONFIRMED


@pytest.mark.parametrize("status", [REQUESTED, CONFIRMED])
def test_patient_reschedule_goes_back_to_requested_when_confirmation_is_required(status):
    assert (
        status_after_reschedule(status=status, by_staff=False, confirmation_required=True)
        == REQUESTED
    )


@pytest.mark.parametrize("status", [REQUESTED, CONFIRMED])
def test_patient_reschedule_without_required_confirmation_is_confirmed(status):
    assert (
        status_after_reschedule(status=status, by_staff=False, confirmation_required=False)
        == CONFIRMED
    )


@pytest.mark.parametrize("status", [REQUESTED, CONFIRMED])
@pytest.mark.parametrize("required", [True, False])
def test_staff_reschedule_stays_or_becomes_confirmed(status, required):
    assert (
        status_after_reschedule(status=status, by_staff=True, confirmation_required=required)
        == CONFIRMED
    )


# --- Refunds ------------------------------------------------------------------------------------


def refund(before: timedelta, *, clinic=False, no_show=False, late=50, full_hours=24) -> int:
    return refund_percent(
        cancelled_by_clinic=clinic,
        no_show=no_show,
        now=START - before,
        start=START,
        full_refund_before=timedelta(hours=full_hours),
        late_percent=late,
    )


@pytest.mark.parametrize("before", [timedelta(hours=24), timedelta(hours=25), timedelta(days=30)])
def test_full_refund_at_least_refund_full_hours_before_start(before):
    assert refund(before) == 100


@pytest.mark.parametrize(
    "before", [timedelta(hours=24) - timedelta(seconds=1), timedelta(hours=2), timedelta(0)]
)
def test_late_percent_refund_inside_refund_full_hours(before):
    assert refund(before) == 50
    assert refund(before, late=30) == 30


def test_refund_full_hours_is_the_policy_value():
    assert refund(timedelta(hours=47), full_hours=48) == 50
    assert refund(timedelta(hours=48), full_hours=48) == 100


@pytest.mark.parametrize("before", [timedelta(days=3), timedelta(hours=1), timedelta(0)])
def test_clinic_cancelling_or_declining_refunds_in_full(before):
    assert refund(before, clinic=True) == 100


@pytest.mark.parametrize("clinic", [True, False])
def test_no_show_refunds_nothing(clinic):
    assert refund(-timedelta(minutes=30), no_show=True, clinic=clinic) == 0
    assert refund(timedelta(days=3), no_show=True, clinic=clinic) == 0
