"""The patient's visit summary (product.md §7): the portal page and its PDF, moved here from the
booking app. Patients only, their own, completed visits only (else 404); an empty state until the
record is finalised; every read logged (`page`, `pdf`); a pinned number of queries.

The clock is frozen at 06:00 on Monday `TODAY`; the visits summarised took place on `PAST`.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking import services as booking_services
from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from records import services
from records.models import ConsultationRecord, RecordAccess
from tests.factories import at, book, completed_visit, make_user, write_record
from tests.factories.records import visit_in_progress
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
PAST = TODAY - dt.timedelta(days=7)
LOGIN_URL = "/accounts/login/"
DASHBOARD_URL = "/admin/"

# Pinned query counts: a change here is a deliberate decision, not an accident. Session, the
# user with its role (one read), the appointment (doctor, patient, visit type and record
# joined), the record again with its prescriptions, tests and addenda (with authors), the
# access-log and activity-log inserts, the clinic details and two permission lookups. The menu
# comes from the site shell's cache (home/shell.py), and an unchanged session is refreshed at
# most once a minute, so neither reads nor writes here.
SUMMARY_QUERIES = 12
# The empty state: no record to read or log.
EMPTY_SUMMARY_QUERIES = 6


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Quinn", email="nora@example.test")


@pytest.fixture
def other_patient():
    return make_user(Role.PATIENT, full_name="Otto Brandt")


@pytest.fixture
def completed(visit_type, patient):
    """Nora's visit on PAST, finalised (one prescription, one test) and completed."""
    return completed_visit(visit_type, at(PAST, "09:00"), patient=patient)


def urls(appointment) -> dict[str, str]:
    base = f"/portal/appointments/{appointment.reference}/"
    return {"detail": base, "summary": base + "summary/", "pdf": base + "summary.pdf"}


def page(response) -> str:
    return response.content.decode()


def set_status(appointment, status: str) -> Appointment:
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    return Appointment.objects.get(pk=appointment.pk)


def add_addendum(appointment, text: str, when: dt.datetime):
    return services.addendum_add(
        appointment=appointment, actor=appointment.doctor.user, text=text, now=when
    )


# --- who may open it --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["summary", "pdf"])
def test_anonymous_visitors_are_sent_to_login(client, completed, name):
    url = urls(completed)[name]
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == LOGIN_URL
    assert parse_qs(location.query)["next"] == [url]


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN, Role.EDITOR])
@pytest.mark.parametrize("name", ["summary", "pdf"])
def test_staff_are_sent_to_their_dashboard(client, completed, doctor, role, name):
    # The treating doctor is the most tempting case: their own patient's record.
    client.force_login(doctor.user if role == Role.DOCTOR else make_user(role))
    response = client.get(urls(completed)[name])
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_URL
    assert not RecordAccess.objects.exists()


@pytest.mark.parametrize("name", ["summary", "pdf"])
def test_another_patients_summary_is_a_404(client, other_patient, completed, name):
    client.force_login(other_patient)
    assert client.get(urls(completed)[name]).status_code == 404
    assert not RecordAccess.objects.exists()


@pytest.mark.parametrize("reference", ["ZZZZ9999", "nope", "AB-12-CD", "X" * 40, "%25", "..."])
@pytest.mark.parametrize("name", ["summary", "pdf"])
def test_unknown_or_malformed_reference_is_a_404(patient_client, completed, reference, name):
    url = urls(completed)[name].replace(completed.reference, reference)
    assert patient_client.get(url).status_code == 404


@pytest.mark.parametrize(
    "status",
    [Status.REQUESTED, Status.CONFIRMED, Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW],
)
def test_summary_exists_only_for_completed_visits(patient_client, visit_type, patient, status):
    appointment = book(visit_type, at(TODAY + dt.timedelta(days=2), "09:00"), patient=patient)
    set_status(appointment, status)
    assert patient_client.get(urls(appointment)["summary"]).status_code == 404
    assert patient_client.get(urls(appointment)["pdf"]).status_code == 404


def test_a_finalised_record_stays_hidden_until_the_visit_is_completed(
    patient_client, visit_type, patient
):
    appointment = visit_in_progress(visit_type, at(PAST, "09:00"), patient=patient)
    write_record(appointment)
    services.record_finalise(
        appointment=appointment, actor=appointment.doctor.user, now=at(PAST, "09:25")
    )
    assert patient_client.get(urls(appointment)["summary"]).status_code == 404
    booking_services.appointment_act(
        appointment=appointment,
        actor=appointment.doctor.user,
        action="complete",
        now=at(PAST, "09:30"),
    )
    assert "Acute bronchitis" in page(patient_client.get(urls(appointment)["summary"]))


# --- the page ---------------------------------------------------------------------------------


def test_the_appointment_page_links_to_the_summary(patient_client, completed):
    html = page(patient_client.get(urls(completed)["detail"]))
    assert f'href="{urls(completed)["summary"]}"' in html
    assert "This visit has taken place." in html


def test_summary_shows_diagnosis_prescriptions_tests_and_addenda(patient_client, completed):
    add_addendum(completed, "Chest X-ray was normal.", at(PAST + dt.timedelta(days=2), "14:30"))
    response = patient_client.get(urls(completed)["summary"])
    assert response.status_code == 200
    html = page(response)
    assert "Acute bronchitis" in html
    assert "Amoxicillin" in html
    assert "500 mg, three times a day, for 7 days" in html
    assert "Finish the course." in html
    assert "Full blood count" in html
    assert "Chest X-ray was normal." in html
    assert "Added by Dr Ada Hart on 26 February 2031, 14:30" in re.sub(r"<[^>]+>", "", html)
    assert "Your doctor finalised this summary on 24 February 2031, 09:25." in html
    assert f'href="{urls(completed)["pdf"]}"' in html
    assert "Your summary is not ready yet" not in html
    # Clinical notes are the doctor's working notes, not part of the patient's summary page.
    assert "Cough for ten days" not in html
    assert "no-store" in response["Cache-Control"]


def test_summary_without_a_finalised_record_shows_the_empty_state(
    patient_client, patient, doctor, visit_type
):
    appointment = book(visit_type, at(PAST, "09:00"), patient=patient, now=at(PAST, "06:00"))
    appointment = set_status(appointment, Status.COMPLETED)  # older data: no record
    url = urls(appointment)["summary"]
    response = patient_client.get(url)
    assert response.status_code == 200
    assert "Your summary is not ready yet" in page(response)
    assert patient_client.get(urls(appointment)["pdf"]).status_code == 404

    ConsultationRecord.objects.create(
        appointment=appointment, author=doctor.user, diagnosis="Secret draft"
    )
    html = page(patient_client.get(url))
    assert "Your summary is not ready yet" in html
    assert "Secret draft" not in html
    assert "finalised this summary" not in html
    assert patient_client.get(urls(appointment)["pdf"]).status_code == 404
    assert not RecordAccess.objects.exists()  # nothing was read


def test_a_record_finalised_before_details_existed_still_shows(
    patient_client, patient, doctor, visit_type
):
    # Records finalised before diagnosis and items were stored (demo data) carry only the time.
    appointment = book(visit_type, at(PAST, "09:00"), patient=patient, now=at(PAST, "06:00"))
    appointment = set_status(appointment, Status.COMPLETED)
    ConsultationRecord.objects.create(
        appointment=appointment, author=doctor.user, finalised_at=at(PAST, "10:05")
    )
    html = page(patient_client.get(urls(appointment)["summary"]))
    assert "Your doctor finalised this summary on 24 February 2031, 10:05." in html
    assert "No diagnosis was recorded." in html
    assert "No medicines were prescribed at this visit." in html


def test_the_record_text_is_escaped(patient_client, visit_type, patient):
    appointment = completed_visit(
        visit_type, at(PAST, "09:00"), patient=patient, diagnosis="<script>alert(1)</script>"
    )
    html = page(patient_client.get(urls(appointment)["summary"]))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_each_page_view_is_logged(patient_client, patient, completed):
    for _ in range(2):
        assert patient_client.get(urls(completed)["summary"]).status_code == 200
    rows = list(RecordAccess.objects.values_list("record__appointment", "user", "how", "at"))
    assert rows == [(completed.pk, patient.pk, "page", at(TODAY, "06:00"))] * 2
    assert RecordAccess.objects.first().ip_address == "127.0.0.1"


def test_summary_page_runs_a_fixed_number_of_queries(patient_client, visit_type, patient):
    few = completed_visit(visit_type, at(PAST, "09:00"), patient=patient)
    many = completed_visit(
        visit_type,
        at(PAST, "10:20"),
        patient=patient,
        prescriptions=[{"drug": f"Drug {i}", "dose": "1 tablet"} for i in range(8)],
        tests=[{"name": f"Test {i}"} for i in range(6)],
    )
    for i in range(4):
        add_addendum(many, f"Addendum {i}", at(PAST, "12:00") + dt.timedelta(minutes=i))
    patient_client.get(urls(few)["summary"])  # the first request also creates clinic details
    for appointment in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            response = patient_client.get(urls(appointment)["summary"])
        assert response.status_code == 200
        assert len(ctx.captured_queries) == SUMMARY_QUERIES, [
            q["sql"] for q in ctx.captured_queries
        ]
    assert "Addendum 3" in page(response) and "Drug 7" in page(response)


def test_empty_summary_runs_a_fixed_number_of_queries(patient_client, visit_type, patient):
    appointment = book(visit_type, at(PAST, "09:00"), patient=patient, now=at(PAST, "06:00"))
    set_status(appointment, Status.COMPLETED)
    patient_client.get(urls(appointment)["summary"])  # the first request creates clinic details
    with CaptureQueriesContext(connection) as ctx:
        response = patient_client.get(urls(appointment)["summary"])
    assert response.status_code == 200
    assert len(ctx.captured_queries) == EMPTY_SUMMARY_QUERIES, [
        q["sql"] for q in ctx.captured_queries
    ]


# --- the PDF ----------------------------------------------------------------------------------


def test_the_pdf_carries_the_summary_clinic_and_doctor(patient_client, patient, completed):
    add_addendum(completed, "Chest X-ray was normal.", at(PAST + dt.timedelta(days=2), "14:30"))
    response = patient_client.get(urls(completed)["pdf"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="visit-summary-{completed.reference}.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    for expected in (
        "Visit summary",
        "Nora Quinn",
        "Dr Ada Hart",
        completed.reference,
        "Acute bronchitis",
        "Amoxicillin",
        "three times a day",
        "Full blood count",
        "Chest X-ray was normal.",
        "Finalised by Dr Ada Hart on 24 February 2031, 09:25",
    ):
        assert expected in text, expected
    assert "Cough for ten days" not in text
    rows = list(RecordAccess.objects.values_list("user", "how"))
    assert rows == [(patient.pk, "pdf")]
