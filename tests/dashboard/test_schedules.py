"""Doctors' schedules in the staff dashboard (product.md §2, scheduling-rules.md, permissions.md
"weekly schedule, exceptions"): who reaches which schedule, the week editor and its presets,
exceptions, visit types, and the week preview built from `slot_search`.

The clock is frozen at 07:00 on Monday `TODAY` (clinic time UTC in tests); the preview's first
offered slot is 09:00 (60 minutes' notice).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking.selectors import slot_search
from clinic_site.accounts.roles import Role
from doctors import services
from doctors.models import ExceptionKind, ScheduleException, VisitType, WeeklyWindow
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

TODAY = dt.date(2031, 3, 3)  # a Monday
T = dt.time.fromisoformat


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "07:00"), tick=False)
    return time_machine


@pytest.fixture
def clinic():
    return bookable_doctor(name="Dr Ada Hart")


@pytest.fixture
def desk(client):
    client.force_login(make_user(Role.RECEPTIONIST))
    return client


def schedule_url(doctor) -> str:
    return reverse("dashboard:schedule", args=[doctor.pk])


def week_rows(doctor) -> list[tuple[int, dt.time, dt.time]]:
    return list(
        WeeklyWindow.objects.filter(doctor=doctor)
        .order_by("weekday", "start")
        .values_list("weekday", "start", "end")
    )


def week_data(windows: dict[int, list[tuple[str, str]]], **extra) -> dict:
    """POST data of the week editor: {weekday: [("09:00", "13:00"), …]}."""
    data: dict = {}
    for weekday, rows in windows.items():
        data[f"d{weekday}-start"] = [start for start, _ in rows]
        data[f"d{weekday}-end"] = [end for _, end in rows]
    data.update(extra)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Who reaches what ---------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, doctor):
    for url in (reverse("dashboard:schedules"), schedule_url(doctor)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", [Role.PATIENT, Role.EDITOR])
def test_patients_and_editors_are_refused_every_schedule_screen(client, doctor, role):
    """Wagtail's admin answers a refused screen with a redirect: patients (no admin access) to
    the sign-in page, editors back to the admin home with "permission denied"."""
    client.force_login(make_user(role))
    urls = [
        reverse("dashboard:schedules"),
        schedule_url(doctor),
        reverse("dashboard:schedule_exception_add", args=[doctor.pk]),
        reverse("dashboard:schedule_visit_type_add", args=[doctor.pk]),
    ]
    for url in urls:
        for response in (client.get(url), client.post(url, week_data({0: [("09:00", "10:00")]}))):
            assert response.status_code in (302, 403)
            if response.status_code == 302:
                assert response["Location"] in ("/admin/", "/portal/") or response[
                    "Location"
                ].startswith("/accounts/login/")
    assert week_rows(doctor) == [(day, T("09:00"), T("13:00")) for day in range(7)]
    assert not ScheduleException.objects.exists()


def test_doctor_is_taken_from_the_list_to_their_own_schedule(client, doctor):
    client.force_login(doctor.user)
    response = client.get(reverse("dashboard:schedules"))
    assert response.status_code == 302
    assert response["Location"] == schedule_url(doctor)
    assert client.get(schedule_url(doctor)).status_code == 200


def test_doctor_gets_404_for_another_doctors_schedule_and_changes_nothing(client, doctor):
    other, other_type = bookable_doctor()
    client.force_login(doctor.user)
    exception = services.schedule_exception_add(
        doctor=other, kind=ExceptionKind.DAY_OFF, actor=None, date_from=TODAY
    )
    urls = [
        schedule_url(other),
        reverse("dashboard:schedule_exception_delete", args=[other.pk, exception.pk]),
        reverse("dashboard:schedule_visit_type_edit", args=[other.pk, other_type.pk]),
        reverse("dashboard:schedule_visit_type_remove", args=[other.pk, other_type.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, week_data({})).status_code == 404
    assert len(week_rows(other)) == 7
    assert ScheduleException.objects.filter(pk=exception.pk).exists()
    assert VisitType.objects.filter(pk=other_type.pk).exists()


def test_doctor_cannot_reach_their_schedule_objects_through_another_doctors_url(client, doctor):
    """An exception or visit type is only found under its own doctor's URL."""
    other = DoctorFactory()
    client.force_login(make_user(Role.ADMIN))
    exception = services.schedule_exception_add(
        doctor=doctor, kind=ExceptionKind.DAY_OFF, actor=None, date_from=TODAY
    )
    url = reverse("dashboard:schedule_exception_delete", args=[other.pk, exception.pk])
    assert client.post(url).status_code == 404
    assert ScheduleException.objects.filter(pk=exception.pk).exists()


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_front_desk_lists_every_active_doctor_and_opens_any_schedule(client, doctor, role):
    second = DoctorFactory(name="Dr Bo Kim")
    give_week(second, windows=[("09:00", "13:00"), ("14:00", "18:00")], weekdays=range(5))
    DoctorFactory(name="Dr Gone Away", is_active=False)
    client.force_login(make_user(role))

    response = client.get(reverse("dashboard:schedules"))

    assert response.status_code == 200
    names = [row["doctor"].name for row in response.context["rows"]]
    assert names == ["Dr Ada Hart", "Dr Bo Kim"]
    bo = response.context["rows"][1]
    assert bo["summary"] == [{"days": "Mon–Fri", "hours": "09:00–13:00, 14:00–18:00"}]
    assert bo["hours"] == "40 h"
    assert schedule_url(second) in response.content.decode()
    for each in (doctor, second):
        assert client.get(schedule_url(each)).status_code == 200


def test_inactive_doctors_schedule_is_not_found(desk):
    gone = DoctorFactory(is_active=False)
    assert desk.get(schedule_url(gone)).status_code == 404


# --- The week ------------------------------------------------------------------------------------


def test_saving_the_week_replaces_every_window(desk, doctor):
    data = week_data({0: [("08:00", "12:00"), ("13:00", "17:30")], 2: [("10:00", "14:00")]})

    response = desk.post(schedule_url(doctor), data)

    assert response.status_code == 302
    assert response["Location"] == schedule_url(doctor) + "#week"
    assert week_rows(doctor) == [
        (0, T("08:00"), T("12:00")),
        (0, T("13:00"), T("17:30")),
        (2, T("10:00"), T("14:00")),
    ]
    page = desk.get(schedule_url(doctor))
    assert any("saved: 3 windows" in m for m in messages_of(page))


def test_an_empty_week_clears_the_schedule_and_blank_rows_are_ignored(desk, doctor):
    response = desk.post(schedule_url(doctor), week_data({1: [("", "")]}))
    assert response.status_code == 302
    assert week_rows(doctor) == []


def test_touching_windows_are_allowed(desk, doctor):
    response = desk.post(
        schedule_url(doctor), week_data({4: [("13:00", "17:00"), ("09:00", "13:00")]})
    )
    assert response.status_code == 302
    assert week_rows(doctor) == [(4, T("09:00"), T("13:00")), (4, T("13:00"), T("17:00"))]


def test_overlapping_windows_are_refused_next_to_their_day_and_nothing_is_stored(desk, doctor):
    before = week_rows(doctor)
    data = week_data({0: [("09:00", "13:00")], 3: [("09:00", "13:00"), ("12:00", "15:00")]})

    response = desk.post(schedule_url(doctor), data)

    assert response.status_code == 400
    assert week_rows(doctor) == before
    days = response.context["week_form"].days
    assert days[3].errors == ["09:00–13:00 overlaps 12:00–15:00."]
    assert all(not day.errors for day in days if day.weekday != 3)
    html = response.content.decode()
    assert 'id="d3-errors"' in html and "09:00–13:00 overlaps 12:00–15:00." in html
    # What was typed comes back, so it can be corrected.
    assert [(row.start, row.end) for row in days[3].windows] == [
        ("09:00", "13:00"),
        ("12:00", "15:00"),
    ]


def test_inverted_window_is_refused_and_nothing_is_stored(desk, doctor):
    before = week_rows(doctor)
    response = desk.post(schedule_url(doctor), week_data({5: [("14:00", "10:00")]}))
    assert response.status_code == 400
    assert week_rows(doctor) == before
    assert response.context["week_form"].days[5].errors == ["14:00–10:00 ends before it starts."]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("09:00", "", "Give both the start and the end of each window."),
        ("9 o'clock", "12:00", "Write times as HH:MM"),
        ("25:00", "26:00", "Write times as HH:MM"),
    ],
)
def test_incomplete_or_unreadable_windows_are_refused(desk, doctor, start, end, message):
    before = week_rows(doctor)
    response = desk.post(schedule_url(doctor), week_data({6: [(start, end)]}))
    assert response.status_code == 400
    assert week_rows(doctor) == before
    assert response.context["week_form"].days[6].errors[0].startswith(message)


def test_day_preset_fills_that_day_without_saving(desk, doctor):
    before = week_rows(doctor)
    data = week_data({0: [("10:00", "11:00")], 1: [("09:00", "13:00")]}, preset="1:full")

    response = desk.post(schedule_url(doctor), data)

    assert response.status_code == 200
    assert week_rows(doctor) == before  # a preset only fills the form
    days = response.context["week_form"].days
    assert [(r.start, r.end) for r in days[1].windows] == [("09:00", "13:00"), ("14:00", "18:00")]
    assert [(r.start, r.end) for r in days[0].windows] == [("10:00", "11:00")]  # kept as typed
    assert "Not saved yet" in response.content.decode()


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("morning", [("09:00", "13:00")]),
        ("afternoon", [("14:00", "18:00")]),
        ("full", [("09:00", "13:00"), ("14:00", "18:00")]),
        ("off", []),
    ],
)
def test_all_weekdays_preset_then_save_gives_that_week(desk, doctor, preset, expected):
    data = week_data({5: [("10:00", "12:00")]}, preset=f"weekdays:{preset}")
    form = desk.post(schedule_url(doctor), data).context["week_form"]
    for day in form.days[:5]:
        assert [(r.start, r.end) for r in day.windows] == expected
    assert [(r.start, r.end) for r in form.days[5].windows] == [("10:00", "12:00")]

    saved = week_data(
        {day.weekday: [(r.start, r.end) for r in day.windows] for day in form.days if day.windows}
    )
    assert desk.post(schedule_url(doctor), saved).status_code == 302
    assert week_rows(doctor) == [
        (day, T(start), T(end)) for day in range(5) for start, end in expected
    ] + [(5, T("10:00"), T("12:00"))]


def test_add_and_remove_window_buttons_work_without_javascript(desk, doctor):
    data = week_data({2: [("09:00", "10:00"), ("11:00", "12:00")]}, add_window="2")
    form = desk.post(schedule_url(doctor), data).context["week_form"]
    assert [(r.start, r.end) for r in form.days[2].windows] == [
        ("09:00", "10:00"),
        ("11:00", "12:00"),
        ("", ""),
    ]
    data = week_data({2: [("09:00", "10:00"), ("11:00", "12:00")]}, remove_window="2:0")
    form = desk.post(schedule_url(doctor), data).context["week_form"]
    assert [(r.start, r.end) for r in form.days[2].windows] == [("11:00", "12:00")]
    assert len(week_rows(doctor)) == 7  # nothing saved


def test_doctor_saves_their_own_week(client, doctor):
    client.force_login(doctor.user)
    response = client.post(schedule_url(doctor), week_data({0: [("07:30", "11:00")]}))
    assert response.status_code == 302
    assert week_rows(doctor) == [(0, T("07:30"), T("11:00"))]


# --- Exceptions ---------------------------------------------------------------------------------


def add_exception_url(doctor) -> str:
    return reverse("dashboard:schedule_exception_add", args=[doctor.pk])


def test_front_desk_adds_days_off_with_a_reason(desk, doctor):
    response = desk.post(
        add_exception_url(doctor),
        {
            "kind": "day_off",
            "off-date_from": "2031-03-10",
            "off-date_to": "2031-03-14",
            "off-reason": "Annual leave",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == schedule_url(doctor) + "#exceptions"
    exception = ScheduleException.objects.get(doctor=doctor)
    assert (exception.kind, exception.date_from, exception.date_to, exception.reason) == (
        ExceptionKind.DAY_OFF,
        dt.date(2031, 3, 10),
        dt.date(2031, 3, 14),
        "Annual leave",
    )
    page = desk.get(schedule_url(doctor))
    assert page.context["upcoming_exceptions"] == [exception]
    assert "Annual leave" in page.content.decode()


def test_a_single_day_off_needs_no_last_day(desk, doctor):
    desk.post(add_exception_url(doctor), {"kind": "day_off", "off-date_from": "2031-03-05"})
    exception = ScheduleException.objects.get(doctor=doctor)
    assert exception.date_from == exception.date_to == dt.date(2031, 3, 5)


def test_days_off_over_booked_appointments_warn_the_desk(desk, doctor, visit_type):
    book(visit_type, at(TODAY + dt.timedelta(days=1), "10:20"))
    response = desk.post(
        add_exception_url(doctor),
        {"kind": "day_off", "off-date_from": "2031-03-04", "off-date_to": "2031-03-04"},
        follow=True,
    )
    assert any("1 appointment is already booked" in m for m in messages_of(response))


def test_front_desk_adds_extra_hours(desk, doctor):
    response = desk.post(
        add_exception_url(doctor),
        {
            "kind": "extra_hours",
            "extra-date": "2031-03-08",
            "extra-start": "17:00",
            "extra-end": "19:30",
            "extra-reason": "Evening clinic",
        },
    )
    assert response.status_code == 302
    exception = ScheduleException.objects.get(doctor=doctor)
    assert (exception.kind, exception.date_from, exception.start, exception.end) == (
        ExceptionKind.EXTRA_HOURS,
        dt.date(2031, 3, 8),
        T("17:00"),
        T("19:30"),
    )


@pytest.mark.parametrize(
    ("data", "form_name", "field"),
    [
        ({"kind": "day_off", "off-date_from": ""}, "off_form", "date_from"),
        ({"kind": "day_off", "off-date_from": "2031-03-01"}, "off_form", "date_from"),
        (
            {"kind": "day_off", "off-date_from": "2031-03-10", "off-date_to": "2031-03-09"},
            "off_form",
            "date_to",
        ),
        ({"kind": "day_off", "off-date_from": "10/03/2031"}, "off_form", "date_from"),
        (
            {
                "kind": "extra_hours",
                "extra-date": "2031-03-08",
                "extra-start": "19:00",
                "extra-end": "17:00",
            },
            "extra_form",
            "end",
        ),
        (
            {"kind": "extra_hours", "extra-date": "2031-03-08", "extra-start": "17:00"},
            "extra_form",
            "end",
        ),
        (
            {
                "kind": "extra_hours",
                "extra-date": "2031-03-02",
                "extra-start": "17:00",
                "extra-end": "18:00",
            },
            "extra_form",
            "date",
        ),
    ],
)
def test_bad_exceptions_are_refused_with_field_errors_and_nothing_is_stored(
    desk, doctor, data, form_name, field
):
    response = desk.post(add_exception_url(doctor), data)
    assert response.status_code == 400
    assert field in response.context[form_name].errors
    assert not ScheduleException.objects.exists()


def test_deleting_an_exception_asks_first_then_deletes(desk, doctor):
    exception = services.schedule_exception_add(
        doctor=doctor, kind=ExceptionKind.DAY_OFF, actor=None, date_from=TODAY, reason="Training"
    )
    url = reverse("dashboard:schedule_exception_delete", args=[doctor.pk, exception.pk])

    confirm = desk.get(url)
    assert confirm.status_code == 200
    assert "Training" in confirm.content.decode()
    assert ScheduleException.objects.filter(pk=exception.pk).exists()

    response = desk.post(url)
    assert response.status_code == 302
    assert not ScheduleException.objects.filter(pk=exception.pk).exists()
    assert desk.post(url).status_code == 404


def test_past_exceptions_are_not_listed_as_upcoming(desk, doctor):
    past = ScheduleException.objects.create(
        doctor=doctor,
        kind=ExceptionKind.DAY_OFF,
        date_from=TODAY - dt.timedelta(days=10),
        date_to=TODAY - dt.timedelta(days=8),
    )
    ongoing = services.schedule_exception_add(
        doctor=doctor,
        kind=ExceptionKind.DAY_OFF,
        actor=None,
        date_from=TODAY,
        date_to=TODAY + dt.timedelta(days=2),
    )
    response = desk.get(schedule_url(doctor))
    assert response.context["upcoming_exceptions"] == [ongoing]
    assert response.context["past_exceptions"] == [past]
    assert '<details class="cp-past">' in response.content.decode()


# --- Visit types --------------------------------------------------------------------------------


def add_visit_type_url(doctor) -> str:
    return reverse("dashboard:schedule_visit_type_add", args=[doctor.pk])


def test_front_desk_adds_a_visit_type(desk, doctor):
    response = desk.post(
        add_visit_type_url(doctor),
        {"vt-name": "Follow-up", "vt-duration_minutes": "20", "vt-mode": "video", "vt-price": "25"},
    )
    assert response.status_code == 302
    assert response["Location"] == schedule_url(doctor) + "#visit-types"
    added = VisitType.objects.get(doctor=doctor, name="Follow-up")
    assert (added.duration_minutes, added.mode, added.price, added.is_active) == (
        20,
        "video",
        Decimal("25.00"),
        True,
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"vt-name": "", "vt-duration_minutes": "20", "vt-mode": "video", "vt-price": "25"},
            "name",
        ),
        (
            {"vt-name": "Odd", "vt-duration_minutes": "25", "vt-mode": "video", "vt-price": "25"},
            "duration_minutes",
        ),
        (
            {"vt-name": "Odd", "vt-duration_minutes": "20", "vt-mode": "fax", "vt-price": "25"},
            "mode",
        ),
        (
            {"vt-name": "Odd", "vt-duration_minutes": "20", "vt-mode": "video", "vt-price": "-1"},
            "price",
        ),
        (
            {"vt-name": "Odd", "vt-duration_minutes": "20", "vt-mode": "video", "vt-price": "abc"},
            "price",
        ),
        # The same name as an active visit type of this doctor (the fixture's "Consultation").
        (
            {
                "vt-name": "consultation",
                "vt-duration_minutes": "20",
                "vt-mode": "video",
                "vt-price": "5",
            },
            "name",
        ),
    ],
)
def test_bad_visit_types_are_refused_with_field_errors(desk, doctor, data, field):
    response = desk.post(add_visit_type_url(doctor), data)
    assert response.status_code == 400
    assert field in response.context["visit_type_form"].errors
    assert VisitType.objects.filter(doctor=doctor).count() == 1


def test_editing_a_visit_type_changes_it(desk, doctor, visit_type):
    url = reverse("dashboard:schedule_visit_type_edit", args=[doctor.pk, visit_type.pk])
    assert desk.get(url).status_code == 200
    response = desk.post(
        url,
        {
            "vt-name": "Long consultation",
            "vt-duration_minutes": "45",
            "vt-mode": "in_person",
            "vt-price": "60.50",
            "vt-is_active": "on",
        },
    )
    assert response.status_code == 302
    visit_type.refresh_from_db()
    assert (visit_type.name, visit_type.duration_minutes, visit_type.price) == (
        "Long consultation",
        45,
        Decimal("60.50"),
    )


def test_editing_with_a_bad_price_is_refused_and_nothing_changes(desk, doctor, visit_type):
    url = reverse("dashboard:schedule_visit_type_edit", args=[doctor.pk, visit_type.pk])
    response = desk.post(
        url,
        {
            "vt-name": "Cheap",
            "vt-duration_minutes": "30",
            "vt-mode": "in_person",
            "vt-price": "-5",
            "vt-is_active": "on",
        },
    )
    assert response.status_code == 400
    assert "price" in response.context["form"].errors
    visit_type.refresh_from_db()
    assert (visit_type.name, visit_type.price) == ("Consultation", Decimal("40.00"))


def test_unticking_offered_deactivates_and_ticking_reactivates(desk, doctor, visit_type):
    url = reverse("dashboard:schedule_visit_type_edit", args=[doctor.pk, visit_type.pk])
    data = {
        "vt-name": "Consultation",
        "vt-duration_minutes": "30",
        "vt-mode": "in_person",
        "vt-price": "40",
    }
    desk.post(url, data)
    visit_type.refresh_from_db()
    assert not visit_type.is_active
    desk.post(url, {**data, "vt-is_active": "on"})
    visit_type.refresh_from_db()
    assert visit_type.is_active


def test_a_booked_visit_type_is_deactivated_not_deleted(desk, doctor, visit_type):
    book(visit_type, at(TODAY + dt.timedelta(days=1), "09:00"))
    url = reverse("dashboard:schedule_visit_type_remove", args=[doctor.pk, visit_type.pk])
    confirm = desk.get(url)
    assert "Deactivate" in confirm.content.decode()

    response = desk.post(url, follow=True)

    visit_type.refresh_from_db()
    assert not visit_type.is_active
    assert any("deactivated" in m for m in messages_of(response))


def test_a_visit_type_nobody_booked_is_deleted(desk, doctor):
    spare = VisitTypeFactory(doctor=doctor, name="Spare")
    url = reverse("dashboard:schedule_visit_type_remove", args=[doctor.pk, spare.pk])
    assert desk.post(url).status_code == 302
    assert not VisitType.objects.filter(pk=spare.pk).exists()


def test_visit_type_services_key_their_errors_by_field(doctor):
    with pytest.raises(ValidationError) as caught:
        services.visit_type_create(
            doctor=doctor,
            actor=None,
            name=" ",
            duration_minutes=7,
            mode="fax",
            price=Decimal("-1"),
        )
    assert set(caught.value.message_dict) == {"name", "duration_minutes", "mode", "price"}
    assert VisitType.objects.filter(doctor=doctor).count() == 1


# --- The preview --------------------------------------------------------------------------------


def preview_slots(response) -> list[dt.datetime]:
    days = response.context["preview_days"]
    return [
        dt.datetime.combine(day.date, T(hhmm), tzinfo=dt.UTC) for day in days for hhmm in day.slots
    ]


def test_preview_shows_the_slots_slot_search_offers(desk, doctor, visit_type):
    book(visit_type, at(TODAY + dt.timedelta(days=1), "09:40"))
    response = desk.get(schedule_url(doctor))

    expected = slot_search(
        visit_type=visit_type, date_from=TODAY, date_to=TODAY + dt.timedelta(days=6)
    )
    assert preview_slots(response) == [slot.start for slot in expected]
    assert response.context["preview_monday"] == TODAY
    monday = response.context["preview_days"][0]
    assert monday.windows == "09:00–13:00"
    assert monday.slots[:3] == ["09:00", "09:40", "10:20"]  # 60 minutes' notice from 07:00
    tuesday = response.context["preview_days"][1]
    assert "09:40" not in tuesday.slots


def test_preview_reflects_days_off_and_extra_hours(desk, doctor, visit_type):
    wednesday = TODAY + dt.timedelta(days=2)
    thursday = TODAY + dt.timedelta(days=3)
    services.schedule_exception_add(
        doctor=doctor,
        kind=ExceptionKind.DAY_OFF,
        actor=None,
        date_from=wednesday,
        reason="Conference",
    )
    services.schedule_exception_add(
        doctor=doctor,
        kind=ExceptionKind.EXTRA_HOURS,
        actor=None,
        date_from=thursday,
        start=T("17:00"),
        end=T("18:00"),
    )
    response = desk.get(schedule_url(doctor))
    days = {day.date: day for day in response.context["preview_days"]}

    assert days[wednesday].slots == []
    assert days[wednesday].windows == ""
    assert "Conference" in response.content.decode()
    assert days[thursday].windows == "09:00–13:00, 17:00–18:00"
    assert days[thursday].slots[-1] == "17:00"
    expected = slot_search(
        visit_type=visit_type, date_from=TODAY, date_to=TODAY + dt.timedelta(days=6)
    )
    assert preview_slots(response) == [slot.start for slot in expected]


def test_preview_follows_the_chosen_visit_type_and_week(desk, doctor, visit_type):
    short = VisitTypeFactory(doctor=doctor, name="Quick", duration_minutes=15)
    next_monday = TODAY + dt.timedelta(days=7)
    response = desk.get(
        schedule_url(doctor),
        {"visit_type": short.pk, "week": "2031-03-12"},  # a Wednesday
    )
    assert response.context["preview_visit_type"] == short
    assert response.context["preview_monday"] == next_monday
    assert response.context["preview_days"][0].slots[:3] == ["09:00", "09:25", "09:50"]
    assert "week=2031-03-03" in response.context["preview_prev_url"]
    assert "week=2031-03-17" in response.context["preview_next_url"]


def test_preview_never_goes_before_this_week(desk, doctor):
    response = desk.get(schedule_url(doctor), {"week": "2020-01-06"})
    assert response.context["preview_monday"] == TODAY
    assert response.context["preview_prev_url"] == ""


def test_preview_says_why_a_closed_doctor_offers_nothing(desk, doctor):
    doctor.accepting_bookings = False
    doctor.save()
    response = desk.get(schedule_url(doctor))
    assert response.context["preview_slot_count"] == 0
    assert "Online booking is closed" in response.content.decode()


# --- Query counts -------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_schedule_page_queries_do_not_grow_with_exceptions_or_visit_types(desk, doctor):
    url = schedule_url(doctor)
    count_queries(desk, url)  # warm caches (policies, site)
    baseline = count_queries(desk, url)
    for n in range(6):
        services.schedule_exception_add(
            doctor=doctor,
            kind=ExceptionKind.DAY_OFF,
            actor=make_user(Role.RECEPTIONIST),
            date_from=TODAY + dt.timedelta(days=n * 3),
            reason=f"Off {n}",
        )
        services.schedule_exception_add(
            doctor=doctor,
            kind=ExceptionKind.EXTRA_HOURS,
            actor=None,
            date_from=TODAY + dt.timedelta(days=n * 3 + 1),
            start=T("18:00"),
            end=T("19:00"),
        )
        VisitTypeFactory(doctor=doctor, name=f"Type {n}", duration_minutes=15)
    assert count_queries(desk, url) == baseline
    # Session, user, permissions and Wagtail's menu; then doctor, policies, week, exceptions,
    # visit types, specialties and slot_search's three.
    assert baseline <= 21


def test_schedule_list_queries_do_not_grow_with_doctors(desk, doctor):
    url = reverse("dashboard:schedules")
    count_queries(desk, url)
    baseline = count_queries(desk, url)
    for _ in range(4):
        extra, _ = bookable_doctor()
        services.schedule_exception_add(
            doctor=extra, kind=ExceptionKind.DAY_OFF, actor=None, date_from=TODAY
        )
    assert count_queries(desk, url) == baseline
