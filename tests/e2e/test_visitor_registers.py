"""A visitor finds a doctor, registers, confirms the e-mailed code, lands signed in and edits the
profile — all in the system Chromium."""

import re

import pytest
from django.core import mail

from clinic_site.accounts.models import User
from home.services import doctor_page_ensure
from tests.factories import DoctorFactory, SpecialtyFactory, build_site

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def public_site():
    site = build_site()
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    doctor_page_ensure(doctor=DoctorFactory(name="Dr Rahul Mehta", specialties=[cardiology]))
    doctor_page_ensure(doctor=DoctorFactory(name="Dr Amelia Hart"))
    return site


def test_visitor_browses_registers_verifies_and_edits_profile(page, public_site):
    mail.outbox.clear()
    page.goto("/")
    page.get_by_role("link", name="Find a doctor").first.click()
    page.wait_for_url("**/doctors/")
    page.get_by_role("link", name="Cardiology").click()
    assert page.locator(".doctor-card").count() == 1
    page.get_by_role("link", name="Dr Rahul Mehta").click()
    page.wait_for_url("**/doctors/*/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dr Rahul Mehta"

    page.locator(".site-header").get_by_role("link", name="Register").click()
    page.wait_for_url("**/accounts/register/")
    page.get_by_label("E-mail address").fill("nora.quinn@example.test")
    page.get_by_label("Password", exact=True).fill("Quiet-river-2026")
    page.get_by_label("Repeat the password").fill("Quiet-river-2026")
    page.get_by_label("Full name").fill("Nora Quinn")
    date_of_birth = page.get_by_role("group", name="Date of birth")
    date_of_birth.get_by_label("Day").fill("3")
    date_of_birth.get_by_label("Month").fill("2")
    date_of_birth.get_by_label("Year").fill("1990")
    page.locator("#id_phone").fill("+44 7700 900111")
    page.get_by_text("Add more about you now").click()  # the optional rest, folded away
    page.get_by_label("City").fill("Leeds")
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url("**/accounts/verify/")
    assert len(mail.outbox) == 1
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm e-mail").click()

    page.wait_for_url("**/portal/")
    assert "Hello, Nora" in page.get_by_role("heading", level=1).inner_text()
    nora = User.objects.get(email="nora.quinn@example.test")
    assert nora.email_verified
    assert str(nora.patient_profile.date_of_birth) == "1990-02-03"
    assert nora.patient_profile.city == "Leeds"

    page.goto("/accounts/profile/edit/")
    page.get_by_label("Insurance provider").fill("Harbour Health")
    page.locator("#id_phone").fill("not a phone")
    page.get_by_role("button", name="Save changes").click()
    assert page.locator(".field--error #id_phone").count() == 1
    assert "7 to 15 digits" in page.locator(".field--error").first.inner_text()

    page.locator("#id_phone").fill("+44 7700 900222")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url("**/accounts/profile/")
    assert "Harbour Health" in page.content()
    profile = User.objects.get(email="nora.quinn@example.test")
    assert profile.phone == "+44 7700 900222"
    assert profile.patient_profile.insurance_provider == "Harbour Health"
