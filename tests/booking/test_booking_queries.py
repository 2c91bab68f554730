"""How many SQL statements one booking costs through the API, authentication included.

The booking path checks every rule inside its transaction; these pins keep it from growing
back. Counted with a real access token (the user is read by the authentication), after one
warm-up booking so per-process caches (content types) are filled.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from tests.factories import at, bookable_doctor, make_user

# A real transaction and the task queue in the database, as in production.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The user with its role; the policies; then, between BEGIN and COMMIT, the doctor locked with
# the visit type and the day's schedule, the appointments the rules look at, the insert, its
# transition and activity rows, and the notice's task row.
BOOKING_QUERIES = 8
TRANSACTION_CONTROL = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")


@pytest.fixture(autouse=True)
def tasks_in_the_database(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


TODAY = dt.date(2030, 1, 7)  # a Monday
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)


def _client(user) -> APIClient:
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _book(client, visit_type, hhmm, *, key=None):
    body = {
        "doctor": visit_type.doctor_id,
        "visit_type": visit_type.pk,
        "start": at(TOMORROW, hhmm).isoformat(),
        "reason": "Persistent cough",
    }
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/api/v1/appointments/", body, format="json", **headers)
    return response, [q["sql"] for q in ctx.captured_queries]


def _statements(queries):
    """What the booking asked of the database, without BEGIN and COMMIT (PostgreSQL's driver
    and SQLite's log them in their own words)."""
    return [q for q in queries if q.upper() not in TRANSACTION_CONTROL]


@pytest.mark.parametrize("key", [None, "3b9c7e1e-booking"], ids=["no-key", "idempotency-key"])
def test_one_booking_costs_eight_statements(key):
    _, visit_type = bookable_doctor()
    patient = make_user(Role.PATIENT)
    client = _client(patient)
    _book(client, visit_type, "09:00")

    response, queries = _book(client, visit_type, "10:20", key=key)

    assert response.status_code == 201, response.content
    statements = _statements(queries)
    assert len(statements) == BOOKING_QUERIES, "\n".join(statements)
    assert Appointment.objects.filter(status=Status.REQUESTED).count() == 2
    assert response.json()["allowed_actions"] == ["cancel", "reschedule"]


def test_a_taken_slot_is_refused_without_writing():
    _, visit_type = bookable_doctor()
    client = _client(make_user(Role.PATIENT))
    _book(client, visit_type, "09:40")

    response, queries = _book(_client(make_user(Role.PATIENT)), visit_type, "09:40")

    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    assert not [q for q in _statements(queries) if q.startswith("INSERT")]
    assert Appointment.objects.count() == 1
