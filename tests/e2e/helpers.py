"""Steps the browser tests share: booking a patient in as the desk did the day before, and
signing in through the real sign-in page."""

from __future__ import annotations

from datetime import date, timedelta

from booking import selectors, services
from booking.models import Status
from clinic_site.accounts.roles import Role
from tests.factories import at, make_user
from tests.factories.accounts import PASSWORD


def desk_booked(desk, visit_type, day: date, slot_number: int, full_name: str, reason="Cough"):
    """A new patient `full_name` booked by `desk` the day before into the `slot_number`-th
    offered slot of `day` (CONFIRMED), so the time a test runs at does not matter."""
    patient = make_user(
        Role.PATIENT, full_name=full_name, email=f"{full_name.split()[0].lower()}@example.test"
    )
    day_before = at(day, "00:00") - timedelta(days=1)
    slots = selectors.slot_search(
        visit_type=visit_type, date_from=day, date_to=day, now=day_before, front_desk=True
    )
    appointment = services.appointment_book(
        actor=desk,
        patient=patient,
        visit_type=visit_type,
        start=slots[slot_number].start,
        reason=reason,
        now=day_before,
    )
    assert appointment.status == Status.CONFIRMED
    return appointment


def sign_in(page, email: str, lands_on: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address or national ID").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{lands_on}")
