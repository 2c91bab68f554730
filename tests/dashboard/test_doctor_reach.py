"""A doctor's reach in the dashboard (permissions.md "see appointments: own"; "weekly schedule:
own"; "analytics: own figures"): whatever a doctor puts in `?doctor=` or a form's `doctor`
field, they see their own appointments only, never a colleague's references, patients or links.

The dashboard's rule for a doctor's `doctor` parameter (dashboard.permissions.screen_doctor and
doctor_param): it is ignored and the doctor sees their own; an object in the path (an
appointment, a record, a schedule) that is not theirs is a 404. A user in the Doctor group whose
account no doctor profile points at has no appointments at all: their queue and calendar say
the account is not linked (as schedules and analytics already did), never show someone else's
day, and a queue action is a 404.

The clock is frozen at 09:50 on Monday `TODAY`. Dr Ada Hart has patient Petra checked in (09:00)
and confirmed later today (12:20); Dr Ben Okafor has Quentin checked in (09:40).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.urls import reverse

from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from tests.factories import at, book, bookable_doctor, make_user
from tests.factories.records import visit_in_progress

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "09:50"), tick=False)


@pytest.fixture
def w():
    ada, ada_visit = bookable_doctor(name="Dr Ada Hart", slug="ada-hart")
    ben, ben_visit = bookable_doctor(name="Dr Ben Okafor", slug="ben-okafor")
    petra = make_user(Role.PATIENT, full_name="Petra Patientson")
    quentin = make_user(Role.PATIENT, full_name="Quentin Quill")
    ada_checked_in = visit_in_progress(ada_visit, at(TODAY, "09:00"), patient=petra)
    ada_later = book(
        ada_visit,
        at(TODAY, "12:20"),
        patient=petra,
        actor=make_user(Role.RECEPTIONIST),
        now=at(YESTERDAY, "10:00"),
    )
    ben_checked_in = visit_in_progress(ben_visit, at(TODAY, "09:40"), patient=quentin)
    return SimpleNamespace(
        ada=ada,
        ben=ben,
        petra=petra,
        quentin=quentin,
        ada_checked_in=ada_checked_in,
        ada_later=ada_later,
        ben_checked_in=ben_checked_in,
    )


def as_user(client, user):
    client.force_login(user)
    return client


def ada_absent(body: str, w) -> None:
    """Nothing of Dr Hart's day: no reference, no patient, no link to her appointments."""
    for reference in (w.ada_checked_in.reference, w.ada_later.reference):
        assert reference not in body
    assert "Petra Patientson" not in body


DOCTOR_SCREENS = {
    "queue": lambda w: f"/admin/clinic/queue/?doctor={w.ada.pk}",
    "calendar week": lambda w: f"/admin/clinic/calendar/?doctor={w.ada.pk}",
    "calendar day": lambda w: (
        f"/admin/clinic/calendar/?view=day&date={TODAY.isoformat()}&doctor={w.ada.pk}"
    ),
    "appointments list": lambda w: f"/admin/clinic/appointments/?doctor={w.ada.pk}",
    "appointments list today": lambda w: (
        f"/admin/clinic/appointments/?doctor={w.ada.pk}"
        f"&date_from={TODAY.isoformat()}&date_to={TODAY.isoformat()}"
    ),
    "analytics": lambda w: f"/admin/clinic/analytics/?doctor={w.ada.pk}",
}


@pytest.mark.parametrize("screen", DOCTOR_SCREENS)
def test_a_doctor_asking_for_a_colleague_sees_their_own_screen(client, w, screen):
    response = as_user(client, w.ben.user).get(DOCTOR_SCREENS[screen](w))
    assert response.status_code == 200
    body = response.content.decode()
    ada_absent(body, w)
    if screen != "analytics":  # figures, not rows
        assert w.ben_checked_in.reference in body  # the doctor's own day instead


def test_the_queue_fragment_of_a_colleague_is_the_doctors_own(client, w):
    response = as_user(client, w.ben.user).get(
        f"/admin/clinic/queue/?doctor={w.ada.pk}", headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    ada_absent(body, w)
    assert "Quentin Quill" in body


def test_the_queue_refresh_url_stays_on_the_doctors_own_queue(client, w):
    response = as_user(client, w.ben.user).get(f"/admin/clinic/queue/?doctor={w.ada.pk}")
    assert response.context["doctor"] == w.ben
    assert response.context["refresh_url"].endswith(f"?doctor={w.ben.pk}")
    assert response.context["tabs"] == []


def test_calling_next_with_a_colleagues_doctor_calls_from_the_doctors_own_queue(client, w):
    response = as_user(client, w.ben.user).post(
        "/admin/clinic/queue/", {"action": "call", "doctor": w.ada.pk}
    )
    assert response.status_code == 302
    assert w.ada_checked_in.reference not in response["Location"]
    assert Appointment.objects.get(pk=w.ada_checked_in.pk).called_at is None
    assert Appointment.objects.get(pk=w.ben_checked_in.pk).called_at is not None


@pytest.mark.parametrize(
    "url",
    [
        lambda w: reverse("dashboard:appointment", args=[w.ada_later.reference]),
        lambda w: reverse("dashboard:reschedule", args=[w.ada_later.reference]),
        lambda w: reverse("dashboard:record", args=[w.ada_checked_in.reference]),
        lambda w: reverse("dashboard:schedule", args=[w.ada.pk]),
        lambda w: reverse("dashboard:schedule_exception_add", args=[w.ada.pk]),
        lambda w: reverse("dashboard:schedule_visit_type_add", args=[w.ada.pk]),
    ],
    ids=["detail", "reschedule", "record", "schedule", "exception add", "visit type add"],
)
def test_a_colleagues_appointment_record_or_schedule_is_a_404(client, w, url):
    assert as_user(client, w.ben.user).get(url(w)).status_code == 404


def test_confirming_a_colleagues_appointment_is_a_404_and_changes_nothing(client, w):
    response = as_user(client, w.ben.user).post(
        reverse("dashboard:appointment", args=[w.ada_later.reference]), {"action": "cancel"}
    )
    assert response.status_code == 404
    assert Appointment.objects.get(pk=w.ada_later.pk).status == Status.CONFIRMED


# --- A user in the Doctor group without a doctor profile ---------------------------------------

NO_PROFILE_SCREENS = {
    "queue": lambda w: "/admin/clinic/queue/",
    "queue for Dr Hart": lambda w: f"/admin/clinic/queue/?doctor={w.ada.pk}",
    "calendar for Dr Hart": lambda w: f"/admin/clinic/calendar/?doctor={w.ada.pk}",
    "calendar day for Dr Hart": lambda w: (
        f"/admin/clinic/calendar/?view=day&date={TODAY.isoformat()}&doctor={w.ada.pk}"
    ),
    "appointments list for Dr Hart": lambda w: f"/admin/clinic/appointments/?doctor={w.ada.pk}",
    "analytics for Dr Hart": lambda w: f"/admin/clinic/analytics/?doctor={w.ada.pk}",
}


@pytest.mark.parametrize("screen", NO_PROFILE_SCREENS)
def test_a_doctor_without_a_profile_sees_nobodys_appointments(client, w, screen):
    nobody = make_user(Role.DOCTOR, full_name="Dr No Profile")
    response = as_user(client, nobody).get(NO_PROFILE_SCREENS[screen](w))
    assert response.status_code == 200
    body = response.content.decode()
    ada_absent(body, w)
    assert w.ben_checked_in.reference not in body
    assert "Quentin Quill" not in body
    if not screen.startswith("appointments"):
        assert "not linked to" in body  # the screen says why it is empty


def test_the_queue_fragment_of_a_doctor_without_a_profile_lists_nobody(client, w):
    nobody = make_user(Role.DOCTOR, full_name="Dr No Profile")
    response = as_user(client, nobody).get(
        f"/admin/clinic/queue/?doctor={w.ada.pk}", headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 200
    ada_absent(response.content.decode(), w)


def test_a_doctor_without_a_profile_cannot_call_anyones_patient_in(client, w):
    nobody = make_user(Role.DOCTOR, full_name="Dr No Profile")
    response = as_user(client, nobody).post(
        "/admin/clinic/queue/", {"action": "call", "doctor": w.ada.pk}
    )
    assert response.status_code == 404
    assert Appointment.objects.get(pk=w.ada_checked_in.pk).called_at is None


def test_the_front_desk_still_chooses_any_doctors_queue_and_calendar(client, w):
    desk = as_user(client, make_user(Role.RECEPTIONIST))
    for url in (
        f"/admin/clinic/queue/?doctor={w.ada.pk}",
        f"/admin/clinic/calendar/?view=day&date={TODAY.isoformat()}&doctor={w.ada.pk}",
        f"/admin/clinic/appointments/?doctor={w.ada.pk}",
    ):
        body = desk.get(url).content.decode()
        assert w.ada_checked_in.reference in body, url
        assert w.ben_checked_in.reference not in body, url
