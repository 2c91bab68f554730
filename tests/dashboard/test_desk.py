"""The front desk books on a patient's behalf (product.md §3; scheduling-rules.md "Booking",
"Walk-ins"; permissions.md "book: on behalf").

Step 1 finds the patient (or registers one), step 2 offers the doctor's week with the front
desk's rules and today's walk-in slots, step 3 books: CONFIRMED, created by the receptionist.
Only receptionists and administrators get in; bad input never stores anything nor answers 500.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import factory
import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking import services
from booking.models import Appointment, Status, Transition
from clinic_site.accounts.models import PatientProfile, User
from clinic_site.accounts.roles import Role
from tests.factories import PatientFactory, at, book, bookable_doctor, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
DAY = TODAY + dt.timedelta(days=2)
BOOK_URL = "/admin/clinic/book/"
REGISTER_URL = "/admin/clinic/book/register/"
SLOT_LINK = re.compile(r'<a class="cp-slot" href="([^"]+)"')
WALK_IN_LINK = re.compile(r'<a class="cp-slot cp-slot--walkin" href="([^"]+)"')
# Pinned: session, user with its role (one read), the Wagtail admin's permission and menu reads
# (seven) and the search itself (one query, profiles joined); no session save (an unchanged
# session is refreshed at most once a minute). The same however many patients match.
SEARCH_QUERIES = 9


def choose_url(patient, **query) -> str:
    url = reverse("dashboard:book_patient", args=[patient.pk])
    return f"{url}?{urlencode(query)}" if query else url


def confirm_url(patient, visit_type, start: dt.datetime, walk_in=False) -> str:
    query = {"visit_type": visit_type.pk, "start": start.isoformat()}
    if walk_in:
        query["walk_in"] = "1"
    return f"{reverse('dashboard:book_confirm', args=[patient.pk])}?{urlencode(query)}"


def links(pattern, response) -> list[str]:
    return [unescape(url) for url in pattern.findall(response.content.decode())]


def starts_of(urls) -> list[dt.datetime]:
    return [dt.datetime.fromisoformat(parse_qs(urlsplit(url).query)["start"][0]) for url in urls]


# --- clock, people ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


@pytest.fixture
def receptionist():
    return make_user(Role.RECEPTIONIST, full_name="Rita Desk", email="rita@clinic.test")


@pytest.fixture
def desk(client, receptionist, clock):
    client.force_login(receptionist)
    client.clock = clock
    client.receptionist = receptionist
    return client


def opening_hours(desk):
    """Ten past nine on TODAY (signed in again: staff sessions end after 30 idle minutes)."""
    desk.clock.move_to(at(TODAY, "09:10"), tick=False)
    desk.force_login(desk.receptionist)


@pytest.fixture
def patient():
    return PatientFactory(
        full_name="Nora Quinn",
        email="nora@example.test",
        phone="+44 (0)7700 900-111",
        national_id="QN123456",
        profile__date_of_birth=dt.date(1990, 2, 3),
    )


# --- who gets in ------------------------------------------------------------------------------


def screens(patient, visit_type) -> list[str]:
    return [
        BOOK_URL,
        BOOK_URL + "?q=nora",
        REGISTER_URL,
        choose_url(patient),
        confirm_url(patient, visit_type, at(DAY, "09:00")),
    ]


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_the_front_desk_opens_every_step(client, role, patient, visit_type):
    client.force_login(make_user(role))
    for url in screens(patient, visit_type):
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.EDITOR])
def test_doctors_and_editors_are_turned_away_like_from_every_admin_screen(
    client, role, patient, visit_type
):
    """Wagtail's answer to a screen a staff member may not use: back to the dashboard with a "no
    permission" message (a 403 for script requests); nothing shown, nothing stored."""
    client.force_login(make_user(role))
    for url in screens(patient, visit_type):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/admin/"
        assert "Nora" not in response.content.decode()
        assert client.get(url, headers={"x-requested-with": "XMLHttpRequest"}).status_code == 403

    client.post(REGISTER_URL, registration(email="sneaky@example.test"))
    client.post(confirm_url(patient, visit_type, at(DAY, "09:00")), {"reason": ""})
    assert not User.objects.filter(email="sneaky@example.test").exists()
    assert not Appointment.objects.exists()


def test_patients_and_visitors_are_sent_to_sign_in(client, patient, visit_type):
    for user in (None, make_user(Role.PATIENT)):
        if user:
            client.force_login(user)
        for url in screens(patient, visit_type):
            response = client.get(url)
            assert response.status_code == 302, url
            # Visitors sign in first; a signed-in patient is sent to their portal.
            assert "login" in response["Location"] or response["Location"] == "/portal/"
    client.post(confirm_url(patient, visit_type, at(DAY, "09:00")), {"reason": ""})
    assert not Appointment.objects.exists()


# --- step 1: find the patient -----------------------------------------------------------------


def found(desk, **query) -> list[str]:
    response = desk.get(BOOK_URL, query)
    assert response.status_code == 200
    return [
        unescape(name)
        for name in re.findall(
            r'class="cp-desk-results__name"[^>]*>([^<]+)<', response.content.decode()
        )
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"q": "nora"},
        {"q": "QUINN nora"},  # every word, any order, any case
        {"q": "nora@example"},
        {"q": "07700 900111"},  # the digits, whatever the separators
        {"q": "900-111"},
        {"q": "qn 1234"},  # national IDs are compared as stored: upper case, no spaces
        {"born": "1990-02-03"},
        {"q": "nora", "born": "1990-02-03"},
    ],
)
def test_search_finds_the_patient_by_each_field(desk, patient, query):
    PatientFactory(full_name="Omar Farouk", email="omar@example.test", phone="+44 20 7946 0000")
    assert found(desk, **query) == ["Nora Quinn"]


def test_date_of_birth_narrows_the_search(desk, patient):
    PatientFactory(full_name="Nora Other", profile__date_of_birth=dt.date(1971, 1, 1))
    assert found(desk, q="nora") == ["Nora Other", "Nora Quinn"]
    assert found(desk, q="nora", born="1971-01-01") == ["Nora Other"]
    assert found(desk, q="nora", born="2001-01-01") == []


def test_search_never_lists_staff(desk, patient):
    for role in (Role.RECEPTIONIST, Role.ADMIN, Role.EDITOR, Role.DOCTOR):
        make_user(role, full_name=f"Nora {role.label}", email=f"nora.{role.value}@example.test")
    make_user(Role.DOCTOR, full_name="Nora Doctor-patient", phone="+44 7700 900111").groups.add(
        *PatientFactory().groups.all()
    )
    assert found(desk, q="nora") == ["Nora Quinn"]
    assert found(desk, q="7700900111") == ["Nora Quinn"]
    assert found(desk, q="clinic.test") == []


def test_a_search_needs_two_characters(desk, patient):
    for query in ({"q": "n"}, {"q": "  "}, {"q": "", "born": ""}):
        response = desk.get(BOOK_URL, query)
        assert response.status_code == 200
        assert "at least 2 characters" in response.content.decode()
        assert "cp-desk-results" not in response.content.decode()


@pytest.mark.parametrize("born", ["1990-02-30", "0001-01-01", "yesterday", "9" * 40])
def test_garbage_dates_are_form_errors(desk, patient, born):
    response = desk.get(BOOK_URL, {"q": "nora", "born": born})
    assert response.status_code == 200
    assert "cp-desk-results" not in response.content.decode()
    assert "error-message" in response.content.decode()


def test_search_results_are_bounded_and_the_query_count_is_pinned(desk, receptionist):
    PatientFactory(full_name="Smith One")
    desk.get(BOOK_URL)  # the admin's first request of a client caches its locales and profile
    with CaptureQueriesContext(connection) as one:
        assert found(desk, q="smith") == ["Smith One"]
    PatientFactory.create_batch(24, full_name=factory.Sequence(lambda n: f"Smith {n:03d}"))
    with CaptureQueriesContext(connection) as many:
        response = desk.get(BOOK_URL, {"q": "smith"})
    names = re.findall(r'class="cp-desk-results__name"', response.content.decode())
    assert len(names) == 20
    assert "The first 20 matches" in response.content.decode()
    assert len(one.captured_queries) == len(many.captured_queries) == SEARCH_QUERIES


def test_no_match_offers_registration_with_what_was_typed(desk, patient):
    response = desk.get(BOOK_URL, {"q": "Zed Zulu"})
    content = unescape(response.content.decode())
    assert "No patient matches “Zed Zulu”" in content
    assert f"{REGISTER_URL}?q=Zed+Zulu" in content
    form = desk.get(REGISTER_URL, {"q": "Zed Zulu"}).content.decode()
    assert 'value="Zed Zulu"' in form


# --- step 1: register a new patient -----------------------------------------------------------


def registration(**overrides) -> dict:
    return {
        "full_name": "Ivy Newcomer",
        "email": "Ivy@Example.test",
        "phone": "+44 7700 900222",
        "date_of_birth": "1985-06-07",
        "national_id": "",
        "address_line1": "2 Low Road",
        "city": "York",
        **overrides,
    }


def test_registering_a_new_patient_continues_with_their_booking(
    desk, receptionist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(REGISTER_URL, registration())

    ivy = User.objects.get(email="ivy@example.test")
    assert response.status_code == 302
    assert response["Location"] == choose_url(ivy)
    assert ivy.role == Role.PATIENT
    assert ivy.is_active and not ivy.has_usable_password() and not ivy.email_verified
    assert PatientProfile.objects.get(user=ivy).city == "York"
    assert [m.to for m in mail.outbox] == [["ivy@example.test"]]
    assert "/accounts/password-reset/" in mail.outbox[0].body
    page = desk.get(response["Location"])
    assert "Ivy Newcomer is registered" in unescape(page.content.decode())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "NORA@example.test"}, "already exists"),
        ({"national_id": "qn123456"}, "already on file"),
        ({"date_of_birth": "2999-01-01"}, "cannot be in the future"),
        ({"date_of_birth": "1990-02-30"}, "Enter a valid date"),
        ({"email": "not-an-address"}, "valid email"),
        ({"phone": "call me"}, "phone number"),
        ({"full_name": ""}, "required"),
    ],
)
def test_bad_registrations_show_field_errors_and_store_nothing(
    desk, patient, overrides, message, django_capture_on_commit_callbacks
):
    users = User.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(REGISTER_URL, registration(**overrides))

    assert response.status_code == 400
    content = unescape(response.content.decode())
    assert message in content
    assert "w-field--error" in content
    assert "Nothing has been saved yet" in content
    assert User.objects.count() == users
    assert mail.outbox == []


# --- step 2: doctor, visit type, week and walk-ins --------------------------------------------


def test_step_two_offers_the_doctors_week_with_links_to_confirm(desk, patient, doctor, visit_type):
    response = desk.get(choose_url(patient, doctor=doctor.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Dr Ada Hart" in content and "30 min" in content and "In person" in content
    starts = starts_of(links(SLOT_LINK, response))
    assert at(TODAY, "09:00") in starts  # 3 hours ahead: outside the notice
    assert max(starts).date() == TODAY + dt.timedelta(days=6)
    assert len(starts) == 7 * 6
    next_week = desk.get(choose_url(patient, doctor=doctor.pk, week=TODAY + dt.timedelta(days=7)))
    assert min(starts_of(links(SLOT_LINK, next_week))) == at(TODAY + dt.timedelta(days=7), "09:00")


def test_the_desk_books_a_doctor_whose_online_booking_is_closed(desk, patient, doctor):
    doctor.accepting_bookings = False
    doctor.save()
    response = desk.get(choose_url(patient, doctor=doctor.pk))
    assert links(SLOT_LINK, response)
    assert "not taking online bookings" in response.content.decode()


def test_step_two_with_only_one_doctor_chooses_them(desk, patient, doctor):
    assert links(SLOT_LINK, desk.get(choose_url(patient)))


@pytest.mark.parametrize(
    "query",
    [
        {"doctor": "abc", "visit_type": "x", "week": "soon"},
        {"doctor": "9" * 40, "visit_type": "9" * 40, "week": "2031-02-30"},
        {"doctor": "-1", "week": "0001-01-01"},
        {"week": "9999-12-31"},
    ],
)
def test_step_two_survives_garbage(desk, patient, doctor, query):
    assert desk.get(choose_url(patient, **query)).status_code == 200


@pytest.mark.parametrize("patient_id", ["0", "999999", "9" * 18])
def test_unknown_patients_are_not_found(desk, patient_id, visit_type):
    assert desk.get(f"/admin/clinic/book/patient/{patient_id}/").status_code == 404
    assert desk.get(f"/admin/clinic/book/patient/{patient_id}/confirm/").status_code == 404


def test_staff_are_never_booked_as_patients(desk, receptionist, visit_type):
    assert desk.get(choose_url(receptionist)).status_code == 404
    response = desk.post(confirm_url(receptionist, visit_type, at(DAY, "09:00")), {"reason": ""})
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_walk_in_offers_todays_begun_and_imminent_slots(desk, patient, doctor):
    opening_hours(desk)
    response = desk.get(choose_url(patient, doctor=doctor.pk))
    # 09:00 has begun; 09:40 starts within the 60-minute notice; 10:20 is an ordinary slot.
    assert starts_of(links(WALK_IN_LINK, response)) == [at(TODAY, "09:00"), at(TODAY, "09:40")]
    assert min(starts_of(links(SLOT_LINK, response))) == at(TODAY, "10:20")
    assert "began 10 min ago" in response.content.decode()


def test_no_walk_in_before_the_day_starts(desk, patient, doctor):
    response = desk.get(choose_url(patient, doctor=doctor.pk))
    assert links(WALK_IN_LINK, response) == []
    assert "No free slot right now" in response.content.decode()


# --- step 3: confirm and book -----------------------------------------------------------------


def test_booking_a_slot_is_confirmed_by_the_receptionist(desk, receptionist, patient, visit_type):
    url = confirm_url(patient, visit_type, at(DAY, "09:40"))
    page = desk.get(url)
    assert page.status_code == 200
    assert "Appointment for Nora Quinn" in page.content.decode()

    response = desk.post(url, {"reason": "  Persistent cough  "})

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:appointment", args=[appointment.reference])
    assert appointment.status == Status.CONFIRMED
    assert appointment.patient == patient and appointment.created_by == receptionist
    assert appointment.start == at(DAY, "09:40") and appointment.reason == "Persistent cough"
    assert not appointment.walk_in
    transition = Transition.objects.get(appointment=appointment)
    assert (transition.from_status, transition.to_status) == ("", Status.CONFIRMED)
    assert transition.by == receptionist
    assert not transition.details.get("walk_in")
    message = unescape(desk.get(response["Location"]).content.decode())
    assert f"Reference {appointment.reference}" in message


def test_a_walk_in_is_recorded_and_can_be_checked_in_at_once(desk, receptionist, patient, doctor):
    opening_hours(desk)
    url = links(WALK_IN_LINK, desk.get(choose_url(patient, doctor=doctor.pk)))[0]
    assert "walk-in" in desk.get(url).content.decode()

    response = desk.post(url, {"reason": ""})

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert appointment.start == at(TODAY, "09:00")
    assert appointment.status == Status.CONFIRMED and appointment.walk_in
    details = Transition.objects.get(appointment=appointment).details
    assert details.get("walk_in") is True and details.get("notice_bypassed") is True
    services.appointment_act(appointment=appointment, actor=receptionist, action="check_in")
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN


def test_a_slot_taken_meanwhile_offers_the_alternatives_and_stores_nothing(
    desk, patient, visit_type
):
    url = confirm_url(patient, visit_type, at(DAY, "09:40"))
    assert desk.get(url).status_code == 200
    taken = book(visit_type, at(DAY, "09:40"))  # another patient, online, a moment earlier
    count = Appointment.objects.count()

    response = desk.post(url, {"reason": "Cough"})

    assert response.status_code == 409
    assert Appointment.objects.count() == count
    assert Appointment.objects.get() == taken
    content = unescape(response.content.decode())
    assert "Someone has just taken that time" in content
    alternatives = starts_of(re.findall(r'<a class="cp-slot" href="([^"]+)"', content))
    assert alternatives == [at(DAY, "10:20"), at(DAY, "11:00"), at(DAY, "11:40")]
    # Each alternative leads straight to its own confirmation.
    assert (
        desk.post(
            confirm_url(patient, visit_type, alternatives[0]), {"reason": "Cough"}
        ).status_code
        == 302
    )
    assert Appointment.objects.filter(patient=patient, start=at(DAY, "10:20")).exists()


def test_a_walk_in_taken_meanwhile_offers_the_other_walk_in_slots_first(
    desk, patient, doctor, visit_type
):
    opening_hours(desk)
    url = links(WALK_IN_LINK, desk.get(choose_url(patient, doctor=doctor.pk)))[0]
    book(visit_type, at(TODAY, "09:00"), actor=desk.receptionist, walk_in=True)

    response = desk.post(url, {"reason": ""})

    assert response.status_code == 409
    assert starts_of(links(WALK_IN_LINK, response)) == [at(TODAY, "09:40")]
    assert starts_of(links(SLOT_LINK, response)) == [
        at(TODAY, "10:20"),
        at(TODAY, "11:00"),
        at(TODAY, "11:40"),
    ]
    assert Appointment.objects.count() == 1


def test_opening_a_taken_slot_says_so_at_once(desk, patient, visit_type):
    book(visit_type, at(DAY, "09:40"))
    response = desk.get(confirm_url(patient, visit_type, at(DAY, "09:40")))
    assert response.status_code == 409
    assert "no longer free" in response.content.decode()
    assert "<textarea" not in response.content.decode()


def test_a_patient_already_booked_at_that_time_is_told_clearly(desk, patient, visit_type):
    _, other_visit = bookable_doctor(name="Dr Ben Other")
    book(other_visit, at(DAY, "09:00"), patient=patient)
    count = Appointment.objects.count()

    response = desk.post(confirm_url(patient, visit_type, at(DAY, "09:00")), {"reason": ""})

    assert response.status_code == 409
    assert "Nora Quinn already has an appointment that overlaps this time" in unescape(
        response.content.decode()
    )
    assert Appointment.objects.count() == count


def test_a_walk_in_link_for_another_day_is_refused(desk, patient, visit_type):
    response = desk.post(confirm_url(patient, visit_type, at(DAY, "09:00"), walk_in=True), {})
    assert response.status_code == 409
    assert not Appointment.objects.exists()


def test_a_too_long_reason_is_a_field_error(desk, patient, visit_type):
    response = desk.post(confirm_url(patient, visit_type, at(DAY, "09:00")), {"reason": "x" * 2001})
    assert response.status_code == 400
    assert "w-field--error" in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?visit_type=abc&start=2031-03-05T09:00:00%2B00:00",
        "?visit_type=" + "9" * 40 + "&start=2031-03-05T09:00:00%2B00:00",
        "?visit_type=999999&start=2031-03-05T09:00:00%2B00:00",
        "?visit_type={vt}&start=tomorrow",
        "?visit_type={vt}&start=2031-03-05T09:00:00",  # no offset
        "?visit_type={vt}&start=2031-02-30T09:00:00%2B00:00",
        "?visit_type={vt}&start=0001-01-01T00:00:00%2B00:00",
        "?visit_type={vt}&start=9999-12-31T23:59:00%2B00:00",
        "?visit_type={vt}&start=2031-03-05T09:07:00%2B00:00",  # not a slot
        "?visit_type={vt}&start=2031-03-05T09:00:00 00:00",  # "+" arrived as a space
    ],
)
def test_step_three_survives_garbage_and_stores_nothing(desk, patient, visit_type, query):
    url = reverse("dashboard:book_confirm", args=[patient.pk]) + query.format(vt=visit_type.pk)
    for response in (desk.get(url), desk.post(url, {"reason": "x"})):
        assert response.status_code in (200, 302, 409), url
    booked = Appointment.objects.filter(patient=patient)
    assert not booked.exclude(start=at(DAY, "09:00")).exists()


def test_an_inactive_visit_type_cannot_be_booked(desk, patient, visit_type):
    visit_type.is_active = False
    visit_type.save()
    response = desk.post(confirm_url(patient, visit_type, at(DAY, "09:00")), {"reason": ""})
    assert response.status_code == 302
    assert response["Location"] == choose_url(patient)
    assert not Appointment.objects.exists()
