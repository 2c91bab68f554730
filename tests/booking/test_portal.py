"""The patient's booking pages (product.md §§3-5, 13-14; scheduling-rules.md; permissions.md):
the public slot picker, the review step and booking, My appointments, an appointment's details,
cancelling, rescheduling, the "my data" download and the portal home (the visit summary, now in
the records app, is tested in tests/records/test_summary.py).

Everything goes through HTTP with the Django test client, as a browser would, and is checked
against the stored rows. The clock is frozen at 06:00 on Monday `TODAY`; most visits are on `DAY`,
two days later. The clinic's zone is UTC unless a test says otherwise. The standard doctor works
09:00-13:00 every day with a 30-minute in-person visit type and 5/5-minute buffers, so a day's
offered grid is 09:00, 09:40, 10:20, 11:00, 11:40, 12:20. Clinic policies are the defaults:
confirmation required, cancellation and reschedule cut-off 2 hours, 3 reschedules, 60-day horizon.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import dateformat, timezone

from booking import services
from booking.models import Appointment, Reschedule, Status, Transition
from clinic_site.accounts import services as account_services
from clinic_site.accounts.roles import Role
from doctors.models import Doctor
from home.models import ClinicDetails
from tests.factories import (
    DoctorFactory,
    VisitTypeFactory,
    at,
    book,
    bookable_doctor,
    build_site,
    give_week,
    make_user,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
DAY = TODAY + dt.timedelta(days=2)  # where most visits are
LATER = TODAY + dt.timedelta(days=3)
PAST = TODAY - dt.timedelta(days=7)
HORIZON = TODAY + dt.timedelta(days=60)
GRID = ("09:00", "09:40", "10:20", "11:00", "11:40", "12:20")
LOGIN_URL = "/accounts/login/"
VERIFY_URL = "/accounts/verify/"
DASHBOARD_URL = "/admin/"
LIST_URL = "/portal/appointments/"
HISTORY_URL = "/portal/appointments/?tab=history"
MY_DATA_URL = "/portal/my-data/"
PORTAL_HOME_URL = "/portal/"

# Pinned query counts: a change here is a deliberate decision, not an accident. Upcoming: session,
# user with its role (one read), the appointments (doctor, patient, visit type, record joined)
# and the clinic details. The menu and the directory's link come from the site shell's cache
# (home/shell.py), and an unchanged session is refreshed at most once a minute, so neither reads
# nor writes here. (The two permission lookups of Wagtail's user bar are gone: the page is for
# patients only, and the bar shows them nothing.)
LIST_QUERIES = 4
# History: the same plus the paginator's count.
HISTORY_QUERIES = 5

SLOT_LINK = re.compile(r'<a class="slot" href="([^"]+)"')
DETAIL_LINK = re.compile(r'href="/portal/appointments/([0-9A-Z]+)/"')


# --- clock, people, helpers -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Quinn", email="nora@example.test")


@pytest.fixture
def other_patient():
    return make_user(Role.PATIENT, full_name="Otto Brandt", email="otto@example.test")


@pytest.fixture
def travel(clock, client, patient):
    """Move the frozen clock to `when`; the patient signs in again, since a session idles out
    after 30 minutes (SESSION_COOKIE_AGE)."""

    def move(when: dt.datetime) -> None:
        clock.move_to(when, tick=False)
        client.force_login(patient)

    return move


@pytest.fixture
def appointment(visit_type, patient):
    """Nora's request for DAY 09:00 with Dr Hart."""
    return book(visit_type, at(DAY, "09:00"), patient=patient, reason="Sore knee")


def page(response) -> str:
    return response.content.decode()


def fresh(appointment) -> Appointment:
    return Appointment.objects.get(pk=appointment.pk)


def review_url(doctor, visit_type, start: dt.datetime) -> str:
    query = urlencode({"visit_type": visit_type.pk, "start": start.isoformat()})
    return f"/book/{doctor.slug}/review/?{query}"


def picker_url(doctor, **query) -> str:
    return f"/book/{doctor.slug}/" + (f"?{urlencode(query)}" if query else "")


def appointment_urls(appointment, new_start: dt.datetime | None = None) -> dict[str, str]:
    base = f"/portal/appointments/{appointment.reference}/"
    new_start = new_start or at(DAY, "11:00")
    return {
        "detail": base,
        "booked": base + "booked/",
        "cancel": base + "cancel/",
        "reschedule": base + "reschedule/",
        "reschedule_confirm": base
        + "reschedule/confirm/?"
        + urlencode({"start": new_start.isoformat()}),
        "calendar": base + "calendar.ics",
    }


def slot_links(html: str) -> list[tuple[str, dict[str, str], dt.datetime]]:
    """Every slot link of a page: (path, query, start as an aware datetime)."""
    links = []
    for href in SLOT_LINK.findall(html):
        parts = urlsplit(htmllib.unescape(href))
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        links.append((parts.path, query, dt.datetime.fromisoformat(query["start"])))
    return links


def slot_starts(html: str) -> set[dt.datetime]:
    return {start for _, _, start in slot_links(html)}


def day_grid(day: dt.date, times=GRID) -> set[dt.datetime]:
    return {at(day, hhmm) for hhmm in times}


def on_day(starts, day: dt.date) -> set[dt.datetime]:
    tz = timezone.get_default_timezone()
    return {s for s in starts if s.astimezone(tz).date() == day}


def section(html: str, marker: str) -> str:
    """The part of a page from `marker` up to the next card heading."""
    start = html.index(marker)
    nxt = html.find("<h2", start + len(marker))
    return html[start : nxt if nxt != -1 else len(html)]


def set_status(appointment, status: str, **fields) -> Appointment:
    Appointment.objects.filter(pk=appointment.pk).update(status=status, **fields)
    return fresh(appointment)


def past_visit(visit_type, patient, day: dt.date, hhmm: str, status=None) -> Appointment:
    """A visit booked the day before `day` whose time has passed, then put in `status` (None:
    left as it was booked, REQUESTED)."""
    start = at(day, hhmm)
    appointment = book(
        visit_type, start, patient=patient, now=at(day - dt.timedelta(days=1), "08:00")
    )
    stamps = {
        Status.COMPLETED: "completed_at",
        Status.NO_SHOW: "no_show_at",
        Status.CANCELLED: "cancelled_at",
        Status.CONFIRMED: "confirmed_at",
    }
    if status is None:
        return appointment
    return set_status(appointment, status, **{stamps[status]: start})


def confirm(appointment, doctor) -> Appointment:
    return services.appointment_act(appointment=appointment, actor=doctor.user, action="confirm")


def messages_text(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# --- 1. Who may open the portal pages ---------------------------------------------------------

PER_APPOINTMENT = (
    "detail",
    "booked",
    "cancel",
    "reschedule",
    "reschedule_confirm",
    "calendar",
)


def all_portal_urls(doctor, visit_type, appointment) -> dict[str, str]:
    return {
        "list": LIST_URL,
        "history": HISTORY_URL,
        **appointment_urls(appointment),
        "my_data": MY_DATA_URL,
        "review": review_url(doctor, visit_type, at(DAY, "10:20")),
    }


@pytest.mark.parametrize(
    "name", ["list", "history", *PER_APPOINTMENT, "my_data", "review"], ids=str
)
def test_anonymous_visitors_are_sent_to_login_with_next_set_to_the_page(
    client, doctor, visit_type, appointment, name
):
    url = all_portal_urls(doctor, visit_type, appointment)[name]
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == LOGIN_URL
    assert parse_qs(location.query)["next"] == [url]


@pytest.mark.parametrize("name", ["review", "cancel", "reschedule_confirm"])
def test_anonymous_posts_are_sent_to_login_and_change_nothing(
    client, doctor, visit_type, appointment, name
):
    url = all_portal_urls(doctor, visit_type, appointment)[name]
    before = (Appointment.objects.count(), Transition.objects.count(), fresh(appointment).start)
    response = client.post(url, {"reason": "anonymous"})
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN_URL
    after = (Appointment.objects.count(), Transition.objects.count(), fresh(appointment).start)
    assert after == before


def test_the_slot_picker_itself_is_public(client, doctor):
    response = client.get(picker_url(doctor))
    assert response.status_code == 200
    assert 'id="slot-picker"' in page(response)


def test_the_slot_picker_describes_itself_to_search_engines(client, doctor):
    """Regression (Lighthouse SEO: meta-description): the picker had no description."""
    html = page(client.get(picker_url(doctor)))
    assert f'<meta name="description" content="Choose a free time with {doctor.name}' in html


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN])
@pytest.mark.parametrize(
    "name", ["list", "history", *PER_APPOINTMENT, "my_data", "review"], ids=str
)
def test_staff_are_sent_to_their_dashboard(client, doctor, visit_type, appointment, role, name):
    # The treating doctor is the most tempting case: their own patient's appointment.
    user = doctor.user if role == Role.DOCTOR else make_user(role)
    client.force_login(user)
    response = client.get(all_portal_urls(doctor, visit_type, appointment)[name])
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_URL


@pytest.mark.parametrize("name", PER_APPOINTMENT)
def test_another_patients_appointment_is_a_404(client, other_patient, appointment, name):
    client.force_login(other_patient)
    assert client.get(appointment_urls(appointment)[name]).status_code == 404


@pytest.mark.parametrize("name", ["cancel", "reschedule_confirm"])
def test_another_patient_cannot_post_to_an_appointment(client, other_patient, appointment, name):
    client.force_login(other_patient)
    response = client.post(appointment_urls(appointment)[name], {"reason": "mine now"})
    assert response.status_code == 404
    row = fresh(appointment)
    assert (row.status, row.start, row.reschedule_count) == (
        Status.REQUESTED,
        at(DAY, "09:00"),
        0,
    )
    assert not Reschedule.objects.exists()


@pytest.mark.parametrize("reference", ["ZZZZ9999", "nope", "AB-12-CD", "X" * 40, "%25", "..."])
@pytest.mark.parametrize("name", PER_APPOINTMENT)
def test_unknown_or_malformed_reference_is_a_404(patient_client, appointment, reference, name):
    url = appointment_urls(appointment)[name].replace(appointment.reference, reference)
    assert patient_client.get(url).status_code == 404


# --- 2. The slot picker -----------------------------------------------------------------------


def test_picker_shows_the_weeks_offered_slots_as_links_to_the_review(client, doctor, visit_type):
    response = client.get(picker_url(doctor))
    assert response.status_code == 200
    links = slot_links(page(response))
    expected = set().union(*(day_grid(TODAY + dt.timedelta(days=i)) for i in range(7)))
    assert {start for _, _, start in links} == expected
    assert len(links) == len(expected) == 42
    for path, query, _ in links:
        assert path == f"/book/{doctor.slug}/review/"
        assert query["visit_type"] == str(visit_type.pk)


def test_picker_first_week_has_no_previous_link_and_links_to_the_next(client, doctor, visit_type):
    # A week in the past is this week.
    assert slot_starts(page(client.get(picker_url(doctor, week="2031-02-01")))) == slot_starts(
        page(client.get(picker_url(doctor)))
    )
    html = page(client.get(picker_url(doctor)))
    assert 'rel="prev"' not in html
    nxt = re.search(r'href="([^"]+)" data-picker-link rel="next"', html)
    assert nxt, "no link to the next week"
    query = parse_qs(urlsplit(htmllib.unescape(nxt.group(1))).query)
    assert query == {
        "visit_type": [str(visit_type.pk)],
        "week": [(TODAY + dt.timedelta(days=7)).isoformat()],
    }


def test_picker_later_week_links_back_and_shows_that_week(client, doctor, visit_type):
    week = TODAY + dt.timedelta(days=14)
    html = page(client.get(picker_url(doctor, visit_type=visit_type.pk, week=week.isoformat())))
    prev = re.search(r'href="([^"]+)" data-picker-link rel="prev"', html)
    assert prev
    assert parse_qs(urlsplit(htmllib.unescape(prev.group(1))).query)["week"] == [
        (week - dt.timedelta(days=7)).isoformat()
    ]
    starts = slot_starts(html)
    assert min(starts) == at(week, "09:00")
    assert max(starts) == at(week + dt.timedelta(days=6), "12:20")


def test_picker_next_link_stops_at_the_booking_horizon(client, doctor, visit_type):
    week = HORIZON - dt.timedelta(days=4)  # the horizon falls inside this week
    html = page(client.get(picker_url(doctor, visit_type=visit_type.pk, week=week.isoformat())))
    assert 'rel="next"' not in html
    assert 'rel="prev"' in html
    starts = slot_starts(html)
    assert max(starts) == at(HORIZON, "12:20")  # the last day is bookable, nothing after it
    assert not any(s.date() > HORIZON for s in starts)


def test_picker_week_far_beyond_the_horizon_shows_the_last_bookable_day(client, doctor):
    html = page(client.get(picker_url(doctor, week="2099-01-01")))
    assert 'rel="next"' not in html
    assert slot_starts(html) == day_grid(HORIZON)


def test_picker_switches_visit_type(client, doctor, visit_type):
    follow_up = VisitTypeFactory(
        doctor=doctor, name="Video follow-up", duration_minutes=15, mode="video", price=25
    )
    # The 15-minute type sorts first (shorter), so it is the default; choosing the
    # consultation shows the consultation's 40-minute grid.
    default_html = page(client.get(picker_url(doctor)))
    assert on_day(slot_starts(default_html), DAY) >= {at(DAY, "09:00"), at(DAY, "09:25")}
    assert "Video follow-up" in default_html and "15 min · Video · £25.00" in default_html
    assert "30 min · In person · £40.00" in default_html

    html = page(client.get(picker_url(doctor, visit_type=visit_type.pk)))
    links = slot_links(html)
    assert {q["visit_type"] for _, q, _ in links} == {str(visit_type.pk)}
    assert on_day(slot_starts(html), DAY) == day_grid(DAY)
    assert re.search(rf'value="{visit_type.pk}" checked', html)
    assert not re.search(rf'value="{follow_up.pk}" checked', html)

    html = page(client.get(picker_url(doctor, visit_type=follow_up.pk)))
    assert {q["visit_type"] for _, q, _ in slot_links(html)} == {str(follow_up.pk)}
    assert at(DAY, "09:25") in slot_starts(html)


def test_picker_fragment_for_the_script_has_the_picker_and_no_page(client, doctor):
    response = client.get(picker_url(doctor), headers={"X-Requested-With": "fetch"})
    assert response.status_code == 200
    html = page(response)
    assert 'id="slot-picker"' in html
    assert "<html" not in html and "<body" not in html
    assert slot_starts(html) >= day_grid(DAY)
    full = page(client.get(picker_url(doctor)))
    assert "<html" in full and 'id="slot-picker"' in full


def test_picker_does_not_show_a_booked_slot(client, doctor, visit_type, other_patient):
    book(visit_type, at(DAY, "09:40"), patient=other_patient)
    starts = on_day(slot_starts(page(client.get(picker_url(doctor)))), DAY)
    assert starts == day_grid(DAY) - {at(DAY, "09:40")}


def test_picker_of_an_inactive_or_unknown_doctor_is_a_404(client):
    doctor = DoctorFactory(is_active=False, slug="gone-away")
    give_week(doctor)
    VisitTypeFactory(doctor=doctor)
    assert client.get("/book/gone-away/").status_code == 404
    assert client.get("/book/no-such-doctor/").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "week=garbage",
        "week=2026-02-30",
        "week=2031-13-45",
        "week=99999999999999999999",
        "week=9999-12-31",
        "week=0001-01-01",
        "week=",
        "visit_type=garbage",
        "visit_type=99999999999999999999999999",
        "visit_type=-1",
        "visit_type=",
        "visit_type=%C2%B2",  # "²": a digit to str.isdigit(), not to int()
        "visit_type=1e9&week=2031-02-29",
        "week=%00&visit_type=%00",
    ],
)
def test_picker_bad_week_or_visit_type_never_500s(client, doctor, visit_type, query):
    client.raise_request_exception = False
    response = client.get(f"/book/{doctor.slug}/?{query}")
    assert response.status_code == 200, query
    assert 'id="slot-picker"' in page(response)


# --- 3. Review and book -----------------------------------------------------------------------


def test_review_shows_doctor_visit_type_time_price_and_policy(patient_client, doctor, visit_type):
    response = patient_client.get(review_url(doctor, visit_type, at(DAY, "10:20")))
    assert response.status_code == 200
    html = page(response)
    assert "Dr Ada Hart" in html
    assert "Consultation · In person" in html
    assert "Wednesday 5 March 2031" in html
    assert "10:20 – 10:50" in html
    assert "£40.00" in html
    assert "You can cancel online until 2 hours before the visit" in html
    assert "until 2 hours before (up to 3 times)" in html
    assert "The clinic confirms every request" in html
    assert 'name="reason"' in html


def test_review_shows_the_time_in_the_clinics_zone(settings, client, patient):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30 all year
    doctor, visit_type = bookable_doctor(name="Dr Ada Hart")
    client.force_login(patient)
    start_utc = dt.datetime(2031, 3, 5, 3, 30, tzinfo=dt.UTC)  # 09:00 in Kolkata
    response = client.get(review_url(doctor, visit_type, start_utc))
    assert response.status_code == 200
    html = page(response)
    assert "Wednesday 5 March 2031" in html
    assert "09:00 – 09:30" in html
    assert "03:30" not in html


def test_review_accepts_the_same_instant_with_another_offset_or_a_raw_plus(
    patient_client, patient, doctor, visit_type
):
    base = f"/book/{doctor.slug}/review/?visit_type={visit_type.pk}&start="
    # 11:20+01:00 is 10:20 UTC, an offered slot; "+" typed raw in a query string reads as a space.
    assert patient_client.get(base + "2031-03-05T11:20:00%2B01:00").status_code == 200
    assert patient_client.get(base + "2031-03-05T10:20:00+00:00").status_code == 200
    response = patient_client.post(base + "2031-03-05T11:20:00%2B01:00", {"reason": ""})
    assert response.status_code == 302
    assert Appointment.objects.get(patient=patient).start == at(DAY, "10:20")


def test_review_of_a_time_off_the_grid_is_not_bookable(patient_client, doctor, visit_type):
    url = review_url(doctor, visit_type, at(DAY, "09:20"))
    assert patient_client.get(url).status_code == 409
    response = patient_client.post(url, {"reason": ""})
    assert response.status_code == 409
    assert not Appointment.objects.exists()


def test_unverified_patient_is_sent_to_verify_and_comes_back_to_the_review(
    client, doctor, visit_type, django_capture_on_commit_callbacks
):
    patient = make_user(Role.PATIENT, email_verified_at=None, email="new@example.test")
    client.force_login(patient)
    url = review_url(doctor, visit_type, at(DAY, "10:20"))
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == VERIFY_URL
    assert parse_qs(location.query)["next"] == [url]

    # A POST is refused the same way, and nothing is stored.
    response = client.post(url, {"reason": "Sore knee"})
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == VERIFY_URL
    assert not Appointment.objects.exists()

    # The verify page keeps `next`; the right code brings the patient back to the review.
    assert client.get(response["Location"]).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        account_services.email_verification_send(user=patient)
    code = re.search(r"^\s*(\d{6})\s*$", mail.outbox[-1].body, re.MULTILINE).group(1)
    response = client.post(VERIFY_URL, {"email": patient.email, "code": code})
    assert response.status_code == 302
    assert response["Location"] == url
    assert client.get(url).status_code == 200


def test_posting_the_review_books_and_goes_to_the_booked_page(
    patient_client, patient, doctor, visit_type
):
    response = patient_client.post(
        review_url(doctor, visit_type, at(DAY, "10:20")), {"reason": "Sore knee"}
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert response["Location"] == f"/portal/appointments/{appointment.reference}/booked/"
    assert appointment.patient == patient
    assert appointment.doctor == doctor
    assert appointment.start == at(DAY, "10:20")
    assert appointment.status == Status.REQUESTED
    assert appointment.reason == "Sore knee"
    booked = patient_client.get(response["Location"])
    assert booked.status_code == 200
    html = page(booked)
    assert "Your request is in" in html
    assert appointment.reference in html
    assert 'class="badge badge--requested">Requested<' in html


def test_review_reason_over_2000_characters_is_a_field_error_and_stores_nothing(
    patient_client, doctor, visit_type
):
    response = patient_client.post(
        review_url(doctor, visit_type, at(DAY, "10:20")), {"reason": "x" * 2001}
    )
    assert response.status_code == 400
    assert "at most 2000 characters" in page(response)
    assert not Appointment.objects.exists()


def test_slot_taken_meanwhile_is_a_409_with_alternatives_and_stores_nothing(
    patient_client, patient, other_patient, doctor, visit_type
):
    url = review_url(doctor, visit_type, at(DAY, "09:40"))
    assert patient_client.get(url).status_code == 200
    book(visit_type, at(DAY, "09:40"), patient=other_patient)  # someone else is quicker

    response = patient_client.post(url, {"reason": "Sore knee"})
    assert response.status_code == 409
    html = page(response)
    assert "Sorry — someone has just taken that time." in html
    alert = html[html.index('id="slot-taken"') :]
    alert = alert[: alert.index("</div>")]
    links = slot_links(alert)
    assert 1 <= len(links) <= 3
    assert [start for _, _, start in links] == [
        at(DAY, "10:20"),
        at(DAY, "11:00"),
        at(DAY, "11:40"),
    ]
    assert all(path == f"/book/{doctor.slug}/review/" for path, _, _ in links)
    assert not Appointment.objects.filter(patient=patient).exists()


def test_an_alternative_to_a_taken_time_keeps_the_reason_typed(
    patient_client, patient, other_patient, doctor, visit_type
):
    url = review_url(doctor, visit_type, at(DAY, "09:40"))
    book(visit_type, at(DAY, "09:40"), patient=other_patient)
    patient_client.post(url, {"reason": "Sore knee since the marathon"})
    alternative = review_url(doctor, visit_type, at(DAY, "10:20"))
    html = page(patient_client.get(alternative))
    assert "Sore knee since the marathon</textarea>" in html
    assert "marathon" not in alternative  # never in a URL
    # Used once: the next review starts empty.
    assert "marathon" not in page(patient_client.get(alternative))


def test_a_kept_reason_is_not_offered_on_another_doctors_review(
    patient_client, patient, other_patient, doctor, visit_type
):
    book(visit_type, at(DAY, "09:40"), patient=other_patient)
    patient_client.post(review_url(doctor, visit_type, at(DAY, "09:40")), {"reason": "Knee"})
    other, other_type = bookable_doctor(name="Dr Ben Other", slug="ben-other")
    html = page(patient_client.get(review_url(other, other_type, at(DAY, "10:20"))))
    assert "Knee</textarea>" not in html


def test_review_of_a_slot_already_taken_says_so(patient_client, doctor, visit_type, other_patient):
    book(visit_type, at(DAY, "09:40"), patient=other_patient)
    response = patient_client.get(review_url(doctor, visit_type, at(DAY, "09:40")))
    assert response.status_code == 409
    html = page(response)
    assert "that time is no longer available" in html
    assert at(DAY, "10:20") in slot_starts(html)
    assert "Confirm booking" not in html


@pytest.mark.parametrize(
    "start",
    [
        None,
        "",
        "garbage",
        "2031-03-05",
        "2031-03-05T09:00:00",  # naive: no offset
        "2026-02-30T09:00:00+00:00",
        "2031-03-05T09:00:00+99:00",
        "99999999999999999999",
    ],
)
def test_review_with_missing_or_garbage_start_is_a_404(patient_client, doctor, visit_type, start):
    patient_client.raise_request_exception = False
    query = {"visit_type": visit_type.pk} | ({} if start is None else {"start": start})
    url = f"/book/{doctor.slug}/review/?{urlencode(query)}"
    assert patient_client.get(url).status_code == 404
    assert patient_client.post(url, {"reason": "x"}).status_code == 404
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("start", ["9999-12-31T23:30:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_review_with_a_start_at_the_ends_of_the_calendar_never_500s(
    patient_client, doctor, visit_type, start
):
    patient_client.raise_request_exception = False
    url = f"/book/{doctor.slug}/review/?{urlencode({'visit_type': visit_type.pk, 'start': start})}"
    assert patient_client.get(url).status_code in (404, 409)
    assert patient_client.post(url, {"reason": "x"}).status_code in (404, 409)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("value", ["garbage", "99999999", "%C2%B2"])
def test_review_with_a_visit_type_the_doctor_does_not_offer_is_a_404(
    patient_client, doctor, visit_type, value
):
    patient_client.raise_request_exception = False
    other = VisitTypeFactory()  # another doctor's
    for visit_type_value in (value, other.pk):
        start = at(DAY, "09:00").isoformat()
        url = f"/book/{doctor.slug}/review/?visit_type={visit_type_value}&start={start}"
        assert patient_client.get(url.replace("+", "%2B")).status_code == 404


def test_review_refuses_an_overlap_with_own_appointment_elsewhere(
    patient_client, patient, doctor, visit_type
):
    _, other_type = bookable_doctor(name="Dr Ben Other")
    book(other_type, at(DAY, "09:00"), patient=patient)
    response = patient_client.post(
        review_url(doctor, visit_type, at(DAY, "09:00")), {"reason": "Second opinion"}
    )
    assert response.status_code == 409
    assert "You already have an appointment at that time." in page(response)
    assert not Appointment.objects.filter(doctor=doctor).exists()
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_the_picker_marks_times_that_clash_with_the_patients_own_appointments(
    patient_client, patient, doctor, visit_type
):
    """Not offered at all rather than refused at "Confirm booking": an hour with another doctor
    at 09:00-10:00 rules out 09:00 and 09:40 (they overlap it), not 10:20."""
    _, other_type = bookable_doctor(name="Dr Ben Other", duration=60)
    book(other_type, at(DAY, "09:00"), patient=patient)
    html = page(patient_client.get(picker_url(doctor, week=DAY.isoformat())))
    offered = on_day(slot_starts(html), DAY)
    assert at(DAY, "09:00") not in offered and at(DAY, "09:40") not in offered
    assert at(DAY, "10:20") in offered
    assert html.count('class="slot slot--clash"') == 2
    assert "not offered: you have another appointment at this time" in html
    # A visitor is offered every time.
    visitor = Client().get(picker_url(doctor, week=DAY.isoformat()))
    assert day_grid(DAY) <= slot_starts(page(visitor))


def test_a_cancelled_appointment_of_the_patient_clashes_with_nothing(
    patient_client, patient, doctor, visit_type
):
    _, other_type = bookable_doctor(name="Dr Ben Other", duration=60)
    services.appointment_act(
        appointment=book(other_type, at(DAY, "09:00"), patient=patient),
        actor=patient,
        action="cancel",
    )
    html = page(patient_client.get(picker_url(doctor, week=DAY.isoformat())))
    assert "slot--clash" not in html
    assert day_grid(DAY) <= slot_starts(html)


# --- 4. My appointments -----------------------------------------------------------------------


@pytest.fixture
def mixed_appointments(doctor, visit_type, patient, other_patient):
    """Nora's appointments in every state, and one of Otto's."""
    upcoming_requested = book(visit_type, at(DAY, "09:00"), patient=patient)
    upcoming_confirmed = confirm(book(visit_type, at(LATER, "09:00"), patient=patient), doctor)
    cancelled = services.appointment_act(
        appointment=book(visit_type, at(DAY, "10:20"), patient=patient),
        actor=patient,
        action="cancel",
    )
    completed = past_visit(visit_type, patient, PAST, "09:00", Status.COMPLETED)
    no_show = past_visit(visit_type, patient, PAST, "10:20", Status.NO_SHOW)
    past_requested = past_visit(visit_type, patient, PAST + dt.timedelta(days=1), "09:00")
    others = book(visit_type, at(DAY, "11:00"), patient=other_patient)
    return {
        "upcoming": [upcoming_requested, upcoming_confirmed],
        "history": [cancelled, past_requested, no_show, completed],
        "others": others,
    }


def _listed(html: str) -> list[str]:
    return DETAIL_LINK.findall(html)


def test_upcoming_tab_lists_future_requested_and_confirmed_only(patient_client, mixed_appointments):
    html = page(patient_client.get(LIST_URL))
    assert _listed(html) == [a.reference for a in mixed_appointments["upcoming"]]
    assert 'class="badge badge--requested">Requested<' in html
    assert 'class="badge badge--confirmed">Confirmed<' in html
    assert 'aria-current="page">Upcoming<' in html


def test_history_tab_lists_final_and_past_appointments(patient_client, mixed_appointments):
    html = page(patient_client.get(HISTORY_URL))
    assert _listed(html) == [a.reference for a in mixed_appointments["history"]]
    for status, label in [
        ("cancelled", "Cancelled"),
        ("completed", "Completed"),
        ("no_show", "No-show"),
        ("requested", "Requested"),  # its time has passed
    ]:
        assert f'class="badge badge--{status}">{label}<' in html
    assert 'aria-current="page">History<' in html


def test_lists_show_only_own_appointments(patient_client, mixed_appointments):
    others = mixed_appointments["others"].reference
    for url in (LIST_URL, HISTORY_URL, PORTAL_HOME_URL):
        assert others not in page(patient_client.get(url)), url


def test_empty_lists_say_so(patient_client):
    assert "No upcoming appointments" in page(patient_client.get(LIST_URL))
    assert "No past appointments yet" in page(patient_client.get(HISTORY_URL))


def _count_queries(client, url) -> tuple[int, str]:
    client.get(url)  # warm per-process caches (content types, site root paths)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), page(response)


def _book_many(visit_type, patient, n: int, *, first_day: dt.date, past: bool = False):
    made = []
    for i in range(n):
        day = first_day + dt.timedelta(days=i // len(GRID))
        hhmm = GRID[i % len(GRID)]
        if past:
            made.append(past_visit(visit_type, patient, day, hhmm, Status.COMPLETED))
        else:
            made.append(book(visit_type, at(day, hhmm), patient=patient))
    return made


def test_upcoming_list_query_count_is_pinned(patient_client, patient, visit_type):
    build_site()  # the menu and settings of a real site
    _book_many(visit_type, patient, 2, first_day=DAY)
    few, html = _count_queries(patient_client, LIST_URL)
    assert len(_listed(html)) == 2
    Appointment.objects.all().delete()
    _book_many(visit_type, patient, 20, first_day=DAY)
    many, html = _count_queries(patient_client, LIST_URL)
    assert len(_listed(html)) == 20
    assert few == many == LIST_QUERIES


def test_history_list_query_count_is_pinned(patient_client, patient, visit_type):
    build_site()
    _book_many(visit_type, patient, 2, first_day=PAST - dt.timedelta(days=10), past=True)
    few, html = _count_queries(patient_client, HISTORY_URL)
    assert len(_listed(html)) == 2
    _book_many(visit_type, patient, 18, first_day=PAST - dt.timedelta(days=5), past=True)
    many, html = _count_queries(patient_client, HISTORY_URL)
    assert len(_listed(html)) == 20
    assert few == many == HISTORY_QUERIES


def test_history_is_paginated(patient_client, patient, visit_type):
    made = _book_many(visit_type, patient, 23, first_day=PAST - dt.timedelta(days=10), past=True)
    first = page(patient_client.get(HISTORY_URL))
    assert len(_listed(first)) == 20
    assert "Page 1 of 2" in first
    second = page(patient_client.get(HISTORY_URL + "&page=2"))
    assert _listed(second) == [a.reference for a in made[:3]][::-1]
    assert patient_client.get(HISTORY_URL + "&page=garbage").status_code == 200


# --- 5. An appointment's details --------------------------------------------------------------


def _short(when: dt.datetime) -> str:
    return dateformat.format(when.astimezone(timezone.get_default_timezone()), "D j M, H:i")


def test_detail_timeline_shows_each_status_change_and_the_move(
    patient_client, travel, patient, doctor, visit_type
):
    appointment = book(visit_type, at(DAY, "09:00"), patient=patient, reason="Sore knee")
    travel(at(TODAY, "07:00"))
    confirm(appointment, doctor)
    travel(at(TODAY, "08:00"))
    services.appointment_reschedule(
        appointment=appointment, actor=patient, new_start=at(DAY, "10:20"), reason="Work"
    )
    travel(at(TODAY, "09:00"))

    html = page(patient_client.get(appointment_urls(appointment)["detail"]))
    timeline = section(html, 'id="timeline-title"')
    titles = re.findall(r'<p class="timeline__title">([^<]+)</p>', timeline)
    assert titles == [
        "Requested by you",
        "Confirmed",
        "Moved — waiting for the clinic to confirm the new time",
        f"Moved by you from {_short(at(DAY, '09:00'))} to {_short(at(DAY, '10:20'))}",
    ]
    assert titles[-1] == "Moved by you from Wed 5 Mar, 09:00 to Wed 5 Mar, 10:20"
    assert timeline.count('class="timeline__item') == 4
    assert "“Work”" in timeline

    moves = section(html, 'id="moves-title"')
    assert "Changes of time" in moves
    cells = re.findall(r"<td>([^<]*)</td>", moves)
    assert cells == ["Wed 5 Mar, 09:00", "Wed 5 Mar, 10:20", "You", "3 Mar, 08:00", "Work"]
    assert "Sore knee" in html


def test_detail_timeline_names_the_clinic_for_its_own_steps(
    patient_client, patient, doctor, visit_type
):
    declined = book(visit_type, at(DAY, "09:00"), patient=patient)
    services.appointment_act(
        appointment=declined, actor=doctor.user, action="decline", reason="Doctor away"
    )
    cancelled = book(visit_type, at(DAY, "10:20"), patient=patient)
    services.appointment_act(
        appointment=cancelled,
        actor=make_user(Role.RECEPTIONIST),
        action="cancel",
        reason="Clinic closed",
    )
    html = page(patient_client.get(appointment_urls(declined)["detail"]))
    assert "Declined by the clinic" in html and "“Doctor away”" in html
    html = page(patient_client.get(appointment_urls(cancelled)["detail"]))
    assert "Cancelled by the clinic" in html and "“Clinic closed”" in html
    assert 'class="badge badge--cancelled">Cancelled<' in html


def test_detail_without_moves_has_no_changes_table(patient_client, appointment):
    html = page(patient_client.get(appointment_urls(appointment)["detail"]))
    assert "Changes of time" not in html
    assert "Requested by you" in html


@pytest.fixture
def clinic_details():
    details = ClinicDetails.load()
    details.name = "Riverside Clinic"
    details.address = "12 High Street\nLeeds LS1 1AA"
    details.phone = "0113 496 0000"
    details.save()
    return details


@pytest.mark.parametrize("mode", ["in_person", "video", "telephone"])
def test_detail_shows_how_to_attend_for_each_visit_mode(
    patient_client, patient, doctor, clinic_details, mode
):
    visit_type = VisitTypeFactory(doctor=doctor, name=f"{mode} visit", mode=mode)
    appointment = book(visit_type, at(DAY, "09:00"), patient=patient)
    html = page(patient_client.get(appointment_urls(appointment)["detail"]))
    mode_html = html[html.index('class="visit-mode') :]
    mode_html = mode_html[: mode_html.index("</section>")]
    if mode == "in_person":
        assert "Riverside Clinic<br>12 High Street<br>Leeds LS1 1AA" in mode_html
        assert "meet.jit.si" not in html
    elif mode == "video":
        url = services.meeting_url(appointment)
        assert url and url.startswith("https://")
        assert f'href="{url}"' in mode_html
        assert "Join video visit" in mode_html
        assert "12 High Street" not in mode_html
    else:
        assert "will call you on <strong>+44 20 7946 0000</strong>" in mode_html
        assert "0113 496 0000" in mode_html
        assert "12 High Street" not in mode_html


def test_detail_of_a_past_visit_no_longer_shows_how_to_attend(
    patient_client, patient, visit_type, clinic_details
):
    appointment = past_visit(visit_type, patient, PAST, "09:00", Status.COMPLETED)
    html = page(patient_client.get(appointment_urls(appointment)["detail"]))
    assert 'class="visit-mode' not in html


def test_detail_offers_cancel_and_reschedule_well_before_the_visit(patient_client, appointment):
    urls = appointment_urls(appointment)
    html = page(patient_client.get(urls["detail"]))
    assert f'href="{urls["cancel"]}"' in html and "Cancel appointment" in html
    assert f'href="{urls["reschedule"]}"' in html and "Change the time" in html
    assert 'class="action-notes"' not in html


def test_detail_inside_the_cutoff_has_no_buttons_and_says_why(patient_client, travel, appointment):
    travel(at(DAY, "07:30"))  # 90 minutes before the visit
    urls = appointment_urls(appointment)
    html = page(patient_client.get(urls["detail"]))
    assert f'href="{urls["cancel"]}"' not in html
    assert f'href="{urls["reschedule"]}"' not in html
    assert "Online cancellation closes 2 hours before the visit" in html
    assert "Online rescheduling closes 2 hours before the visit" in html


def test_detail_exactly_at_the_cutoff_still_offers_both(patient_client, travel, appointment):
    travel(at(DAY, "07:00"))  # "until now <= start - cut-off"
    urls = appointment_urls(appointment)
    html = page(patient_client.get(urls["detail"]))
    assert f'href="{urls["cancel"]}"' in html
    assert f'href="{urls["reschedule"]}"' in html


def test_detail_after_the_reschedule_limit_says_so(patient_client, travel, patient, appointment):
    for i, hhmm in enumerate(("09:40", "10:20", "11:00")):
        travel(at(TODAY, f"0{6 + i}:30"))
        services.appointment_reschedule(
            appointment=fresh(appointment), actor=patient, new_start=at(DAY, hhmm)
        )
    urls = appointment_urls(appointment)
    html = page(patient_client.get(urls["detail"]))
    assert f'href="{urls["reschedule"]}"' not in html
    assert f'href="{urls["cancel"]}"' in html  # cancelling is still open
    assert "has been moved 3 times, the most the clinic allows online" in html
    assert html.count('class="timeline__item timeline__item--moved"') == 3

    response = patient_client.get(urls["reschedule"], follow=True)
    assert response.redirect_chain == [(urls["detail"], 302)]
    assert "the most the clinic allows online" in messages_text(response)


# --- 6. Cancelling ----------------------------------------------------------------------------


def test_cancel_page_shows_the_policy(patient_client, appointment):
    response = patient_client.get(appointment_urls(appointment)["cancel"])
    assert response.status_code == 200
    html = page(response)
    assert "Online cancellation is open until 2 hours before the visit" in html
    assert "Yes, cancel it" in html


def test_cancel_post_cancels_records_it_and_frees_the_slot(client, patient, doctor, visit_type):
    appointment = book(visit_type, at(DAY, "09:40"), patient=patient)
    assert at(DAY, "09:40") not in slot_starts(page(client.get(picker_url(doctor))))
    client.force_login(patient)
    urls = appointment_urls(appointment)
    response = client.post(urls["cancel"], {"reason": "Feeling better"})
    assert response.status_code == 302
    assert response["Location"] == urls["detail"]
    row = fresh(appointment)
    assert row.status == Status.CANCELLED
    assert row.cancellation_reason == "Feeling better"
    transition = Transition.objects.get(appointment=appointment, to_status=Status.CANCELLED)
    assert (transition.from_status, transition.by) == (Status.REQUESTED, patient)
    assert transition.reason == "Feeling better"

    html = page(client.get(urls["detail"]))
    assert "Cancelled by you" in html
    assert "badge--cancelled" in html
    client.logout()
    assert at(DAY, "09:40") in slot_starts(page(client.get(picker_url(doctor))))


def test_a_cancelled_visit_offers_another_time_with_the_same_doctor(
    client, patient, doctor, visit_type
):
    appointment = book(visit_type, at(DAY, "09:40"), patient=patient)
    client.force_login(patient)
    urls = appointment_urls(appointment)
    assert "Book another time" not in page(client.get(urls["detail"]))  # still booked

    client.post(urls["cancel"], {"reason": "Feeling better"})
    html = page(client.get(urls["detail"]))
    link = re.search(r'<a class="btn[^"]*" href="([^"]+)"><svg[^>]*>.*?</svg> Book another', html)
    assert link, "no 'Book another time' link"
    assert htmllib.unescape(link.group(1)) == f"{picker_url(doctor)}?visit_type={visit_type.pk}"
    assert f"Book another time with {doctor.name}" in html
    assert page(client.get(htmllib.unescape(link.group(1))))  # the picker opens

    Doctor.objects.filter(pk=doctor.pk).update(accepting_bookings=False)
    assert "Book another time" not in page(client.get(urls["detail"]))


def test_cancel_inside_the_cutoff_is_refused_and_changes_nothing(
    patient_client, travel, appointment
):
    travel(at(DAY, "07:30"))
    url = appointment_urls(appointment)["cancel"]
    html = page(patient_client.get(url))
    assert "Online cancellation closes 2 hours before the visit" in html
    assert "Yes, cancel it" not in html

    response = patient_client.post(url, {"reason": "Too late?"})
    assert 400 <= response.status_code < 500
    assert "Online cancellation closes 2 hours before the visit" in page(response)
    row = fresh(appointment)
    assert (row.status, row.cancellation_reason, row.cancelled_at) == (
        Status.REQUESTED,
        "",
        None,
    )
    assert Transition.objects.filter(appointment=appointment).count() == 1


def test_cancelling_a_cancelled_appointment_changes_nothing(
    patient_client, travel, patient, appointment
):
    url = appointment_urls(appointment)["cancel"]
    assert patient_client.post(url, {"reason": "First"}).status_code == 302
    before = fresh(appointment)
    travel(at(TODAY, "07:00"))
    response = patient_client.post(url, {"reason": "Second"})
    assert response.status_code != 302
    assert "This appointment is cancelled." in page(response)
    after = fresh(appointment)
    assert (after.status, after.cancellation_reason, after.cancelled_at) == (
        before.status,
        "First",
        before.cancelled_at,
    )
    assert Transition.objects.filter(appointment=appointment).count() == 2


def test_cancel_reason_over_2000_characters_is_refused(patient_client, appointment):
    response = patient_client.post(appointment_urls(appointment)["cancel"], {"reason": "x" * 2001})
    assert response.status_code == 400
    assert "at most 2000 characters" in page(response)
    assert fresh(appointment).status == Status.REQUESTED


# --- 7. Rescheduling --------------------------------------------------------------------------


def test_reschedule_picker_lists_the_doctors_slots_leading_to_confirmation(
    patient_client, doctor, appointment
):
    # Another doctor working afternoons, with a 15-minute type of Dr Hart's as well: neither is
    # offered when moving a 30-minute consultation with Dr Hart.
    other_doctor, _ = bookable_doctor(name="Dr Ben Other")
    give_week(other_doctor, windows=(("14:00", "17:00"),))
    VisitTypeFactory(doctor=doctor, name="Quick check", duration_minutes=15)
    html = page(patient_client.get(appointment_urls(appointment)["reschedule"]))
    assert "Choose a new time" in html
    assert "Quick check" not in html
    links = slot_links(html)
    confirm_path = f"/portal/appointments/{appointment.reference}/reschedule/confirm/"
    assert links and all(path == confirm_path for path, _, _ in links)
    starts = {s for _, _, s in links}
    assert on_day(starts, LATER) == day_grid(LATER)
    assert all(f"{s:%H:%M}" in GRID for s in starts)


def test_reschedule_picker_own_time_does_not_block_its_neighbours(
    client, patient, doctor, visit_type
):
    appointment = book(visit_type, at(DAY, "09:40"), patient=patient)  # blocks 09:35-10:15
    Doctor.objects.filter(pk=doctor.pk).update(buffer_before_minutes=0, buffer_after_minutes=0)
    # Without buffers the grid is 09:00, 09:30, 10:00, ...: 09:30 and 10:00 touch 09:40's range.
    public = on_day(slot_starts(page(client.get(picker_url(doctor)))), DAY)
    assert at(DAY, "09:30") not in public and at(DAY, "10:00") not in public
    assert at(DAY, "09:00") in public

    client.force_login(patient)
    own = on_day(slot_starts(page(client.get(appointment_urls(appointment)["reschedule"]))), DAY)
    assert {at(DAY, "09:00"), at(DAY, "09:30"), at(DAY, "10:00"), at(DAY, "10:30")} <= own


def test_reschedule_confirm_moves_the_appointment(client, patient, doctor, visit_type, appointment):
    confirm(appointment, doctor)
    client.force_login(patient)
    new_start = at(DAY, "10:20")
    url = appointment_urls(appointment, new_start)["reschedule_confirm"]
    html = page(client.get(url))
    assert "Move your appointment?" in html
    assert "Wednesday 5 March, 09:00" in html and "Wednesday 5 March, 10:20" in html

    response = client.post(url, {"reason": "Clashes with work"}, follow=True)
    detail = appointment_urls(appointment)["detail"]
    assert response.redirect_chain == [(detail, 302)]
    assert "Your appointment is moved" in messages_text(response)
    row = fresh(appointment)
    assert (row.start, row.end) == (new_start, at(DAY, "10:50"))
    assert row.status == Status.REQUESTED  # confirmation is required again
    assert row.reschedule_count == 1
    move = Reschedule.objects.get(appointment=appointment)
    assert (move.old_start, move.new_start, move.changed_by, move.reason) == (
        at(DAY, "09:00"),
        new_start,
        patient,
        "Clashes with work",
    )
    last = Transition.objects.filter(appointment=appointment).last()
    assert (last.from_status, last.to_status) == (Status.CONFIRMED, Status.REQUESTED)
    html = page(response)
    assert "Moved by you from Wed 5 Mar, 09:00 to Wed 5 Mar, 10:20" in html

    client.logout()
    public = on_day(slot_starts(page(client.get(picker_url(doctor)))), DAY)
    assert at(DAY, "09:00") in public  # the old time is free again
    assert at(DAY, "10:20") not in public


def test_reschedule_to_a_slot_taken_meanwhile_is_refused_and_changes_nothing(
    patient_client, other_patient, visit_type, appointment
):
    url = appointment_urls(appointment, at(DAY, "10:20"))["reschedule_confirm"]
    assert patient_client.get(url).status_code == 200
    book(visit_type, at(DAY, "10:20"), patient=other_patient)
    response = patient_client.post(url, {"reason": "Work"})
    assert response.status_code == 409
    assert "that time has just been taken" in page(response)
    row = fresh(appointment)
    assert (row.start, row.status, row.reschedule_count) == (
        at(DAY, "09:00"),
        Status.REQUESTED,
        0,
    )
    assert not Reschedule.objects.exists()


def test_reschedule_inside_the_cutoff_redirects_back_with_the_reason(
    patient_client, travel, appointment
):
    travel(at(DAY, "07:30"))
    urls = appointment_urls(appointment, at(DAY, "11:00"))
    response = patient_client.get(urls["reschedule"], follow=True)
    assert response.redirect_chain == [(urls["detail"], 302)]
    assert "Online rescheduling closes 2 hours before the visit" in messages_text(response)

    response = patient_client.post(urls["reschedule_confirm"], {"reason": "Late"})
    assert response.status_code == 409
    assert "Online rescheduling has closed" in page(response)
    assert fresh(appointment).start == at(DAY, "09:00")
    assert not Reschedule.objects.exists()


@pytest.mark.parametrize(
    "start", [None, "garbage", "2031-03-05T10:20:00", "2026-02-30T10:00:00+00:00"]
)
def test_reschedule_confirm_with_missing_or_garbage_start_is_a_404(
    patient_client, appointment, start
):
    base = appointment_urls(appointment)["reschedule"] + "confirm/"
    url = base if start is None else f"{base}?{urlencode({'start': start})}"
    assert patient_client.get(url).status_code == 404
    assert patient_client.post(url, {"reason": "x"}).status_code == 404
    assert fresh(appointment).start == at(DAY, "09:00")


@pytest.mark.parametrize("start", ["9999-12-31T23:30:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_reschedule_confirm_at_the_ends_of_the_calendar_never_500s(
    patient_client, appointment, start
):
    patient_client.raise_request_exception = False
    url = appointment_urls(appointment)["reschedule"] + "confirm/?" + urlencode({"start": start})
    assert patient_client.get(url).status_code in (404, 409)
    assert patient_client.post(url, {"reason": "x"}).status_code in (404, 409)
    assert fresh(appointment).start == at(DAY, "09:00")


# --- 8. (the visit summary: tests/records/test_summary.py) ----------------------------------------


# --- 9. My data -------------------------------------------------------------------------------


def test_my_data_is_a_json_attachment_of_own_data_only(
    patient_client, travel, patient, other_patient, doctor, visit_type
):
    mine = book(visit_type, at(DAY, "09:00"), patient=patient, reason="Sore knee")
    travel(at(TODAY, "07:00"))
    services.appointment_reschedule(
        appointment=mine, actor=patient, new_start=at(DAY, "10:20"), reason="Work"
    )
    theirs = book(visit_type, at(DAY, "11:00"), patient=other_patient, reason="Secret matter")

    response = patient_client.get(MY_DATA_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert re.search(r'filename="[^"]+\.json"', disposition)
    body = page(response)
    data = json.loads(body)
    assert data["account"]["email"] == "nora@example.test"
    assert data["account"]["full_name"] == "Nora Quinn"
    assert data["profile"]["date_of_birth"] == "1990-05-17"
    assert [a["reference"] for a in data["appointments"]] == [mine.reference]
    exported = data["appointments"][0]
    assert exported["doctor"] == "Dr Ada Hart"
    assert exported["reason"] == "Sore knee"
    assert exported["status"] == Status.REQUESTED
    assert dt.datetime.fromisoformat(exported["start"]) == at(DAY, "10:20")
    assert [(t["from"], t["to"]) for t in exported["transitions"]] == [(None, Status.REQUESTED)]
    assert len(exported["reschedules"]) == 1
    move = exported["reschedules"][0]
    assert dt.datetime.fromisoformat(move["old_start"]) == at(DAY, "09:00")
    assert dt.datetime.fromisoformat(move["new_start"]) == at(DAY, "10:20")
    assert (move["changed_by"], move["reason"]) == ("Nora Quinn", "Work")
    for secret in (theirs.reference, "Secret matter", "otto@example.test", "Otto Brandt"):
        assert secret not in body


# --- The calendar file -----------------------------------------------------------------------


def test_calendar_file_of_an_upcoming_visit(patient_client, appointment):
    url = appointment_urls(appointment)["calendar"]
    response = patient_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == (
        f'attachment; filename="appointment-{appointment.reference}.ics"'
    )
    body = page(response)
    assert "BEGIN:VEVENT" in body
    assert "DTSTART:20310305T090000Z" in body
    assert "DTEND:20310305T093000Z" in body

    set_status(appointment, Status.CANCELLED)
    assert patient_client.get(url).status_code == 404


# --- 10. (the doctor page: tests/home/test_doctor_page_booking.py) ----------------------------
# --- 11. The portal home ----------------------------------------------------------------------


def test_portal_home_lists_the_next_appointments_and_links_onwards(
    patient_client, patient, visit_type
):
    made = [book(visit_type, at(DAY, hhmm), patient=patient) for hhmm in GRID[:4]]
    services.appointment_act(appointment=made[0], actor=patient, action="cancel")
    response = patient_client.get(PORTAL_HOME_URL)
    assert response.status_code == 200
    html = page(response)
    assert _listed(html) == [a.reference for a in made[1:4]]
    assert f'href="{LIST_URL}"' in html
    assert f'href="{MY_DATA_URL}"' in html


def test_portal_home_without_bookings_says_so(patient_client):
    html = page(patient_client.get(PORTAL_HOME_URL))
    assert "Nothing booked yet." in html
    assert f'href="{LIST_URL}"' in html


# --- 12. Caching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["home", "list", "history", *PER_APPOINTMENT, "my_data", "review"],
    ids=str,
)
def test_portal_pages_are_never_stored_by_caches(
    patient_client, patient, doctor, visit_type, appointment, name
):
    urls = {"home": PORTAL_HOME_URL, **all_portal_urls(doctor, visit_type, appointment)}
    response = patient_client.get(urls[name])
    assert response.status_code == 200, name
    assert "no-store" in response["Cache-Control"]
