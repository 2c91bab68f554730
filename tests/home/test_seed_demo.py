"""`manage.py seed_demo` builds the demo clinic, and a second run changes nothing."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from doctors.models import Doctor, Specialty
from home.demo import DEMO_PASSWORD
from home.models import DoctorPage, HomePage
from home.portraits import make_portrait

pytestmark = pytest.mark.django_db

SAMPLE_USERS = {
    "patient@clinic.test": Role.PATIENT,
    "patient2@clinic.test": Role.PATIENT,
    "doctor@clinic.test": Role.DOCTOR,
    "reception@clinic.test": Role.RECEPTIONIST,
    "admin@clinic.test": Role.ADMIN,
    "editor@clinic.test": Role.EDITOR,
}
# Rows that record *when* something ran, not what the clinic holds.
VOLATILE = ["sessions", "axes", "django_tasks_database"]


def _dump() -> str:
    out = StringIO()
    call_command("dumpdata", exclude=VOLATILE, format="json", indent=0, stdout=out)
    return out.getvalue()


def test_seed_demo_twice_gives_the_same_database():
    call_command("seed_demo", stdout=StringIO())
    first = _dump()
    call_command("seed_demo", stdout=StringIO())
    assert _dump() == first


def test_every_sample_user_signs_in_with_the_documented_password(client):
    call_command("seed_demo", stdout=StringIO())
    for email, role in SAMPLE_USERS.items():
        user = User.objects.get(email=email)
        assert user.role == role, email
        assert user.is_active and user.email_verified, email
        response = client.post("/accounts/login/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        expected = "/portal/" if role == Role.PATIENT else "/admin/"
        assert client.get(response.url).url == expected, email
        client.post("/accounts/logout/")


def test_demo_clinic_has_doctors_with_live_pages_and_portraits(client):
    call_command("seed_demo", stdout=StringIO())
    doctors = Doctor.objects.filter(is_active=True)
    assert doctors.count() >= 6
    assert Specialty.objects.annotate(n=Count("doctors")).filter(n__gt=0).count() >= 4
    for doctor in doctors:
        page = DoctorPage.objects.live().get(doctor=doctor)
        assert page.body, f"{doctor}'s page has its editorial content"
        assert doctor.photo is not None, doctor
        assert doctor.photo.file.read(8) == b"\x89PNG\r\n\x1a\n"
        response = client.get(page.url)
        assert response.status_code == 200
        assert doctor.name in response.content.decode()
    assert User.objects.get(email="doctor@clinic.test").doctor_profile.page.live
    home = HomePage.objects.get()
    assert client.get("/").status_code == 200
    assert [block.block_type for block in home.body][:2] == ["services", "featured_doctors"]


def test_portraits_are_generated_locally_and_deterministically():
    first = make_portrait("amelia-hart-16", size=200)
    assert first == make_portrait("amelia-hart-16", size=200)
    assert first != make_portrait("rahul-mehta-56", size=200)
    assert first.startswith(b"\x89PNG")


def test_demo_clinic_has_schedules_and_appointments_in_every_status():
    from booking.models import Appointment, Reschedule, Status, Transition
    from booking.selectors import queue_for, slot_search

    call_command("seed_demo", stdout=StringIO())
    for doctor in Doctor.objects.filter(is_active=True):
        assert doctor.visit_types.filter(is_active=True).exists(), doctor
        assert doctor.weekly_windows.exists(), doctor
    assert doctor.schedule_exceptions.model.objects.filter(kind="day_off").exists()
    assert doctor.schedule_exceptions.model.objects.filter(kind="extra_hours").exists()

    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert statuses == set(Status.values)
    # The engine wrote the history: one transition per status change, reschedules recorded.
    for appointment in Appointment.objects.exclude(status=Status.HELD)[:50]:
        assert appointment.transitions.first().from_status == ""
        assert appointment.transitions.last().to_status == appointment.status
    assert Reschedule.objects.exists()
    assert Transition.objects.filter(to_status=Status.RELEASED).exists()
    # Today's clinic: Dr Hart has patients waiting, and bookable slots ahead.
    amelia = Doctor.objects.get(slug="amelia-hart")
    assert queue_for(amelia, timezone.localdate()).count() >= 1
    visit_type = amelia.visit_types.first()
    visit_type.doctor = amelia
    today = timezone.localdate()
    assert slot_search(visit_type=visit_type, date_from=today, date_to=today + dt.timedelta(14))


def test_seed_demo_tells_no_one_about_the_demo_history(django_capture_on_commit_callbacks):
    """Three weeks of invented visits must not e-mail (or text) the demo patients."""
    from django.core import mail

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("seed_demo", stdout=StringIO())
    assert mail.outbox == []
    assert len(callbacks) < 20  # the patients' verification codes are not sent either
