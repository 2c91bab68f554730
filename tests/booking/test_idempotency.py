"""Booking is idempotent under a client's key: a retry after a lost answer (a worker killed
between commit and reply) or a double submit gets the appointment the first request made,
never `slot_unavailable` about the patient's own slot and never a second appointment."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from rest_framework.test import APIClient

from booking import services
from booking.exceptions import IdempotencyKeyReused
from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from tests.factories import at, bookable_doctor, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2030, 1, 7)
TOMORROW = TODAY + dt.timedelta(days=1)
KEY = "5f0c7c1e-9a4b-4c53-8d1e-1b7f3c2a9e10"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)


@pytest.fixture
def clinic():
    return bookable_doctor(name="Dr Ada Hart")


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Quinn")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(client, visit_type, start, key=KEY, **extra):
    body = {
        "doctor": visit_type.doctor_id,
        "visit_type": visit_type.pk,
        "start": start.isoformat(),
        **extra,
    }
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/v1/appointments/", body, format="json", headers=headers)


def test_a_retry_with_the_same_key_answers_with_the_first_appointment(clinic, patient):
    _, visit_type = clinic
    client = api(patient)
    first = post(client, visit_type, at(TOMORROW, "09:40"))
    assert first.status_code == 201, first.content

    retry = post(client, visit_type, at(TOMORROW, "09:40"))

    assert retry.status_code == 201, retry.content
    assert retry.json()["id"] == first.json()["id"]
    assert Appointment.objects.count() == 1


def test_without_a_key_the_retry_is_refused_as_before(clinic, patient):
    _, visit_type = clinic
    client = api(patient)
    assert post(client, visit_type, at(TOMORROW, "09:40"), key=None).status_code == 201

    retry = post(client, visit_type, at(TOMORROW, "09:40"), key=None)

    assert retry.status_code == 409
    assert retry.json()["code"] in ("slot_unavailable", "patient_overlap")
    assert Appointment.objects.count() == 1


def test_the_same_key_for_another_booking_is_refused_and_books_nothing(clinic, patient):
    _, visit_type = clinic
    client = api(patient)
    assert post(client, visit_type, at(TOMORROW, "09:40")).status_code == 201

    other = post(client, visit_type, at(TOMORROW, "11:00"))

    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert set(other.json()) == {"detail", "code"}
    assert Appointment.objects.count() == 1


def test_a_key_belongs_to_who_sent_it(clinic, patient):
    _, visit_type = clinic
    other = make_user(Role.PATIENT)
    assert post(api(patient), visit_type, at(TOMORROW, "09:40")).status_code == 201

    # Another patient's request with the same key is their own booking (here: a taken slot).
    response = post(api(other), visit_type, at(TOMORROW, "09:40"))

    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    assert Appointment.objects.get().patient == patient


def test_a_retry_after_the_appointment_moved_on_still_names_it(clinic, patient):
    _, visit_type = clinic
    client = api(patient)
    reference = post(client, visit_type, at(TOMORROW, "09:40")).json()["id"]
    client.post(f"/api/v1/appointments/{reference}/cancel/", {}, format="json")

    retry = post(client, visit_type, at(TOMORROW, "09:40"))

    assert retry.status_code == 201
    assert retry.json()["id"] == reference
    assert retry.json()["status"] == Status.CANCELLED
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "ünïcode", "a/b"])
def test_a_malformed_key_is_a_400_and_books_nothing(clinic, patient, key):
    _, visit_type = clinic
    response = post(api(patient), visit_type, at(TOMORROW, "09:40"), key=key)

    if key == "":
        # An empty header is no key at all.
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert not Appointment.objects.exists()


def test_the_service_refuses_a_reused_key(clinic, patient):
    _, visit_type = clinic
    services.appointment_book(
        actor=patient,
        patient=patient,
        visit_type=visit_type,
        start=at(TOMORROW, "09:40"),
        idempotency_key="k1",
    )
    with pytest.raises(IdempotencyKeyReused):
        services.appointment_book(
            actor=patient,
            patient=patient,
            visit_type=visit_type,
            start=at(TOMORROW, "11:00"),
            idempotency_key="k1",
        )
    assert Appointment.objects.count() == 1


def test_the_web_review_form_books_once_when_submitted_twice(client, clinic, patient):
    doctor, visit_type = clinic
    client.force_login(patient)
    from urllib.parse import urlencode

    url = f"/book/{doctor.slug}/review/?" + urlencode(
        {"visit_type": visit_type.pk, "start": at(TOMORROW, "09:40").isoformat()}
    )
    page = client.get(url).content.decode()
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', page).group(1)

    first = client.post(url, {"reason": "", "request_key": key})
    second = client.post(url, {"reason": "", "request_key": key})

    assert first.status_code == 302 and second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Appointment.objects.count() == 1
    # Each page shown carries its own key.
    again = client.get(url).content.decode()
    assert key not in again
