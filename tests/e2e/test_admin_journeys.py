"""The administrator's journeys in the system Chromium: open a receptionist's account, who then
chooses a password from the e-mailed link and starts at the front desk; and switch off the clinic
policy that bookings need confirmation, which the very next patient's booking follows.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from booking.models import Appointment, Status
from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.models import ClinicPolicies
from clinic_site.policies import clinic_tz, get_policies
from home.services import doctor_page_ensure
from tests.factories import bookable_doctor, build_site, make_user
from tests.factories.accounts import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SET_PASSWORD_LINK = re.compile(r"https?://\S+?(/accounts/password-reset/[\w-]+/[\w-]+/)")
NEW_PASSWORD = "Copper-lantern-2026"


# --- Set-up -------------------------------------------------------------------------------------


@pytest.fixture
def admin():
    return make_user(Role.ADMIN, full_name="Alma Reyes", email="alma.reyes@example.test")


@pytest.fixture
def clinic():
    """The public site and one bookable doctor (09:00-13:00 every day, following the clinic's
    confirmation policy) with a live page."""
    site = build_site()
    doctor, visit_type = bookable_doctor(name="Dr Sofia Brandt", slug="sofia-brandt")
    assert doctor.confirmation_required is None, "the doctor must follow the clinic policy"
    return SimpleNamespace(
        site=site,
        doctor=doctor,
        visit_type=visit_type,
        page_url=doctor_page_ensure(doctor=doctor).url,
    )


# --- Helpers ------------------------------------------------------------------------------------


def sign_in(page, email: str, password: str, lands_on: str):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address or national ID").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{lands_on}")


def region(page_or_locator, name: str):
    """A section labelled by its heading; headings with a count ("Waiting room 2") match too."""
    return page_or_locator.get_by_role("region", name=re.compile(rf"^{re.escape(name)}(?:\s|$)"))


def message(page, text: str):
    return page.locator(".messages").get_by_text(text)


def details(section) -> dict[str, str]:
    """The terms and values of the first description list in `section`."""
    pairs = section.locator("dl").first.evaluate(
        """dl => [...dl.querySelectorAll("dt")].map(dt => [
            dt.textContent.trim(), dt.nextElementSibling.textContent.trim()])"""
    )
    return dict(pairs)


def book_first_time_after_today(page, clinic, reason: str) -> Appointment:
    """From the doctor's public page to the booked page, taking the first time offered after
    today (no slot of today, so the minimum notice cannot run out meanwhile)."""
    page.goto(clinic.page_url)
    page.get_by_role("link", name="See all times and book").click()
    page.wait_for_url(f"**/book/{clinic.doctor.slug}/")
    today = timezone.now().astimezone(clinic_tz()).date()
    slots = page.locator("#slot-picker").get_by_role(
        "link", name=re.compile(r"^\w+day \d{1,2} \w+ at \d\d:\d\d$")
    )
    expect(slots.first).to_be_visible()
    for i in range(slots.count()):
        href = slots.nth(i).get_attribute("href")
        start = datetime.fromisoformat(parse_qs(urlsplit(href).query)["start"][0])
        if start.astimezone(clinic_tz()).date() > today:
            slots.nth(i).click()
            break
    else:
        raise AssertionError("the picker shows no time after today")
    page.wait_for_url(re.compile(rf"/book/{clinic.doctor.slug}/review/\?"))
    expect(page.get_by_role("heading", name="Review your booking")).to_be_visible()
    page.get_by_label("Reason for the visit").fill(reason)
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url("**/portal/appointments/*/booked/")
    reference = page.locator(".booked .reference").inner_text().strip()
    return Appointment.objects.get(reference=reference)


# --- 1. A new receptionist ----------------------------------------------------------------------


def test_admin_opens_a_receptionist_account_who_sets_a_password_and_signs_in(browsers, admin):
    mail.outbox.clear()
    page = browsers.open()
    sign_in(page, admin.email, PASSWORD, "/admin/")

    page.get_by_role("link", name="Users and roles").first.click()
    page.wait_for_url("**/admin/clinic/users/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Users and roles")
    page.get_by_role("link", name="New staff account").click()
    page.wait_for_url("**/admin/clinic/users/new/")

    page.get_by_label("Full name").fill("Nadia Okoro")
    page.get_by_label("E-mail address").fill("nadia.okoro@example.test")
    page.get_by_label("Phone").fill("+44 7700 900456")
    page.get_by_role("radio", name="Receptionist", exact=True).check()
    page.get_by_role("button", name="Create the account").click()

    nadia = User.objects.get(email="nadia.okoro@example.test")
    page.wait_for_url(f"**/admin/clinic/users/{nadia.pk}/")
    expect(
        message(
            page,
            "Nadia Okoro can now be set up: we e-mailed nadia.okoro@example.test a link to "
            "choose a password.",
        )
    ).to_be_visible()
    account = region(page, "Nadia Okoro")
    expect(account.locator(".cp-badge")).to_have_text("Active")
    shown = details(account)
    assert shown["Role"] == "Receptionist"
    assert shown["Phone"] == "+44 7700 900456"
    assert shown["Password"] == "Not chosen yet"
    assert nadia.is_active and nadia.role == Role.RECEPTIONIST
    assert not nadia.has_usable_password()

    # The welcome e-mail: to her alone, with a link to choose her password.
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    welcome = mail.outbox[0]
    assert welcome.to == ["nadia.okoro@example.test"]
    assert "receptionist account" in welcome.body
    link = SET_PASSWORD_LINK.search(welcome.body)
    assert link, f"no set-password link in the e-mail:\n{welcome.body}"

    # Nadia, on her own computer.
    desk = browsers.open()
    desk.goto(link.group(1))
    desk.wait_for_url(re.compile(r"/accounts/password-reset/[\w-]+/[\w-]+/$"))
    expect(desk.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    desk.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    desk.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    desk.get_by_role("button", name="Save the new password").click()
    desk.wait_for_url("**/accounts/password-reset/complete/")
    expect(desk.get_by_role("heading", level=1)).to_have_text("Your password is changed")
    nadia.refresh_from_db()
    assert nadia.check_password(NEW_PASSWORD)
    assert nadia.email_verified_at is not None

    # The link worked once.
    desk.goto(link.group(1))
    expect(desk.get_by_role("heading", level=1)).to_have_text("This link has expired")

    sign_in(desk, "nadia.okoro@example.test", NEW_PASSWORD, "/admin/")
    front_desk = region(desk, "Front desk ·")
    expect(front_desk).to_be_visible()
    expect(region(front_desk, "Arriving today")).to_be_visible()
    # Hers is the front desk's dashboard, not the administrator's.
    expect(desk.get_by_role("link", name="Users and roles")).to_have_count(0)

    # The administrator sees that she has chosen a password.
    page.reload()
    shown = details(region(page, "Nadia Okoro"))
    assert shown["Password"] == "Set"
    assert shown["Last sign-in"] != "Never"


# --- 2. Bookings confirmed at once --------------------------------------------------------------


def test_admin_turns_off_confirmation_and_the_next_booking_is_confirmed(browsers, admin, clinic):
    assert get_policies().confirmation_required

    # Before the change: a patient's booking waits for the clinic to confirm it.
    lena = make_user(Role.PATIENT, full_name="Lena Falk", email="lena@example.test")
    first = browsers.open()
    sign_in(first, lena.email, PASSWORD, "/portal/")
    requested = book_first_time_after_today(first, clinic, "Knee pain")
    expect(first.get_by_role("heading", level=1)).to_have_text("Your request is in")
    expect(first.locator(".booked .badge")).to_have_text("Requested")
    assert requested.patient == lena
    assert requested.status == Status.REQUESTED

    # The administrator: Settings → Clinic policies, "bookings need confirmation" off.
    page = browsers.open()
    sign_in(page, admin.email, PASSWORD, "/admin/")
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("link", name="Clinic policies").click()
    page.wait_for_url(re.compile(r"/admin/settings/clinic_site/clinicpolicies/\d+/$"))
    checkbox = page.get_by_label("Bookings need confirmation")
    expect(checkbox).to_be_checked()
    checkbox.uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/settings/clinic_site/clinicpolicies/\d+/$"))
    expect(message(page, "Clinic policies updated.")).to_be_visible()
    expect(page.get_by_label("Bookings need confirmation")).not_to_be_checked()
    assert ClinicPolicies.objects.get().confirmation_required is False

    # At once: the next patient's booking is confirmed without anyone at the clinic acting.
    omar = make_user(Role.PATIENT, full_name="Omar Haddad", email="omar@example.test")
    second = browsers.open()
    sign_in(second, omar.email, PASSWORD, "/portal/")
    confirmed = book_first_time_after_today(second, clinic, "Annual check-up")
    expect(second.get_by_role("heading", level=1)).to_have_text("You're booked")
    expect(second.locator(".booked .badge")).to_have_text("Confirmed")
    assert confirmed.patient == omar
    assert confirmed.status == Status.CONFIRMED

    # The earlier request is not confirmed retroactively by the policy change.
    requested.refresh_from_db()
    assert requested.status == Status.REQUESTED
