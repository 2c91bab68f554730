"""The API refuses bodies it cannot take and answers every error under /api/ in its JSON shape
(api-v1.md: "JSON in and out", "Never a 500 for bad input", errors `{"detail", "code"}`).

- Only JSON bodies are read: a form or multipart body is `415 unsupported_media_type`, so a
  form that parses to nothing can no longer replace a doctor's week with an empty one (nor a
  consultation draft with a blank one); a JSON body that is not a list is a `400` for the week.
- JSON nested deeper than `MAX_JSON_DEPTH` is `400 parse_error` (it used to exhaust Python's
  recursion and answer 500), on every JSON endpoint, signed in or not.
- Django's own refusals under /api/ (a bad Host header, a body or query string over Django's
  limits, a CSRF failure, a server error, a method the docs or schema view do not take, a path
  without its trailing slash) answer JSON, never an HTML page or a redirect.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from clinic_site import views
from clinic_site.accounts.roles import Role
from clinic_site.parsers import MAX_JSON_DEPTH
from doctors.models import WeeklyWindow
from records.models import ConsultationRecord
from tests.factories import at, bookable_doctor, make_user, visit_in_progress, write_record

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
FORM = "application/x-www-form-urlencoded"
DEEP = 100_000
WEEK = [{"weekday": 0, "start": "14:00", "end": "18:00"}]


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "08:00"), tick=False)


def api_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"detail", "code"}, body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def stored_week(doctor) -> list[tuple[int, str, str]]:
    return [
        (w.weekday, f"{w.start:%H:%M}", f"{w.end:%H:%M}")
        for w in WeeklyWindow.objects.filter(doctor=doctor).order_by("weekday", "start")
    ]


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# --- the weekly schedule: only a JSON list replaces the week -------------------------------------


@pytest.fixture
def doctor():
    return bookable_doctor(name="Dr Ada Hart", slug="ada-hart")[0]


def weekly_url(doctor) -> str:
    return reverse("api-weekly-schedule", args=[doctor.pk])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("weekday=0&start=09:00&end=13:00", FORM),
        ("", FORM),
        (
            "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
        ("--b--\r\n", "multipart/form-data; boundary=b"),
        ("weekday,start,end\n0,09:00,13:00\n", "text/csv"),
    ],
    ids=["form", "empty form", "multipart", "empty multipart", "csv"],
)
@pytest.mark.parametrize("who", ["doctor", "receptionist"])
def test_a_non_json_body_is_415_and_keeps_the_week(doctor, who, body, content_type):
    before = stored_week(doctor)
    assert len(before) == 7
    user = doctor.user if who == "doctor" else make_user(Role.RECEPTIONIST)
    response = api_for(user).generic("PUT", weekly_url(doctor), body, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert stored_week(doctor) == before


@pytest.mark.parametrize(
    "body",
    ['{"weekday": 0, "start": "09:00", "end": "13:00"}', "{}", '"09:00"', "1", "null", ""],
    ids=["object", "empty object", "string", "number", "null", "empty body"],
)
def test_a_json_body_that_is_not_a_list_is_400_and_keeps_the_week(doctor, body):
    before = stored_week(doctor)
    response = api_for(doctor.user).generic(
        "PUT", weekly_url(doctor), body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "non_field_errors" in response.json()
    assert stored_week(doctor) == before


def test_a_json_list_still_replaces_the_week_and_an_empty_list_clears_it(doctor):
    client = api_for(doctor.user)
    assert client.put(weekly_url(doctor), WEEK, format="json").status_code == 200
    assert stored_week(doctor) == [(0, "14:00", "18:00")]
    assert client.put(weekly_url(doctor), [], format="json").json() == []
    assert stored_week(doctor) == []


# --- every other write takes JSON only ---------------------------------------------------------


def test_a_form_body_cannot_blank_a_consultation_draft(doctor):
    visit_type = doctor.visit_types.get()
    visit = visit_in_progress(visit_type, at(TODAY, "09:00"))
    write_record(visit, now=at(TODAY, "09:10"))
    url = reverse("api-consultation", args=[visit.reference])
    for body, content_type in (("diagnosis=", FORM), ("", FORM)):
        response = api_for(doctor.user).generic("PUT", url, body, content_type=content_type)
        assert_error(response, 415, "unsupported_media_type")
    record = ConsultationRecord.objects.get(appointment=visit)
    assert record.diagnosis == "Acute bronchitis"
    assert record.prescriptions.count() == 1


@pytest.mark.parametrize(
    ("method", "url_name", "role"),
    [
        ("POST", "api-token", None),
        ("POST", "api-register", None),
        ("POST", "api-appointments", Role.PATIENT),
        ("POST", "api-queue-reorder", Role.RECEPTIONIST),
        ("PATCH", "api-me", Role.PATIENT),
    ],
)
def test_form_bodies_are_415_on_every_json_endpoint(method, url_name, role):
    user = make_user(role) if role else None
    response = api_for(user).generic(
        method, reverse(url_name), "email=a%40b.test&password=x&full_name=X", content_type=FORM
    )
    assert_error(response, 415, "unsupported_media_type")


def test_schedule_exceptions_take_json_only(doctor):
    response = api_for(doctor.user).generic(
        "POST",
        reverse("api-schedule-exceptions", args=[doctor.pk]),
        "kind=day_off&date_from=2031-03-10&date_to=2031-03-10",
        content_type=FORM,
    )
    assert_error(response, 415, "unsupported_media_type")
    assert not doctor.schedule_exceptions.exists()


def test_the_schema_documents_json_request_bodies_only():
    schema = api_for().get(reverse("api-schema"), {"format": "json"}).json()
    media = {
        content_type
        for operations in schema["paths"].values()
        for operation in operations.values()
        for content_type in operation.get("requestBody", {}).get("content", {})
    }
    assert media == {"application/json"}


# --- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [nested_list, nested_object], ids=["arrays", "objects"])
@pytest.mark.parametrize(
    ("method", "url_name", "role"),
    [
        ("POST", "api-token", None),
        ("POST", "api-token-refresh", None),
        ("POST", "api-register", None),
        ("POST", "api-verify-email", None),
        ("POST", "api-appointments", Role.PATIENT),
        ("PATCH", "api-me", Role.PATIENT),
        ("POST", "api-queue-reorder", Role.RECEPTIONIST),
    ],
)
def test_deeply_nested_json_is_400_parse_error_not_500(method, url_name, role, shape):
    user = make_user(role) if role else None
    client = api_for(user)
    client.raise_request_exception = False
    response = client.generic(
        method, reverse(url_name), shape(DEEP), content_type="application/json"
    )
    body = assert_error(response, 400, "parse_error")
    assert str(MAX_JSON_DEPTH) in body["detail"]


def test_the_weekly_schedule_refuses_deep_nesting_and_keeps_the_week(doctor):
    before = stored_week(doctor)
    client = api_for(doctor.user)
    client.raise_request_exception = False
    response = client.generic(
        "PUT", weekly_url(doctor), nested_list(DEEP), content_type="application/json"
    )
    assert_error(response, 400, "parse_error")
    assert stored_week(doctor) == before


def test_nesting_up_to_the_limit_is_parsed_and_one_more_level_is_refused():
    def body(depth: int) -> str:  # `depth` levels in all, the outer object included
        return '{"email": ' + nested_list(depth - 1) + ', "password": "x"}'

    at_limit = api_for().generic(
        "POST", reverse("api-token"), body(MAX_JSON_DEPTH), content_type="application/json"
    )
    assert at_limit.status_code == 400
    assert "email" in at_limit.json()  # parsed: a field error, not a parse error
    too_deep = api_for().generic(
        "POST", reverse("api-token"), body(MAX_JSON_DEPTH + 1), content_type="application/json"
    )
    assert_error(too_deep, 400, "parse_error")


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = "[{" * 5000 + '\\"'
    response = api_for().post(reverse("api-token"), {"email": text, "password": "x"}, format="json")
    assert response.status_code in (400, 401), response.content
    assert response.json().get("code") != "parse_error"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"email": "a@b.test"', "application/json"),
        (b'{"email": "\xff\xfe"}', "application/json"),
        (b'{"n": NaN}', "application/json"),
        (b'{"n": ' + b"9" * 5000 + b"}", "application/json"),
    ],
    ids=["truncated", "not utf-8", "NaN", "huge integer"],
)
def test_unreadable_json_is_400_parse_error(body, content_type):
    client = api_for()
    client.raise_request_exception = False
    response = client.generic("POST", reverse("api-token"), body, content_type=content_type)
    assert_error(response, 400, "parse_error")


# --- errors under /api/ are JSON -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/doctors"),
        ("POST", "/api/v1/appointments"),
        ("PUT", "/api/v1/doctors/1/weekly-schedule"),
        ("GET", "/api"),
        ("GET", "/api/v1"),
        ("POST", "/api/v2/pages/"),
        ("DELETE", "/api/"),
    ],
)
def test_unknown_api_paths_are_a_json_404_never_a_redirect_or_a_page(method, path):
    response = Client().generic(method, path)
    body = assert_error(response, 404, "not_found")
    if not path.endswith("/"):
        assert "slash" in body["detail"]


def test_a_bad_host_header_is_a_json_400():
    response = Client(raise_request_exception=False).get(
        "/api/v1/specialties/", headers={"host": "evil.example"}
    )
    assert_error(response, 400, "bad_request")


def test_a_body_over_the_upload_limit_is_a_json_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_for().generic(
        "POST",
        reverse("api-token"),
        json.dumps({"email": "a@b.test", "password": "x" * 2000}),
        content_type="application/json",
    )
    assert_error(response, 413, "request_too_large")


def test_a_query_string_with_too_many_fields_is_a_json_400(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = Client(raise_request_exception=False).get(
        "/api/v1/doctors/?" + "&".join(f"q{i}=1" for i in range(20))
    )
    assert_error(response, 400, "bad_request")


def test_a_session_write_without_csrf_token_is_a_json_403(doctor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor.user)
    before = stored_week(doctor)
    response = client.put(weekly_url(doctor), json.dumps(WEEK), content_type="application/json")
    body = assert_error(response, 403, "permission_denied")
    assert "CSRF" in body["detail"]
    assert stored_week(doctor) == before
    # Paths no API route matches are refused the same way, not with Django's CSRF page.
    response = client.post("/api/v1/nowhere/", "{}", content_type="application/json")
    assert_error(response, 404, "not_found")


def test_a_server_error_under_the_api_is_json(monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr("doctors.api.views.selectors.specialty_list", broken)
    response = Client(raise_request_exception=False).get(reverse("api-specialties"))
    assert_error(response, 500, "server_error")
    assert b"boom" not in response.content


def test_pages_outside_the_api_keep_their_html_errors():
    response = Client(raise_request_exception=False).get(
        "/doctors/", headers={"host": "evil.example"}
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "url_name"),
    [("POST", "api-docs"), ("DELETE", "api-schema"), ("PUT", "api-schema")],
)
def test_the_docs_and_schema_answer_a_wrong_method_in_json(method, url_name):
    response = Client().generic(method, reverse(url_name))
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (lambda r: views.csrf_failure(r, reason="CSRF cookie not set."), 403, "permission_denied"),
        (lambda r: views.permission_denied(r, PermissionDenied()), 403, "permission_denied"),
        (lambda r: views.page_not_found(r, Http404()), 404, "not_found"),
        (lambda r: views.bad_request(r, SuspiciousOperation()), 400, "bad_request"),
        (views.server_error, 500, "server_error"),
    ],
    ids=["csrf", "403", "404", "400", "500"],
)
def test_django_error_handlers_answer_json_under_the_api_and_pages_elsewhere(
    rf, handler, status, code
):
    assert_error(handler(rf.post("/api/v1/anything/")), status, code)
    page = handler(rf.post("/portal/appointments/"))
    assert page.status_code == status
    assert not page["Content-Type"].startswith("application/json")
