"""The patient's booking journeys in the system Chromium: find a doctor and book (registering on
the way), move and cancel an appointment, lose a slot to another patient and take an alternative,
and book on a phone-sized screen."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import dateformat, timezone

from booking import selectors
from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from clinic_site.policies import clinic_tz
from home.services import doctor_page_ensure
from tests.e2e.conftest import PHONE
from tests.factories import SpecialtyFactory, book, bookable_doctor, build_site, make_user
from tests.factories.accounts import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SLOT_NAME = re.compile(r"^\w+day \d{1,2} \w+ at \d\d:\d\d$")  # "Tuesday 12 May at 09:35"


# --- Set-up -------------------------------------------------------------------------------------


@pytest.fixture
def clinic():
    """The public site and one bookable doctor (09:00-13:00 every day) with a live page."""
    site = build_site()
    dermatology = SpecialtyFactory(name="Dermatology", slug="dermatology")
    doctor, visit_type = bookable_doctor(
        name="Dr Ines Moreau", slug="ines-moreau", specialties=[dermatology]
    )
    doctor_page = doctor_page_ensure(doctor=doctor)
    return SimpleNamespace(
        site=site, doctor=doctor, visit_type=visit_type, page_url=doctor_page.url
    )


def patient(name: str):
    first = name.split()[0].lower()
    return make_user(Role.PATIENT, full_name=name, email=f"{first}@example.test")


def sign_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address or national ID").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/portal/")


def offered_slots(visit_type):
    """The doctor's offered slots from tomorrow on, as the picker computes them (no slot of today,
    so the minimum notice cannot run out during the test)."""
    today = timezone.now().astimezone(clinic_tz()).date()
    return selectors.slot_search(
        visit_type=visit_type,
        date_from=today + timedelta(days=1),
        date_to=today + timedelta(days=7),
    )


# --- Reading the pages --------------------------------------------------------------------------


def picker_slots(page):
    return page.locator("#slot-picker").get_by_role("link", name=SLOT_NAME)


def review_url(doctor) -> re.Pattern:
    return re.compile(rf"/book/{doctor.slug}/review/\?visit_type=\d+&start=")


def slot_start(href: str) -> datetime:
    """The aware start time a slot link (review or reschedule confirmation) carries."""
    return datetime.fromisoformat(parse_qs(urlsplit(href).query)["start"][0])


def local(moment: datetime) -> datetime:
    return moment.astimezone(clinic_tz())


def fmt(moment: datetime, pattern: str) -> str:
    """`moment` in the clinic's time zone, formatted as the templates' date filter does."""
    return dateformat.format(local(moment), pattern)


def picker_days(page) -> list[date]:
    ids = page.locator("#slot-picker .slot-day__title").evaluate_all("els => els.map(e => e.id)")
    return [datetime.strptime(i.removeprefix("day-"), "%Y%m%d").date() for i in ids]


def first_slot_after_today(page):
    today = timezone.now().astimezone(clinic_tz()).date()
    slots = picker_slots(page)
    for i in range(slots.count()):
        link = slots.nth(i)
        if local(slot_start(link.get_attribute("href"))).date() > today:
            return link
    raise AssertionError("the picker shows no slot after today")


def summary_value(page, term: str) -> str:
    row = page.locator(".visit-summary > div").filter(has=page.locator("dt", has_text=term))
    return row.locator("dd").inner_text()


def assert_review_of(page, doctor, start: datetime, duration: int):
    assert page.get_by_role("heading", name="Review your booking").is_visible()
    assert summary_value(page, "Doctor") == doctor.name
    assert summary_value(page, "Date") == fmt(start, "l j F Y")
    end = start + timedelta(minutes=duration)
    assert summary_value(page, "Time").startswith(f"{fmt(start, 'H:i')} – {fmt(end, 'H:i')}")


def no_horizontal_overflow(page, width: int):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (
        f"{page.url}: the page is {scroll_width}px wide on a {width}px screen"
    )


def appointment_row(page, start: datetime):
    title = f"{fmt(start, 'l j F Y')}, {fmt(start, 'H:i')}"
    return page.locator(".appointment-row").filter(
        has=page.get_by_role("link", name=title, exact=True)
    )


# --- 1. Anonymous visitor to booked -------------------------------------------------------------


def test_visitor_picks_a_time_registers_and_books(page, clinic):
    doctor, visit_type = clinic.doctor, clinic.visit_type
    mail.outbox.clear()

    page.goto("/")
    page.get_by_role("link", name="Find a doctor").first.click()
    page.wait_for_url("**/doctors/")
    page.get_by_role("link", name=doctor.name).click()
    page.wait_for_url(f"**{clinic.page_url}")
    assert page.get_by_role("heading", level=1).inner_text() == doctor.name
    page.get_by_role("link", name="See all times and book").click()
    page.wait_for_url(f"**/book/{doctor.slug}/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Book with {doctor.name}"

    # One week later, swapped in place: the URL changes, the document stays the same.
    first_week = picker_days(page)
    first_range = page.locator(".slot-picker__range").inner_text()
    page.evaluate("window.__marker = 1")
    page.locator("#slot-picker").get_by_role("link", name="Later").click()
    next_week_start = first_week[0] + timedelta(days=7)
    page.wait_for_url(re.compile(rf"/book/{doctor.slug}/\?.*week={next_week_start.isoformat()}"))
    page.locator(".slot-picker__range").filter(has_not_text=first_range).wait_for()
    assert page.evaluate("window.__marker") == 1, "the week change reloaded the whole page"
    assert picker_days(page)[0] == next_week_start
    assert page.locator("#slot-picker").get_attribute("aria-busy") is None
    later_range = page.locator(".slot-picker__range").inner_text()

    # Back and forward through the browser's history swap the weeks in place as well.
    page.go_back()
    page.wait_for_url(f"**/book/{doctor.slug}/")
    page.locator(".slot-picker__range").filter(has_text=first_range).wait_for()
    assert picker_days(page) == first_week
    page.go_forward()
    page.wait_for_url(re.compile(rf"/book/{doctor.slug}/\?.*week={next_week_start.isoformat()}"))
    page.locator(".slot-picker__range").filter(has_text=later_range).wait_for()
    assert page.evaluate("window.__marker") == 1, "going back or forward reloaded the page"

    slot = picker_slots(page).first
    label = slot.get_attribute("aria-label")
    start = slot_start(slot.get_attribute("href"))
    assert local(start).date() >= next_week_start
    assert label == f"{fmt(start, 'l j F')} at {fmt(start, 'H:i')}"
    slot.click()

    # The review needs an account: sign-in page, then "Create an account", keeping the slot.
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/book/"))
    page.get_by_role("main").get_by_role("link", name="Create an account").click()
    page.wait_for_url(re.compile(r"/accounts/register/\?next=/book/"))
    page.get_by_label("E-mail address").fill("olu.baker@example.test")
    page.get_by_label("Password", exact=True).fill("Amber-harbour-2026")
    page.get_by_label("Repeat the password").fill("Amber-harbour-2026")
    page.get_by_label("Full name").fill("Olu Baker")
    date_of_birth = page.get_by_role("group", name="Date of birth")
    date_of_birth.get_by_label("Day").fill("21")
    date_of_birth.get_by_label("Month").fill("11")
    date_of_birth.get_by_label("Year").fill("1987")
    page.locator("#id_phone").fill("+44 7700 900333")
    page.get_by_text("Add more about you now").click()
    page.get_by_label("City").fill("York")
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url("**/accounts/verify/")
    assert len(mail.outbox) == 1
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm e-mail").click()

    # Back on the review of the very slot chosen before registering.
    page.wait_for_url(review_url(doctor))
    assert slot_start(page.url) == start
    assert_review_of(page, doctor, start, visit_type.duration_minutes)
    page.get_by_label("Reason for the visit").fill("A rash that keeps coming back.")
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url("**/portal/appointments/*/booked/")
    assert page.get_by_role("heading", level=1).inner_text() == "Your request is in"
    assert page.locator(".booked .badge").inner_text() == "Requested"
    appointment = Appointment.objects.get(patient__email="olu.baker@example.test")
    assert appointment.status == Status.REQUESTED
    assert appointment.start == start
    assert appointment.reason == "A rash that keeps coming back."
    assert appointment.reference in page.locator(".booked .reference").inner_text()

    page.get_by_role("link", name="All my appointments").click()
    page.wait_for_url("**/portal/appointments/")
    tabs = page.get_by_role("navigation", name="Appointments")
    assert tabs.get_by_role("link", name="Upcoming").get_attribute("aria-current") == "page"
    row = appointment_row(page, start)
    assert row.count() == 1
    assert row.locator(".badge").inner_text() == "Requested"
    assert appointment.reference in row.inner_text()
    assert doctor.name in row.inner_text()


# --- 2. Rescheduling ----------------------------------------------------------------------------


def test_patient_moves_an_appointment_to_another_time(page, clinic):
    visit_type = clinic.visit_type
    ana = patient("Ana Lindqvist")
    old_start = offered_slots(visit_type)[0].start
    appointment = book(visit_type, old_start, patient=ana, reason="Check-up")

    sign_in(page, ana)
    page.goto("/portal/appointments/")
    appointment_row(page, old_start).get_by_role("link").click()
    page.wait_for_url(f"**/portal/appointments/{appointment.reference}/")
    page.get_by_role("link", name="Change the time").click()
    page.wait_for_url(f"**/portal/appointments/{appointment.reference}/reschedule/")
    assert page.get_by_role("heading", level=1).inner_text() == "Choose a new time"

    # The last time offered this week: another time than the current one.
    slot = picker_slots(page).last
    new_start = slot_start(slot.get_attribute("href"))
    assert new_start != old_start
    slot.click()

    page.wait_for_url(
        re.compile(rf"/portal/appointments/{appointment.reference}/reschedule/confirm/\?start=")
    )
    assert (
        page.locator(".move__from")
        .inner_text()
        .endswith(f"{fmt(old_start, 'l j F')}, {fmt(old_start, 'H:i')}")
    )
    assert (
        page.locator(".move__to")
        .inner_text()
        .endswith(f"{fmt(new_start, 'l j F')}, {fmt(new_start, 'H:i')}")
    )
    page.get_by_label("Why are you moving it?").fill("A work meeting moved.")
    page.get_by_role("button", name="Move my appointment").click()

    page.wait_for_url(f"**/portal/appointments/{appointment.reference}/")
    assert "Your appointment is moved" in page.locator("body").inner_text()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == f"{fmt(new_start, 'l j F')}, {fmt(new_start, 'H:i')}"

    moved = f"Moved by you from {fmt(old_start, 'D j M, H:i')} to {fmt(new_start, 'D j M, H:i')}"
    timeline = page.locator(".timeline")
    entry = timeline.locator(".timeline__item--moved")
    assert entry.locator(".timeline__title").inner_text() == moved
    assert "A work meeting moved." in entry.inner_text()

    changes = page.get_by_role("region", name="Changes of time").get_by_role("table")
    cells = changes.locator("tbody tr").first.locator("td").all_inner_texts()
    assert cells[0] == fmt(old_start, "D j M, H:i")
    assert cells[1] == fmt(new_start, "D j M, H:i")
    assert cells[2] == "You"
    assert cells[4] == "A work meeting moved."
    assert changes.locator("tbody tr").count() == 1

    appointment.refresh_from_db()
    assert appointment.start == new_start
    assert appointment.reschedule_count == 1


# --- 3. Cancelling ------------------------------------------------------------------------------


def test_patient_cancels_and_the_time_is_offered_again(page, clinic):
    doctor, visit_type = clinic.doctor, clinic.visit_type
    ben = patient("Ben Okafor")
    start = offered_slots(visit_type)[0].start
    appointment = book(visit_type, start, patient=ben)
    week_url = f"/book/{doctor.slug}/?visit_type={visit_type.pk}&week={local(start).date()}"
    slot_name = f"{fmt(start, 'l j F')} at {fmt(start, 'H:i')}"

    sign_in(page, ben)
    page.goto(week_url)
    assert picker_slots(page).count() > 0
    assert page.get_by_role("link", name=slot_name, exact=True).count() == 0, "a booked time"

    page.goto("/portal/appointments/")
    appointment_row(page, start).get_by_role("link").click()
    page.wait_for_url(f"**/portal/appointments/{appointment.reference}/")
    page.get_by_role("link", name="Cancel appointment").click()
    page.wait_for_url(f"**/portal/appointments/{appointment.reference}/cancel/")
    assert page.get_by_role("heading", level=1).inner_text() == "Cancel this appointment?"
    page.get_by_label("Why are you cancelling?").fill("Feeling better already.")
    page.get_by_role("button", name="Yes, cancel it").click()

    page.wait_for_url(f"**/portal/appointments/{appointment.reference}/")
    assert "Your appointment is cancelled" in page.locator("body").inner_text()
    assert page.locator(".appointment-heading .badge").inner_text() == "Cancelled"
    assert page.get_by_text("Cancelled by you").is_visible()
    assert page.get_by_text("Feeling better already.").first.is_visible()
    assert page.get_by_role("link", name="Cancel appointment").count() == 0
    assert page.get_by_role("link", name="Change the time").count() == 0
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED

    # The freed time is offered again, to anyone.
    page.goto(week_url)
    freed = page.get_by_role("link", name=slot_name, exact=True)
    assert freed.count() == 1
    assert slot_start(freed.get_attribute("href")) == start


# --- 4. Two patients, one slot ------------------------------------------------------------------


def test_second_patient_takes_the_slot_first_gets_alternatives(browsers, clinic):
    doctor, visit_type = clinic.doctor, clinic.visit_type
    cleo, dev = patient("Cleo Marsh"), patient("Dev Raman")
    first, second = browsers.open(), browsers.open()
    sign_in(first, cleo)
    sign_in(second, dev)

    first.goto(f"/book/{doctor.slug}/")
    slot = first_slot_after_today(first)
    start = slot_start(slot.get_attribute("href"))
    slot.click()
    first.wait_for_url(review_url(doctor))
    second.goto(first.url)
    assert_review_of(first, doctor, start, visit_type.duration_minutes)
    assert_review_of(second, doctor, start, visit_type.duration_minutes)

    second.get_by_role("button", name="Confirm booking").click()
    second.wait_for_url("**/portal/appointments/*/booked/")

    first.get_by_label("Reason for the visit").fill("Follow-up")
    with first.expect_response(lambda r: r.request.method == "POST") as answer:
        first.get_by_role("button", name="Confirm booking").click()
    assert answer.value.status == 409
    taken = first.get_by_role("alert")
    assert "Sorry — someone has just taken that time." in taken.inner_text()
    assert first.get_by_role("button", name="Confirm booking").count() == 0
    alternatives = taken.get_by_role("link")
    assert alternatives.count() > 0
    starts = [slot_start(a.get_attribute("href")) for a in alternatives.all()]
    # The doctor's next offered times after the one lost, soonest first.
    assert starts == sorted(starts)
    assert starts[0] > start

    alternative = alternatives.first
    alt_start = starts[0]
    assert alternative.inner_text() == f"{fmt(alt_start, 'D j M')}, {fmt(alt_start, 'H:i')}"
    alternative.click()
    first.wait_for_url(review_url(doctor))
    assert slot_start(first.url) == alt_start
    assert_review_of(first, doctor, alt_start, visit_type.duration_minutes)
    first.get_by_role("button", name="Confirm booking").click()
    first.wait_for_url("**/portal/appointments/*/booked/")
    assert first.locator(".booked .badge").inner_text() == "Requested"

    assert Appointment.objects.get(patient=dev).start == start
    assert Appointment.objects.get(patient=cleo).start == alt_start


# --- 5. On a phone ------------------------------------------------------------------------------


def test_patient_books_on_a_phone(browsers, clinic):
    doctor, visit_type = clinic.doctor, clinic.visit_type
    eva = patient("Eva Novak")
    page = browsers.open(PHONE)
    sign_in(page, eva)

    page.goto(clinic.page_url)
    page.get_by_role("link", name="See all times and book").click()
    page.wait_for_url(f"**/book/{doctor.slug}/")
    picker_slots(page).first.wait_for()
    no_horizontal_overflow(page, PHONE["width"])

    page.go_back()
    page.wait_for_url(f"**{clinic.page_url}")
    next_times = page.locator(".booking-panel .next-times a")
    assert next_times.count() > 0
    slot = next_times.last  # the latest shown: far enough from the minimum notice
    start = slot_start(slot.get_attribute("href"))
    assert slot.inner_text().replace("\n", " ").split() == [
        *fmt(start, "D j M").split(),
        fmt(start, "H:i"),
    ]
    slot.click()

    page.wait_for_url(review_url(doctor))
    assert_review_of(page, doctor, start, visit_type.duration_minutes)
    no_horizontal_overflow(page, PHONE["width"])
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url("**/portal/appointments/*/booked/")
    assert page.locator(".booked .badge").inner_text() == "Requested"
    page.get_by_role("link", name="All my appointments").click()
    page.wait_for_url("**/portal/appointments/")
    row = appointment_row(page, start)
    assert row.count() == 1
    assert row.is_visible()
    no_horizontal_overflow(page, PHONE["width"])
    assert Appointment.objects.get(patient=eva).start == start
