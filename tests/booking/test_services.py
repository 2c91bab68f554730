"""Service-level tests of the appointment engine: booking, holds, the lifecycle, rescheduling and
the queue, against the contract of scheduling-rules.md and permissions.md.

Everything is built and changed through the services with a fixed clock (`now=`), so a rule's
boundary can be hit to the second. The clinic's zone is UTC here unless a test says otherwise;
the last group runs in Europe/London to show that "the appointment's local date" means the
clinic's date, not UTC's.

The standard doctor works 09:00-13:00 every day with a 30-minute visit type and 5/5-minute
buffers, so the offered grid of a day is 09:00, 09:40, 10:20, 11:00, 11:40, 12:20.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from booking import services
from booking.exceptions import (
    CancellationCutoff,
    HoldExpired,
    InvalidTransition,
    PatientOverlap,
    RecordNotFinalised,
    RescheduleCutoff,
    RescheduleLimit,
    SlotUnavailable,
)
from booking.models import Appointment, HoldKind, Reschedule, Status, Transition
from booking.permissions import allowed_actions
from booking.selectors import appointments_visible_to, queue_for, slot_search
from clinic_site.accounts.exceptions import EmailNotVerified
from clinic_site.accounts.roles import Role
from clinic_site.exceptions import Forbidden
from clinic_site.models import ClinicPolicies
from clinic_site.policies import get_policies
from records.models import ConsultationRecord
from tests.factories import (
    DoctorFactory,
    VisitTypeFactory,
    at,
    book,
    bookable_doctor,
    give_week,
    make_user,
)

pytestmark = pytest.mark.django_db

TODAY = date(2027, 3, 1)  # a Monday: most appointments are booked on this day...
DAY = date(2027, 3, 2)  # ...for this one
NEXT_DAY = date(2027, 3, 3)
GRID = ("09:00", "09:40", "10:20", "11:00", "11:40", "12:20")

ACTORS = ("patient", "doctor", "other_doctor", "receptionist", "admin", "editor")
STAFF_FOR_IT = {"doctor", "receptionist", "admin"}  # confirm, decline, staff cancel
# Check-in and no-show: the Lifecycle table names "receptionist, the doctor"; permissions.md
# gives administrators ✓ for "check in, no-show" as well. We follow the role matrix.
DESK_AND_DOCTOR = {"doctor", "receptionist", "admin"}
DOMAIN_REFUSALS = (
    Forbidden,
    InvalidTransition,
    CancellationCutoff,
    RescheduleCutoff,
    RescheduleLimit,
    RecordNotFinalised,
    SlotUnavailable,
)


# --- Clock, policies and small helpers --------------------------------------------------------


def booked_at() -> datetime:
    """When most appointments are made: 08:00 the day before the visit (clinic zone)."""
    return at(TODAY, "08:00")


def set_policies(**values) -> None:
    """Change clinic policies the way an administrator does: the one settings row, saved."""
    row = ClinicPolicies.load()  # get-or-create the singleton; no request, so no cache
    for name, value in values.items():
        setattr(row, name, value)
    row.save()


def act(appointment, actor, action, *, now, reason="", excused=None) -> Appointment:
    return services.appointment_act(
        appointment=appointment,
        actor=actor,
        action=action,
        reason=reason,
        excused=excused,
        now=now,
    )


def move(appointment, actor, new_start, *, now, reason="", visit_type=None) -> Appointment:
    return services.appointment_reschedule(
        appointment=appointment,
        actor=actor,
        new_start=new_start,
        reason=reason,
        visit_type=visit_type,
        now=now,
    )


def fresh(appointment) -> Appointment:
    return Appointment.objects.get(pk=appointment.pk)


def snapshot(appointment) -> tuple:
    row = fresh(appointment)
    return (
        row.status,
        row.start,
        row.end,
        row.visit_type_id,
        row.reschedule_count,
        row.queue_position,
        row.transitions.count(),
        row.reschedules.count(),
    )


@contextmanager
def unchanged(appointment):
    """The appointment, its transitions and its reschedule history are the same afterwards."""
    before = snapshot(appointment)
    yield
    assert snapshot(appointment) == before


@contextmanager
def nothing_written():
    counts = Appointment.objects.count(), Transition.objects.count()
    yield
    assert (Appointment.objects.count(), Transition.objects.count()) == counts


def assert_moved(appointment, *, frm, to, by, when, reason="") -> Transition:
    """The appointment is in `to` and its last transition says from, to, by, at and why."""
    row = fresh(appointment)
    assert row.status == to
    last = row.transitions.last()
    assert (last.from_status, last.to_status, last.by_id, last.at, last.reason) == (
        frm,
        to,
        by.pk if by else None,
        when,
        reason,
    )
    return last


def offered_starts(visit_type, day_from, day_to, *, now) -> list[datetime]:
    return [
        s.start
        for s in slot_search(visit_type=visit_type, date_from=day_from, date_to=day_to, now=now)
    ]


def finalise_record(appointment, author, *, when) -> ConsultationRecord:
    return ConsultationRecord.objects.create(
        appointment=appointment, author=author, finalised_at=when
    )


# --- The cast ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clinic_in_utc(settings):
    """The default test zone, pinned so that CLINIC_TIME_ZONE in the environment cannot move
    these fixed clocks; the London group overrides it again."""
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def doctor_and_visit():
    return bookable_doctor()


@pytest.fixture
def doctor(doctor_and_visit):
    return doctor_and_visit[0]


@pytest.fixture
def visit(doctor_and_visit):
    return doctor_and_visit[1]


@pytest.fixture
def patient():
    return make_user(Role.PATIENT)


@pytest.fixture
def other_patient():
    return make_user(Role.PATIENT)


@pytest.fixture
def receptionist():
    return make_user(Role.RECEPTIONIST)


@pytest.fixture
def admin():
    return make_user(Role.ADMIN)


@pytest.fixture
def editor():
    return make_user(Role.EDITOR)


@pytest.fixture
def other_doctor():
    """A doctor with a login and a schedule of their own, but not the doctor of `visit`."""
    return bookable_doctor()[0]


@pytest.fixture
def cast(patient, doctor, other_doctor, receptionist, admin, editor):
    return {
        "patient": patient,
        "doctor": doctor.user,
        "other_doctor": other_doctor.user,
        "receptionist": receptionist,
        "admin": admin,
        "editor": editor,
    }


@pytest.fixture
def make(visit, patient, receptionist):
    """An appointment of `visit` brought to `status` through the services (booked the day
    before by the patient; moved on by the receptionist, completed by its doctor)."""

    def _make(status=Status.REQUESTED, hhmm="10:20", *, day=DAY, who=None) -> Appointment:
        start = at(day, hhmm)
        who = who or patient
        appointment = book(visit, start, patient=who, now=at(day - timedelta(days=1), "08:00"))
        assert appointment.status == Status.REQUESTED
        if status == Status.CANCELLED:
            act(appointment, who, "cancel", now=at(day - timedelta(days=1), "08:30"))
        if status in (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW):
            act(appointment, receptionist, "confirm", now=at(day - timedelta(days=1), "08:30"))
        if status in (Status.CHECKED_IN, Status.COMPLETED):
            act(appointment, receptionist, "check_in", now=start - timedelta(minutes=10))
        if status == Status.COMPLETED:
            finalise_record(appointment, visit.doctor.user, when=start + timedelta(minutes=25))
            act(appointment, visit.doctor.user, "complete", now=start + timedelta(minutes=30))
        if status == Status.NO_SHOW:
            act(appointment, receptionist, "no_show", now=start + timedelta(minutes=15))
        appointment = fresh(appointment)
        assert appointment.status == status
        return appointment

    return _make


# === 1. Lifecycle =============================================================================


@pytest.mark.parametrize("who", ACTORS)
def test_confirm_moves_requested_to_confirmed_only_for_the_doctor_and_the_front_desk(
    who, cast, make
):
    appointment = make(Status.REQUESTED)
    actor, now = cast[who], at(DAY, "08:00")
    if who in STAFF_FOR_IT:
        act(appointment, actor, "confirm", now=now)
        assert_moved(appointment, frm=Status.REQUESTED, to=Status.CONFIRMED, by=actor, when=now)
        assert fresh(appointment).confirmed_at == now
    else:
        with unchanged(appointment), pytest.raises(Forbidden):
            act(appointment, actor, "confirm", now=now)


def test_confirm_is_allowed_until_just_before_start_and_refused_from_start_on(make, receptionist):
    late = make(Status.REQUESTED, "09:00")
    for now in (at(DAY, "09:00"), at(DAY, "09:01")):
        with unchanged(late), pytest.raises(InvalidTransition):
            act(late, receptionist, "confirm", now=now)

    in_time = make(Status.REQUESTED, "10:20")
    now = at(DAY, "10:20") - timedelta(seconds=1)
    act(in_time, receptionist, "confirm", now=now)
    assert fresh(in_time).status == Status.CONFIRMED


def test_confirm_is_refused_for_an_appointment_that_is_not_requested(make, receptionist):
    appointment = make(Status.CONFIRMED)
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, receptionist, "confirm", now=at(DAY, "08:00"))


@pytest.mark.parametrize("who", ACTORS)
def test_decline_cancels_a_request_with_its_reason_only_for_the_doctor_and_the_front_desk(
    who, cast, make
):
    appointment = make(Status.REQUESTED)
    actor, now = cast[who], at(DAY, "08:00")
    if who in STAFF_FOR_IT:
        act(appointment, actor, "decline", now=now, reason="  Doctor is on a course.  ")
        transition = assert_moved(
            appointment,
            frm=Status.REQUESTED,
            to=Status.CANCELLED,
            by=actor,
            when=now,
            reason="Doctor is on a course.",
        )
        assert transition.details.get("declined") is True
        assert fresh(appointment).cancellation_reason == "Doctor is on a course."
    else:
        with unchanged(appointment), pytest.raises(Forbidden):
            act(appointment, actor, "decline", now=now, reason="Not mine to decline.")


@pytest.mark.parametrize("reason", ["", "   "])
def test_decline_without_a_reason_is_a_validation_error_on_reason(make, receptionist, reason):
    appointment = make(Status.REQUESTED)
    with unchanged(appointment), pytest.raises(ValidationError) as refused:
        act(appointment, receptionist, "decline", now=at(DAY, "08:00"), reason=reason)
    assert "reason" in refused.value.message_dict


def test_decline_is_refused_once_the_appointment_is_confirmed(make, doctor):
    appointment = make(Status.CONFIRMED)
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, doctor.user, "decline", now=at(DAY, "08:00"), reason="Too late.")


@pytest.mark.parametrize("status", [Status.REQUESTED, Status.CONFIRMED])
def test_patient_may_cancel_until_exactly_the_cancellation_cutoff(make, patient, status):
    at_cutoff = make(status, "11:00")
    now = at(DAY, "09:00")  # start - 2 h exactly
    act(at_cutoff, patient, "cancel", now=now)
    transition = assert_moved(at_cutoff, frm=status, to=Status.CANCELLED, by=patient, when=now)
    assert transition.details.get("by") == "patient"

    past_cutoff = make(status, "11:40")
    now = at(DAY, "09:40") + timedelta(seconds=1)  # one second after start - 2 h
    with unchanged(past_cutoff), pytest.raises(CancellationCutoff):
        act(past_cutoff, patient, "cancel", now=now)


def test_cancellation_cutoff_follows_the_clinic_policy(make, patient):
    set_policies(cancellation_cutoff_minutes=24 * 60)
    appointment = make(Status.CONFIRMED, "11:00")
    with unchanged(appointment), pytest.raises(CancellationCutoff):
        act(appointment, patient, "cancel", now=at(TODAY, "11:00") + timedelta(seconds=1))
    act(appointment, patient, "cancel", now=at(TODAY, "11:00"))
    assert fresh(appointment).status == Status.CANCELLED


def test_a_patient_cannot_cancel_someone_elses_appointment(make, other_patient):
    appointment = make(Status.CONFIRMED)
    with unchanged(appointment), pytest.raises(Forbidden):
        act(appointment, other_patient, "cancel", now=at(TODAY, "09:00"))


@pytest.mark.parametrize("status", [Status.REQUESTED, Status.CONFIRMED])
@pytest.mark.parametrize("who", [w for w in ACTORS if w != "patient"])
def test_staff_cancel_before_check_in_with_a_reason_even_after_the_patients_cutoff(
    who, status, cast, make
):
    appointment = make(status, "11:00")
    actor, now = cast[who], at(DAY, "10:50")  # well past the patient's 2-hour cut-off
    if who in STAFF_FOR_IT:
        act(appointment, actor, "cancel", now=now, reason="Doctor unwell.")
        transition = assert_moved(
            appointment,
            frm=status,
            to=Status.CANCELLED,
            by=actor,
            when=now,
            reason="Doctor unwell.",
        )
        assert transition.details.get("by") == "clinic"
    else:
        with unchanged(appointment), pytest.raises(Forbidden):
            act(appointment, actor, "cancel", now=now, reason="Doctor unwell.")


@pytest.mark.parametrize("who", sorted(STAFF_FOR_IT))
def test_staff_cancel_without_a_reason_is_a_validation_error_on_reason(who, cast, make):
    appointment = make(Status.CONFIRMED)
    with unchanged(appointment), pytest.raises(ValidationError) as refused:
        act(appointment, cast[who], "cancel", now=at(DAY, "08:00"), reason=" ")
    assert "reason" in refused.value.message_dict


@pytest.mark.parametrize("who", ["patient", "doctor", "receptionist", "admin"])
def test_nobody_cancels_after_check_in(who, cast, make):
    appointment = make(Status.CHECKED_IN, "10:20")
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, cast[who], "cancel", now=at(DAY, "10:15"), reason="Changed my mind.")


@pytest.mark.parametrize("who", ACTORS)
def test_check_in_of_a_confirmed_appointment_by_its_doctor_or_the_front_desk(who, cast, make):
    appointment = make(Status.CONFIRMED, "10:20")
    actor, now = cast[who], at(DAY, "10:05")
    if who in DESK_AND_DOCTOR:
        act(appointment, actor, "check_in", now=now)
        assert_moved(appointment, frm=Status.CONFIRMED, to=Status.CHECKED_IN, by=actor, when=now)
        row = fresh(appointment)
        assert (row.checked_in_at, row.queue_position) == (now, 1)
    else:
        with unchanged(appointment), pytest.raises(Forbidden):
            act(appointment, actor, "check_in", now=now)


def test_check_in_only_on_the_appointments_local_date(make, receptionist):
    appointment = make(Status.CONFIRMED, "10:20")
    for now in (at(TODAY, "23:59"), at(NEXT_DAY, "00:00")):  # the day before, the day after
        with unchanged(appointment), pytest.raises(InvalidTransition):
            act(appointment, receptionist, "check_in", now=now)
    act(appointment, receptionist, "check_in", now=at(DAY, "00:00"))  # any time that day
    assert fresh(appointment).status == Status.CHECKED_IN


def test_check_in_after_start_on_the_same_day_is_allowed(make, receptionist):
    appointment = make(Status.CONFIRMED, "10:20")
    act(appointment, receptionist, "check_in", now=at(DAY, "10:45"))
    assert fresh(appointment).status == Status.CHECKED_IN


def test_check_in_needs_a_confirmed_appointment(make, receptionist):
    appointment = make(Status.REQUESTED, "10:20")
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, receptionist, "check_in", now=at(DAY, "10:00"))


def test_check_in_assigns_queue_positions_in_check_in_order(
    make, receptionist, other_patient, other_doctor
):
    third_patient = make_user(Role.PATIENT)
    early = make(Status.CONFIRMED, "09:00")
    middle = make(Status.CONFIRMED, "10:20", who=other_patient)
    late = make(Status.CONFIRMED, "11:40", who=third_patient)
    act(late, receptionist, "check_in", now=at(DAY, "08:40"))
    act(early, receptionist, "check_in", now=at(DAY, "08:50"))
    # Another doctor's queue is separate: their first check-in is number 1.
    elsewhere = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    theirs = book(elsewhere, at(DAY, "11:00"), actor=receptionist, now=booked_at())
    act(theirs, receptionist, "check_in", now=at(DAY, "08:52"))
    act(middle, receptionist, "check_in", now=at(DAY, "08:55"))
    assert [fresh(a).queue_position for a in (late, early, middle)] == [1, 2, 3]
    assert fresh(theirs).queue_position == 1


@pytest.mark.parametrize("who", ACTORS)
def test_no_show_at_start_by_the_doctor_or_the_front_desk_stores_excused(who, cast, make):
    appointment = make(Status.CONFIRMED, "10:20")
    actor, now = cast[who], at(DAY, "10:20")  # exactly at start
    if who in DESK_AND_DOCTOR:
        act(appointment, actor, "no_show", now=now, excused=True)
        transition = assert_moved(
            appointment, frm=Status.CONFIRMED, to=Status.NO_SHOW, by=actor, when=now
        )
        assert transition.details.get("excused") is True
        row = fresh(appointment)
        assert (row.no_show_excused, row.no_show_at) == (True, now)
    else:
        with unchanged(appointment), pytest.raises(Forbidden):
            act(appointment, actor, "no_show", now=now, excused=True)


def test_no_show_is_refused_before_start_and_stored_unexcused_after(make, receptionist):
    appointment = make(Status.CONFIRMED, "10:20")
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, receptionist, "no_show", now=at(DAY, "10:20") - timedelta(seconds=1))
    act(appointment, receptionist, "no_show", now=at(DAY, "11:00"), excused=False)
    row = fresh(appointment)
    assert (row.status, row.no_show_excused) == (Status.NO_SHOW, False)
    assert row.transitions.last().details.get("excused") is False


def test_no_show_needs_a_confirmed_appointment(make, receptionist):
    appointment = make(Status.REQUESTED, "10:20")
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, receptionist, "no_show", now=at(DAY, "11:00"))


@pytest.mark.parametrize("who", ACTORS)
def test_only_the_treating_doctor_completes(who, cast, make, doctor):
    appointment = make(Status.CHECKED_IN, "10:20")
    finalise_record(appointment, doctor.user, when=at(DAY, "10:45"))
    actor, now = cast[who], at(DAY, "10:50")
    if who == "doctor":
        act(appointment, actor, "complete", now=now)
        assert_moved(appointment, frm=Status.CHECKED_IN, to=Status.COMPLETED, by=actor, when=now)
        assert fresh(appointment).completed_at == now
    else:
        with unchanged(appointment), pytest.raises(Forbidden):
            act(appointment, actor, "complete", now=now)


def test_complete_needs_a_finalised_consultation_record(make, doctor):
    appointment = make(Status.CHECKED_IN, "10:20")
    now = at(DAY, "10:50")
    with unchanged(appointment), pytest.raises(RecordNotFinalised):
        act(appointment, doctor.user, "complete", now=now)

    draft = ConsultationRecord.objects.create(appointment=appointment, author=doctor.user)
    with unchanged(appointment), pytest.raises(RecordNotFinalised):
        act(appointment, doctor.user, "complete", now=now)

    draft.finalised_at = at(DAY, "10:49")
    draft.save()
    act(appointment, doctor.user, "complete", now=now)
    assert fresh(appointment).status == Status.COMPLETED


def test_complete_needs_a_checked_in_appointment(make, doctor):
    appointment = make(Status.CONFIRMED, "10:20")
    finalise_record(appointment, doctor.user, when=at(DAY, "10:45"))
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, doctor.user, "complete", now=at(DAY, "10:50"))


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW])
@pytest.mark.parametrize(
    "action", ["confirm", "decline", "cancel", "check_in", "no_show", "complete", "reschedule"]
)
def test_final_statuses_refuse_every_action(status, action, make, doctor):
    appointment = make(status, "10:20")
    now = at(DAY, "12:00")
    with unchanged(appointment), pytest.raises(InvalidTransition):
        if action == "reschedule":
            move(appointment, doctor.user, at(NEXT_DAY, "09:00"), now=now, reason="Again.")
        else:
            act(appointment, doctor.user, action, now=now, reason="Again.", excused=False)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW])
def test_final_statuses_refuse_the_patients_cancel_too(status, make, patient):
    appointment = make(status, "10:20")
    with unchanged(appointment), pytest.raises(InvalidTransition):
        act(appointment, patient, "cancel", now=at(DAY, "12:00"))


# === 2. Booking ===============================================================================


def test_slot_grid_is_the_documented_one(visit):
    starts = offered_starts(visit, DAY, DAY, now=booked_at())
    assert starts == [at(DAY, hhmm) for hhmm in GRID]


def test_booking_writes_the_appointment_and_its_first_transition(visit, patient):
    now = booked_at()
    appointment = book(visit, at(DAY, "09:40"), patient=patient, now=now, reason=" Cough ")
    row = fresh(appointment)
    assert (row.start, row.end) == (at(DAY, "09:40"), at(DAY, "10:10"))
    assert (row.blocked_start, row.blocked_end) == (at(DAY, "09:35"), at(DAY, "10:15"))
    assert (row.patient, row.doctor, row.reason) == (patient, visit.doctor, "Cough")
    assert (row.created_by, row.created_at, row.requested_at) == (patient, now, now)
    assert_moved(appointment, frm="", to=Status.REQUESTED, by=patient, when=now)


@pytest.mark.parametrize(
    ("label", "day", "hhmm", "now"),
    [
        ("off the grid", DAY, "09:10", (TODAY, "08:00")),
        ("outside the windows", DAY, "14:00", (TODAY, "08:00")),
        ("before the windows", DAY, "08:00", (TODAY, "08:00")),
        ("within the minimum notice", DAY, "09:00", (DAY, "08:00:01")),
        ("beyond the horizon", TODAY + timedelta(days=61), "09:00", (TODAY, "08:00")),
    ],
)
def test_booking_anything_but_an_offered_slot_is_refused_with_alternatives(
    visit, patient, label, day, hhmm, now
):
    now = at(*now)
    with nothing_written(), pytest.raises(SlotUnavailable) as refused:
        book(visit, at(day, hhmm), patient=patient, now=now)
    assert refused.value.code == "slot_unavailable"
    alternatives = refused.value.extra["alternatives"]
    assert 1 <= len(alternatives) <= 3, label
    offered = set(offered_starts(visit, TODAY, TODAY + timedelta(days=90), now=now))
    assert all(alt["start"] in offered for alt in alternatives), label
    assert all(alt["end"] - alt["start"] == timedelta(minutes=30) for alt in alternatives)


def test_alternatives_are_the_next_offered_slots_after_the_refused_time(visit, patient):
    with pytest.raises(SlotUnavailable) as refused:
        book(visit, at(DAY, "09:10"), patient=patient, now=booked_at())
    assert [a["start"] for a in refused.value.extra["alternatives"]] == [
        at(DAY, "09:40"),
        at(DAY, "10:20"),
        at(DAY, "11:00"),
    ]


def test_booking_limits_are_inclusive_at_notice_and_horizon(visit, patient, other_patient):
    # Exactly the minimum notice (60 minutes) before start...
    book(visit, at(DAY, "09:00"), patient=patient, now=at(DAY, "08:00"))
    # ...and exactly booking_horizon_days (60) after today are still offered.
    last_day = TODAY + timedelta(days=60)
    book(visit, at(last_day, "09:00"), patient=other_patient, now=booked_at())
    assert Appointment.objects.count() == 2


def test_booking_an_inactive_doctor_is_refused(visit, patient):
    visit.doctor.is_active = False
    visit.doctor.save()
    with nothing_written(), pytest.raises(SlotUnavailable):
        book(visit, at(DAY, "09:00"), patient=patient, now=booked_at())


def test_patient_must_have_a_verified_email_to_book(visit):
    unverified = make_user(Role.PATIENT, email_verified_at=None)
    with nothing_written(), pytest.raises(EmailNotVerified):
        book(visit, at(DAY, "09:00"), patient=unverified, now=booked_at())


def test_booking_is_requested_when_confirmation_is_required_by_default(visit, patient):
    appointment = book(visit, at(DAY, "09:00"), patient=patient, now=booked_at())
    assert appointment.status == Status.REQUESTED


def test_booking_is_confirmed_when_the_clinic_needs_no_confirmation(visit, patient):
    set_policies(confirmation_required=False)
    now = booked_at()
    appointment = book(visit, at(DAY, "09:00"), patient=patient, now=now)
    assert_moved(appointment, frm="", to=Status.CONFIRMED, by=patient, when=now)
    assert fresh(appointment).confirmed_at == now


@pytest.mark.parametrize(
    ("clinic", "doctor_override", "expected"),
    [
        (False, True, Status.REQUESTED),
        (True, False, Status.CONFIRMED),
        (True, None, Status.REQUESTED),
        (False, None, Status.CONFIRMED),
    ],
)
def test_doctors_confirmation_override_wins_over_the_clinic_policy(
    visit, patient, clinic, doctor_override, expected
):
    set_policies(confirmation_required=clinic)
    visit.doctor.confirmation_required = doctor_override
    visit.doctor.save()
    appointment = book(visit, at(DAY, "09:00"), patient=patient, now=booked_at())
    assert fresh(appointment).status == expected


@pytest.mark.parametrize("who", ["receptionist", "admin"])
def test_front_desk_books_on_behalf_confirmed(who, cast, visit, patient):
    actor, now = cast[who], booked_at()
    appointment = book(visit, at(DAY, "09:00"), patient=patient, actor=actor, now=now)
    row = fresh(appointment)
    assert (row.patient, row.created_by) == (patient, actor)
    assert_moved(appointment, frm="", to=Status.CONFIRMED, by=actor, when=now)


@pytest.mark.parametrize("who", ["doctor", "other_doctor", "editor"])
def test_doctors_and_editors_cannot_book(who, cast, visit, patient):
    with nothing_written(), pytest.raises(Forbidden):
        book(visit, at(DAY, "09:00"), patient=patient, actor=cast[who], now=booked_at())


def test_a_patient_cannot_book_for_another_patient(visit, patient, other_patient):
    with nothing_written(), pytest.raises(Forbidden):
        book(visit, at(DAY, "09:00"), patient=other_patient, actor=patient, now=booked_at())


def test_a_patient_cannot_overlap_themself_across_two_doctors(visit, patient, other_doctor):
    second_visit = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    book(visit, at(DAY, "09:40"), patient=patient, now=booked_at())
    with nothing_written(), pytest.raises(PatientOverlap):
        book(second_visit, at(DAY, "09:40"), patient=patient, now=booked_at())
    # Partial overlap is refused too; touching is fine.
    short = VisitTypeFactory(doctor=other_doctor, duration_minutes=15)  # 09:00, 09:25, 09:50 ...
    with nothing_written(), pytest.raises(PatientOverlap):
        book(short, at(DAY, "09:50"), patient=patient, now=booked_at())
    assert book(short, at(DAY, "09:25"), patient=patient, now=booked_at()).end == at(DAY, "09:40")


def test_the_front_desk_cannot_overlap_a_patient_either(visit, patient, other_doctor, receptionist):
    second_visit = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    book(visit, at(DAY, "09:40"), patient=patient, now=booked_at())
    with nothing_written(), pytest.raises(PatientOverlap):
        book(second_visit, at(DAY, "09:40"), patient=patient, actor=receptionist, now=booked_at())


def test_a_doctor_cannot_be_double_booked(visit, patient, other_patient, receptionist):
    book(visit, at(DAY, "09:40"), patient=patient, now=booked_at())
    with nothing_written(), pytest.raises(SlotUnavailable):
        book(visit, at(DAY, "09:40"), patient=other_patient, now=booked_at())
    with nothing_written(), pytest.raises(SlotUnavailable):
        book(visit, at(DAY, "09:40"), patient=other_patient, actor=receptionist, now=booked_at())


def test_a_doctor_cannot_be_booked_into_the_buffers_of_another_visit(visit, patient, other_patient):
    """09:40-10:10 blocks 09:35-10:15. A 15-minute visit at 10:15 does not overlap the visit
    itself, only its buffers (blocked 10:10-10:35), and is still refused."""
    short = VisitTypeFactory(doctor=visit.doctor, duration_minutes=15)
    book(visit, at(DAY, "09:40"), patient=patient, now=booked_at())
    offered = offered_starts(short, DAY, DAY, now=booked_at())
    assert at(DAY, "09:00") in offered
    assert not {at(DAY, hhmm) for hhmm in ("09:25", "09:50", "10:15")} & set(offered)
    for hhmm in ("09:25", "10:15"):
        with nothing_written(), pytest.raises(SlotUnavailable):
            book(short, at(DAY, hhmm), patient=other_patient, now=booked_at())
    assert book(short, at(DAY, "10:40"), patient=other_patient, now=booked_at())


def test_doctor_buffer_override_widens_the_blocked_range(patient, other_patient):
    _, visit = bookable_doctor(buffer_before_minutes=0, buffer_after_minutes=20)
    appointment = book(visit, at(DAY, "09:00"), patient=patient, now=booked_at())
    assert (appointment.blocked_start, appointment.blocked_end) == (
        at(DAY, "09:00"),
        at(DAY, "09:50"),
    )
    # step = 0 + 30 + 20: 09:00, 09:50, 10:40, ...
    assert offered_starts(visit, DAY, DAY, now=booked_at())[:2] == [
        at(DAY, "09:50"),
        at(DAY, "10:40"),
    ]


def test_cancelling_frees_the_slot_for_someone_else(visit, patient, other_patient):
    appointment = book(visit, at(DAY, "09:40"), patient=patient, now=booked_at())
    assert at(DAY, "09:40") not in offered_starts(visit, DAY, DAY, now=booked_at())
    act(appointment, patient, "cancel", now=at(TODAY, "09:00"))
    assert at(DAY, "09:40") in offered_starts(visit, DAY, DAY, now=at(TODAY, "09:00"))
    again = book(visit, at(DAY, "09:40"), patient=other_patient, now=at(TODAY, "09:05"))
    assert fresh(again).status == Status.REQUESTED


@pytest.mark.parametrize(
    ("now_hhmm", "start_hhmm"),
    [("09:10", "09:00"), ("08:30", "09:00")],  # already begun; within the notice
)
def test_walk_in_by_the_front_desk_bypasses_notice_is_confirmed_and_checks_in_at_once(
    visit, patient, receptionist, now_hhmm, start_hhmm
):
    now = at(DAY, now_hhmm)
    with pytest.raises(SlotUnavailable):  # without walk_in the notice applies to staff too
        book(visit, at(DAY, start_hhmm), patient=patient, actor=receptionist, now=now)
    appointment = book(
        visit, at(DAY, start_hhmm), patient=patient, actor=receptionist, now=now, walk_in=True
    )
    assert fresh(appointment).walk_in is True
    first = assert_moved(appointment, frm="", to=Status.CONFIRMED, by=receptionist, when=now)
    assert first.details.get("walk_in") is True
    assert first.details.get("notice_bypassed") is True
    act(appointment, receptionist, "check_in", now=now)
    assert fresh(appointment).status == Status.CHECKED_IN


def test_walk_in_is_for_today_only(visit, patient, receptionist):
    with nothing_written(), pytest.raises(SlotUnavailable):
        book(
            visit,
            at(NEXT_DAY, "09:00"),
            patient=patient,
            actor=receptionist,
            now=at(DAY, "09:10"),
            walk_in=True,
        )


def test_walk_in_cannot_take_a_slot_that_has_ended(visit, patient, receptionist):
    with nothing_written(), pytest.raises(SlotUnavailable):
        book(
            visit,
            at(DAY, "09:00"),
            patient=patient,
            actor=receptionist,
            now=at(DAY, "09:31"),
            walk_in=True,
        )


def test_a_patient_cannot_make_a_walk_in(visit, patient):
    with nothing_written(), pytest.raises(Forbidden):
        book(visit, at(DAY, "09:00"), patient=patient, now=at(DAY, "09:10"), walk_in=True)


def test_walk_in_still_respects_the_doctor_and_patient_overlap_rules(
    visit, patient, other_patient, receptionist, other_doctor
):
    now = at(DAY, "09:10")
    book(visit, at(DAY, "09:00"), patient=other_patient, now=booked_at())
    with nothing_written(), pytest.raises(SlotUnavailable):
        book(visit, at(DAY, "09:00"), patient=patient, actor=receptionist, now=now, walk_in=True)

    elsewhere = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    book(elsewhere, at(DAY, "09:40"), patient=patient, now=booked_at())
    with nothing_written(), pytest.raises(PatientOverlap):
        book(visit, at(DAY, "09:40"), patient=patient, actor=receptionist, now=now, walk_in=True)


# === 3. Holds =================================================================================


def hold(visit, start, patient, *, now, kind=HoldKind.PAYMENT) -> Appointment:
    return services.hold_create(
        patient=patient, visit_type=visit, start=start, kind=kind, actor=patient, now=now
    )


def test_a_hold_expires_after_the_policy_minutes(visit, patient):
    now = booked_at()
    payment = hold(visit, at(DAY, "09:40"), patient, now=now)
    offer = hold(visit, at(DAY, "11:00"), patient, now=now, kind=HoldKind.WAITLIST_OFFER)
    assert payment.status == Status.HELD
    assert payment.hold_expires_at == now + timedelta(minutes=15)
    assert offer.hold_expires_at == now + timedelta(minutes=30)


def test_a_live_hold_blocks_the_slot_for_everyone_else(visit, patient, other_patient, receptionist):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    now = booked_at() + timedelta(minutes=14, seconds=59)
    assert at(DAY, "09:40") not in offered_starts(visit, DAY, DAY, now=now)
    with unchanged(held), nothing_written(), pytest.raises(SlotUnavailable):
        book(visit, at(DAY, "09:40"), patient=other_patient, now=now)
    with unchanged(held), nothing_written(), pytest.raises(SlotUnavailable):
        book(visit, at(DAY, "09:40"), patient=other_patient, actor=receptionist, now=now)


def test_the_held_patient_books_the_held_slot_and_the_hold_becomes_the_appointment(visit, patient):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at(), kind=HoldKind.WAITLIST_OFFER)
    now = booked_at() + timedelta(minutes=10)
    appointment = book(visit, at(DAY, "09:40"), patient=patient, now=now)
    assert appointment.pk == held.pk
    assert Appointment.objects.count() == 1
    row = fresh(appointment)
    assert (row.hold_kind, row.hold_expires_at) == ("", None)
    assert_moved(appointment, frm=Status.HELD, to=Status.REQUESTED, by=patient, when=now)


def test_booking_a_slot_held_for_payment_again_does_not_skip_the_payment(visit, patient):
    """A payment hold becomes an appointment only when paid: asking for the same slot again
    gives back the same hold, still held and still to be paid."""
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    with unchanged(held):
        again = book(
            visit, at(DAY, "09:40"), patient=patient, now=booked_at() + timedelta(minutes=5)
        )
    assert again.pk == held.pk
    row = fresh(held)
    assert (row.status, row.hold_kind, row.payment_status) == ("HELD", "payment", "pending")
    assert Appointment.objects.count() == 1


def test_own_live_hold_does_not_let_its_patient_overlap_the_doctor_elsewhere(visit, patient):
    """A hold blocks its doctor's time like an appointment; only booking *that* slot converts
    it. A 15-minute visit at 10:15 overlaps the held 09:40 visit's buffers (09:35-10:15)."""
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    short = VisitTypeFactory(doctor=visit.doctor, duration_minutes=15)
    with unchanged(held), nothing_written(), pytest.raises(SlotUnavailable):
        book(short, at(DAY, "10:15"), patient=patient, now=booked_at() + timedelta(minutes=1))


def test_an_expired_hold_blocks_nothing_and_the_booking_releases_it(visit, patient, other_patient):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    now = booked_at() + timedelta(minutes=15)  # expires_at ≤ now: expired
    assert at(DAY, "09:40") in offered_starts(visit, DAY, DAY, now=now)
    appointment = book(visit, at(DAY, "09:40"), patient=other_patient, now=now)
    assert appointment.pk != held.pk
    assert fresh(appointment).status == Status.REQUESTED
    assert_moved(
        held, frm=Status.HELD, to=Status.RELEASED, by=None, when=now, reason="The hold expired."
    )


def test_an_expired_hold_does_not_make_its_patient_busy(visit, patient, other_doctor):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    elsewhere = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    now = booked_at() + timedelta(minutes=16)
    appointment = book(elsewhere, at(DAY, "09:40"), patient=patient, now=now)
    assert fresh(appointment).status == Status.REQUESTED
    assert fresh(held).status == Status.RELEASED


def test_a_live_hold_makes_its_patient_busy_with_other_doctors(visit, patient, other_doctor):
    hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    elsewhere = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    with nothing_written(), pytest.raises(PatientOverlap):
        book(elsewhere, at(DAY, "09:40"), patient=patient, now=booked_at() + timedelta(minutes=1))


def test_a_live_hold_blocks_rescheduling_onto_it(visit, make, other_patient, receptionist):
    appointment = make(Status.CONFIRMED, "10:20")
    hold(visit, at(DAY, "11:40"), other_patient, now=at(TODAY, "12:00"))
    with unchanged(appointment), pytest.raises(SlotUnavailable):
        move(appointment, receptionist, at(DAY, "11:40"), now=at(TODAY, "12:05"), reason="Desk.")


def test_an_expired_hold_does_not_block_rescheduling_onto_it(
    visit, make, other_patient, receptionist
):
    """The slot is offered again once the hold has expired, so rescheduling onto it must work
    without waiting for the periodic tidy-up (scheduling-rules.md, Holds)."""
    appointment = make(Status.CONFIRMED, "10:20")
    held = hold(visit, at(DAY, "11:40"), other_patient, now=at(TODAY, "12:00"))  # until 12:15
    now = at(TODAY, "12:15")
    assert at(DAY, "11:40") in offered_starts(visit, DAY, DAY, now=now)
    move(appointment, receptionist, at(DAY, "11:40"), now=now, reason="Desk.")
    assert fresh(appointment).start == at(DAY, "11:40")
    assert fresh(held).status == Status.RELEASED


def test_accepting_a_live_hold_makes_it_the_appointment(visit, patient):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at(), kind=HoldKind.WAITLIST_OFFER)
    now = booked_at() + timedelta(minutes=29)
    services.hold_accept(hold=held, actor=patient, now=now)
    assert_moved(held, frm=Status.HELD, to=Status.REQUESTED, by=patient, when=now)


def test_accepting_an_expired_hold_is_refused(visit, patient):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    with unchanged(held), pytest.raises(HoldExpired):
        services.hold_accept(hold=held, actor=patient, now=booked_at() + timedelta(minutes=15))


def test_another_patient_cannot_accept_a_hold(visit, patient, other_patient):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    with unchanged(held), pytest.raises(Forbidden):
        services.hold_accept(hold=held, actor=other_patient, now=booked_at())


def test_release_expired_holds_releases_only_the_expired_ones(visit, patient, other_patient):
    now = booked_at()
    payment = hold(visit, at(DAY, "09:40"), patient, now=now)  # 15 minutes
    offer = hold(visit, at(DAY, "11:00"), other_patient, now=now, kind=HoldKind.WAITLIST_OFFER)
    later = now + timedelta(minutes=20)
    assert services.holds_release_expired(now=later) == 1
    assert_moved(
        payment,
        frm=Status.HELD,
        to=Status.RELEASED,
        by=None,
        when=later,
        reason="The hold expired.",
    )
    assert fresh(offer).status == Status.HELD
    assert services.holds_release_expired(now=later) == 0  # idempotent
    assert services.holds_release_expired(now=now + timedelta(minutes=30)) == 1
    assert fresh(offer).status == Status.RELEASED


# === 4. Rescheduling ==========================================================================


def test_reschedule_to_another_offered_slot_stores_the_history_row(make, receptionist):
    appointment = make(Status.CONFIRMED, "10:20")
    now = at(TODAY, "12:00")
    move(appointment, receptionist, at(DAY, "11:00"), now=now, reason=" Patient asked. ")
    row = fresh(appointment)
    assert (row.start, row.end, row.status) == (
        at(DAY, "11:00"),
        at(DAY, "11:30"),
        Status.CONFIRMED,
    )
    assert (row.blocked_start, row.blocked_end) == (at(DAY, "10:55"), at(DAY, "11:35"))
    history = list(
        row.reschedules.values_list("old_start", "new_start", "changed_by", "reason", "changed_at")
    )
    assert history == [(at(DAY, "10:20"), at(DAY, "11:00"), receptionist.pk, "Patient asked.", now)]


def test_reschedule_by_one_slot_is_not_blocked_by_the_appointments_own_range(make, receptionist):
    appointment = make(Status.CONFIRMED, "10:20")
    move(appointment, receptionist, at(DAY, "11:00"), now=at(TODAY, "12:00"))
    move(appointment, receptionist, at(DAY, "10:20"), now=at(TODAY, "12:05"))
    assert fresh(appointment).start == at(DAY, "10:20")


def test_reschedule_into_its_own_blocked_range_with_another_visit_type(make, receptionist, visit):
    """10:20-10:50 blocks 10:15-10:55; a 15-minute visit at 10:15 (grid 09:00 + 3·25) overlaps
    it and is only possible because the appointment's own range does not count."""
    appointment = make(Status.CONFIRMED, "10:20")
    short = VisitTypeFactory(doctor=visit.doctor, duration_minutes=15)
    move(appointment, receptionist, at(DAY, "10:15"), now=at(TODAY, "12:00"), visit_type=short)
    row = fresh(appointment)
    assert (row.start, row.end, row.visit_type) == (at(DAY, "10:15"), at(DAY, "10:30"), short)
    assert row.reschedules.get().new_visit_type == short


def test_reschedule_to_another_doctors_visit_type_is_refused(make, receptionist, other_doctor):
    appointment = make(Status.CONFIRMED, "10:20")
    elsewhere = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    with unchanged(appointment), pytest.raises(ValidationError):
        move(
            appointment,
            receptionist,
            at(DAY, "11:00"),
            now=at(TODAY, "12:00"),
            visit_type=elsewhere,
        )


def test_reschedule_keeps_the_full_history(make, patient, receptionist, doctor):
    appointment = make(Status.REQUESTED, "09:00")
    steps = [
        (patient, "09:40", at(TODAY, "09:00"), "Bus times."),
        (receptionist, "10:20", at(TODAY, "10:00"), "Desk moved it."),
        (doctor.user, "11:00", at(TODAY, "11:00"), "Doctor late."),
    ]
    for actor, hhmm, now, reason in steps:
        move(appointment, actor, at(DAY, hhmm), now=now, reason=reason)
    history = list(
        Reschedule.objects.filter(appointment=appointment).values_list(
            "old_start", "new_start", "changed_by", "reason", "changed_at"
        )
    )
    assert history == [
        (at(DAY, "09:00"), at(DAY, "09:40"), patient.pk, "Bus times.", at(TODAY, "09:00")),
        (at(DAY, "09:40"), at(DAY, "10:20"), receptionist.pk, "Desk moved it.", at(TODAY, "10:00")),
        (at(DAY, "10:20"), at(DAY, "11:00"), doctor.user.pk, "Doctor late.", at(TODAY, "11:00")),
    ]
    # The patient and staff can read the history.
    for reader in (patient, receptionist, doctor.user):
        seen = appointments_visible_to(reader).get(pk=appointment.pk)
        assert seen.reschedules.count() == 3


def test_patient_reschedule_cutoff_is_inclusive_and_staff_are_not_bound(
    make, patient, receptionist
):
    at_cutoff = make(Status.CONFIRMED, "11:00")
    move(at_cutoff, patient, at(NEXT_DAY, "09:00"), now=at(DAY, "09:00"))  # start - 2 h exactly
    assert fresh(at_cutoff).start == at(NEXT_DAY, "09:00")

    past_cutoff = make(Status.CONFIRMED, "11:40")
    late = at(DAY, "09:40") + timedelta(seconds=1)
    with unchanged(past_cutoff), pytest.raises(RescheduleCutoff):
        move(past_cutoff, patient, at(NEXT_DAY, "10:20"), now=late)
    move(past_cutoff, receptionist, at(NEXT_DAY, "10:20"), now=at(DAY, "11:30"), reason="Desk.")
    assert fresh(past_cutoff).start == at(NEXT_DAY, "10:20")


def test_reschedule_cutoff_is_separate_from_the_cancellation_cutoff(make, patient):
    set_policies(reschedule_cutoff_minutes=24 * 60)
    appointment = make(Status.CONFIRMED, "11:00")
    now = at(DAY, "08:00")  # inside 24 h, outside the 2-hour cancellation cut-off
    with unchanged(appointment), pytest.raises(RescheduleCutoff):
        move(appointment, patient, at(NEXT_DAY, "09:00"), now=now)
    act(appointment, patient, "cancel", now=now)
    assert fresh(appointment).status == Status.CANCELLED


def test_patient_may_reschedule_three_times_then_reschedule_limit_but_staff_have_no_cap(
    make, patient, receptionist
):
    appointment = make(Status.REQUESTED, "09:00")
    for n, hhmm in enumerate(("09:40", "10:20", "11:00"), start=1):
        move(appointment, patient, at(DAY, hhmm), now=at(TODAY, "09:00"))
        assert fresh(appointment).reschedule_count == n
    with unchanged(appointment), pytest.raises(RescheduleLimit):
        move(appointment, patient, at(DAY, "11:40"), now=at(TODAY, "09:00"))
    for hhmm in ("11:40", "12:20", "09:00", "09:40"):
        move(appointment, receptionist, at(DAY, hhmm), now=at(TODAY, "09:00"), reason="Desk.")
    row = fresh(appointment)
    assert (row.start, row.reschedule_count, row.reschedules.count()) == (at(DAY, "09:40"), 3, 7)


def test_max_reschedules_follows_the_clinic_policy(make, patient):
    set_policies(max_reschedules=1)
    appointment = make(Status.REQUESTED, "09:00")
    move(appointment, patient, at(DAY, "09:40"), now=at(TODAY, "09:00"))
    with unchanged(appointment), pytest.raises(RescheduleLimit):
        move(appointment, patient, at(DAY, "10:20"), now=at(TODAY, "09:00"))


def test_patient_reschedule_of_a_confirmed_appointment_needs_confirmation_again(make, patient):
    appointment = make(Status.CONFIRMED, "10:20")
    now = at(TODAY, "12:00")
    move(appointment, patient, at(DAY, "11:40"), now=now)
    transition = assert_moved(
        appointment, frm=Status.CONFIRMED, to=Status.REQUESTED, by=patient, when=now
    )
    assert transition.details.get("rescheduled") is True
    assert fresh(appointment).requested_at == now


def test_patient_reschedule_stays_confirmed_when_no_confirmation_is_required(make, patient):
    appointment = make(Status.CONFIRMED, "10:20")
    set_policies(confirmation_required=False)
    move(appointment, patient, at(DAY, "11:40"), now=at(TODAY, "12:00"))
    assert fresh(appointment).status == Status.CONFIRMED


@pytest.mark.parametrize("who", ["doctor", "receptionist", "admin"])
def test_staff_reschedule_makes_the_appointment_confirmed(who, cast, make):
    appointment = make(Status.REQUESTED, "10:20")
    actor, now = cast[who], at(TODAY, "12:00")
    move(appointment, actor, at(DAY, "11:40"), now=now, reason="Moved by the clinic.")
    assert_moved(
        appointment,
        frm=Status.REQUESTED,
        to=Status.CONFIRMED,
        by=actor,
        when=now,
        reason="Moved by the clinic.",
    )
    assert fresh(appointment).reschedule_count == 0


@pytest.mark.parametrize("who", ["other_doctor", "editor"])
def test_reschedule_by_an_outsider_is_forbidden(who, cast, make, other_patient):
    appointment = make(Status.CONFIRMED, "10:20")
    for actor in (cast[who], other_patient):
        with unchanged(appointment), pytest.raises(Forbidden):
            move(appointment, actor, at(DAY, "11:40"), now=at(TODAY, "12:00"))


@pytest.mark.parametrize("who", ["patient", "doctor", "receptionist"])
def test_reschedule_is_refused_after_check_in(who, cast, make):
    appointment = make(Status.CHECKED_IN, "10:20")
    with unchanged(appointment), pytest.raises(InvalidTransition):
        move(appointment, cast[who], at(NEXT_DAY, "09:00"), now=at(DAY, "10:15"))


def test_reschedule_to_a_taken_slot_is_refused_and_changes_nothing(
    make, other_patient, patient, receptionist
):
    appointment = make(Status.CONFIRMED, "10:20")
    make(Status.REQUESTED, "11:40", who=other_patient)
    with unchanged(appointment), pytest.raises(SlotUnavailable) as refused:
        move(appointment, patient, at(DAY, "11:40"), now=at(TODAY, "12:00"))
    assert len(refused.value.extra["alternatives"]) <= 3
    # Off the grid; within the notice (staff, who are past no cut-off): the same answer.
    with unchanged(appointment), pytest.raises(SlotUnavailable):
        move(appointment, patient, at(DAY, "11:45"), now=at(TODAY, "12:00"))
    with unchanged(appointment), pytest.raises(SlotUnavailable):
        move(appointment, receptionist, at(DAY, "09:00"), now=at(DAY, "08:30"), reason="Desk.")


def test_reschedule_into_the_patients_own_other_appointment_is_patient_overlap(
    make, patient, other_doctor
):
    appointment = make(Status.CONFIRMED, "10:20")
    elsewhere = VisitTypeFactory(doctor=other_doctor, duration_minutes=30)
    book(elsewhere, at(DAY, "11:40"), patient=patient, now=booked_at())
    with unchanged(appointment), pytest.raises(PatientOverlap):
        move(appointment, patient, at(DAY, "11:40"), now=at(TODAY, "12:00"))


def test_reschedule_frees_the_old_time_for_someone_else(make, patient, other_patient, visit):
    appointment = make(Status.CONFIRMED, "10:20")
    move(appointment, patient, at(DAY, "11:40"), now=at(TODAY, "12:00"))
    assert at(DAY, "10:20") in offered_starts(visit, DAY, DAY, now=at(TODAY, "12:01"))
    assert at(DAY, "11:40") not in offered_starts(visit, DAY, DAY, now=at(TODAY, "12:01"))
    taken = book(visit, at(DAY, "10:20"), patient=other_patient, now=at(TODAY, "12:01"))
    assert fresh(taken).start == at(DAY, "10:20")


# === 5. Queue =================================================================================


@pytest.fixture
def queue(make, receptionist, other_patient):
    """Three checked-in appointments of DAY, checked in as: 11:40, 09:00, 10:20."""
    early = make(Status.CONFIRMED, "09:00")
    middle = make(Status.CONFIRMED, "10:20", who=other_patient)
    late = make(Status.CONFIRMED, "11:40", who=make_user(Role.PATIENT))
    for appointment, hhmm in ((late, "08:40"), (early, "08:50"), (middle, "08:55")):
        act(appointment, receptionist, "check_in", now=at(DAY, hhmm))
    return early, middle, late


def test_queue_is_the_days_checked_in_appointments_in_check_in_order(queue, doctor, make):
    early, middle, late = queue
    make(Status.CONFIRMED, "12:20", who=make_user(Role.PATIENT))  # not checked in: not queued
    assert list(queue_for(doctor, DAY)) == [late, early, middle]
    assert list(queue_for(doctor, NEXT_DAY)) == []


@pytest.mark.parametrize("who", ["receptionist", "admin"])
def test_front_desk_reorders_the_queue(who, cast, queue, doctor):
    early, middle, late = queue
    wanted = [middle, late, early]
    result = services.queue_reorder(
        doctor=doctor, day=DAY, order=[a.reference.lower() for a in wanted], actor=cast[who]
    )
    assert result == wanted
    assert list(queue_for(doctor, DAY)) == wanted
    assert [fresh(a).queue_position for a in wanted] == [1, 2, 3]


def test_a_new_check_in_joins_the_end_of_a_reordered_queue(queue, doctor, receptionist, make):
    early, middle, late = queue
    services.queue_reorder(
        doctor=doctor,
        day=DAY,
        order=[middle.reference, late.reference, early.reference],
        actor=receptionist,
    )
    newcomer = make(Status.CONFIRMED, "12:20", who=make_user(Role.PATIENT))
    act(newcomer, receptionist, "check_in", now=at(DAY, "09:05"))
    assert list(queue_for(doctor, DAY)) == [middle, late, early, newcomer]


@pytest.mark.parametrize("who", ["patient", "doctor", "other_doctor", "editor"])
def test_only_the_front_desk_may_reorder_the_queue(who, cast, queue, doctor):
    early, middle, late = queue
    before = list(queue_for(doctor, DAY))
    with pytest.raises(Forbidden):
        services.queue_reorder(
            doctor=doctor,
            day=DAY,
            order=[middle.reference, late.reference, early.reference],
            actor=cast[who],
        )
    assert list(queue_for(doctor, DAY)) == before
    assert [fresh(a).queue_position for a in before] == [1, 2, 3]


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(lambda e, m, la: [m, la], id="omits-one"),
        pytest.param(lambda e, m, la: [m, m, la], id="duplicates-one-omits-one"),
        pytest.param(lambda e, m, la: [m, la, e, e], id="duplicates-one"),
        pytest.param(lambda e, m, la: [m, la, e, "ZZZZZZZZ"], id="unknown-reference"),
    ],
)
def test_reorder_must_list_every_queued_appointment_exactly_once(
    order, queue, doctor, receptionist
):
    early, middle, late = queue
    refs = [a if isinstance(a, str) else a.reference for a in order(early, middle, late)]
    before = list(queue_for(doctor, DAY))
    with pytest.raises(ValidationError) as refused:
        services.queue_reorder(doctor=doctor, day=DAY, order=refs, actor=receptionist)
    assert "order" in refused.value.message_dict
    assert list(queue_for(doctor, DAY)) == before
    assert [fresh(a).queue_position for a in before] == [1, 2, 3]


# === 6. allowed_actions agrees with the services ==============================================


class _Undo(Exception):
    """Raised inside a savepoint to roll back a successful trial."""


def service_allows(action, appointment, actor, *, now, new_start) -> bool:
    """Try `action` for real inside a savepoint that is always rolled back."""
    try:
        with transaction.atomic():
            if action == "reschedule":
                move(appointment, actor, new_start, now=now, reason="Trial.")
            else:
                act(appointment, actor, action, now=now, reason="Trial.", excused=False)
            raise _Undo
    except _Undo:
        return True
    except DOMAIN_REFUSALS:
        return False


SITUATIONS = {
    # name: (status, start, now, new_start for a reschedule trial, extra set-up)
    "requested-tomorrow": (Status.REQUESTED, "10:20", (TODAY, "08:00"), (DAY, "12:20"), None),
    "confirmed-at-start": (Status.CONFIRMED, "10:20", (DAY, "10:20"), (DAY, "12:20"), None),
    "confirmed-past-patient-cutoff": (
        Status.CONFIRMED,
        "11:40",
        (DAY, "10:00"),
        (NEXT_DAY, "09:00"),
        None,
    ),
    "checked-in-with-final-record": (
        Status.CHECKED_IN,
        "10:20",
        (DAY, "10:50"),
        (DAY, "12:20"),
        "record",
    ),
    "requested-at-reschedule-limit": (
        Status.REQUESTED,
        "10:20",
        (TODAY, "08:00"),
        (DAY, "12:20"),
        "limit",
    ),
}

EXPECTED = {
    ("requested-tomorrow", "patient"): {"cancel", "reschedule"},
    ("requested-tomorrow", "doctor"): {"confirm", "decline", "cancel", "reschedule"},
    ("requested-tomorrow", "receptionist"): {"confirm", "decline", "cancel", "reschedule"},
    ("confirmed-at-start", "patient"): set(),
    ("confirmed-at-start", "receptionist"): {"cancel", "reschedule", "check_in", "no_show"},
    ("confirmed-past-patient-cutoff", "patient"): set(),
    ("confirmed-past-patient-cutoff", "doctor"): {"cancel", "reschedule", "check_in"},
    ("checked-in-with-final-record", "doctor"): {"complete"},
    ("checked-in-with-final-record", "receptionist"): set(),
    ("requested-at-reschedule-limit", "patient"): {"cancel"},
}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_allowed_actions_agree_with_what_the_services_allow(situation, who, cast, make, doctor):
    status, hhmm, now, new_start, extra = SITUATIONS[situation]
    appointment = make(status, hhmm)
    if extra == "record":
        finalise_record(appointment, doctor.user, when=at(DAY, "10:45"))
    if extra == "limit":
        Appointment.objects.filter(pk=appointment.pk).update(reschedule_count=3)
    appointment, now, new_start = fresh(appointment), at(*now), at(*new_start)
    actor = cast[who]

    listed = set(allowed_actions(actor, appointment, now=now, policies=get_policies()))
    actions = ("confirm", "decline", "cancel", "reschedule", "check_in", "no_show", "complete")
    done = {
        action
        for action in actions
        if service_allows(action, appointment, actor, now=now, new_start=new_start)
    }
    assert listed == done
    if (situation, who) in EXPECTED:
        assert listed == EXPECTED[(situation, who)]
    if who in ("other_doctor", "editor"):
        assert listed == set()


# === 7. Who sees what =========================================================================


def test_appointments_visible_to_each_role(make, cast, other_patient):
    mine = make(Status.REQUESTED, "09:00")
    theirs = make(Status.REQUESTED, "09:40", who=other_patient)
    visible = {who: set(appointments_visible_to(user)) for who, user in cast.items()}
    assert visible["patient"] == {mine}
    assert visible["doctor"] == {mine, theirs}
    assert visible["receptionist"] == visible["admin"] == {mine, theirs}
    assert visible["other_doctor"] == visible["editor"] == set()


def test_released_holds_are_not_listed(visit, patient, receptionist):
    held = hold(visit, at(DAY, "09:40"), patient, now=booked_at())
    services.holds_release_expired(now=booked_at() + timedelta(minutes=15))
    assert held not in set(appointments_visible_to(receptionist))


# === 8. The clinic's zone decides local dates (Europe/London, summer time) ====================


LONDON_DAY = date(2027, 7, 6)  # BST, UTC+1


@pytest.fixture
def london(settings):
    """The clinic in Europe/London with a doctor working 00:20-02:00 local time, so the first
    slot (00:20 BST) falls on the previous UTC date and the second (01:00 BST) on the same."""
    settings.TIME_ZONE = "Europe/London"
    doctor = DoctorFactory()
    give_week(doctor, windows=(("00:20", "02:00"),))
    visit = VisitTypeFactory(doctor=doctor, duration_minutes=30)
    return doctor, visit


def utc(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=UTC)


def test_london_grid_is_laid_out_in_local_time(london):
    _, visit = london
    starts = offered_starts(visit, LONDON_DAY, LONDON_DAY, now=utc(date(2027, 7, 1), "08:00"))
    assert starts == [utc(date(2027, 7, 5), "23:20"), utc(LONDON_DAY, "00:00")]


def test_london_check_in_uses_the_clinics_local_date(london, receptionist):
    doctor, visit = london
    booked = utc(date(2027, 7, 1), "08:00")
    first = book(visit, at(LONDON_DAY, "00:20"), actor=receptionist, now=booked)  # 23:20 UTC 5th
    second = book(visit, at(LONDON_DAY, "01:00"), actor=receptionist, now=booked)  # 00:00 UTC 6th
    assert first.start == utc(date(2027, 7, 5), "23:20")

    # 22:30 UTC on the 5th is 23:30 on the 5th in London: the UTC dates match, the local do not.
    with unchanged(first), pytest.raises(InvalidTransition):
        act(first, receptionist, "check_in", now=utc(date(2027, 7, 5), "22:30"))

    # 23:30 UTC on the 5th is 00:30 on the 6th in London: the local dates match, UTC's do not.
    now = utc(date(2027, 7, 5), "23:30")
    act(second, receptionist, "check_in", now=now)
    act(first, receptionist, "check_in", now=now + timedelta(minutes=1))
    assert [fresh(a).queue_position for a in (second, first)] == [1, 2]

    # Both are in the queue of the local date, none in the previous one.
    assert list(queue_for(doctor, LONDON_DAY)) == [fresh(second), fresh(first)]
    assert list(queue_for(doctor, date(2027, 7, 5))) == []


def test_london_walk_in_today_means_the_clinics_today(london, patient, receptionist):
    _, visit = london
    now = utc(date(2027, 7, 5), "23:30")  # 00:30 BST on the 6th
    appointment = book(
        visit, at(LONDON_DAY, "01:00"), patient=patient, actor=receptionist, now=now, walk_in=True
    )
    assert appointment.transitions.get().details.get("notice_bypassed") is True
    act(appointment, receptionist, "check_in", now=now)
    assert fresh(appointment).status == Status.CHECKED_IN
