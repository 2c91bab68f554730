"""Consultation records (product.md §7, permissions.md): the services that write them, who may
read them, the access log, the selectors the dashboard uses, and booking's rule that COMPLETED
needs a finalised record.

The clock is frozen at 06:00 on Monday `TODAY`; the visit being documented is at 09:00 that day
(the doctor works 09:00-13:00, 30-minute visits). Earlier visits are played through with their
own times.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from booking import services as booking_services
from booking.exceptions import InvalidTransition, RecordNotFinalised
from booking.models import Appointment, Status, Transition
from clinic_site.accounts.roles import Role
from clinic_site.exceptions import Forbidden
from records import rules, selectors, services
from records.exceptions import RecordFinalised, RecordNotOpen
from records.models import (
    Addendum,
    ConsultationRecord,
    Medicine,
    PrescriptionItem,
    RecordAccess,
    RequestedTest,
)
from records.permissions import can_read_record, can_write_record, record_get_for_user
from tests.factories import (
    at,
    book,
    bookable_doctor,
    completed_visit,
    make_user,
    visit_in_progress,
    write_record,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
PAST = TODAY - dt.timedelta(days=14)
NOW = at(TODAY, "09:20")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


@pytest.fixture
def clinic():
    return bookable_doctor(name="Dr Ada Hart")


@pytest.fixture
def other_clinic():
    return bookable_doctor(name="Dr Ben Other")


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Quinn")


@pytest.fixture
def visit(visit_type, patient):
    """Nora, checked in for 09:00 today with Dr Hart."""
    return visit_in_progress(visit_type, at(TODAY, "09:00"), patient=patient)


def fresh(appointment) -> Appointment:
    return Appointment.objects.get(pk=appointment.pk)


def record_of(appointment) -> ConsultationRecord:
    return ConsultationRecord.objects.get(appointment=appointment)


def save(appointment, actor=None, **fields):
    body = {"diagnosis": "", "notes": "", "prescriptions": [], "tests": [], **fields}
    return services.record_save(
        appointment=appointment, actor=actor or appointment.doctor.user, now=NOW, **body
    )


def finalise(appointment, actor=None, **kwargs):
    return services.record_finalise(
        appointment=appointment, actor=actor or appointment.doctor.user, now=NOW, **kwargs
    )


def snapshot(appointment) -> tuple:
    record = ConsultationRecord.objects.filter(appointment=appointment).first()
    return (
        fresh(appointment).status,
        Transition.objects.filter(appointment=appointment).count(),
        None if record is None else (record.diagnosis, record.notes, record.finalised_at),
        list(PrescriptionItem.objects.filter(record__appointment=appointment).values_list("drug")),
        list(RequestedTest.objects.filter(record__appointment=appointment).values_list("name")),
        Addendum.objects.filter(record__appointment=appointment).count(),
    )


# --- writing the draft ------------------------------------------------------------------------


def test_the_treating_doctor_saves_a_draft_with_items_in_order(visit):
    record = save(
        visit,
        diagnosis="  Acute bronchitis ",
        notes="Cough for ten days.",
        prescriptions=[
            {"drug": "Amoxicillin", "dose": "500 mg", "frequency": "tds", "duration": "7 days"},
            {"drug": "Paracetamol", "instructions": "When needed"},
        ],
        tests=[{"name": "Chest X-ray"}, {"name": "Full blood count", "notes": "Routine"}],
    )
    assert (record.diagnosis, record.notes, record.finalised_at) == (
        "Acute bronchitis",
        "Cough for ten days.",
        None,
    )
    assert record.author == visit.doctor.user
    items = list(record.prescriptions.values_list("position", "drug", "dose", "instructions"))
    assert items == [(0, "Amoxicillin", "500 mg", ""), (1, "Paracetamol", "", "When needed")]
    assert list(record.tests.values_list("name", "notes")) == [
        ("Chest X-ray", ""),
        ("Full blood count", "Routine"),
    ]


def test_saving_again_replaces_the_items(visit):
    save(visit, prescriptions=[{"drug": "A"}, {"drug": "B"}], tests=[{"name": "T"}])
    record = save(visit, diagnosis="Asthma", prescriptions=[{"drug": "Salbutamol"}], tests=[])
    assert ConsultationRecord.objects.count() == 1
    assert list(record.prescriptions.values_list("drug", flat=True)) == ["Salbutamol"]
    assert not record.tests.exists()
    assert record_of(visit).diagnosis == "Asthma"


def test_blank_item_rows_are_dropped_and_incomplete_ones_refused(visit):
    record = save(visit, prescriptions=[{"drug": "", "dose": ""}, {"drug": "Ibuprofen"}])
    assert list(record.prescriptions.values_list("drug", flat=True)) == ["Ibuprofen"]
    before = snapshot(visit)
    with pytest.raises(ValidationError) as caught:
        save(visit, prescriptions=[{"dose": "500 mg"}], tests=[{"notes": "x"}])
    assert "prescriptions" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        save(visit, tests=[{"notes": "fasting"}])
    assert caught.value.message_dict == {"tests": ["Item 1: the name is required."]}
    with pytest.raises(ValidationError):
        save(visit, diagnosis="x" * (rules.MAX_DIAGNOSIS + 1))
    assert snapshot(visit) == before


@pytest.mark.parametrize("who", ["other_doctor", "patient", "receptionist", "admin", "editor"])
def test_only_the_treating_doctor_writes(visit, other_clinic, who):
    actor = {
        "other_doctor": other_clinic[0].user,
        "patient": visit.patient,
        "receptionist": make_user(Role.RECEPTIONIST),
        "admin": make_user(Role.ADMIN),
        "editor": make_user(Role.EDITOR),
    }[who]
    before = snapshot(visit)
    with pytest.raises(Forbidden):
        save(visit, actor, diagnosis="Nope")
    write_record(visit)
    with pytest.raises(Forbidden):
        finalise(visit, actor)
    finalise(visit)
    with pytest.raises(Forbidden):
        services.addendum_add(appointment=visit, actor=actor, text="x", now=NOW)
    assert snapshot(visit)[5] == before[5] == 0


def test_a_record_is_open_from_the_day_of_a_confirmed_visit(visit_type, patient):
    tomorrow = book(visit_type, at(TODAY + dt.timedelta(days=1), "09:00"), patient=patient)
    booking_services.appointment_act(
        appointment=tomorrow, actor=visit_type.doctor.user, action="confirm"
    )
    with pytest.raises(RecordNotOpen):
        save(tomorrow, diagnosis="Too early")
    today = book(visit_type, at(TODAY, "10:20"), patient=patient)
    with pytest.raises(RecordNotOpen):  # still only requested
        save(today, diagnosis="Not accepted yet")
    booking_services.appointment_act(
        appointment=today, actor=visit_type.doctor.user, action="confirm"
    )
    assert save(today, diagnosis="Seen before check-in").diagnosis == "Seen before check-in"


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.NO_SHOW, Status.REQUESTED])
def test_no_record_for_cancelled_missed_or_requested_visits(visit, status):
    Appointment.objects.filter(pk=visit.pk).update(status=status)
    with pytest.raises(RecordNotOpen):
        save(visit, diagnosis="x")
    assert not ConsultationRecord.objects.exists()


def test_rules_record_open_table():
    day = TODAY
    assert rules.record_open(status="CONFIRMED", local_date=day, today=day)
    assert not rules.record_open(status="CONFIRMED", local_date=day, today=day + dt.timedelta(1))
    assert rules.record_open(status="CHECKED_IN", local_date=day, today=day + dt.timedelta(1))
    assert rules.record_open(status="COMPLETED", local_date=PAST, today=day)
    for status in ("HELD", "REQUESTED", "CANCELLED", "NO_SHOW", "RELEASED"):
        assert not rules.record_open(status=status, local_date=day, today=day)


# --- finalising, and completing -----------------------------------------------------------------


def test_booking_refuses_to_complete_without_a_finalised_record(visit):
    doctor_user = visit.doctor.user
    with pytest.raises(RecordNotFinalised):
        booking_services.appointment_act(
            appointment=visit, actor=doctor_user, action="complete", now=NOW
        )
    write_record(visit)
    with pytest.raises(RecordNotFinalised):
        booking_services.appointment_act(
            appointment=visit, actor=doctor_user, action="complete", now=NOW
        )
    assert fresh(visit).status == Status.CHECKED_IN
    finalise(visit)
    booking_services.appointment_act(
        appointment=visit, actor=doctor_user, action="complete", now=NOW
    )
    assert fresh(visit).status == Status.COMPLETED


def test_finalise_signs_the_record(visit):
    write_record(visit)
    record = finalise(visit)
    stored = record_of(visit)
    assert (stored.finalised_at, stored.finalised_by) == (NOW, visit.doctor.user)
    assert record.is_finalised
    assert fresh(visit).status == Status.CHECKED_IN  # completing is a separate step


def test_finalise_and_complete_in_one_step(visit):
    write_record(visit)
    finalise(visit, complete=True)
    row = fresh(visit)
    assert (row.status, row.completed_at) == (Status.COMPLETED, NOW)
    assert record_of(visit).finalised_at == NOW
    last = Transition.objects.filter(appointment=visit).last()
    assert (last.from_status, last.to_status, last.by) == (
        Status.CHECKED_IN,
        Status.COMPLETED,
        visit.doctor.user,
    )


def test_finalise_and_complete_is_all_or_nothing(visit_type, patient):
    # Confirmed and on the day, so the record may be written, but not checked in: completing
    # is refused, so the record must stay a draft.
    appointment = book(visit_type, at(TODAY, "09:00"), patient=patient)
    booking_services.appointment_act(
        appointment=appointment, actor=visit_type.doctor.user, action="confirm"
    )
    write_record(appointment, now=NOW)
    before = snapshot(appointment)
    with pytest.raises(InvalidTransition):
        finalise(appointment, complete=True)
    assert snapshot(appointment) == before
    assert record_of(appointment).finalised_by is None


def test_finalise_needs_a_diagnosis(visit):
    with pytest.raises(ValidationError) as caught:
        finalise(visit)  # no record at all
    assert list(caught.value.message_dict) == ["diagnosis"]
    save(visit, diagnosis="   ", notes="Only notes")
    with pytest.raises(ValidationError) as caught:
        finalise(visit, complete=True)
    assert list(caught.value.message_dict) == ["diagnosis"]
    assert record_of(visit).finalised_at is None
    assert fresh(visit).status == Status.CHECKED_IN


def test_a_finalised_record_refuses_edits_and_a_second_finalise(visit):
    write_record(visit)
    finalise(visit)
    before = snapshot(visit)
    with pytest.raises(RecordFinalised) as caught:
        save(visit, diagnosis="Changed my mind")
    assert (caught.value.code, caught.value.status) == ("record_finalised", 409)
    with pytest.raises(RecordFinalised):
        finalise(visit)
    assert snapshot(visit) == before


# --- addenda ----------------------------------------------------------------------------------


def test_addenda_are_appended_with_author_and_time(visit):
    write_record(visit)
    finalise(visit)
    doctor_user = visit.doctor.user
    first = services.addendum_add(
        appointment=visit, actor=doctor_user, text=" Dose corrected: 250 mg. ", now=NOW
    )
    later = NOW + dt.timedelta(hours=2)
    services.addendum_add(appointment=visit, actor=doctor_user, text="X-ray normal.", now=later)
    rows = list(record_of(visit).addenda.values_list("text", "author", "created_at"))
    assert rows == [
        ("Dose corrected: 250 mg.", doctor_user.pk, NOW),
        ("X-ray normal.", doctor_user.pk, later),
    ]
    assert first.author == doctor_user
    assert record_of(visit).diagnosis == "Acute bronchitis"  # the record itself is untouched


def test_addenda_only_for_finalised_records_and_need_text(visit):
    with pytest.raises(RecordNotFinalised):
        services.addendum_add(appointment=visit, actor=visit.doctor.user, text="x", now=NOW)
    write_record(visit)
    with pytest.raises(RecordNotFinalised):
        services.addendum_add(appointment=visit, actor=visit.doctor.user, text="x", now=NOW)
    finalise(visit)
    with pytest.raises(ValidationError) as caught:
        services.addendum_add(appointment=visit, actor=visit.doctor.user, text="  ", now=NOW)
    assert list(caught.value.message_dict) == ["text"]
    assert not Addendum.objects.exists()


# --- the database as the last line of defence -------------------------------------------------


def test_constraints_refuse_empty_items_and_duplicate_positions(visit):
    record = write_record(visit)
    with pytest.raises(IntegrityError), transaction.atomic():
        PrescriptionItem.objects.create(record=record, position=5, drug="")
    with pytest.raises(IntegrityError), transaction.atomic():
        PrescriptionItem.objects.create(record=record, position=0, drug="Duplicate")
    with pytest.raises(IntegrityError), transaction.atomic():
        Addendum.objects.create(record=record, text="", author=visit.doctor.user, created_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Medicine.objects.create(name="PARACETAMOL")


# --- who may read -------------------------------------------------------------------------------


@pytest.fixture
def cast(other_clinic, patient):
    return {
        "treating_doctor": None,  # filled per test from the appointment
        "other_doctor": other_clinic[0].user,
        "patient": patient,
        "other_patient": make_user(Role.PATIENT),
        "receptionist": make_user(Role.RECEPTIONIST),
        "admin": make_user(Role.ADMIN),
        "editor": make_user(Role.EDITOR),
    }


def read(user, appointment, how="dashboard"):
    return record_get_for_user(user, appointment, how=how)


def test_who_may_read_a_draft(visit, cast):
    write_record(visit)
    cast["treating_doctor"] = visit.doctor.user
    expected = {
        "treating_doctor": True,
        "other_doctor": False,
        "patient": False,  # not completed, not finalised
        "other_patient": False,
        "receptionist": Forbidden,
        "admin": True,
        "editor": False,
    }
    for who, outcome in expected.items():
        if outcome is Forbidden:
            with pytest.raises(Forbidden):
                read(cast[who], visit)
        elif outcome:
            assert read(cast[who], visit).diagnosis == "Acute bronchitis", who
        else:
            with pytest.raises(Http404):
                read(cast[who], visit)
    assert can_write_record(visit.doctor.user, visit)
    assert not can_write_record(cast["admin"], visit)


def test_the_patient_reads_only_after_completion(visit, cast, patient):
    write_record(visit)
    finalise(visit)  # finalised, not yet completed
    with pytest.raises(Http404):
        read(patient, visit, "page")
    assert not can_read_record(patient, fresh(visit), record_of(visit))
    booking_services.appointment_act(
        appointment=visit, actor=visit.doctor.user, action="complete", now=NOW
    )
    assert read(patient, fresh(visit), "page").diagnosis == "Acute bronchitis"
    with pytest.raises(Http404):
        read(cast["other_patient"], fresh(visit), "page")


def test_the_receptionist_is_refused_even_without_a_record(visit, cast):
    with pytest.raises(Forbidden) as caught:
        read(cast["receptionist"], visit)
    assert (caught.value.status, caught.value.code) == (403, "permission_denied")
    with pytest.raises(Http404):
        read(visit.doctor.user, visit)  # none yet


def test_another_doctor_reads_finalised_records_of_their_own_patients_only(
    visit_type, other_clinic, patient
):
    earlier = completed_visit(visit_type, at(PAST, "09:00"), patient=patient)
    other_doctor, other_visit_type = other_clinic
    with pytest.raises(Http404):  # not their patient
        read(other_doctor.user, earlier)
    visit_in_progress(other_visit_type, at(TODAY, "10:20"), patient=patient)
    assert read(other_doctor.user, earlier).diagnosis == "Acute bronchitis"
    draft = visit_in_progress(visit_type, at(TODAY, "09:00"), patient=patient)
    write_record(draft)
    with pytest.raises(Http404):  # a colleague's draft stays theirs
        read(other_doctor.user, draft)


# --- the access log -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["page", "api", "pdf", "export", "dashboard"])
def test_every_read_is_logged_with_who_when_and_how(visit, how):
    write_record(visit)
    admin = make_user(Role.ADMIN)
    read(admin, visit, how)
    read(visit.doctor.user, visit, how)
    rows = list(RecordAccess.objects.order_by("pk").values_list("record", "user", "how", "at"))
    record = record_of(visit)
    assert rows == [
        (record.pk, admin.pk, how, at(TODAY, "06:00")),
        (record.pk, visit.doctor.user.pk, how, at(TODAY, "06:00")),
    ]


def test_refused_or_missing_reads_are_not_logged_as_reads(visit, cast):
    with pytest.raises(Http404):
        read(visit.doctor.user, visit)
    write_record(visit)
    for who in ("receptionist", "editor", "other_doctor", "patient"):
        with pytest.raises((Http404, Forbidden)):
            read(cast[who], visit)
    assert not RecordAccess.objects.exists()


def test_an_unknown_channel_is_a_programming_error(visit):
    write_record(visit)
    with pytest.raises(ValueError):
        read(visit.doctor.user, visit, "email")


def test_bulk_logging_for_lists(visit_type, patient):
    visits = [
        completed_visit(visit_type, at(PAST + dt.timedelta(days=i), "09:00"), patient=patient)
        for i in range(3)
    ]
    records = [record_of(v) for v in visits]
    admin = make_user(Role.ADMIN)
    with CaptureQueriesContext(connection) as ctx:
        services.record_accesses_log(records=records, user=admin, how="export")
    assert len(ctx.captured_queries) <= 3  # one insert (plus a savepoint on some databases)
    assert RecordAccess.objects.filter(user=admin, how="export").count() == 3


# --- selectors ----------------------------------------------------------------------------------


def test_previous_visits_for_the_treating_doctor_in_fixed_queries(
    visit_type, other_clinic, patient
):
    other_doctor, other_visit_type = other_clinic
    visit = visit_in_progress(visit_type, at(TODAY, "09:00"), patient=patient)
    assert list(selectors.previous_visits(patient, doctor=visit.doctor, before=visit.start)) == []

    first = completed_visit(visit_type, at(PAST, "09:00"), patient=patient)
    second = completed_visit(
        other_visit_type, at(PAST + dt.timedelta(days=1), "09:00"), patient=patient
    )
    services.addendum_add(
        appointment=second, actor=other_doctor.user, text="Results normal.", now=NOW
    )
    missed = book(
        visit_type, at(PAST + dt.timedelta(days=2), "09:00"), patient=patient, now=at(PAST, "12:00")
    )
    Appointment.objects.filter(pk=missed.pk).update(status=Status.NO_SHOW)
    completed_visit(visit_type, at(PAST, "10:20"))  # somebody else

    with CaptureQueriesContext(connection) as ctx:
        found = list(selectors.previous_visits(patient, doctor=visit.doctor, before=visit.start))
        shown = [
            (
                a.reference,
                a.doctor.name,
                a.record.diagnosis,
                [p.drug for p in a.record.prescriptions.all()],
                [t.name for t in a.record.tests.all()],
                [(x.text, x.author.full_name) for x in a.record.addenda.all()],
            )
            for a in found
        ]
    assert [row[0] for row in shown] == [second.reference, first.reference]
    assert shown[0][1] == "Dr Ben Other"
    assert shown[0][5] == [("Results normal.", other_doctor.user.full_name)]
    assert shown[1][3:5] == (["Amoxicillin"], ["Full blood count"])
    assert len(ctx.captured_queries) == 4

    # Only for a doctor caring for the patient.
    stranger, _ = bookable_doctor(name="Dr Cy Stranger")
    assert list(selectors.previous_visits(patient, doctor=stranger, before=visit.start)) == []
    # Not the visit itself or later ones.
    assert list(selectors.previous_visits(patient, doctor=visit.doctor, before=first.start)) == []


def test_medicine_suggestions_start_with_what_was_typed():
    assert Medicine.objects.count() >= 30  # seeded by a data migration
    names = [m.name for m in selectors.medicine_suggestions("cillin")]
    assert names == ["Amoxicillin"]
    Medicine.objects.create(name="Paracetamol suppositories", form="other", is_active=False)
    Medicine.objects.create(name="Co-codamol", form="tablet", strength="8/500 mg")
    names = [m.name for m in selectors.medicine_suggestions("co")]
    assert names[:2] == ["Co-amoxiclav", "Co-codamol"]  # starting with it, first
    assert "Chloramphenicol" in names[2:]  # then containing it
    assert "Paracetamol suppositories" not in [
        m.name for m in selectors.medicine_suggestions("para", limit=50)
    ]
    assert len(selectors.medicine_suggestions("", limit=5)) == 5
    assert len(selectors.medicine_suggestions("a", limit=500)) <= 50


def test_unfinished_records_lists_missing_and_draft_records(visit_type, patient):
    doctor_user = visit_type.doctor.user
    done = completed_visit(visit_type, at(PAST, "09:00"), patient=patient)
    no_record = visit_in_progress(visit_type, at(TODAY, "09:00"), patient=patient)
    draft = visit_in_progress(visit_type, at(TODAY, "09:40"))
    write_record(draft)
    legacy = completed_visit(visit_type, at(PAST, "10:20"))
    ConsultationRecord.objects.filter(appointment=legacy).update(
        finalised_at=None, finalised_by=None
    )
    book(visit_type, at(TODAY, "11:00"))  # requested: not yet anything to write
    found = list(selectors.unfinished_records(doctor_user))
    assert [a.reference for a in found] == [
        legacy.reference,
        no_record.reference,
        draft.reference,
    ]
    assert done.reference not in [a.reference for a in found]
    assert list(selectors.unfinished_records(make_user(Role.DOCTOR))) == []
