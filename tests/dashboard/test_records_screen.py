"""The consultation record screen of the staff dashboard (product.md §7; permissions.md
"consultation record"; scheduling-rules.md "Lifecycle": COMPLETED needs a finalised record).

The treating doctor writes the draft (with "Save draft" and by autosave), finalises it and
completes the visit in one step, and signs addenda afterwards; the finalised record is never
edited again. Administrators read it, receptionists never reach it, and every read — the record
itself and each earlier visit shown beside it — leaves a `RecordAccess` row with how="dashboard".

The clock is frozen at 10:00 on Monday `TODAY` (clinic zone UTC). Dr Ada Hart's patient Nora
Patel has a 09:40 visit; she was checked in at 09:30.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from booking import services as booking_services
from booking.models import Status
from clinic_site.accounts.roles import Role
from records import services as record_services
from records.models import Addendum, ConsultationRecord, RecordAccess
from tests.factories import (
    at,
    book,
    completed_visit,
    make_user,
    visit_in_progress,
    write_record,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
NOW = dt.datetime(2031, 3, 3, 10, 0, tzinfo=dt.UTC)
FINALISED_MESSAGE = (
    "This consultation record is finalised and cannot be changed; add an addendum instead."
)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "10:00"), tick=False)
    return time_machine


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Patel")


@pytest.fixture
def visit(visit_type, patient):
    """Checked in at 09:30 for 09:40 today, no record yet."""
    return visit_in_progress(visit_type, at(TODAY, "09:40"), patient=patient)


@pytest.fixture
def treating(client, doctor):
    client.force_login(doctor.user)
    return client


def record_url(appointment) -> str:
    return reverse("dashboard:record", args=[appointment.reference])


def form_data(
    *, diagnosis="", notes="", rx=(), tests=(), action="save", blank_rows=1
) -> dict[str, str]:
    """What the record form posts: the text fields and both formsets (with blank rows)."""
    rx = list(rx) + [{}] * blank_rows
    tests = list(tests) + [{}] * blank_rows
    data = {
        "action": action,
        "diagnosis": diagnosis,
        "notes": notes,
        "rx-TOTAL_FORMS": str(len(rx)),
        "rx-INITIAL_FORMS": "0",
        "tests-TOTAL_FORMS": str(len(tests)),
        "tests-INITIAL_FORMS": "0",
    }
    for i, row in enumerate(rx):
        for name in ("drug", "dose", "frequency", "duration", "instructions"):
            data[f"rx-{i}-{name}"] = row.get(name, "")
    for i, row in enumerate(tests):
        for name in ("name", "notes"):
            data[f"tests-{i}-{name}"] = row.get(name, "")
    return data


AMOX = {
    "drug": "Amoxicillin",
    "dose": "500 mg",
    "frequency": "three times a day",
    "duration": "7 days",
    "instructions": "With food",
}
IBU = {"drug": "Ibuprofen", "dose": "400 mg"}
FBC = {"name": "Full blood count", "notes": "Fasting not needed"}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def accesses(**filters) -> list[tuple]:
    return list(
        RecordAccess.objects.filter(**filters)
        .order_by("pk")
        .values_list("record__appointment__reference", "user_id", "how")
    )


def snapshot(record) -> tuple:
    record = ConsultationRecord.objects.get(pk=record.pk)
    return (
        record.diagnosis,
        record.notes,
        record.finalised_at,
        list(record.prescriptions.values_list("drug", "dose")),
        list(record.tests.values_list("name", flat=True)),
        record.addenda.count(),
    )


def assert_refused(response):
    """Wagtail's admin answers PermissionDenied with a redirect home (or to sign in)."""
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] in ("/admin/", "/portal/") or response["Location"].startswith(
            "/accounts/login/"
        )


@pytest.fixture
def finalised(visit):
    """Nora's visit documented at 09:50, finalised and completed at 09:55."""
    write_record(visit, now=at(TODAY, "09:50"))
    record_services.record_finalise(
        appointment=visit, actor=visit.doctor.user, complete=True, now=at(TODAY, "09:55")
    )
    visit.refresh_from_db()
    return visit


# --- Writing the draft ------------------------------------------------------------------------


def test_record_url_is_under_the_appointment(visit):
    assert record_url(visit) == f"/admin/clinic/appointments/{visit.reference}/record/"


def test_treating_doctor_starts_with_an_empty_editable_form(treating, visit):
    response = treating.get(record_url(visit))
    assert response.status_code == 200
    assert response.context["record"] is None
    assert response.context["editable"] is True
    assert response.context["can_complete"] is True
    page = response.content.decode()
    assert "Not saved yet" in page
    for name in ('name="diagnosis"', 'name="rx-0-drug"', 'name="tests-0-name"'):
        assert name in page
    assert "Nora Patel" in page
    assert not RecordAccess.objects.exists()  # nothing to read yet


def test_save_draft_stores_the_record_by_its_doctor(treating, doctor, visit):
    response = treating.post(
        record_url(visit),
        form_data(diagnosis="Acute bronchitis", notes="Dry cough.", rx=[AMOX, IBU], tests=[FBC]),
        follow=True,
    )
    assert response.redirect_chain == [(record_url(visit), 302)]
    assert "Draft saved." in messages_of(response)
    record = ConsultationRecord.objects.get(appointment=visit)
    assert record.author == doctor.user
    assert (record.diagnosis, record.notes) == ("Acute bronchitis", "Dry cough.")
    assert list(record.prescriptions.values_list("drug", "dose", "instructions")) == [
        ("Amoxicillin", "500 mg", "With food"),
        ("Ibuprofen", "400 mg", ""),
    ]
    assert list(record.tests.values_list("name", "notes")) == [
        ("Full blood count", "Fasting not needed")
    ]
    assert record.finalised_at is None
    visit.refresh_from_db()
    assert visit.status == Status.CHECKED_IN
    # The form comes back filled in, with blank rows to add more.
    assert response.context["rx_formset"].initial[:2] == [
        {f: AMOX[f] for f in AMOX},
        {
            "drug": "Ibuprofen",
            "dose": "400 mg",
            "frequency": "",
            "duration": "",
            "instructions": "",
        },
    ]


def test_saving_again_replaces_the_items(treating, visit):
    treating.post(record_url(visit), form_data(diagnosis="A", rx=[AMOX, IBU], tests=[FBC]))
    treating.post(record_url(visit), form_data(diagnosis="B", rx=[IBU]))
    record = ConsultationRecord.objects.get(appointment=visit)
    assert record.diagnosis == "B"
    assert list(record.prescriptions.values_list("drug", flat=True)) == ["Ibuprofen"]
    assert not record.tests.exists()


def test_autosave_answers_json_and_stores_the_draft(treating, visit):
    response = treating.post(
        record_url(visit),
        form_data(diagnosis="Sinusitis", rx=[IBU]),
        headers={"x-requested-with": "fetch"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"saved": True, "saved_at": "10:00:00"}
    record = ConsultationRecord.objects.get(appointment=visit)
    assert record.diagnosis == "Sinusitis"
    assert record.finalised_at is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (form_data(diagnosis="x" * 1001), "diagnosis"),
        (form_data(diagnosis="Flu", rx=[{"dose": "500 mg"}]), "prescriptions"),
        (form_data(diagnosis="Flu", tests=[{"notes": "urgent"}]), "tests"),
        ({"diagnosis": "Flu", "action": "save"}, "rx_formset"),  # no management forms
    ],
    ids=["diagnosis-too-long", "drug-missing", "test-name-missing", "no-management-form"],
)
def test_invalid_autosave_is_a_400_json_error_and_keeps_the_last_draft(
    treating, visit, data, field
):
    treating.post(record_url(visit), form_data(diagnosis="Kept", rx=[AMOX]))
    response = treating.post(record_url(visit), data, headers={"x-requested-with": "fetch"})
    assert response.status_code == 400
    body = response.json()
    assert body["saved"] is False
    assert field in body["errors"]
    record = ConsultationRecord.objects.get(appointment=visit)
    assert record.diagnosis == "Kept"
    assert list(record.prescriptions.values_list("drug", flat=True)) == ["Amoxicillin"]


def test_invalid_save_is_shown_on_the_page_with_a_400(treating, visit):
    response = treating.post(record_url(visit), form_data(diagnosis="Flu", rx=[{"dose": "5 mg"}]))
    assert response.status_code == 400
    assert "Item 1: the drug is required." in response.content.decode()
    assert not ConsultationRecord.objects.exists()


def test_a_record_cannot_be_started_for_a_future_request(treating, visit_type, patient):
    request = book(visit_type, at(TODAY + dt.timedelta(days=2), "09:00"), patient=patient)
    response = treating.post(record_url(request), form_data(diagnosis="Early"), follow=True)
    assert response.redirect_chain[0][0] == record_url(request)
    assert any("can be written only" in m for m in messages_of(response))
    assert not ConsultationRecord.objects.exists()


# --- Finalising and completing ----------------------------------------------------------------


def test_finalise_and_complete_in_one_step(treating, doctor, visit):
    response = treating.post(
        record_url(visit), form_data(diagnosis="Acute bronchitis", rx=[AMOX], action="complete")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:appointment", args=[visit.reference])
    visit.refresh_from_db()
    assert visit.status == Status.COMPLETED
    assert visit.completed_at == NOW
    record = ConsultationRecord.objects.get(appointment=visit)
    assert record.finalised_at == NOW
    assert record.finalised_by == doctor.user
    assert record.diagnosis == "Acute bronchitis"
    last = visit.transitions.order_by("pk").last()
    assert (last.from_status, last.to_status, last.by) == (
        Status.CHECKED_IN,
        Status.COMPLETED,
        doctor.user,
    )


def test_completing_goes_back_to_the_queue_while_others_wait(treating, visit, visit_type):
    nxt = visit_in_progress(visit_type, at(TODAY, "10:20"))
    assert nxt.status == Status.CHECKED_IN
    response = treating.post(record_url(visit), form_data(diagnosis="Flu", action="complete"))
    assert response["Location"] == reverse("dashboard:queue")


def test_completing_without_a_diagnosis_is_refused_and_the_visit_stays_open(treating, visit):
    response = treating.post(record_url(visit), form_data(notes="Some notes", action="complete"))
    assert response.status_code == 400
    assert "Write the diagnosis before finalising the record." in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Status.CHECKED_IN
    assert not ConsultationRecord.objects.filter(finalised_at__isnull=False).exists()


def test_finalise_alone_leaves_a_confirmed_visit_confirmed(treating, visit_type, patient):
    confirmed = book(
        visit_type, at(TODAY, "11:00"), actor=make_user(Role.RECEPTIONIST), now=at(TODAY, "07:00")
    )
    response = treating.get(record_url(confirmed))
    assert response.context["can_complete"] is False
    treating.post(record_url(confirmed), form_data(diagnosis="Check-up", action="finalise"))
    confirmed.refresh_from_db()
    assert confirmed.status == Status.CONFIRMED
    assert ConsultationRecord.objects.get(appointment=confirmed).finalised_at == NOW


# --- The finalised record ---------------------------------------------------------------------


def test_finalised_record_is_read_only_for_its_doctor(treating, finalised):
    response = treating.get(record_url(finalised))
    assert response.status_code == 200
    assert response.context["editable"] is False
    assert response.context["can_sign"] is True
    assert "form" not in response.context
    page = response.content.decode()
    assert 'name="diagnosis"' not in page
    assert "Acute bronchitis" in page
    assert "Amoxicillin" in page
    assert "Finalised 3 Mar 2031, 09:55" in page


def test_saving_a_finalised_record_is_refused_and_changes_nothing(treating, finalised):
    record = finalised.record
    before = snapshot(record)
    for action in ("save", "finalise", "complete"):
        response = treating.post(
            record_url(finalised),
            form_data(diagnosis="Changed", rx=[IBU], action=action),
            follow=True,
        )
        assert response.redirect_chain == [(record_url(finalised), 302)]
        assert FINALISED_MESSAGE in messages_of(response) or any(
            "already finalised" in m for m in messages_of(response)
        )
    response = treating.post(
        record_url(finalised), form_data(diagnosis="Changed"), headers={"x-requested-with": "fetch"}
    )
    assert response.status_code == 409
    assert response.json()["saved"] is False
    assert snapshot(record) == before


def test_addendum_is_signed_with_its_author_and_time(treating, doctor, finalised):
    response = treating.post(
        record_url(finalised),
        {"action": "addendum", "text": "Chest X-ray clear."},
        follow=True,
    )
    assert response.redirect_chain == [(record_url(finalised), 302)]
    assert "Addendum signed and added." in messages_of(response)
    addendum = Addendum.objects.get(record__appointment=finalised)
    assert (addendum.text, addendum.author, addendum.created_at) == (
        "Chest X-ray clear.",
        doctor.user,
        NOW,
    )
    page = response.content.decode()
    assert "Chest X-ray clear." in page
    assert f"Signed {doctor.user.full_name}, 3 Mar 2031, 10:00" in page
    record = ConsultationRecord.objects.get(appointment=finalised)
    assert record.diagnosis == "Acute bronchitis"  # the record itself stays as finalised


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001])
def test_a_blank_or_too_long_addendum_is_refused(treating, finalised, text):
    response = treating.post(record_url(finalised), {"action": "addendum", "text": text})
    assert response.status_code == 400
    assert response.context["addendum_form"].errors
    assert not Addendum.objects.exists()


def test_a_draft_takes_no_addenda(treating, visit):
    write_record(visit, now=at(TODAY, "09:50"))
    response = treating.post(record_url(visit), {"action": "addendum", "text": "Late note"})
    assert response.status_code == 400
    assert "Addenda are for finalised records" in str(
        response.context["addendum_form"].non_field_errors()
    )
    assert not Addendum.objects.exists()


# --- Who reads, and the access log ------------------------------------------------------------


def test_treating_doctors_reads_of_a_draft_are_logged(treating, doctor, visit):
    write_record(visit, now=at(TODAY, "09:50"))
    treating.get(record_url(visit))
    treating.get(record_url(visit))
    assert accesses() == [(visit.reference, doctor.user.pk, "dashboard")] * 2


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.PATIENT, Role.EDITOR])
def test_receptionists_patients_and_editors_never_reach_the_record(client, finalised, role):
    user = finalised.patient if role == Role.PATIENT else make_user(role)
    before = snapshot(finalised.record)
    client.force_login(user)
    assert_refused(client.get(record_url(finalised)))
    assert_refused(client.post(record_url(finalised), form_data(diagnosis="Changed")))
    assert_refused(client.post(record_url(finalised), {"action": "addendum", "text": "Hi"}))
    assert_refused(
        client.post(
            record_url(finalised), form_data(diagnosis="X"), headers={"x-requested-with": "fetch"}
        )
    )
    assert snapshot(finalised.record) == before
    assert not RecordAccess.objects.exists()


def test_receptionist_is_refused_even_before_there_is_a_record(client, visit):
    client.force_login(make_user(Role.RECEPTIONIST))
    assert_refused(client.get(record_url(visit)))
    response = client.get(record_url(visit), headers={"x-requested-with": "XMLHttpRequest"})
    assert response.status_code == 403
    assert not ConsultationRecord.objects.exists()


def test_admin_reads_the_record_read_only_and_each_read_is_logged(client, finalised):
    admin = make_user(Role.ADMIN)
    client.force_login(admin)
    response = client.get(record_url(finalised))
    assert response.status_code == 200
    assert response.context["editable"] is False
    assert response.context["can_sign"] is False
    assert response.context["previous"] == []
    page = response.content.decode()
    assert "Acute bronchitis" in page
    assert 'name="diagnosis"' not in page
    assert 'value="addendum"' not in page
    client.get(record_url(finalised))
    assert accesses() == [(finalised.reference, admin.pk, "dashboard")] * 2
    assert set(RecordAccess.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_admin_cannot_write_or_sign(client, finalised, visit_type):
    client.force_login(make_user(Role.ADMIN))
    before = snapshot(finalised.record)
    assert_refused(client.post(record_url(finalised), {"action": "addendum", "text": "Admin"}))
    assert snapshot(finalised.record) == before
    draft = visit_in_progress(visit_type, at(TODAY, "11:00"))
    write_record(draft, now=at(TODAY, "09:58"))
    assert_refused(client.post(record_url(draft), form_data(diagnosis="Admin was here")))
    assert ConsultationRecord.objects.get(appointment=draft).diagnosis == "Acute bronchitis"


def test_admin_gets_404_when_there_is_no_record(client, visit):
    client.force_login(make_user(Role.ADMIN))
    assert client.get(record_url(visit)).status_code == 404
    assert not RecordAccess.objects.exists()


def test_another_doctor_gets_404_for_a_patient_not_theirs(client, other_clinic, finalised):
    client.force_login(other_clinic[0].user)
    assert client.get(record_url(finalised)).status_code == 404
    assert client.post(record_url(finalised), form_data(diagnosis="X")).status_code == 404
    assert not RecordAccess.objects.exists()


def test_another_doctor_caring_for_the_patient_reads_a_finalised_record(
    client, other_clinic, patient, finalised
):
    """permissions.md: a doctor reads the records of their own patients (records.permissions:
    another doctor, finalised records only); the screen's docstring promises "a doctor caring
    for the patient read[s] it"."""
    book(
        other_clinic[1],
        at(TODAY + dt.timedelta(days=1), "09:00"),
        patient=patient,
        actor=make_user(Role.RECEPTIONIST),
    )  # confirmed with Dr Okafor: Nora is now his patient too
    client.force_login(other_clinic[0].user)
    response = client.get(record_url(finalised))
    assert response.status_code == 200
    assert response.context["editable"] is False
    assert response.context["can_sign"] is False
    assert accesses() == [(finalised.reference, other_clinic[0].user.pk, "dashboard")]


def test_another_doctor_never_reads_a_draft(client, other_clinic, patient, visit):
    write_record(visit, now=at(TODAY, "09:50"))
    book(
        other_clinic[1],
        at(TODAY + dt.timedelta(days=1), "09:00"),
        patient=patient,
        actor=make_user(Role.RECEPTIONIST),
    )
    client.force_login(other_clinic[0].user)
    assert client.get(record_url(visit)).status_code == 404
    assert not RecordAccess.objects.exists()


# --- Earlier visits ---------------------------------------------------------------------------


@pytest.fixture
def history(visit_type, other_clinic, patient):
    """Nora's finalised visits: with Dr Hart 14 and 7 days ago, with Dr Okafor 10 days ago."""
    return [
        completed_visit(
            visit_type, at(TODAY - dt.timedelta(days=14), "09:00"), patient=patient, diagnosis="Old"
        ),
        completed_visit(
            other_clinic[1],
            at(TODAY - dt.timedelta(days=10), "09:00"),
            patient=patient,
            diagnosis="Sprained ankle",
        ),
        completed_visit(
            visit_type, at(TODAY - dt.timedelta(days=7), "09:00"), patient=patient, diagnosis="Cold"
        ),
    ]


def test_earlier_visits_are_shown_newest_first_and_each_is_logged(treating, doctor, visit, history):
    response = treating.get(record_url(visit))
    shown = response.context["previous"]
    assert [a.reference for a in shown] == [
        history[2].reference,
        history[1].reference,
        history[0].reference,
    ]
    page = response.content.decode()
    for text in ("Cold", "Sprained ankle", "Dr Ben Okafor"):
        assert text in page
    assert sorted(accesses()) == sorted((a.reference, doctor.user.pk, "dashboard") for a in history)


def test_earlier_visits_and_the_record_itself_are_logged_once_each(
    treating, doctor, visit, history
):
    write_record(visit, now=at(TODAY, "09:50"))
    treating.get(record_url(visit))
    logged = accesses()
    assert len(logged) == 4
    assert sorted(ref for ref, _, _ in logged) == sorted(
        [visit.reference] + [a.reference for a in history]
    )


def test_earlier_visits_leave_out_later_cancelled_and_unfinalised_ones(
    treating, visit, visit_type, patient, history
):
    cancelled = book(
        visit_type,
        at(TODAY - dt.timedelta(days=3), "09:00"),
        patient=patient,
        now=at(TODAY - dt.timedelta(days=4), "09:00"),
    )
    booking_services.appointment_act(
        appointment=cancelled,
        actor=visit_type.doctor.user,
        action="decline",
        reason="Away",
        now=at(TODAY - dt.timedelta(days=4), "10:00"),
    )
    later = completed_visit(visit_type, at(TODAY, "12:20"), patient=patient)
    shown = [a.reference for a in treating.get(record_url(visit)).context["previous"]]
    assert cancelled.reference not in shown
    assert later.reference not in shown
    assert len(shown) == 3
    assert (
        RecordAccess.objects.filter(record__appointment=later).count() == 0
    )  # not shown, not read


def test_admin_is_not_shown_earlier_visits_and_they_are_not_logged(client, visit, history):
    write_record(visit, now=at(TODAY, "09:50"))
    admin = make_user(Role.ADMIN)
    client.force_login(admin)
    response = client.get(record_url(visit))
    assert response.context["previous"] == []
    assert accesses() == [(visit.reference, admin.pk, "dashboard")]


def test_record_screen_of_a_visit_without_history_logs_nothing_extra(treating, visit):
    response = treating.get(record_url(visit))
    assert response.context["previous"] == []
    assert "No earlier visits with a finalised record." in response.content.decode()
    assert not RecordAccess.objects.exists()
