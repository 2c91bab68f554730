"""Registering a patient at the front desk: accounts.services.patient_register_at_desk.

The front desk (receptionists, administrators) opens an active patient account with no usable
password and e-mails the patient, once the transaction commits, a link to choose one. Input is
checked like self-registration; bad input names the field and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from clinic_site.accounts import services
from clinic_site.accounts.models import PatientProfile, User
from clinic_site.accounts.roles import Role
from clinic_site.exceptions import Forbidden
from clinic_site.models import ClinicPolicies
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quiet-river-2026"
DETAILS = {
    "email": "Nora.Quinn@Example.TEST",
    "full_name": " Nora Quinn ",
    "phone": "+44 7700 900111",
    "date_of_birth": dt.date(1990, 2, 3),
}
LINK = re.compile(r"http://testserver(/accounts/password-reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def receptionist():
    return make_user(Role.RECEPTIONIST, email="desk@example.test")


def register(actor, **overrides):
    return services.patient_register_at_desk(actor=actor, **{**DETAILS, **overrides})


def test_creates_an_active_patient_without_a_password_and_with_an_unverified_address(
    receptionist,
):
    set_policy = ClinicPolicies.load()
    set_policy.accounts_need_activation = True  # the desk has seen the patient: active anyway
    set_policy.save()

    user = register(
        receptionist, national_id="qn 123456", address_line1="1 High Street", city="Leeds"
    )

    user = User.objects.get(pk=user.pk)
    assert user.email == "nora.quinn@example.test"
    assert user.full_name == "Nora Quinn"
    assert user.national_id == "QN123456"
    assert user.role == Role.PATIENT
    assert user.is_active and user.activated_at is not None
    assert not user.has_usable_password()
    assert not user.email_verified
    profile = PatientProfile.objects.get(user=user)
    assert profile.date_of_birth == dt.date(1990, 2, 3)
    assert (profile.address_line1, profile.city) == ("1 High Street", "Leeds")


def test_administrators_register_too():
    admin = make_user(Role.ADMIN)
    assert register(admin).role == Role.PATIENT


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.EDITOR])
def test_only_the_front_desk_registers_patients(role):
    with pytest.raises(Forbidden):
        register(make_user(role))
    assert not User.objects.filter(email="nora.quinn@example.test").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "TAKEN@example.test"}, "email"),
        ({"national_id": "AB-1234"}, "national_id"),
        ({"date_of_birth": dt.date(2999, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": dt.date(1700, 1, 1)}, "date_of_birth"),
        ({"phone": "call me"}, "phone"),
        ({"full_name": "   "}, "full_name"),
    ],
)
def test_bad_details_name_the_field_and_store_nothing(receptionist, overrides, field):
    make_user(Role.PATIENT, email="taken@example.test", national_id="AB-1234")
    users = User.objects.count()

    with pytest.raises(ValidationError) as caught:
        register(receptionist, **overrides)

    assert field in caught.value.message_dict
    assert User.objects.count() == users
    assert not PatientProfile.objects.filter(user__email="nora.quinn@example.test").exists()


def test_unknown_profile_fields_are_a_programming_error(receptionist):
    with pytest.raises(TypeError):
        register(receptionist, favourite_colour="blue")


def test_welcome_email_goes_out_only_after_the_transaction_commits(
    receptionist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        register(receptionist)
    assert mail.outbox == []
    assert len(callbacks) == 1

    callbacks[0]()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nora.quinn@example.test"]
    assert message.subject == "Welcome: choose your password"
    assert "Hello Nora" in message.body
    assert LINK.search(message.body)
    html = unescape(message.alternatives[0][0])
    assert LINK.search(html).group(1) == LINK.search(message.body).group(1)


def test_no_welcome_email_when_the_registration_is_refused(
    receptionist, django_capture_on_commit_callbacks
):
    make_user(Role.PATIENT, email="nora.quinn@example.test")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        register(receptionist)
    assert mail.outbox == []


def test_the_link_lets_the_patient_choose_a_password_once_and_sign_in(
    receptionist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = register(receptionist)
    path = LINK.search(mail.outbox[0].body).group(1)
    browser = Client()

    form_page = browser.get(path, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    done = browser.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    signed_in = Client().post(
        "/accounts/login/", {"username": "nora.quinn@example.test", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302
    # The link works once: with a password set, it no longer opens the form.
    again = Client().get(path, follow=True)
    assert "new_password1" not in again.content.decode()


def test_using_the_set_password_link_confirms_the_email_address(client, settings):
    """The welcome link arrives by e-mail, so setting a password through it proves the address."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from clinic_site.accounts.models import User
    from tests.factories import PatientFactory

    patient = PatientFactory(email_verified_at=None)
    patient.set_unusable_password()
    patient.save()
    uid = urlsafe_base64_encode(force_bytes(patient.pk))
    token = default_token_generator.make_token(patient)
    form_url = client.get(f"/accounts/password-reset/{uid}/{token}/").url
    response = client.post(
        form_url, {"new_password1": "Quiet-harbour-2031", "new_password2": "Quiet-harbour-2031"}
    )
    assert response.status_code == 302
    patient = User.objects.get(pk=patient.pk)
    assert patient.email_verified and patient.has_usable_password()


def test_a_patient_registered_at_the_desk_can_ask_for_a_new_link(
    client, django_capture_on_commit_callbacks
):
    """Their first link may expire before they use it: the forgotten-password form sends one."""
    from django.core import mail

    from tests.factories import PatientFactory

    patient = PatientFactory(email="desk.patient@example.test", email_verified_at=None)
    patient.set_unusable_password()
    patient.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password-reset/", {"email": patient.email})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[patient.email]]
