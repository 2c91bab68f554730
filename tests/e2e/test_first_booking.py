"""A newcomer's first booking in the system Chromium: they choose a time while signed out, and the
chosen doctor, time and visit type stay in sight through sign-in, registration and the e-mailed
code, until the booking is confirmed. At a phone's width and a desk-top's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import dateformat, timezone

from booking import selectors
from booking.models import Appointment
from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.policies import clinic_tz
from home.services import doctor_page_ensure
from tests.factories import VisitTypeFactory, book, bookable_doctor, build_site, make_user

from .conftest import DESKTOP
from .helpers import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def cardiologist():
    build_site()
    doctor, visit_type = bookable_doctor(name="Dr Rahul Mehta", slug="rahul-mehta")
    doctor_page_ensure(doctor=doctor)
    tomorrow = timezone.now().astimezone(clinic_tz()).date() + timedelta(days=1)
    first = selectors.slot_search(
        visit_type=visit_type, date_from=tomorrow, date_to=tomorrow + timedelta(days=6)
    )[0]
    return doctor, visit_type, first.start.astimezone(clinic_tz())


def chosen_time_shown(page, start) -> bool:
    card = page.locator(".pending-booking")
    if card.count() != 1:
        return False
    text = card.inner_text()
    return (
        dateformat.format(start, "l j F, H:i") in text
        and "Dr Rahul Mehta" in text
        and "Consultation" in text
    )


def fill_the_rest(page, *, born: tuple[str, str, str], phone: str) -> None:
    """The registration's passwords, date of birth (day, month, year) and phone; then submit."""
    page.get_by_label("Password", exact=True).fill("Quiet-river-2026")
    page.get_by_label("Repeat the password").fill("Quiet-river-2026")
    date_of_birth = page.get_by_role("group", name="Date of birth")
    for part, value in zip(("Day", "Month", "Year"), born, strict=True):
        date_of_birth.get_by_label(part).fill(value)
    page.locator("#id_phone").fill(phone)
    page.get_by_role("button", name="Create account").click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_chosen_slot_survives_sign_in_register_and_verify(browsers, cardiologist, viewport):
    doctor, visit_type, start = cardiologist
    mail.outbox.clear()
    page = browsers.open(viewport=viewport)
    page.goto(f"/book/{doctor.slug}/?visit_type={visit_type.pk}")
    page.locator("a.slot").first.click()

    # Signed out: the sign-in page keeps the time in sight and offers both ways on equally.
    page.wait_for_url("**/accounts/login/**")
    assert chosen_time_shown(page, start)
    have, new = page.locator(".auth-choice__option").all()
    assert "I have an account" in have.inner_text() and "I’m new here" in new.inner_text()
    new.get_by_role("link", name="Create an account").click()

    # Registration asks for what a booking needs; the rest of the profile is folded away.
    page.wait_for_url("**/accounts/register/**")
    assert chosen_time_shown(page, start)
    assert not page.get_by_label("City").is_visible()
    page.get_by_label("E-mail address").fill("nora.quinn@example.test")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_label("Full name").fill("Nora Quinn")
    page.get_by_role("button", name="Create account").click()

    # One round of errors, the password's among them; nothing typed is lost.
    summary = page.locator(".error-summary")
    assert "too short" in summary.inner_text()
    assert "Date of birth" in summary.inner_text() and "Phone" in summary.inner_text()
    assert page.get_by_label("Password", exact=True).input_value() == "short"
    assert page.get_by_label("Full name").input_value() == "Nora Quinn"
    assert chosen_time_shown(page, start)
    fill_the_rest(page, born=("3", "2", "1990"), phone="+44 7700 900111")

    # The code page names the address and does not ask for it again.
    page.wait_for_url("**/accounts/verify/")
    assert chosen_time_shown(page, start)
    assert "nora.quinn@example.test" in page.locator("main").inner_text()
    assert page.locator("input#id_email[type=email]").count() == 0
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm e-mail").click()

    # Back at the chosen time, signed in: one click books it.
    page.wait_for_url(f"**/book/{doctor.slug}/review/**")
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url("**/booked/")
    nora = User.objects.get(email="nora.quinn@example.test")
    booked = Appointment.objects.get(patient=nora)
    assert (booked.doctor, booked.visit_type, booked.start) == (doctor, visit_type, start)
    assert str(nora.patient_profile.date_of_birth) == "1990-02-03"


def test_a_wrong_code_does_not_turn_into_the_address(browsers, cardiologist):
    """Regression: typing the code into the e-mail box said "We sent a code to 123456"."""
    page = browsers.open(viewport=PHONE)
    page.goto("/accounts/register/")
    page.get_by_label("E-mail address").fill("ada@example.test")
    page.get_by_label("Full name").fill("Ada Byron")
    fill_the_rest(page, born=("10", "12", "1985"), phone="+44 7700 900222")
    page.wait_for_url("**/accounts/verify/")
    page.get_by_label("Code").fill("123456")
    page.get_by_role("button", name="Confirm e-mail").click()
    text = page.locator("main").inner_text()
    assert "We sent a six-digit code to ada@example.test" in text
    assert "to 123456" not in text


def test_a_time_that_clashes_with_the_patients_own_visit_is_not_offered(browsers, cardiologist):
    doctor, visit_type, start = cardiologist
    _, other_type = bookable_doctor(name="Dr Ben Other", slug="ben-other", duration=60)
    patient = make_user(Role.PATIENT, email="own.visit@example.test")
    book(other_type, start, patient=patient)
    page = browsers.open(viewport=PHONE)
    sign_in(page, patient.email, "/portal/")
    page.goto(f"/book/{doctor.slug}/?visit_type={visit_type.pk}&week={start.date().isoformat()}")
    clash = page.locator(".slot--clash").first
    assert clash.inner_text().startswith(f"{start:%H:%M}")
    assert "you have another appointment" in clash.inner_text()
    # Not a link: nothing to follow to a refusal.
    label = f"{dateformat.format(start, 'l j F')} at {start:%H:%M}"
    assert page.locator(f'a.slot[aria-label="{label}"]').count() == 0
    assert page.locator("a.slot").count() > 0  # the other times are offered


def test_the_clinics_name_is_whole_in_the_header_of_a_phone(browsers, cardiologist):
    from home.models import ClinicDetails

    details = ClinicDetails.load()
    details.name = "Riverside Health and Wellbeing Clinic"
    details.save()
    page = browsers.open(viewport=PHONE)
    page.goto("/doctors/")
    name = page.locator(".brand span")
    assert name.inner_text() == "Riverside Health and Wellbeing Clinic"
    cut = name.evaluate("(el) => el.scrollWidth > el.clientWidth + 1")
    assert not cut, "the clinic's name is cut off"


def test_arrowing_through_visit_types_keeps_focus_and_announces_each_week(browsers, cardiologist):
    doctor, visit_type, _ = cardiologist
    VisitTypeFactory(doctor=doctor, name="Follow-up", duration_minutes=15)
    page = browsers.open(viewport=DESKTOP)
    page.goto(f"/book/{doctor.slug}/?visit_type={visit_type.pk}")
    status = page.locator("[data-picker-status]")
    status_handle = status.element_handle()
    first = page.get_by_role("radio", name=re.compile(r"^Consultation"))
    first.focus()
    page.keyboard.press("ArrowDown")  # chooses "Follow-up"
    page.wait_for_function("() => !document.querySelector('[data-slot-picker][aria-busy]')")
    focused = page.evaluate("() => document.activeElement.closest('label')?.textContent || ''")
    assert "Follow-up" in focused  # still on the visit types, not thrown to the heading
    assert re.match(r"^\d+ times? from .*, Follow-up\.$", status.inner_text())
    # The live region is the same element, never replaced by the update.
    assert status_handle.evaluate("(el) => el.isConnected")


def test_on_a_phone_the_first_free_times_are_on_the_first_screen(browsers, cardiologist):
    doctor, visit_type, _ = cardiologist
    for name, minutes in (
        ("Long consultation", 30),
        ("Video consultation", 15),
        ("Telephone advice", 10),
    ):
        VisitTypeFactory(doctor=doctor, name=name, duration_minutes=minutes)
    page = browsers.open(viewport=PHONE)
    page.goto(f"/book/{doctor.slug}/?visit_type={visit_type.pk}")
    first = page.locator("a.slot").first.bounding_box()
    assert first["y"] + first["height"] <= PHONE["height"], first
