"""Booking API contract (api-v1.md): slots, appointments and their actions, history, the queue.

Every assertion is about the published contract — paths, fields, status codes and error codes of
api-v1.md, with the rules of scheduling-rules.md and permissions.md — not about how the views are
written. Errors are `{"detail", "code"}` except validation errors (DRF's field map); nothing a
caller sends may produce a 500. The clock is frozen at 06:00 on a Monday (`TODAY`); tests that
need a later moment move it.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from booking.models import Appointment, Reschedule, Status
from clinic_site.accounts.roles import Role
from records.models import ConsultationRecord
from tests.factories import VisitTypeFactory, at, book, bookable_doctor, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2030, 1, 7)  # a Monday
TOMORROW = TODAY + dt.timedelta(days=1)
GRID = ["09:00", "09:40", "10:20", "11:00", "11:40", "12:20"]  # 09:00-13:00, 30 min, buffers 5/5

APPOINTMENT_FIELDS = {
    "id",
    "doctor",
    "patient",
    "visit_type",
    "start",
    "end",
    "status",
    "reason",
    "created_at",
    "checked_in_at",
    "waiting_minutes",
    "meeting_url",
    "payment_status",
    "allowed_actions",
}
OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")

# Pinned query counts: a change here is a deliberate decision, not an accident. Clients are
# authenticated with force_authenticate, so no session or user queries are included.
# Appointments list for a receptionist: policies, count, one page of appointments (doctor,
# patient, visit type and record joined) — the same for 3 or 30 appointments.
APPOINTMENT_LIST_QUERIES = 3
# Slots of 14 days: visit type with its doctor, policies, weekly windows, exceptions, busy
# ranges — the same with 0 or 20 booked appointments.
SLOT_QUERIES = 5


# --- helpers and fixtures ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def parse(value: str) -> dt.datetime:
    assert isinstance(value, str) and OFFSET.search(value), f"{value!r} has no UTC offset"
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None
    return parsed


def hhmm(value: str, day: dt.date = TODAY) -> str:
    return f"{parse(value).astimezone(at(day, '00:00').tzinfo):%H:%M}"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert {"detail", "code"} <= set(body), body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_field_map(response, *fields: str) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body, dict), body
    assert "code" not in body, body
    for field in fields:
        assert field in body, body
        assert isinstance(body[field], list) and body[field], body
    return body


@pytest.fixture
def clinic():
    """Dr Ada Hart: 09:00-13:00 every day, one 30-minute in-person visit type."""
    return bookable_doctor(name="Dr Ada Hart")


@pytest.fixture
def other_clinic():
    return bookable_doctor(name="Dr Ben Other")


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Quinn")


@pytest.fixture
def other_patient():
    return make_user(Role.PATIENT, full_name="Oscar Wilde")


@pytest.fixture
def admin():
    return make_user(Role.ADMIN, full_name="Alan Admin")


@pytest.fixture
def editor():
    return make_user(Role.EDITOR, full_name="Eve Editor")


def slots_url(doctor) -> str:
    return f"/api/v1/doctors/{doctor.pk}/slots/"


def detail_url(appointment) -> str:
    reference = appointment if isinstance(appointment, str) else appointment.reference
    return f"/api/v1/appointments/{reference}/"


def action_url(appointment, action: str) -> str:
    return detail_url(appointment) + f"{action}/"


def slots(doctor, day_from, day_to=None, **params):
    response = client_for().get(
        slots_url(doctor), {"date_from": day_from, "date_to": day_to or day_from, **params}
    )
    assert response.status_code == 200, response.content
    return response.json()


def booking_body(visit_type, start: dt.datetime, **extra) -> dict:
    return {
        "doctor": visit_type.doctor_id,
        "visit_type": visit_type.pk,
        "start": start.isoformat(),
        "reason": "Persistent cough",
        **extra,
    }


def confirmed(visit_type, start, patient, actor):
    """Booked by the front desk, hence CONFIRMED."""
    return book(visit_type, start, patient=patient, actor=actor)


def book_many(visit_types, patients, n: int, first_day: dt.date = TOMORROW) -> list:
    """`n` appointments spread over the grid of the given doctors, day after day, the patients
    taking turns (give at least as many patients as visit types, so nobody overlaps)."""
    assert len(patients) >= len(visit_types)
    made = []
    day = first_day
    while len(made) < n:
        for hhmm_ in GRID:
            for vt in visit_types:
                if len(made) < n:
                    patient = patients[len(made) % len(patients)]
                    made.append(book(vt, at(day, hhmm_), patient=patient))
        day += dt.timedelta(days=1)
    return made


# --- slots ------------------------------------------------------------------------------------


def test_slots_are_public_sorted_iso_with_offset_and_follow_the_grid(doctor, visit_type):
    body = slots(doctor, TOMORROW, TOMORROW + dt.timedelta(days=2))

    assert len(body) == 3 * len(GRID)
    for slot in body:
        assert set(slot) == {"start", "end", "visit_type"}
        assert slot["visit_type"] == visit_type.pk
        assert parse(slot["end"]) - parse(slot["start"]) == dt.timedelta(minutes=30)
    starts = [parse(slot["start"]) for slot in body]
    assert starts == sorted(starts)
    assert starts[: len(GRID)] == [at(TOMORROW, t) for t in GRID]


def test_slots_default_to_the_doctors_first_visit_type(doctor, visit_type):
    # Created later but listed first (sort order, then duration): it is "the doctor's first".
    short = VisitTypeFactory(doctor=doctor, name="Quick check", duration_minutes=15, sort_order=0)
    first = client_for().get(f"/api/v1/doctors/{doctor.pk}/").json()["visit_types"][0]["id"]
    assert first == short.pk

    body = slots(doctor, TOMORROW)

    assert {slot["visit_type"] for slot in body} == {first}
    assert [hhmm(s["start"], TOMORROW) for s in body[:3]] == ["09:00", "09:25", "09:50"]


def test_slots_of_a_chosen_visit_type(doctor, visit_type):
    long = VisitTypeFactory(doctor=doctor, name="Long", duration_minutes=60, sort_order=9)
    body = slots(doctor, TOMORROW, visit_type=long.pk)
    assert [hhmm(s["start"], TOMORROW) for s in body] == ["09:00", "10:10", "11:20"]
    assert {s["visit_type"] for s in body} == {long.pk}


def test_slots_respect_the_minimum_notice(doctor, clock):
    clock.move_to(at(TODAY, "09:30"), tick=False)
    assert [hhmm(s["start"]) for s in slots(doctor, TODAY)] == ["11:00", "11:40", "12:20"]


def test_slots_stop_at_the_booking_horizon(doctor):
    horizon = TODAY + dt.timedelta(days=60)  # policy default: 60 days after today
    body = slots(doctor, horizon - dt.timedelta(days=1), horizon + dt.timedelta(days=2))
    assert {parse(s["start"]).date() for s in body} == {horizon - dt.timedelta(days=1), horizon}


def test_no_slots_while_online_booking_is_closed(doctor):
    doctor.accepting_bookings = False
    doctor.save()
    assert slots(doctor, TOMORROW, TOMORROW + dt.timedelta(days=6)) == []


def test_slots_range_of_up_to_62_days_is_fine_beyond_is_400(doctor):
    client = client_for()
    ok = client.get(
        slots_url(doctor),
        {"date_from": TOMORROW, "date_to": TOMORROW + dt.timedelta(days=61)},
    )
    assert ok.status_code == 200
    too_long = client.get(
        slots_url(doctor),
        {"date_from": TOMORROW, "date_to": TOMORROW + dt.timedelta(days=63)},
    )
    assert_field_map(too_long)


def test_slots_date_to_before_date_from_is_400(doctor):
    response = client_for().get(
        slots_url(doctor), {"date_from": TOMORROW, "date_to": TOMORROW - dt.timedelta(days=1)}
    )
    assert_field_map(response)


def test_slots_unknown_or_foreign_or_inactive_visit_type_is_400(doctor, other_clinic):
    inactive = VisitTypeFactory(doctor=doctor, is_active=False)
    client = client_for()
    for value in (999999, other_clinic[1].pk, inactive.pk, "abc", 0, -3):
        response = client.get(slots_url(doctor), {"date_from": TOMORROW, "visit_type": value})
        assert_field_map(response, "visit_type")


def test_slots_of_an_unknown_or_inactive_doctor_are_404():
    retired, _ = bookable_doctor(is_active=False)
    assert_error(client_for().get("/api/v1/doctors/999999/slots/"), 404, "not_found")
    assert_error(client_for().get(slots_url(retired)), 404, "not_found")


def test_a_booked_slot_disappears_for_every_visit_type(doctor, visit_type):
    short = VisitTypeFactory(doctor=doctor, name="Quick", duration_minutes=15, sort_order=5)
    book(visit_type, at(TOMORROW, "09:40"))

    starts = [hhmm(s["start"], TOMORROW) for s in slots(doctor, TOMORROW)]
    assert starts == ["09:00", "10:20", "11:00", "11:40", "12:20"]
    short_starts = [
        hhmm(s["start"], TOMORROW) for s in slots(doctor, TOMORROW, visit_type=short.pk)
    ]
    # 09:40's blocked range is 09:35-10:15; 15-minute candidates whose ranges touch it are gone
    assert short_starts[:3] == ["09:00", "10:40", "11:05"]


def test_a_cancelled_appointment_frees_its_slot(doctor, visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:40"), patient=patient)
    response = client_for(patient).post(action_url(appointment, "cancel"), {"reason": "Better"})
    assert response.status_code == 200
    assert [hhmm(s["start"], TOMORROW) for s in slots(doctor, TOMORROW)] == GRID


# --- appointments: list -----------------------------------------------------------------------


@pytest.fixture
def booked(visit_type, other_clinic, patient, other_patient, receptionist):
    """Nora: Ada tomorrow (REQUESTED), Ben the day after (CONFIRMED); Oscar: Ada in 3 days."""
    ben_visit = other_clinic[1]
    return {
        "nora_ada": book(visit_type, at(TOMORROW, "09:00"), patient=patient),
        "nora_ben": confirmed(
            ben_visit, at(TODAY + dt.timedelta(days=2), "09:00"), patient, receptionist
        ),
        "oscar_ada": book(
            visit_type, at(TODAY + dt.timedelta(days=3), "09:40"), patient=other_patient
        ),
    }


def listed_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()["results"]]


def test_list_shows_patients_their_own_doctors_theirs_and_the_front_desk_all(
    booked, doctor, other_clinic, patient, other_patient, receptionist, admin
):
    refs = {name: a.reference for name, a in booked.items()}
    url = "/api/v1/appointments/"
    assert listed_ids(client_for(patient).get(url)) == [refs["nora_ada"], refs["nora_ben"]]
    assert listed_ids(client_for(other_patient).get(url)) == [refs["oscar_ada"]]
    assert listed_ids(client_for(doctor.user).get(url)) == [refs["nora_ada"], refs["oscar_ada"]]
    assert listed_ids(client_for(other_clinic[0].user).get(url)) == [refs["nora_ben"]]
    everything = [refs["nora_ada"], refs["nora_ben"], refs["oscar_ada"]]
    assert listed_ids(client_for(receptionist).get(url)) == everything
    assert listed_ids(client_for(admin).get(url)) == everything


def test_list_items_have_the_appointment_representation(booked, patient):
    item = client_for(patient).get("/api/v1/appointments/").json()["results"][0]
    assert set(item) >= APPOINTMENT_FIELDS
    assert item["id"] == booked["nora_ada"].reference


def test_list_is_paginated_and_page_size_is_capped_at_100(visit_type, patient, receptionist):
    book_many([visit_type], [patient], 101)
    client = client_for(receptionist)

    page = client.get("/api/v1/appointments/", {"page_size": 2})
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 101
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"]

    second = client.get(body["next"]).json()
    assert second["previous"] is not None
    assert not {a["id"] for a in second["results"]} & {a["id"] for a in body["results"]}

    capped = client.get("/api/v1/appointments/", {"page_size": 1000}).json()
    assert len(capped["results"]) == 100
    assert capped["next"] is not None


def test_list_filters_by_status_dates_and_doctor(booked, doctor, other_clinic, receptionist):
    client = client_for(receptionist)
    refs = {name: a.reference for name, a in booked.items()}

    def ids(**params):
        return listed_ids(client.get("/api/v1/appointments/", params))

    assert ids(status="CONFIRMED") == [refs["nora_ben"]]
    assert ids(status="REQUESTED") == [refs["nora_ada"], refs["oscar_ada"]]
    assert ids(status="CANCELLED") == []
    assert ids(date_from=TODAY + dt.timedelta(days=2)) == [refs["nora_ben"], refs["oscar_ada"]]
    assert ids(date_to=TODAY + dt.timedelta(days=2)) == [refs["nora_ada"], refs["nora_ben"]]
    assert ids(date_from=TODAY + dt.timedelta(days=2), date_to=TODAY + dt.timedelta(days=2)) == [
        refs["nora_ben"]
    ]
    assert ids(doctor=doctor.pk) == [refs["nora_ada"], refs["oscar_ada"]]
    assert ids(doctor=other_clinic[0].pk, status="REQUESTED") == []


def test_unknown_status_is_400(booked, receptionist):
    response = client_for(receptionist).get("/api/v1/appointments/", {"status": "LOST"})
    assert_field_map(response, "status")


def test_patient_and_q_filters_are_403_for_a_patient(booked, patient):
    client = client_for(patient)
    for params in ({"patient": patient.pk}, {"q": "Nora"}, {"q": booked["nora_ada"].reference}):
        assert_error(client.get("/api/v1/appointments/", params), 403, "permission_denied")


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_patient_and_q_filters_work_for_staff(booked, patient, other_patient, role):
    client = client_for(make_user(role))
    refs = {name: a.reference for name, a in booked.items()}

    def ids(**params):
        return listed_ids(client.get("/api/v1/appointments/", params))

    assert ids(patient=other_patient.pk) == [refs["oscar_ada"]]
    assert ids(patient=patient.pk) == [refs["nora_ada"], refs["nora_ben"]]
    assert ids(q="oscar") == [refs["oscar_ada"]]
    assert ids(q="Nora Q") == [refs["nora_ada"], refs["nora_ben"]]
    assert ids(q=refs["oscar_ada"]) == [refs["oscar_ada"]]
    assert ids(q=refs["oscar_ada"].lower()) == [refs["oscar_ada"]]


def test_a_doctor_searches_only_among_their_own_appointments(booked, doctor, patient):
    client = client_for(doctor.user)
    found = listed_ids(client.get("/api/v1/appointments/", {"q": "Nora"}))
    assert found == [booked["nora_ada"].reference]
    assert listed_ids(client.get("/api/v1/appointments/", {"patient": patient.pk})) == found
    assert (
        listed_ids(client.get("/api/v1/appointments/", {"q": booked["nora_ben"].reference})) == []
    )


def test_editor_gets_403_and_anonymous_401_on_the_list(editor):
    assert_error(client_for(editor).get("/api/v1/appointments/"), 403, "permission_denied")
    assert_error(client_for().get("/api/v1/appointments/"), 401, "not_authenticated")


# --- appointments: create ---------------------------------------------------------------------


def test_a_patient_books_for_themself_and_gets_the_full_representation(doctor, visit_type, patient):
    start = at(TOMORROW, "09:40")

    response = client_for(patient).post("/api/v1/appointments/", booking_body(visit_type, start))

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= APPOINTMENT_FIELDS
    stored = Appointment.objects.get()
    assert isinstance(body["id"], str)
    assert body["id"] == stored.reference
    assert body["id"] != str(stored.pk)
    assert re.fullmatch(r"[A-Z0-9]{6,12}", body["id"]) and not body["id"].isdigit()
    assert body["doctor"] == {"id": doctor.pk, "name": "Dr Ada Hart"}
    assert body["patient"] == {"id": patient.pk, "name": "Nora Quinn"}
    assert body["visit_type"] == {
        "id": visit_type.pk,
        "name": visit_type.name,
        "duration_minutes": 30,
        "mode": "in_person",
    }
    assert parse(body["start"]) == start
    assert parse(body["end"]) == start + dt.timedelta(minutes=30)
    assert body["status"] == "REQUESTED"  # the clinic requires confirmation by default
    assert body["reason"] == "Persistent cough"
    assert parse(body["created_at"]) == at(TODAY, "06:00")
    assert body["checked_in_at"] is None
    assert body["waiting_minutes"] is None
    assert body["meeting_url"] is None  # an in-person visit
    assert isinstance(body["payment_status"], str) and body["payment_status"]
    assert isinstance(body["allowed_actions"], list)
    assert {"cancel", "reschedule"} <= set(body["allowed_actions"])
    assert not {"confirm", "decline", "check_in", "complete"} & set(body["allowed_actions"])
    assert (stored.patient_id, stored.start, stored.status) == (patient.pk, start, "REQUESTED")


def test_a_taken_slot_is_409_slot_unavailable_with_alternatives(visit_type, patient):
    start = at(TOMORROW, "09:40")
    book(visit_type, start)

    response = client_for(patient).post("/api/v1/appointments/", booking_body(visit_type, start))

    body = assert_error(response, 409, "slot_unavailable")
    alternatives = body["alternatives"]
    assert 1 <= len(alternatives) <= 3
    for alternative in alternatives:
        assert set(alternative) == {"start", "end"}
        assert parse(alternative["end"]) - parse(alternative["start"]) == dt.timedelta(minutes=30)
    # the next offered slots of that doctor and visit type
    assert [parse(a["start"]) for a in alternatives] == [
        at(TOMORROW, "10:20"),
        at(TOMORROW, "11:00"),
        at(TOMORROW, "11:40"),
    ]
    assert Appointment.objects.filter(patient=patient).count() == 0


def test_a_start_off_the_slot_grid_is_409_slot_unavailable(visit_type, patient):
    response = client_for(patient).post(
        "/api/v1/appointments/", booking_body(visit_type, at(TOMORROW, "09:05"))
    )
    assert_error(response, 409, "slot_unavailable")
    assert not Appointment.objects.exists()


def test_a_start_beyond_the_horizon_or_in_the_past_is_409_slot_unavailable(visit_type, patient):
    client = client_for(patient)
    for start in (at(TODAY + dt.timedelta(days=61), "09:00"), at(TODAY, "06:30")):
        response = client.post("/api/v1/appointments/", booking_body(visit_type, start))
        assert_error(response, 409, "slot_unavailable")
    assert not Appointment.objects.exists()


def test_an_overlapping_own_appointment_with_another_doctor_is_409_patient_overlap(
    visit_type, other_clinic, patient
):
    book(visit_type, at(TOMORROW, "09:40"), patient=patient)

    response = client_for(patient).post(
        "/api/v1/appointments/", booking_body(other_clinic[1], at(TOMORROW, "09:40"))
    )

    assert_error(response, 409, "patient_overlap")
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_an_unverified_patient_gets_403_email_not_verified(visit_type):
    unverified = make_user(Role.PATIENT, email_verified_at=None)
    response = client_for(unverified).post(
        "/api/v1/appointments/", booking_body(visit_type, at(TOMORROW, "09:40"))
    )
    assert_error(response, 403, "email_not_verified")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_staff_must_name_the_patient_and_their_bookings_are_confirmed(visit_type, patient, role):
    client = client_for(make_user(role))
    start = at(TOMORROW, "10:20")

    without = client.post("/api/v1/appointments/", booking_body(visit_type, start))
    assert_field_map(without, "patient")
    assert not Appointment.objects.exists()

    response = client.post(
        "/api/v1/appointments/", booking_body(visit_type, start, patient=patient.pk)
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "CONFIRMED"
    assert response.json()["patient"]["id"] == patient.pk


def test_staff_cannot_book_for_an_unknown_user_or_a_non_patient(visit_type, receptionist):
    client = client_for(receptionist)
    for target in (999999, make_user(Role.DOCTOR).pk):
        response = client.post(
            "/api/v1/appointments/",
            booking_body(visit_type, at(TOMORROW, "10:20"), patient=target),
        )
        assert_field_map(response, "patient")
    assert not Appointment.objects.exists()


def test_a_patient_naming_another_patient_gets_403(visit_type, patient, other_patient):
    response = client_for(patient).post(
        "/api/v1/appointments/",
        booking_body(visit_type, at(TOMORROW, "10:20"), patient=other_patient.pk),
    )
    assert_error(response, 403, "permission_denied")
    assert not Appointment.objects.exists()


def test_a_patient_naming_themself_books_normally(visit_type, patient):
    response = client_for(patient).post(
        "/api/v1/appointments/",
        booking_body(visit_type, at(TOMORROW, "10:20"), patient=patient.pk),
    )
    assert response.status_code == 201, response.content


def test_doctors_editors_and_anonymous_callers_cannot_book(doctor, visit_type, editor):
    body = booking_body(visit_type, at(TOMORROW, "10:20"))
    assert_error(
        client_for(doctor.user).post("/api/v1/appointments/", body), 403, "permission_denied"
    )
    assert_error(client_for(editor).post("/api/v1/appointments/", body), 403, "permission_denied")
    assert_error(client_for().post("/api/v1/appointments/", body), 401, "not_authenticated")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        pytest.param(
            {"drop": ["doctor", "visit_type", "start"]},
            ["doctor", "visit_type", "start"],
            id="missing",
        ),
        pytest.param({"start": "tomorrow at nine"}, ["start"], id="bad-datetime"),
        pytest.param({"start": "2030-02-30T09:00:00+00:00"}, ["start"], id="impossible-date"),
        pytest.param({"doctor": 999999}, ["doctor"], id="unknown-doctor"),
        pytest.param({"visit_type": 999999}, ["visit_type"], id="unknown-visit-type"),
        pytest.param({"doctor": "ada"}, ["doctor"], id="doctor-not-a-number"),
        pytest.param({"visit_type": [1]}, ["visit_type"], id="visit-type-a-list"),
        pytest.param({"reason": "x" * 5000}, ["reason"], id="reason-too-long"),
    ],
)
def test_bad_booking_input_is_400_field_map_and_stores_nothing(visit_type, patient, change, fields):
    body = booking_body(visit_type, at(TOMORROW, "10:20"))
    for name in change.pop("drop", []):
        body.pop(name)
    body.update(change)

    response = client_for(patient).post("/api/v1/appointments/", body)

    assert_field_map(response, *fields)
    assert not Appointment.objects.exists()


def test_another_doctors_visit_type_is_400(visit_type, other_clinic, patient):
    body = {**booking_body(visit_type, at(TOMORROW, "10:20")), "visit_type": other_clinic[1].pk}
    assert_field_map(client_for(patient).post("/api/v1/appointments/", body), "visit_type")
    assert not Appointment.objects.exists()


def test_meeting_url_only_for_video_visits_and_only_for_patient_doctor_and_admin(
    doctor, visit_type, patient, receptionist, admin
):
    video = VisitTypeFactory(doctor=doctor, name="Video call", mode="video", sort_order=5)
    response = client_for(patient).post(
        "/api/v1/appointments/", booking_body(video, at(TOMORROW, "09:00"))
    )
    assert response.status_code == 201, response.content
    url = response.json()["meeting_url"]
    assert isinstance(url, str) and url.startswith("http")
    reference = response.json()["id"]

    for viewer, expected in ((doctor.user, url), (admin, url), (receptionist, None)):
        body = client_for(viewer).get(detail_url(reference)).json()
        assert body["meeting_url"] == expected, viewer.role
    staff_list = client_for(receptionist).get("/api/v1/appointments/").json()["results"]
    assert [a["meeting_url"] for a in staff_list] == [None]

    in_person = book(visit_type, at(TOMORROW, "11:00"), patient=patient)
    for viewer in (patient, doctor.user, admin, receptionist):
        assert client_for(viewer).get(detail_url(in_person)).json()["meeting_url"] is None


# --- appointments: detail ---------------------------------------------------------------------


def test_detail_for_who_may_see_it_and_404_for_everybody_else(
    visit_type, other_clinic, patient, other_patient, receptionist, admin, editor
):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    for viewer in (patient, visit_type.doctor.user, receptionist, admin):
        response = client_for(viewer).get(detail_url(appointment))
        assert response.status_code == 200, viewer.role
        assert response.json()["id"] == appointment.reference
    for outsider in (other_patient, other_clinic[0].user, editor):
        assert_error(client_for(outsider).get(detail_url(appointment)), 404, "not_found")
    assert_error(client_for().get(detail_url(appointment)), 401, "not_authenticated")


def test_detail_reference_is_case_insensitive_and_numbers_are_not_ids(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    client = client_for(patient)
    lower = client.get(detail_url(appointment.reference.lower()))
    assert lower.status_code == 200
    assert lower.json()["id"] == appointment.reference
    assert_error(client.get(detail_url(str(appointment.pk))), 404, "not_found")
    assert_error(client.get(detail_url("ZZZZZZZZ")), 404, "not_found")


# --- appointments: actions --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["doctor", Role.RECEPTIONIST, Role.ADMIN])
def test_confirm_by_the_doctor_or_front_desk(visit_type, patient, who):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    user = visit_type.doctor.user if who == "doctor" else make_user(who)

    response = client_for(user).post(action_url(appointment, "confirm"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= APPOINTMENT_FIELDS
    assert (body["id"], body["status"]) == (appointment.reference, "CONFIRMED")
    assert "confirm" not in body["allowed_actions"]
    again = client_for(user).post(action_url(appointment, "confirm"))
    assert_error(again, 409, "invalid_transition")


def test_a_patient_cannot_confirm_their_own_appointment(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    assert_error(
        client_for(patient).post(action_url(appointment, "confirm")), 403, "permission_denied"
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.REQUESTED


def test_actions_on_an_invisible_appointment_are_404(visit_type, patient, other_patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    for action in ("cancel", "reschedule", "confirm", "history"):
        client = client_for(other_patient)
        response = (
            client.get(action_url(appointment, action))
            if action == "history"
            else client.post(action_url(appointment, action), {"reason": "x"})
        )
        assert_error(response, 404, "not_found")
    appointment.refresh_from_db()
    assert appointment.status == Status.REQUESTED


def test_decline_needs_a_reason_and_cancels(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    client = client_for(visit_type.doctor.user)

    assert_field_map(client.post(action_url(appointment, "decline")), "reason")
    assert_field_map(client.post(action_url(appointment, "decline"), {"reason": "  "}), "reason")
    appointment.refresh_from_db()
    assert appointment.status == Status.REQUESTED

    response = client.post(action_url(appointment, "decline"), {"reason": "On leave"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "CANCELLED"


def test_a_patient_cannot_decline(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    response = client_for(patient).post(action_url(appointment, "decline"), {"reason": "No"})
    assert_error(response, 403, "permission_denied")


def test_the_patient_cancels_before_the_cutoff_and_not_twice(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    client = client_for(patient)

    response = client.post(action_url(appointment, "cancel"), {"reason": "Feeling better"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "CANCELLED"
    assert response.json()["allowed_actions"] == []
    assert_error(client.post(action_url(appointment, "cancel")), 409, "invalid_transition")


def test_cancelling_after_the_cutoff_is_409_for_the_patient_but_staff_still_can(
    visit_type, patient, receptionist, clock
):
    appointment = book(visit_type, at(TODAY, "11:00"), patient=patient)
    clock.move_to(at(TODAY, "09:30"), tick=False)  # 90 minutes before; the cut-off is 2 h

    response = client_for(patient).post(action_url(appointment, "cancel"), {"reason": "Late"})
    assert_error(response, 409, "cancellation_cutoff")

    staff = client_for(receptionist)
    assert_field_map(staff.post(action_url(appointment, "cancel")), "reason")
    done = staff.post(action_url(appointment, "cancel"), {"reason": "Patient phoned"})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "CANCELLED"


def test_the_patient_reschedules_to_an_offered_slot(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    client_for(visit_type.doctor.user).post(action_url(appointment, "confirm"))
    new_start = at(TOMORROW, "11:00")

    response = client_for(patient).post(
        action_url(appointment, "reschedule"), {"start": new_start.isoformat(), "reason": "Work"}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == appointment.reference
    assert parse(body["start"]) == new_start
    assert parse(body["end"]) == new_start + dt.timedelta(minutes=30)
    assert body["status"] == "REQUESTED"  # back to the doctor for confirmation
    starts = [hhmm(s["start"], TOMORROW) for s in slots(visit_type.doctor, TOMORROW)]
    assert "09:00" in starts and "11:00" not in starts


def test_rescheduling_may_change_the_visit_type_and_ignores_its_own_old_time(
    doctor, visit_type, patient
):
    appointment = book(visit_type, at(TOMORROW, "09:40"), patient=patient)
    short = VisitTypeFactory(doctor=doctor, name="Quick", duration_minutes=15, sort_order=5)
    # 09:50 (15 min) overlaps the appointment's own blocked range, which does not count
    response = client_for(patient).post(
        action_url(appointment, "reschedule"),
        {"start": at(TOMORROW, "09:50").isoformat(), "visit_type": short.pk},
    )
    assert response.status_code == 200, response.content
    assert response.json()["visit_type"]["id"] == short.pk
    assert response.json()["visit_type"]["duration_minutes"] == 15


def test_rescheduling_to_a_taken_slot_is_409_and_keeps_the_old_time(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    book(visit_type, at(TOMORROW, "11:00"))

    response = client_for(patient).post(
        action_url(appointment, "reschedule"), {"start": at(TOMORROW, "11:00").isoformat()}
    )

    assert_error(response, 409, "slot_unavailable")
    appointment.refresh_from_db()
    assert appointment.start == at(TOMORROW, "09:00")
    assert not Reschedule.objects.exists()


def test_rescheduling_bad_input_is_400(visit_type, other_clinic, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    client = client_for(patient)
    url = action_url(appointment, "reschedule")
    assert_field_map(client.post(url, {}), "start")
    assert_field_map(client.post(url, {"start": "soon"}), "start")
    foreign = {"start": at(TOMORROW, "11:00").isoformat(), "visit_type": other_clinic[1].pk}
    assert_field_map(client.post(url, foreign), "visit_type")
    appointment.refresh_from_db()
    assert appointment.start == at(TOMORROW, "09:00")


def test_rescheduling_after_the_cutoff_is_409_reschedule_cutoff(visit_type, patient, clock):
    appointment = book(visit_type, at(TODAY, "11:00"), patient=patient)
    clock.move_to(at(TODAY, "09:30"), tick=False)
    response = client_for(patient).post(
        action_url(appointment, "reschedule"), {"start": at(TOMORROW, "11:00").isoformat()}
    )
    assert_error(response, 409, "reschedule_cutoff")


def test_the_fourth_reschedule_by_the_patient_is_409_reschedule_limit_staff_are_not_limited(
    visit_type, patient, receptionist
):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    client = client_for(patient)
    for hhmm_ in ("09:40", "10:20", "11:00"):
        moved = client.post(
            action_url(appointment, "reschedule"), {"start": at(TOMORROW, hhmm_).isoformat()}
        )
        assert moved.status_code == 200, moved.content
    assert "reschedule" not in moved.json()["allowed_actions"]

    fourth = client.post(
        action_url(appointment, "reschedule"), {"start": at(TOMORROW, "11:40").isoformat()}
    )
    assert_error(fourth, 409, "reschedule_limit")

    by_staff = client_for(receptionist).post(
        action_url(appointment, "reschedule"), {"start": at(TOMORROW, "11:40").isoformat()}
    )
    assert by_staff.status_code == 200, by_staff.content
    assert by_staff.json()["status"] == "CONFIRMED"


def test_check_in_today_then_waiting_minutes_count_up(visit_type, patient, receptionist, clock):
    appointment = confirmed(visit_type, at(TODAY, "09:00"), patient, receptionist)

    response = client_for(receptionist).post(action_url(appointment, "check-in"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "CHECKED_IN"
    assert parse(body["checked_in_at"]) == at(TODAY, "06:00")
    assert body["waiting_minutes"] == 0
    clock.move_to(at(TODAY, "06:12"), tick=False)
    assert client_for(patient).get(detail_url(appointment)).json()["waiting_minutes"] == 12


def test_check_in_by_the_doctor_works_and_by_the_patient_is_403(visit_type, patient, receptionist):
    appointment = confirmed(visit_type, at(TODAY, "09:00"), patient, receptionist)
    assert_error(
        client_for(patient).post(action_url(appointment, "check-in")), 403, "permission_denied"
    )
    response = client_for(visit_type.doctor.user).post(action_url(appointment, "check-in"))
    assert response.status_code == 200
    assert response.json()["status"] == "CHECKED_IN"


def test_check_in_of_a_requested_or_another_days_appointment_is_409(
    visit_type, patient, other_patient, receptionist
):
    requested = book(visit_type, at(TODAY, "09:00"), patient=patient)
    tomorrow = confirmed(visit_type, at(TOMORROW, "09:00"), other_patient, receptionist)
    client = client_for(receptionist)
    assert_error(client.post(action_url(requested, "check-in")), 409, "invalid_transition")
    assert_error(client.post(action_url(tomorrow, "check-in")), 409, "invalid_transition")


def test_no_show_only_at_or_after_the_start(visit_type, patient, receptionist, clock):
    appointment = confirmed(visit_type, at(TODAY, "09:00"), patient, receptionist)
    client = client_for(receptionist)
    url = action_url(appointment, "no-show")

    assert_error(client.post(url, {"excused": False}), 409, "invalid_transition")
    assert_error(client_for(patient).post(url), 403, "permission_denied")
    clock.move_to(at(TODAY, "09:20"), tick=False)
    response = client.post(url, {"excused": True})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "NO_SHOW"
    assert response.json()["allowed_actions"] == []
    assert_field_map(client.post(url, {"excused": "perhaps"}), "excused")


def test_complete_needs_a_finalised_record_and_only_the_doctor(
    visit_type, patient, receptionist, clock
):
    appointment = confirmed(visit_type, at(TODAY, "09:00"), patient, receptionist)
    doctor_client = client_for(visit_type.doctor.user)
    assert_error(doctor_client.post(action_url(appointment, "complete")), 409, "invalid_transition")
    doctor_client.post(action_url(appointment, "check-in"))

    assert_error(
        doctor_client.post(action_url(appointment, "complete")), 409, "record_not_finalised"
    )
    record = ConsultationRecord.objects.create(
        appointment=appointment, author=visit_type.doctor.user
    )
    assert_error(
        doctor_client.post(action_url(appointment, "complete")), 409, "record_not_finalised"
    )
    record.finalised_at = at(TODAY, "06:00")
    record.save()
    for refused in (receptionist, patient):
        assert_error(
            client_for(refused).post(action_url(appointment, "complete")),
            403,
            "permission_denied",
        )

    response = doctor_client.post(action_url(appointment, "complete"))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "COMPLETED"
    assert_error(
        doctor_client.post(action_url(appointment, "cancel"), {"reason": "x"}),
        409,
        "invalid_transition",
    )


def test_history_lists_reschedules_and_transitions(visit_type, patient, other_patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    doctor_user = visit_type.doctor.user
    client_for(doctor_user).post(action_url(appointment, "confirm"))
    client_for(patient).post(
        action_url(appointment, "reschedule"),
        {"start": at(TOMORROW, "11:00").isoformat(), "reason": "Work"},
    )

    response = client_for(patient).get(action_url(appointment, "history"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"reschedules", "transitions"}
    [reschedule] = body["reschedules"]
    assert {"old_start", "new_start", "changed_by", "reason", "changed_at"} <= set(reschedule)
    assert parse(reschedule["old_start"]) == at(TOMORROW, "09:00")
    assert parse(reschedule["new_start"]) == at(TOMORROW, "11:00")
    assert reschedule["reason"] == "Work"
    parse(reschedule["changed_at"])
    assert reschedule["changed_by"]
    transitions = body["transitions"]
    for transition in transitions:
        assert {"from", "to", "by", "at", "reason"} <= set(transition)
        parse(transition["at"])
    assert [(t["from"], t["to"]) for t in transitions] == [
        (None, "REQUESTED"),
        ("REQUESTED", "CONFIRMED"),
        ("CONFIRMED", "REQUESTED"),
    ]
    assert client_for(doctor_user).get(action_url(appointment, "history")).status_code == 200


# --- queue ------------------------------------------------------------------------------------


@pytest.fixture
def queue(visit_type, receptionist, clock):
    """Three patients of today checked in at 06:00, 06:01 and 06:02, in the order c, a, b."""
    made = {}
    for name, hhmm_ in (("a", "09:00"), ("b", "09:40"), ("c", "10:20")):
        made[name] = confirmed(
            visit_type,
            at(TODAY, hhmm_),
            make_user(Role.PATIENT, full_name=f"Pat {name}"),
            receptionist,
        )
    for minute, name in enumerate("cab"):
        clock.move_to(at(TODAY, f"06:0{minute}"), tick=False)
        response = client_for(receptionist).post(action_url(made[name], "check-in"))
        assert response.status_code == 200
    clock.move_to(at(TODAY, "06:10"), tick=False)
    return made


def test_queue_lists_checked_in_patients_in_order(doctor, queue, receptionist):
    response = client_for(receptionist).get(
        "/api/v1/queue/", {"doctor": doctor.pk, "date": TODAY.isoformat()}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert [entry["appointment"] for entry in body] == [
        queue["c"].reference,
        queue["a"].reference,
        queue["b"].reference,
    ]
    assert [entry["position"] for entry in body] == [1, 2, 3]
    first = body[0]
    assert {"position", "appointment", "patient", "checked_in_at", "waiting_minutes"} <= set(first)
    assert first["patient"] == {"id": queue["c"].patient_id, "name": "Pat c"}
    assert parse(first["checked_in_at"]) == at(TODAY, "06:00")
    assert [entry["waiting_minutes"] for entry in body] == [10, 9, 8]


def test_queue_defaults_to_the_doctor_themself_and_today(doctor, queue):
    response = client_for(doctor.user).get("/api/v1/queue/")
    assert response.status_code == 200, response.content
    assert [e["appointment"] for e in response.json()] == [
        queue["c"].reference,
        queue["a"].reference,
        queue["b"].reference,
    ]


def test_queue_needs_a_doctor_for_the_front_desk(queue, receptionist):
    assert_field_map(client_for(receptionist).get("/api/v1/queue/"), "doctor")
    assert_error(
        client_for(receptionist).get("/api/v1/queue/", {"doctor": 999999}), 404, "not_found"
    )


def test_queue_of_another_day_is_empty_and_admins_see_it(doctor, queue, admin):
    client = client_for(admin)
    today = client.get("/api/v1/queue/", {"doctor": doctor.pk})
    assert len(today.json()) == 3
    other_day = client.get("/api/v1/queue/", {"doctor": doctor.pk, "date": TOMORROW.isoformat()})
    assert other_day.status_code == 200
    assert other_day.json() == []


def test_queue_refuses_patients_editors_and_other_doctors(doctor, queue, other_clinic, editor):
    params = {"doctor": doctor.pk, "date": TODAY.isoformat()}
    for outsider in (make_user(Role.PATIENT), editor, other_clinic[0].user):
        response = client_for(outsider).get("/api/v1/queue/", params)
        assert_error(response, 403, "permission_denied")
    assert_error(client_for().get("/api/v1/queue/", params), 401, "not_authenticated")


def test_queue_reorder_by_the_front_desk(doctor, queue, receptionist):
    new_order = [queue["b"].reference, queue["c"].reference, queue["a"].reference]

    response = client_for(receptionist).post(
        "/api/v1/queue/reorder/",
        {"doctor": doctor.pk, "date": TODAY.isoformat(), "order": new_order},
    )

    assert response.status_code == 200, response.content
    assert [e["appointment"] for e in response.json()] == new_order
    assert [e["position"] for e in response.json()] == [1, 2, 3]
    again = client_for(receptionist).get("/api/v1/queue/", {"doctor": doctor.pk})
    assert [e["appointment"] for e in again.json()] == new_order


def test_queue_reorder_is_403_for_the_doctor_and_patients(doctor, queue):
    body = {
        "doctor": doctor.pk,
        "date": TODAY.isoformat(),
        "order": [queue["b"].reference, queue["c"].reference, queue["a"].reference],
    }
    for user in (doctor.user, make_user(Role.PATIENT)):
        response = client_for(user).post("/api/v1/queue/reorder/", body)
        assert_error(response, 403, "permission_denied")
    current = client_for(doctor.user).get("/api/v1/queue/").json()
    assert [e["appointment"] for e in current] == [
        queue["c"].reference,
        queue["a"].reference,
        queue["b"].reference,
    ]


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(lambda q: [q["a"].reference, q["b"].reference], id="missing-one"),
        pytest.param(
            lambda q: [q["a"].reference, q["b"].reference, q["b"].reference], id="duplicate"
        ),
        pytest.param(
            lambda q: [q["a"].reference, q["b"].reference, q["c"].reference, "ZZZZZZZZ"],
            id="unknown",
        ),
        pytest.param(lambda q: "not a list", id="not-a-list"),
    ],
)
def test_queue_reorder_with_a_bad_order_is_400_and_changes_nothing(
    doctor, queue, receptionist, order
):
    response = client_for(receptionist).post(
        "/api/v1/queue/reorder/",
        {"doctor": doctor.pk, "date": TODAY.isoformat(), "order": order(queue)},
    )
    assert_field_map(response, "order")
    current = client_for(receptionist).get("/api/v1/queue/", {"doctor": doctor.pk}).json()
    assert [e["position"] for e in current] == [1, 2, 3]
    assert current[0]["appointment"] == queue["c"].reference


# --- error shapes, garbage input --------------------------------------------------------------


BIG = "9" * 30


@pytest.mark.parametrize(
    ("who", "method", "url", "data"),
    [
        ("anon", "get", "/api/v1/doctors/{doctor}/slots/?visit_type=abc", None),
        ("anon", "get", "/api/v1/doctors/{doctor}/slots/?visit_type=" + BIG, None),
        ("anon", "get", "/api/v1/doctors/{doctor}/slots/?date_from=2030-02-30", None),
        ("anon", "get", "/api/v1/doctors/{doctor}/slots/?date_from=99999-01-01", None),
        ("anon", "get", "/api/v1/doctors/" + BIG + "/slots/", None),
        ("anon", "get", "/api/v1/doctors/" + BIG + "/", None),
        ("staff", "get", "/api/v1/appointments/?page_size=" + BIG, None),
        ("staff", "get", "/api/v1/appointments/?page_size=-5", None),
        ("staff", "get", "/api/v1/appointments/?page=abc", None),
        ("staff", "get", "/api/v1/appointments/?page=" + BIG, None),
        ("staff", "get", "/api/v1/appointments/?doctor=abc", None),
        ("staff", "get", "/api/v1/appointments/?doctor=" + BIG, None),
        ("staff", "get", "/api/v1/appointments/?patient=" + BIG, None),
        ("staff", "get", "/api/v1/appointments/?date_from=yesterday", None),
        ("staff", "get", "/api/v1/appointments/?q=" + "x" * 500, None),
        ("staff", "get", "/api/v1/appointments/?q=%00", None),
        ("staff", "get", "/api/v1/appointments/?status=%00", None),
        ("staff", "get", "/api/v1/appointments/%00ABC/", None),
        ("staff", "post", "/api/v1/appointments/%00ABC/cancel/", '{"reason": "x"}'),
        ("staff", "get", "/api/v1/appointments/" + "A" * 300 + "/", None),
        ("staff", "get", "/api/v1/queue/?doctor=abc&date=someday", None),
        ("staff", "get", "/api/v1/queue/?doctor=" + BIG, None),
        ("staff", "get", "/api/v1/queue/", None),
        ("staff", "post", "/api/v1/appointments/", "{not json"),
        ("staff", "post", "/api/v1/appointments/", "[1, 2]"),
        ("staff", "post", "/api/v1/appointments/", '{"doctor": ' + BIG + ', "visit_type": 1}'),
        ("patient", "post", "/api/v1/appointments/", '{"doctor": 1e400, "visit_type": "1"}'),
        (
            "patient",
            "post",
            "/api/v1/appointments/",
            '{"doctor": {doctor}, "visit_type": ' + BIG + ', "start": "2030-01-08T09:00Z"}',
        ),
        (
            "patient",
            "post",
            "/api/v1/appointments/",
            '{"doctor": ' + BIG + ', "visit_type": {visit_type}, "start": "2030-01-08T09:00Z"}',
        ),
        (
            "staff",
            "post",
            "/api/v1/appointments/",
            '{"doctor": {doctor}, "visit_type": {visit_type}, "start": "2030-01-08T09:00Z",'
            ' "patient": ' + BIG + "}",
        ),
        ("staff", "post", "/api/v1/appointments/{ref}/reschedule/", '{"start": 42}'),
        ("staff", "post", "/api/v1/appointments/{ref}/cancel/", '{"reason": ["a", "b"]}'),
        ("staff", "post", "/api/v1/appointments/{ref}/no-show/", '{"excused": "maybe"}'),
        ("staff", "post", "/api/v1/queue/reorder/", '{"doctor": "x", "date": 3, "order": 7}'),
        (
            "staff",
            "post",
            "/api/v1/queue/reorder/",
            '{"doctor": ' + BIG + ', "date": "2030-01-07", "order": []}',
        ),
        ("staff", "put", "/api/v1/doctors/{doctor}/weekly-schedule/", '[{"weekday": "x"}]'),
        ("staff", "put", "/api/v1/doctors/{doctor}/weekly-schedule/", "null"),
        ("staff", "post", "/api/v1/doctors/{doctor}/exceptions/", '{"kind": {"a": 1}}'),
        ("staff", "delete", "/api/v1/doctors/{doctor}/exceptions/" + BIG + "/", None),
        ("staff", "delete", "/api/v1/appointments/{ref}/", None),
        ("staff", "get", "/api/v1/appointments/{ref}/confirm/", None),
        ("staff", "put", "/api/v1/queue/", "{}"),
    ],
)
def test_garbage_input_never_gives_a_500_and_errors_have_the_documented_shape(
    visit_type, patient, receptionist, who, method, url, data
):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    fill = {
        "{doctor}": str(visit_type.doctor_id),
        "{visit_type}": str(visit_type.pk),
        "{ref}": appointment.reference,
    }
    for key, value in fill.items():
        url = url.replace(key, value)
        data = data.replace(key, value) if data else data
    user = {"anon": None, "staff": receptionist, "patient": patient}[who]
    client = client_for(user)
    if data is None:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, data, content_type="application/json")

    assert response.status_code < 500, response.content
    body = response.json()
    if response.status_code >= 400:
        if isinstance(body, dict) and ("detail" in body or response.status_code != 400):
            assert {"detail", "code"} <= set(body), body
        else:
            assert response.status_code == 400
            assert isinstance(body, dict | list), body


def test_malformed_json_is_400_with_detail_and_code(visit_type, patient):
    response = client_for(patient).post(
        "/api/v1/appointments/", "{oops", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")
    assert not Appointment.objects.exists()


def test_an_unsupported_media_type_is_415_with_detail_and_code(visit_type, patient):
    response = client_for(patient).post(
        "/api/v1/appointments/", "doctor=1", content_type="text/plain"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_an_unsupported_method_is_405_with_detail_and_code(visit_type, patient):
    appointment = book(visit_type, at(TOMORROW, "09:00"), patient=patient)
    assert_error(client_for(patient).delete(detail_url(appointment)), 405, "method_not_allowed")


def test_options_on_the_appointment_list_describes_the_booking_body(patient):
    """It was a 500: the view had no serializer for DRF's metadata to describe."""
    response = client_for(patient).options("/api/v1/appointments/")

    assert response.status_code == 200, response.content
    assert {"doctor", "visit_type", "start"} <= set(response.json()["actions"]["POST"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/doctors/abc/",  # `{id}` is a number
        "/api/v1/doctors/-1/exceptions/0/",
        "/api/v1/appointments/K7Q2/M9XD/",
        "/api/v1/no-such-endpoint/",
        "/api/v2/doctors/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_api_path_no_route_matches_is_a_json_404_by_any_method(patient, path, method):
    """They were Wagtail's HTML 404 page, and for a signed-in POST the HTML CSRF refusal (403)."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(patient)

    response = getattr(client, method)(path)

    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


# --- schema -----------------------------------------------------------------------------------


def test_openapi_schema_lists_appointments_and_slots():
    response = client_for().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/appointments/" in paths
    assert any(p.startswith("/api/v1/doctors/{") and p.endswith("/slots/") for p in paths)
    assert any(p.startswith("/api/v1/queue/") for p in paths)
    yaml = client_for().get("/api/v1/schema/")
    assert yaml.status_code == 200
    assert b"/api/v1/appointments/" in yaml.content


def _openapi() -> dict:
    return client_for().get("/api/v1/schema/", {"format": "json"}).json()


def _resolve(doc: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _answer(doc: dict, path: str, method: str, status: int) -> dict:
    """The documented JSON body of one answer, its reference resolved."""
    response = doc["paths"][path][method]["responses"][str(status)]
    return _resolve(doc, response["content"]["application/json"]["schema"])


def test_openapi_document_is_valid_and_generates_without_warnings(tmp_path):
    from django.core.management import call_command
    from drf_spectacular.validation import validate_schema

    validate_schema(_openapi())  # the document as served (OpenAPI 3.0 meta-schema)
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "api.yaml")


ACTIONS = ["confirm", "decline", "cancel", "reschedule", "check-in", "no-show", "complete"]


def test_schema_documents_the_error_answers_of_appointments():
    """Every status the booking endpoints answer with is in the schema, in api-v1.md's shapes
    (the schema had only the success answers)."""
    doc = _openapi()
    listing = doc["paths"]["/api/v1/appointments/"]
    assert set(listing["get"]["responses"]) == {"200", "400", "401", "403", "404"}  # 404: page
    assert set(listing["post"]["responses"]) == {"201", "400", "401", "403", "409", "429"}
    for action in ACTIONS:
        answers = doc["paths"][f"/api/v1/appointments/{{reference}}/{action}/"]["post"]
        assert {"200", "401", "403", "404", "409", "429"} <= set(answers["responses"]), action

    error = _answer(doc, "/api/v1/appointments/", "post", 401)
    assert error["required"] == ["detail", "code"]
    conflict = _answer(doc, "/api/v1/appointments/", "post", 409)
    assert {"detail", "code", "alternatives"} <= set(conflict["properties"])
    bad_request = _answer(doc, "/api/v1/appointments/", "post", 400)["anyOf"]
    assert [_resolve(doc, option) for option in bad_request] == [
        doc["components"]["schemas"]["FieldErrors"],
        doc["components"]["schemas"]["Error"],
    ]


def test_schema_documents_the_queue_as_the_list_it_is(doctor, queue, receptionist):
    """It was documented as an object."""
    doc = _openapi()
    for path, method in (("/api/v1/queue/", "get"), ("/api/v1/queue/reorder/", "post")):
        documented = doc["paths"][path][method]["responses"]["200"]["content"]
        assert documented["application/json"]["schema"]["type"] == "array"
    entry = _resolve(doc, _answer(doc, "/api/v1/queue/", "get", 200)["items"])

    body = client_for(receptionist).get("/api/v1/queue/", {"doctor": doctor.pk}).json()

    assert body and set(entry["required"]) <= set(body[0]) <= set(entry["properties"])


@pytest.mark.parametrize("url", ["/api/docs/", "/swagger/"])
def test_interactive_docs_are_served(url):
    response = client_for().get(url)
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


# --- throttling -------------------------------------------------------------------------------


def test_the_fourth_write_within_a_minute_is_429_and_reads_are_not_throttled(
    settings, monkeypatch, visit_type, patient
):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "writes": "3/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    client = client_for(patient)

    answers = [
        client.post("/api/v1/appointments/", booking_body(visit_type, at(TOMORROW, hhmm_)))
        for hhmm_ in ("09:00", "10:20", "11:40", "12:20")
    ]

    assert [r.status_code for r in answers[:3]] == [201, 201, 201]
    assert_error(answers[3], 429, "throttled")
    assert Appointment.objects.count() == 3
    for _ in range(6):
        assert client.get("/api/v1/appointments/").status_code == 200
        assert client.get(detail_url(answers[0].json()["id"])).status_code == 200


# --- query counts -----------------------------------------------------------------------------


def _count_queries(client, url, params=None):
    client.get(url, params)  # warm per-process caches (content types, the policies row)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response


def test_appointment_list_query_count_does_not_grow_with_appointments(
    visit_type, other_clinic, receptionist
):
    patients = [make_user(Role.PATIENT) for _ in range(3)]
    client = client_for(receptionist)
    book_many([visit_type, other_clinic[1]], patients, 3)
    few, _ = _count_queries(client, "/api/v1/appointments/")
    book_many([visit_type, other_clinic[1]], patients, 27, first_day=TODAY + dt.timedelta(days=5))
    many, response = _count_queries(client, "/api/v1/appointments/", {"page_size": 50})
    assert response.json()["count"] == 30
    assert few == many == APPOINTMENT_LIST_QUERIES


def test_slot_query_count_does_not_grow_with_booked_appointments(doctor, visit_type):
    url = slots_url(doctor)
    params = {"date_from": TOMORROW, "date_to": TOMORROW + dt.timedelta(days=13)}
    none_booked, _ = _count_queries(client_for(), url, params)
    book_many([visit_type], [make_user(Role.PATIENT) for _ in range(2)], 20)
    many_booked, response = _count_queries(client_for(), url, params)
    assert len(response.json()) == 14 * len(GRID) - 20
    assert none_booked == many_booked == SLOT_QUERIES
