"""Users and roles in the staff dashboard: the administrators' list, new staff accounts (a doctor
gets a doctor profile and a public page), and each account's actions — with the administrator
limit, the activation policy and the last-administrator rule holding here too."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.models import ClinicPolicies
from doctors.models import Doctor
from home.models import DoctorPage
from tests.factories import SpecialtyFactory, build_site, make_user

pytestmark = pytest.mark.django_db

LIST = "/admin/clinic/users/"
NEW = "/admin/clinic/users/new/"


def detail(user) -> str:
    return f"/admin/clinic/users/{user.pk}/"


@pytest.fixture
def admin(client):
    user = make_user(Role.ADMIN, full_name="Ada Admin")
    client.force_login(user)
    return user


def listed(response) -> list[str]:
    return re.findall(r'href="/admin/clinic/users/\d+/"><strong>([^<]+)</strong>', response.text)


def new_staff(client, **overrides):
    data = {
        "full_name": "Rita Desk",
        "email": "rita@clinic.test",
        "phone": "",
        "role": "receptionist",
    }
    data.update(overrides)
    return client.post(NEW, data)


# --- Who reaches these screens ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR])
def test_only_administrators_reach_users_and_roles(client, role):
    other = make_user(Role.PATIENT)
    client.force_login(make_user(role))
    for url in (LIST, NEW, detail(other)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/admin/", url
    response = client.post(detail(other), {"action": "deactivate"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert User.objects.get(pk=other.pk).is_active


def test_patients_and_visitors_are_sent_to_sign_in(client):
    assert client.get(LIST)["Location"].startswith("/accounts/login/") or client.get(LIST)[
        "Location"
    ].startswith("/admin/login/")
    client.force_login(make_user(Role.PATIENT))
    assert client.get(LIST).status_code == 302


# --- The list ---------------------------------------------------------------------------------


def test_list_filters_by_role_status_and_search(client, admin):
    make_user(Role.RECEPTIONIST, full_name="Rosa Front")
    make_user(Role.DOCTOR, full_name="Dan Doctor")
    patient = make_user(Role.PATIENT, full_name="Pat Patient", email="pat@example.test")
    gone = make_user(Role.RECEPTIONIST, full_name="Gone Away")
    gone.is_active = False
    gone.save()
    pending = make_user(Role.PATIENT, full_name="New Person", activated_at=None)
    pending.is_active = False
    pending.save()

    assert set(listed(client.get(LIST))) == {
        "Ada Admin",
        "Rosa Front",
        "Dan Doctor",
        "Pat Patient",
        "Gone Away",
        "New Person",
    }
    assert listed(client.get(LIST, {"role": "receptionist"})) == ["Gone Away", "Rosa Front"]
    assert listed(client.get(LIST, {"status": "deactivated"})) == ["Gone Away"]
    assert listed(client.get(LIST, {"status": "pending"})) == ["New Person"]
    assert listed(client.get(LIST, {"q": "pat@exa"})) == [patient.full_name]
    assert listed(client.get(LIST, {"q": "doc"})) == ["Dan Doctor"]
    page = client.get(LIST, {"role": "receptionist"}).text
    assert "cp-badge--requested" not in page and "cp-badge--cancelled" in page


@pytest.mark.parametrize(
    "query", [{"role": "wizard"}, {"status": "x" * 300}, {"q": "a\x00b"}, {"page": "999"}]
)
def test_bad_list_input_never_fails(client, admin, query):
    assert client.get(LIST, query).status_code == 200


def test_list_runs_the_same_queries_for_few_and_many_accounts(client, admin):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    for _ in range(3):
        make_user(Role.PATIENT)
    count()  # the first request warms per-process caches (site settings)
    few = count()
    for _ in range(20):
        make_user(Role.RECEPTIONIST)
    assert count() == few


def test_list_pages_count_accounts(client, admin):
    for _ in range(25):
        make_user(Role.PATIENT)
    page = client.get(LIST).text
    assert "Page 1 of 2 · 26 accounts" in page


# --- New staff accounts -----------------------------------------------------------------------


def test_admin_creates_a_receptionist_who_gets_a_link_to_choose_a_password(
    client, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = new_staff(client)
    user = User.objects.get(email="rita@clinic.test")
    assert response.status_code == 302 and response["Location"] == detail(user)
    assert user.role == Role.RECEPTIONIST and user.is_active and user.email_verified
    assert not user.has_usable_password()
    (message,) = mail.outbox
    assert message.to == ["rita@clinic.test"]
    assert "choose your password" in message.subject.lower()
    assert "/accounts/password-reset/" in message.body


def test_a_new_doctor_gets_a_doctor_profile_and_a_public_page(client, admin):
    build_site()
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    response = new_staff(
        client,
        full_name="Noor Haddad",
        email="noor@clinic.test",
        role="doctor",
        specialties=[cardiology.pk],
        languages="English, Arabic",
    )
    user = User.objects.get(email="noor@clinic.test")
    assert response.status_code == 302
    doctor = Doctor.objects.get(user=user)
    assert doctor.name == "Dr Noor Haddad"
    assert list(doctor.specialties.all()) == [cardiology]
    assert DoctorPage.objects.live().filter(doctor=doctor).exists()
    assert user.role == Role.DOCTOR


def test_a_doctor_needs_a_specialty_and_nothing_is_stored_without_one(client, admin):
    response = new_staff(client, role="doctor", email="nospec@clinic.test")
    assert response.status_code == 400
    assert "Choose at least one specialty" in response.text
    assert not User.objects.filter(email="nospec@clinic.test").exists()
    assert not Doctor.objects.exists()


def test_a_taken_email_is_refused_next_to_the_field(client, admin):
    make_user(Role.PATIENT, email="taken@clinic.test")
    response = new_staff(client, email="taken@clinic.test")
    assert response.status_code == 400
    assert "already exists" in response.text
    assert User.objects.filter(email="taken@clinic.test").count() == 1


def test_a_new_administrator_over_the_limit_is_refused_and_nothing_is_stored(client, admin):
    make_user(Role.ADMIN)  # two active administrators: the default limit
    response = new_staff(client, role="admin", email="third@clinic.test")
    assert response.status_code == 400
    assert "limit is 2" in response.text
    assert not User.objects.filter(email="third@clinic.test").exists()


# --- One account's actions --------------------------------------------------------------------


def test_deactivate_and_reactivate_an_account(client, admin):
    desk = make_user(Role.RECEPTIONIST)
    client.post(detail(desk), {"action": "deactivate"})
    assert not User.objects.get(pk=desk.pk).is_active
    client.post(detail(desk), {"action": "activate"})
    assert User.objects.get(pk=desk.pk).is_active


def test_activating_a_pending_patient_account_lets_them_sign_in(client, admin):
    policies = ClinicPolicies.load()
    policies.accounts_need_activation = True
    policies.save()
    pending = make_user(Role.PATIENT, activated_at=None)
    pending.is_active = False
    pending.save()
    page = client.get(detail(pending)).text
    assert "Awaiting activation" in page and "Activate the account" in page
    client.post(detail(pending), {"action": "activate"})
    pending.refresh_from_db()
    assert pending.is_active and pending.activated_at is not None


def test_change_role(client, admin):
    desk = make_user(Role.RECEPTIONIST)
    response = client.post(detail(desk), {"action": "role", "role": "editor"})
    assert response.status_code == 302
    assert User.objects.get(pk=desk.pk).role == Role.EDITOR


def test_promoting_past_the_administrator_limit_is_refused(client, admin):
    make_user(Role.ADMIN)
    desk = make_user(Role.RECEPTIONIST)
    response = client.post(detail(desk), {"action": "role", "role": "admin"}, follow=True)
    assert "limit is 2" in response.text
    assert User.objects.get(pk=desk.pk).role == Role.RECEPTIONIST


def test_the_last_administrator_cannot_demote_or_deactivate_themself(client, admin):
    response = client.post(detail(admin), {"action": "role", "role": "receptionist"}, follow=True)
    assert "at least one active administrator" in response.text
    response = client.post(detail(admin), {"action": "deactivate"}, follow=True)
    assert "at least one active administrator" in response.text
    admin.refresh_from_db()
    assert admin.is_active and User.objects.get(pk=admin.pk).role == Role.ADMIN


def test_with_a_second_administrator_one_may_step_down(client, admin):
    make_user(Role.ADMIN)
    client.post(detail(admin), {"action": "role", "role": "receptionist"})
    assert User.objects.get(pk=admin.pk).role == Role.RECEPTIONIST


def test_admin_emails_a_password_link(client, admin, django_capture_on_commit_callbacks):
    desk = make_user(Role.RECEPTIONIST, email="desk@clinic.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail(desk), {"action": "password_reset"})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["desk@clinic.test"]
    assert "/accounts/password-reset/" in message.body


def test_unknown_action_or_role_changes_nothing(client, admin):
    desk = make_user(Role.RECEPTIONIST)
    assert client.post(detail(desk), {"action": "explode"}).status_code == 302
    assert client.post(detail(desk), {"action": "role", "role": "wizard"}).status_code == 400
    assert User.objects.get(pk=desk.pk).role == Role.RECEPTIONIST


def test_an_unknown_account_is_a_404(client, admin):
    assert client.get("/admin/clinic/users/999999/").status_code == 404
