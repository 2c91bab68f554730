"""Consultation record API (api-v1.md, "Consultation record"): shapes, who may call what, and the
error codes — 403 `permission_denied` for receptionists, 404 for what is not visible or does not
exist, 409 `record_finalised` / `record_not_finalised`, 400 field maps — plus medicine
suggestions. Every answer carrying a record is logged as an `api` read.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from records.models import ConsultationRecord, RecordAccess
from tests.factories import (
    at,
    book,
    bookable_doctor,
    completed_visit,
    make_user,
    visit_in_progress,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2030, 1, 7)  # a Monday
PAST = TODAY - dt.timedelta(days=7)
OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")
CONTRACT_FIELDS = {
    "diagnosis",
    "notes",
    "prescriptions",
    "tests",
    "finalised_at",
    "addenda",
}
BODY = {
    "diagnosis": "Acute bronchitis",
    "notes": "Cough for ten days, chest clear.",
    "prescriptions": [
        {
            "drug": "Amoxicillin",
            "dose": "500 mg",
            "frequency": "three times a day",
            "duration": "7 days",
            "instructions": "Finish the course.",
        },
        {"drug": "Paracetamol"},
    ],
    "tests": [{"name": "Chest X-ray", "notes": "If not better in a week"}],
}
# Pinned: GET of a record for its doctor (force_authenticate, so no session queries): the
# appointment (doctor, patient, visit type, record joined), the record, its prescriptions,
# tests and addenda, the access-log insert and the activity-log insert.
GET_QUERIES = 7


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "09:15"), tick=False)
    return time_machine


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


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
    assert "code" not in body, body
    for field in fields:
        assert body.get(field), body
    return body


def url(appointment, tail: str = "") -> str:
    reference = appointment if isinstance(appointment, str) else appointment.reference
    return f"/api/v1/appointments/{reference}/consultation/{tail}"


@pytest.fixture
def clinic():
    return bookable_doctor(name="Dr Ada Hart")


@pytest.fixture
def doctor_user(clinic):
    return clinic[0].user


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Quinn")


@pytest.fixture
def visit(visit_type, patient):
    return visit_in_progress(visit_type, at(TODAY, "09:00"), patient=patient)


@pytest.fixture
def doctor(doctor_user):
    return client_for(doctor_user)


# --- the happy path, and the representation ----------------------------------------------------


def test_write_finalise_complete_and_read_through_the_api(doctor, visit, patient):
    assert_error(doctor.get(url(visit)), 404, "not_found")  # none yet

    response = doctor.put(url(visit), BODY, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) >= CONTRACT_FIELDS
    assert data["diagnosis"] == "Acute bronchitis"
    assert data["prescriptions"] == [
        BODY["prescriptions"][0],
        {"drug": "Paracetamol", "dose": "", "frequency": "", "duration": "", "instructions": ""},
    ]
    assert data["tests"] == BODY["tests"]
    assert (data["finalised_at"], data["addenda"], data["status"]) == (None, [], "draft")
    assert data["appointment"] == visit.reference

    response = doctor.post(url(visit, "finalise/"), {"complete": True}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert OFFSET.search(data["finalised_at"])
    assert data["status"] == "finalised"
    assert data["finalised_by"] == "Dr Ada Hart"  # the professional name, as signed
    assert Appointment.objects.get(pk=visit.pk).status == Status.COMPLETED

    response = doctor.post(url(visit, "addenda/"), {"text": "X-ray normal."}, format="json")
    assert response.status_code == 201, response.content
    (addendum,) = response.json()["addenda"]
    assert addendum["text"] == "X-ray normal."
    assert addendum["by"] == "Dr Ada Hart"
    assert dt.datetime.fromisoformat(addendum["at"]) == at(TODAY, "09:15")

    # The patient, now that the visit is completed, reads the same representation.
    mine = client_for(patient).get(url(visit))
    assert mine.status_code == 200
    assert mine.json()["diagnosis"] == "Acute bronchitis"
    assert [a["text"] for a in mine.json()["addenda"]] == ["X-ray normal."]


def test_finalise_without_complete_leaves_the_appointment_checked_in(doctor, visit):
    doctor.put(url(visit), BODY, format="json")
    response = doctor.post(url(visit, "finalise/"))
    assert response.status_code == 200
    assert Appointment.objects.get(pk=visit.pk).status == Status.CHECKED_IN
    response = client_for(visit.doctor.user).post(
        f"/api/v1/appointments/{visit.reference}/complete/"
    )
    assert response.status_code == 200
    assert response.json()["status"] == Status.COMPLETED


def test_complete_before_finalising_is_record_not_finalised(doctor, visit):
    complete = f"/api/v1/appointments/{visit.reference}/complete/"
    assert_error(doctor.post(complete), 409, "record_not_finalised")
    doctor.put(url(visit), BODY, format="json")
    assert_error(doctor.post(complete), 409, "record_not_finalised")


# --- errors -------------------------------------------------------------------------------------


def test_put_once_finalised_is_409_record_finalised(doctor, visit):
    doctor.put(url(visit), BODY, format="json")
    doctor.post(url(visit, "finalise/"))
    body = assert_error(
        doctor.put(url(visit), {**BODY, "diagnosis": "Pneumonia"}, format="json"),
        409,
        "record_finalised",
    )
    assert "addendum" in body["detail"]
    assert_error(doctor.post(url(visit, "finalise/")), 409, "record_finalised")
    assert ConsultationRecord.objects.get(appointment=visit).diagnosis == "Acute bronchitis"


def test_finalise_without_diagnosis_is_400_on_diagnosis(doctor, visit):
    assert_field_map(doctor.post(url(visit, "finalise/")), "diagnosis")  # nothing written yet
    doctor.put(url(visit), {**BODY, "diagnosis": ""}, format="json")
    assert_field_map(doctor.post(url(visit, "finalise/"), {"complete": True}), "diagnosis")
    assert ConsultationRecord.objects.get(appointment=visit).finalised_at is None
    assert Appointment.objects.get(pk=visit.pk).status == Status.CHECKED_IN


def test_finalise_and_complete_refused_together(doctor, visit_type, patient):
    appointment = book(visit_type, at(TODAY, "10:20"), patient=patient, now=at(PAST, "08:00"))
    client_for(visit_type.doctor.user).post(
        f"/api/v1/appointments/{appointment.reference}/confirm/"
    )
    doctor.put(url(appointment), BODY, format="json")
    assert_error(
        doctor.post(url(appointment, "finalise/"), {"complete": True}, format="json"),
        409,
        "invalid_transition",
    )
    assert ConsultationRecord.objects.get(appointment=appointment).finalised_at is None


def test_addenda_need_a_finalised_record_and_text(doctor, visit):
    assert_error(
        doctor.post(url(visit, "addenda/"), {"text": "x"}, format="json"),
        409,
        "record_not_finalised",
    )
    doctor.put(url(visit), BODY, format="json")
    doctor.post(url(visit, "finalise/"))
    assert_field_map(doctor.post(url(visit, "addenda/"), {"text": ""}, format="json"), "text")
    assert_field_map(doctor.post(url(visit, "addenda/"), {}, format="json"), "text")


def test_a_cancelled_visit_gets_no_record(doctor, visit):
    Appointment.objects.filter(pk=visit.pk).update(status=Status.CANCELLED)
    assert_error(doctor.put(url(visit), BODY, format="json"), 409, "record_not_open")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"prescriptions": [{"dose": "500 mg"}]}, "prescriptions"),
        ({"prescriptions": [{"drug": ""}]}, "prescriptions"),
        ({"prescriptions": "Amoxicillin"}, "prescriptions"),
        ({"prescriptions": [{"drug": "x" * 201}]}, "prescriptions"),
        ({"tests": [{"notes": "no name"}]}, "tests"),
        ({"tests": [{"name": None}]}, "tests"),
        ({"diagnosis": "x" * 1001}, "diagnosis"),
        ({"diagnosis": ["not", "text"]}, "diagnosis"),
        ({"notes": "nul\x00byte"}, "notes"),
        ({"prescriptions": [{"drug": "A"}] * 51}, "prescriptions"),
    ],
)
def test_bad_bodies_are_400_field_maps_and_store_nothing(doctor, visit, body, field):
    assert_field_map(doctor.put(url(visit), body, format="json"), field)
    assert not ConsultationRecord.objects.exists()


# --- who may call what ------------------------------------------------------------------------


@pytest.fixture
def finalised(visit, doctor):
    doctor.put(url(visit), BODY, format="json")
    doctor.post(url(visit, "finalise/"))
    return visit


def people(visit_type, patient):
    other_doctor, _ = bookable_doctor(name="Dr Ben Other")
    return {
        "treating_doctor": visit_type.doctor.user,
        "other_doctor": other_doctor.user,
        "patient": patient,
        "other_patient": make_user(Role.PATIENT),
        "receptionist": make_user(Role.RECEPTIONIST),
        "admin": make_user(Role.ADMIN),
        "editor": make_user(Role.EDITOR),
    }


READ_BEFORE_COMPLETION = {
    "treating_doctor": 200,
    "other_doctor": 404,
    "patient": 404,
    "other_patient": 404,
    "receptionist": 403,
    "admin": 200,
    "editor": 404,
}


def test_read_permissions_before_and_after_completion(finalised, visit_type, patient):
    cast = people(visit_type, patient)
    earlier = list(RecordAccess.objects.values_list("pk", flat=True))  # the doctor's writes
    for who, expected in READ_BEFORE_COMPLETION.items():
        response = client_for(cast[who]).get(url(finalised))
        assert response.status_code == expected, (who, response.content)
        if expected == 403:
            assert response.json()["code"] == "permission_denied"
        if expected == 200:
            assert response.json()["diagnosis"] == "Acute bronchitis"
    logged = list(
        RecordAccess.objects.exclude(pk__in=earlier).order_by("pk").values_list("user", "how")
    )
    assert logged == [(cast["treating_doctor"].pk, "api"), (cast["admin"].pk, "api")]

    client_for(cast["treating_doctor"]).post(
        f"/api/v1/appointments/{finalised.reference}/complete/"
    )
    assert client_for(patient).get(url(finalised)).status_code == 200
    assert RecordAccess.objects.filter(user=patient, how="api").count() == 1
    for who in ("other_patient", "editor", "other_doctor"):
        assert client_for(cast[who]).get(url(finalised)).status_code == 404, who
    assert_error(client_for(cast["receptionist"]).get(url(finalised)), 403, "permission_denied")


@pytest.mark.parametrize(
    "who, expected",
    [
        ("other_doctor", 404),
        ("patient", 403),
        ("other_patient", 404),
        ("receptionist", 403),
        ("admin", 403),
        ("editor", 404),
    ],
)
def test_only_the_treating_doctor_writes(visit, visit_type, patient, who, expected):
    user = people(visit_type, patient)[who]
    client = client_for(user)
    for method, tail, body in [
        ("put", "", BODY),
        ("post", "finalise/", {}),
        ("post", "addenda/", {"text": "x"}),
    ]:
        response = getattr(client, method)(url(visit, tail), body, format="json")
        assert response.status_code == expected, (who, tail, response.content)
        if expected == 403:
            assert response.json()["code"] == "permission_denied"
    assert not ConsultationRecord.objects.exists()


def test_anonymous_is_401(visit):
    assert client_for().get(url(visit)).status_code == 401
    assert client_for().put(url(visit), BODY, format="json").status_code == 401


@pytest.mark.parametrize("reference", ["ZZZZ9999", "nope", "X" * 40])
def test_unknown_appointment_is_404(doctor, reference):
    assert_error(doctor.get(url(reference)), 404, "not_found")
    assert_error(doctor.put(url(reference), BODY, format="json"), 404, "not_found")


def test_get_runs_a_fixed_number_of_queries(doctor, finalised, doctor_user):
    for i in range(3):
        client_for(doctor_user).post(url(finalised, "addenda/"), {"text": f"n{i}"}, format="json")
    with CaptureQueriesContext(connection) as ctx:
        response = doctor.get(url(finalised))
    assert response.status_code == 200
    assert len(response.json()["addenda"]) == 3
    assert len(ctx.captured_queries) == GET_QUERIES, [q["sql"] for q in ctx.captured_queries]


# --- medicines ----------------------------------------------------------------------------------


def test_medicine_suggestions_for_doctors(doctor):
    response = doctor.get("/api/v1/medicines/", {"q": "amox"})
    assert response.status_code == 200
    body = response.json()
    assert {"count", "next", "previous", "results"} <= set(body)
    assert [m["name"] for m in body["results"]] == ["Amoxicillin", "Co-amoxiclav"]
    assert set(body["results"][0]) == {
        "id",
        "name",
        "form",
        "strength",
        "default_dose",
        "default_frequency",
    }
    assert doctor.get("/api/v1/medicines/", {"q": "\x00"}).status_code in (200, 400)
    assert doctor.get("/api/v1/medicines/").json()["count"] >= 30


@pytest.mark.parametrize("role", [Role.PATIENT, Role.RECEPTIONIST, Role.ADMIN, Role.EDITOR])
def test_medicine_suggestions_are_for_doctors_only(role):
    response = client_for(make_user(role)).get("/api/v1/medicines/", {"q": "a"})
    assert_error(response, 403, "permission_denied")


# --- schema -------------------------------------------------------------------------------------


def test_schema_documents_the_consultation_endpoints():
    response = client_for().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    base = "/api/v1/appointments/{reference}/consultation/"
    assert {"get", "put"} <= set(paths[base])
    assert "post" in paths[base + "finalise/"]
    assert "post" in paths[base + "addenda/"]
    assert "/api/v1/medicines/" in paths


def test_completed_visit_factory_gives_a_readable_record(visit_type, patient):
    appointment = completed_visit(visit_type, at(PAST, "09:00"), patient=patient)
    assert client_for(patient).get(url(appointment)).json()["tests"][0]["name"] == (
        "Full blood count"
    )
