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
from clinic_site.policies import clinic_tz
from home.services import doctor_page_ensure
from tests.factories import bookable_doctor, build_site

from .conftest import DESKTOP

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
    page.get_by_label("Password", exact=True).fill("Quiet-river-2026")
    page.get_by_label("Repeat the password").fill("Quiet-river-2026")
    date_of_birth = page.get_by_role("group", name="Date of birth")
    date_of_birth.get_by_label("Day").fill("3")
    date_of_birth.get_by_label("Month").fill("2")
    date_of_birth.get_by_label("Year").fill("1990")
    page.locator("#id_phone").fill("+44 7700 900111")
    page.get_by_role("button", name="Create account").click()

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
    page.get_by_label("Password", exact=True).fill("Quiet-river-2026")
    page.get_by_label("Repeat the password").fill("Quiet-river-2026")
    page.get_by_label("Full name").fill("Ada Byron")
    date_of_birth = page.get_by_role("group", name="Date of birth")
    date_of_birth.get_by_label("Day").fill("10")
    date_of_birth.get_by_label("Month").fill("12")
    date_of_birth.get_by_label("Year").fill("1985")
    page.locator("#id_phone").fill("+44 7700 900222")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/accounts/verify/")
    page.get_by_label("Code").fill("123456")
    page.get_by_role("button", name="Confirm e-mail").click()
    text = page.locator("main").inner_text()
    assert "We sent a six-digit code to ada@example.test" in text
    assert "to 123456" not in text
