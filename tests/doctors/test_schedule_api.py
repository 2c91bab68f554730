"""Schedules API contract (api-v1.md, "Schedules"): weekly windows and exceptions of a doctor.

The doctor (their own), receptionists and administrators manage a schedule; another doctor, a
patient or an editor gets 403 `permission_denied`, an anonymous caller 401. A PUT replaces the
whole week; bad windows or exception shapes answer 400 and store nothing. The effect of a change
is checked through the public slots endpoint (scheduling-rules.md, "Working windows of a date").
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from rest_framework.test import APIClient

from clinic_site.accounts.roles import Role
from doctors.models import ScheduleException, WeeklyWindow
from tests.factories import at, bookable_doctor, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2030, 1, 7)  # a Monday; the clock is frozen early on this day
STANDARD_WEEK = [{"weekday": d, "start": "09:00", "end": "13:00"} for d in range(7)]


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def doctor():
    return bookable_doctor(name="Dr Ada Hart")[0]


@pytest.fixture
def other_doctor():
    return bookable_doctor(name="Dr Ben Other")[0]


def weekly_url(doctor) -> str:
    return f"/api/v1/doctors/{doctor.pk}/weekly-schedule/"


def exceptions_url(doctor) -> str:
    return f"/api/v1/doctors/{doctor.pk}/exceptions/"


def exception_url(doctor, exception_id) -> str:
    return f"/api/v1/doctors/{doctor.pk}/exceptions/{exception_id}/"


def stored_week(doctor) -> list[tuple[int, str, str]]:
    return [
        (w.weekday, f"{w.start:%H:%M}", f"{w.end:%H:%M}")
        for w in WeeklyWindow.objects.filter(doctor=doctor).order_by("weekday", "start")
    ]


def slot_times(doctor, day: dt.date) -> list[str]:
    """The offered start times ("HH:MM", clinic time) of `day`, read through the public API."""
    response = client_for().get(
        f"/api/v1/doctors/{doctor.pk}/slots/", {"date_from": day, "date_to": day}
    )
    assert response.status_code == 200, response.content
    starts = [dt.datetime.fromisoformat(slot["start"]) for slot in response.json()]
    return [f"{s.astimezone(at(day, '00:00').tzinfo):%H:%M}" for s in starts]


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert {"detail", "code"} <= set(body), body
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]


DAY_OFF = {"kind": "day_off", "date_from": "2030-01-09", "date_to": "2030-01-10", "reason": "Leave"}
EXTRA_HOURS = {
    "kind": "extra_hours",
    "date": "2030-01-08",
    "start": "14:00",
    "end": "15:20",
    "reason": "Clinic day",
}


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["own_doctor", Role.RECEPTIONIST, Role.ADMIN])
def test_the_doctor_receptionist_and_admin_manage_the_schedule(doctor, who):
    user = doctor.user if who == "own_doctor" else make_user(who)
    client = client_for(user)

    week = client.get(weekly_url(doctor))
    assert week.status_code == 200
    assert week.json() == STANDARD_WEEK

    new_week = [{"weekday": 0, "start": "08:00", "end": "12:00"}]
    put = client.put(weekly_url(doctor), new_week, format="json")
    assert put.status_code == 200, put.content
    assert put.json() == new_week

    assert client.get(exceptions_url(doctor)).json() == []
    created = client.post(exceptions_url(doctor), DAY_OFF, format="json")
    assert created.status_code == 201, created.content
    listed = client.get(exceptions_url(doctor))
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == [created.json()["id"]]

    deleted = client.delete(exception_url(doctor, created.json()["id"]))
    assert deleted.status_code == 204
    assert not ScheduleException.objects.filter(doctor=doctor).exists()


@pytest.mark.parametrize("who", ["another_doctor", Role.PATIENT, Role.EDITOR])
def test_another_doctor_a_patient_and_an_editor_get_403_and_change_nothing(
    doctor, other_doctor, who
):
    user = other_doctor.user if who == "another_doctor" else make_user(who)
    client = client_for(user)
    existing = ScheduleException.objects.create(
        doctor=doctor, kind="day_off", date_from=TODAY, date_to=TODAY
    )
    before = stored_week(doctor)

    answers = [
        client.get(weekly_url(doctor)),
        client.put(weekly_url(doctor), [], format="json"),
        client.get(exceptions_url(doctor)),
        client.post(exceptions_url(doctor), DAY_OFF, format="json"),
        client.delete(exception_url(doctor, existing.pk)),
    ]

    for response in answers:
        assert_error(response, 403, "permission_denied")
    assert stored_week(doctor) == before
    assert list(ScheduleException.objects.filter(doctor=doctor)) == [existing]


def test_anonymous_callers_get_401(doctor):
    existing = ScheduleException.objects.create(
        doctor=doctor, kind="day_off", date_from=TODAY, date_to=TODAY
    )
    client = client_for()
    answers = [
        client.get(weekly_url(doctor)),
        client.put(weekly_url(doctor), [], format="json"),
        client.get(exceptions_url(doctor)),
        client.post(exceptions_url(doctor), DAY_OFF, format="json"),
        client.delete(exception_url(doctor, existing.pk)),
    ]
    for response in answers:
        assert_error(response, 401, "not_authenticated")
    assert len(stored_week(doctor)) == 7
    assert ScheduleException.objects.filter(doctor=doctor).count() == 1


def test_unknown_or_inactive_doctor_is_404():
    receptionist = client_for(make_user(Role.RECEPTIONIST))
    assert_error(receptionist.get("/api/v1/doctors/999999/weekly-schedule/"), 404, "not_found")
    assert_error(receptionist.get("/api/v1/doctors/999999/exceptions/"), 404, "not_found")
    retired = bookable_doctor(is_active=False)[0]
    assert_error(receptionist.get(weekly_url(retired)), 404, "not_found")


# --- weekly schedule --------------------------------------------------------------------------


def test_put_replaces_the_whole_week_and_the_slots_follow(doctor):
    client = client_for(doctor.user)
    week = [
        {"weekday": 2, "start": "10:00", "end": "11:00"},
        {"weekday": 0, "start": "14:00", "end": "16:00"},
        {"weekday": 0, "start": "08:00", "end": "12:00"},
        {"weekday": 0, "start": "12:00", "end": "13:00"},  # touching is not overlapping
    ]

    response = client.put(weekly_url(doctor), week, format="json")

    assert response.status_code == 200, response.content
    expected = [
        {"weekday": 0, "start": "08:00", "end": "12:00"},
        {"weekday": 0, "start": "12:00", "end": "13:00"},
        {"weekday": 0, "start": "14:00", "end": "16:00"},
        {"weekday": 2, "start": "10:00", "end": "11:00"},
    ]
    assert response.json() == expected
    assert client.get(weekly_url(doctor)).json() == expected
    assert stored_week(doctor) == [(w["weekday"], w["start"], w["end"]) for w in expected]

    next_monday, next_tuesday = TODAY + dt.timedelta(days=7), TODAY + dt.timedelta(days=8)
    # 08:00-13:00 merged (touching windows), then 14:00-16:00: step 40 minutes for 30-minute visits
    assert slot_times(doctor, next_monday) == [
        "08:00",
        "08:40",
        "09:20",
        "10:00",
        "10:40",
        "11:20",
        "12:00",
        "14:00",
        "14:40",
        "15:20",
    ]
    assert slot_times(doctor, next_tuesday) == []


def test_put_an_empty_week_clears_it(doctor):
    response = client_for(make_user(Role.RECEPTIONIST)).put(weekly_url(doctor), [], format="json")
    assert response.status_code == 200
    assert response.json() == []
    assert stored_week(doctor) == []
    assert slot_times(doctor, TODAY + dt.timedelta(days=1)) == []


@pytest.mark.parametrize(
    "week",
    [
        pytest.param(
            [
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 1, "start": "11:00", "end": "14:00"},
            ],
            id="overlapping",
        ),
        pytest.param(
            [
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 1, "start": "10:00", "end": "11:00"},
            ],
            id="nested",
        ),
        pytest.param([{"weekday": 3, "start": "13:00", "end": "09:00"}], id="inverted"),
        pytest.param([{"weekday": 3, "start": "09:00", "end": "09:00"}], id="empty-window"),
        pytest.param(
            [
                {"weekday": 0, "start": "08:00", "end": "12:00"},
                {"weekday": 3, "start": "13:00", "end": "09:00"},
            ],
            id="one-good-one-inverted",
        ),
        pytest.param([{"weekday": 7, "start": "09:00", "end": "12:00"}], id="weekday-7"),
        pytest.param([{"weekday": 1, "start": "25:00", "end": "26:00"}], id="bad-time"),
        pytest.param([{"weekday": 1, "start": "09:00"}], id="missing-end"),
        pytest.param({"weekday": 1, "start": "09:00", "end": "12:00"}, id="not-a-list"),
    ],
)
def test_bad_weeks_are_400_and_the_stored_week_is_unchanged(doctor, week):
    before = stored_week(doctor)

    response = client_for(doctor.user).put(weekly_url(doctor), week, format="json")

    assert response.status_code == 400, response.content
    assert "code" not in response.json() or response.json()["code"] != "error"
    assert stored_week(doctor) == before
    assert client_for(doctor.user).get(weekly_url(doctor)).json() == STANDARD_WEEK


# --- exceptions -------------------------------------------------------------------------------


def test_day_off_range_is_created_with_201_and_removes_the_slots(doctor):
    client = client_for(doctor.user)
    assert slot_times(doctor, dt.date(2030, 1, 9)) != []

    response = client.post(exceptions_url(doctor), DAY_OFF, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body["id"], int)
    assert {k: body[k] for k in ("kind", "date_from", "date_to", "reason")} == {
        "kind": "day_off",
        "date_from": "2030-01-09",
        "date_to": "2030-01-10",
        "reason": "Leave",
    }
    stored = ScheduleException.objects.get(pk=body["id"])
    assert (stored.doctor_id, stored.date_from, stored.date_to) == (
        doctor.pk,
        dt.date(2030, 1, 9),
        dt.date(2030, 1, 10),
    )
    assert slot_times(doctor, dt.date(2030, 1, 9)) == []
    assert slot_times(doctor, dt.date(2030, 1, 10)) == []
    assert len(slot_times(doctor, dt.date(2030, 1, 8))) == 6
    assert len(slot_times(doctor, dt.date(2030, 1, 11))) == 6


def test_extra_hours_are_created_with_201_and_add_slots(doctor):
    client = client_for(make_user(Role.RECEPTIONIST))

    response = client.post(exceptions_url(doctor), EXTRA_HOURS, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body["id"], int)
    assert {k: body[k] for k in ("kind", "date", "start", "end", "reason")} == {
        "kind": "extra_hours",
        "date": "2030-01-08",
        "start": "14:00",
        "end": "15:20",
        "reason": "Clinic day",
    }
    assert slot_times(doctor, dt.date(2030, 1, 8)) == [
        "09:00",
        "09:40",
        "10:20",
        "11:00",
        "11:40",
        "12:20",
        "14:00",
        "14:40",
    ]
    assert len(slot_times(doctor, dt.date(2030, 1, 9))) == 6


def test_extra_hours_touching_the_weekly_window_merge_with_it(doctor):
    response = client_for(doctor.user).post(
        exceptions_url(doctor),
        {"kind": "extra_hours", "date": "2030-01-08", "start": "13:00", "end": "14:00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    # one merged window 09:00-14:00: the grid continues past 13:00
    assert slot_times(doctor, dt.date(2030, 1, 8))[-2:] == ["12:20", "13:00"]


def test_exceptions_list_shows_what_was_created(doctor):
    client = client_for(doctor.user)
    day_off = client.post(exceptions_url(doctor), DAY_OFF, format="json").json()
    extra = client.post(exceptions_url(doctor), EXTRA_HOURS, format="json").json()

    listed = client.get(exceptions_url(doctor))

    assert listed.status_code == 200
    by_id = {e["id"]: e for e in listed.json()}
    assert set(by_id) == {day_off["id"], extra["id"]}
    assert by_id[day_off["id"]]["kind"] == "day_off"
    assert by_id[extra["id"]]["start"] == "14:00"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"kind": "extra_hours", "date": "2030-01-08"}, id="extra-without-times"),
        pytest.param(
            {"kind": "extra_hours", "date": "2030-01-08", "start": "14:00"}, id="extra-without-end"
        ),
        pytest.param(
            {"kind": "extra_hours", "date": "2030-01-08", "start": "15:00", "end": "14:00"},
            id="extra-end-before-start",
        ),
        pytest.param(
            {"kind": "extra_hours", "date": "2030-01-08", "start": "15:00", "end": "15:00"},
            id="extra-empty",
        ),
        pytest.param({"kind": "extra_hours", "start": "14:00", "end": "15:00"}, id="extra-no-date"),
        pytest.param(
            {"kind": "day_off", "date_from": "2030-01-10", "date_to": "2030-01-09"},
            id="day-off-to-before-from",
        ),
        pytest.param({"kind": "day_off", "date_to": "2030-01-09"}, id="day-off-without-from"),
        pytest.param(
            {"kind": "day_off", "date_from": "2030-01-09", "start": "09:00", "end": "10:00"},
            id="day-off-with-hours",
        ),
        pytest.param({"kind": "holiday", "date_from": "2030-01-09"}, id="unknown-kind"),
        pytest.param({"date_from": "2030-01-09"}, id="no-kind"),
        pytest.param({"kind": "day_off", "date_from": "next week"}, id="bad-date"),
        pytest.param(
            {"kind": "extra_hours", "date": "2030-01-08", "start": "2pm", "end": "3pm"},
            id="bad-time",
        ),
        pytest.param(["day_off"], id="not-an-object"),
    ],
)
def test_bad_exception_shapes_are_400_and_store_nothing(doctor, body):
    response = client_for(doctor.user).post(exceptions_url(doctor), body, format="json")

    assert response.status_code == 400, response.content
    assert isinstance(response.json(), dict)
    assert not ScheduleException.objects.exists()


def test_delete_is_204_and_brings_the_slots_back(doctor):
    client = client_for(doctor.user)
    created = client.post(exceptions_url(doctor), DAY_OFF, format="json").json()
    assert slot_times(doctor, dt.date(2030, 1, 9)) == []

    response = client.delete(exception_url(doctor, created["id"]))

    assert response.status_code == 204
    assert not response.content
    assert client.get(exceptions_url(doctor)).json() == []
    assert len(slot_times(doctor, dt.date(2030, 1, 9))) == 6
    assert_error(client.delete(exception_url(doctor, created["id"])), 404, "not_found")


def test_an_exception_cannot_be_deleted_through_another_doctors_url(doctor, other_doctor):
    theirs = ScheduleException.objects.create(
        doctor=other_doctor, kind="day_off", date_from=TODAY, date_to=TODAY
    )
    response = client_for(doctor.user).delete(exception_url(doctor, theirs.pk))
    assert_error(response, 404, "not_found")
    assert ScheduleException.objects.filter(pk=theirs.pk).exists()


def test_schema_documents_times_as_the_hh_mm_the_api_writes(doctor):
    """They were documented as OpenAPI `format: time` (RFC 3339, with seconds and an offset),
    which "09:00" is not."""
    schemas = client_for().get("/api/v1/schema/", {"format": "json"}).json()["components"]
    client = client_for(doctor.user)
    extra = client.post(exceptions_url(doctor), EXTRA_HOURS, format="json").json()
    window = client.get(weekly_url(doctor)).json()[0]

    for component, body in (("WeeklyWindow", window), ("ScheduleException", extra)):
        for field in ("start", "end"):
            documented = schemas["schemas"][component]["properties"][field]
            assert "format" not in documented, component
            assert re.fullmatch(documented["pattern"], body[field]), (component, body[field])
