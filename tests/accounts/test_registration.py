"""Patient self-registration: web form, service and API (product.md §1, api-v1.md "Accounts").

Good input creates exactly one patient (account, profile, Patient group, unverified e-mail) and
e-mails a six-digit code once the transaction commits. Bad input names the field that is wrong and
stores nothing at all.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.settings import api_settings

from clinic_site.accounts import services
from clinic_site.accounts.models import EmailVerificationCode, PatientProfile, User
from clinic_site.accounts.roles import Role
from clinic_site.models import ClinicPolicies
from tests.factories import PatientFactory, UserFactory, make_user

pytestmark = pytest.mark.django_db

REGISTER_URL = "/accounts/register/"
API_REGISTER_URL = "/api/v1/auth/register/"
GOOD_PASSWORD = "Quiet-river-2026"

WEB_REQUIRED = {
    "email": "Nora.Quinn@Example.TEST",
    "password1": GOOD_PASSWORD,
    "password2": GOOD_PASSWORD,
    "full_name": "Nora Quinn",
    "phone": "+44 7700 900111",
    "date_of_birth": "1990-02-03",
}
API_REQUIRED = {
    "email": "Nora.Quinn@Example.TEST",
    "password": GOOD_PASSWORD,
    "full_name": "Nora Quinn",
    "phone": "+44 7700 900111",
    "date_of_birth": "1990-02-03",
}
# Every optional field of the patient profile (product.md §1).
OPTIONAL_PROFILE = {
    "gender": "female",
    "national_id": "QN123456",
    "nationality": "IE",
    "address_line1": "1 High Street",
    "address_line2": "Flat 2",
    "postal_code": "LS1 4AP",
    "city": "Leeds",
    "state": "West Yorkshire",
    "country": "GB",
    "insurance_provider": "Bupa",
    "insurance_number": "INS-778899",
    "emergency_contact_name": "Sean Quinn",
    "emergency_contact_phone": "+44 7700 900222",
    "emergency_contact_relationship": "Brother",
}
CODE_LINE = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)


def tomorrow() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


def stored_counts() -> tuple[int, int, int]:
    return (
        User.objects.count(),
        PatientProfile.objects.count(),
        EmailVerificationCode.objects.count(),
    )


def field_error_text(response, field: str) -> str:
    """The text of the error list rendered next to `field` (Django ties it with id_<f>_error)."""
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist[^"]*" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def assert_profile_matches(profile: PatientProfile, expected: dict) -> None:
    for name, value in expected.items():
        if name == "national_id":
            continue
        stored = getattr(profile, name)
        if name in ("country", "nationality"):
            stored = stored.code
        assert stored == value, name


# --- Web form: success --------------------------------------------------------------------------


def test_web_registration_creates_unverified_patient_with_every_given_detail(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REGISTER_URL, {**WEB_REQUIRED, **OPTIONAL_PROFILE})

    assert response.status_code == 302
    assert response.url == "/accounts/verify/"
    user = User.objects.get()
    assert user.email == "nora.quinn@example.test"
    assert user.full_name == "Nora Quinn"
    assert user.phone == "+44 7700 900111"
    assert user.national_id == "QN123456"
    assert user.check_password(GOOD_PASSWORD)
    assert user.email_verified is False
    assert user.email_verified_at is None
    assert user.is_active is True
    assert user.activated_at is not None
    assert list(user.groups.values_list("name", flat=True)) == ["Patient"]
    assert user.role == Role.PATIENT
    profile = user.patient_profile
    assert profile.date_of_birth == dt.date(1990, 2, 3)
    assert_profile_matches(profile, OPTIONAL_PROFILE)


def test_web_registration_with_only_required_fields_leaves_optional_ones_empty(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REGISTER_URL, WEB_REQUIRED)

    assert response.status_code == 302
    user = User.objects.get()
    assert user.national_id is None
    profile = user.patient_profile
    assert profile.city == ""
    assert profile.country.code is None or profile.country.code == ""
    assert profile.insurance_number == ""


def test_web_registration_emails_one_six_digit_code_to_the_new_address(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REGISTER_URL, WEB_REQUIRED)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nora.quinn@example.test"]
    codes = CODE_LINE.findall(message.body)
    assert len(codes) == 1
    code = codes[0]
    html_body = message.alternatives[0][0]
    assert code in html_body
    # Only a keyed hash of the code is kept.
    record = EmailVerificationCode.objects.get()
    assert code not in record.code_hash
    # The e-mailed code is the one that proves the address.
    assert services.email_verify(email="nora.quinn@example.test", code=code).email_verified


def test_registration_email_is_sent_only_after_the_transaction_commits(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(REGISTER_URL, WEB_REQUIRED)

    assert response.status_code == 302
    assert User.objects.filter(email="nora.quinn@example.test").exists()
    assert mail.outbox == []  # not sent while the transaction is open
    assert len(callbacks) == 1
    callbacks[0]()  # the commit
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nora.quinn@example.test"]


def test_registration_without_a_commit_sends_nothing(client):
    # The test transaction never commits, so the on-commit e-mail never leaves.
    response = client.post(REGISTER_URL, WEB_REQUIRED)

    assert response.status_code == 302
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_web_registration_remembers_the_address_for_the_verify_page(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REGISTER_URL, WEB_REQUIRED)

    page = client.get("/accounts/verify/")
    assert page.status_code == 200
    assert page.context["form"]["email"].value() == "nora.quinn@example.test"
    # Registering does not sign anyone in before the address is confirmed.
    assert "_auth_user_id" not in client.session


def test_two_registrations_without_a_national_id_do_not_collide(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(REGISTER_URL, WEB_REQUIRED)
        client.logout()
        second = client.post(
            REGISTER_URL, {**WEB_REQUIRED, "email": "other@example.test", "national_id": ""}
        )

    assert first.status_code == 302
    assert second.status_code == 302
    assert list(User.objects.values_list("national_id", flat=True)) == [None, None]


def test_signed_in_user_is_sent_home_instead_of_registering_again(client):
    patient = make_user(Role.PATIENT)
    client.force_login(patient)

    response = client.post(REGISTER_URL, {**WEB_REQUIRED, "email": "second@example.test"})

    assert response.status_code == 302
    assert response.url == "/portal/"
    assert not User.objects.filter(email="second@example.test").exists()


# --- Web form: bad input ------------------------------------------------------------------------

WEB_BAD_INPUT = [
    pytest.param(
        {"password1": "Ab1-xyz", "password2": "Ab1-xyz"}, "password1", "too short", id="short"
    ),
    pytest.param(
        {"password1": "password123", "password2": "password123"},
        "password1",
        "too common",
        id="common",
    ),
    pytest.param(
        {"password1": "8273645190", "password2": "8273645190"},
        "password1",
        "entirely numeric",
        id="numeric",
    ),
    pytest.param(
        {"full_name": "Nora Quinnington", "password1": "Quinnington1", "password2": "Quinnington1"},
        "password1",
        "too similar",
        id="similar-to-name",
    ),
    pytest.param(
        {"password2": "Other-river-2026"}, "password2", "not the same", id="password-mismatch"
    ),
    pytest.param({"date_of_birth": tomorrow()}, "date_of_birth", "future", id="future-birth"),
    pytest.param({"date_of_birth": "1990-13-45"}, "date_of_birth", "valid date", id="bad-date"),
    pytest.param({"date_of_birth": "1850-01-01"}, "date_of_birth", "year", id="implausible"),
    pytest.param({"phone": "12ab"}, "phone", "7 to 15 digits", id="bad-phone"),
    pytest.param({"phone": "123 456"}, "phone", "7 to 15 digits", id="short-phone"),
    pytest.param({"phone": ""}, "phone", "required", id="missing-phone"),
    pytest.param({"email": "not-an-address"}, "email", "valid email", id="bad-email"),
    pytest.param(
        {"emergency_contact_phone": "call me"},
        "emergency_contact_phone",
        "7 to 15 digits",
        id="bad-emergency-phone",
    ),
    pytest.param({"national_id": "A!"}, "national_id", "4 to 32", id="bad-national-id"),
]


@pytest.mark.parametrize(("changes", "field", "message"), WEB_BAD_INPUT)
def test_web_registration_bad_input_is_reported_next_to_its_field_and_stores_nothing(
    client, django_capture_on_commit_callbacks, changes, field, message
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REGISTER_URL, {**WEB_REQUIRED, **changes})

    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors.get(field, [])).lower(), form.errors
    assert message in field_error_text(response, field).lower()
    assert stored_counts() == (0, 0, 0)
    assert mail.outbox == []


@pytest.mark.parametrize(
    "email", ["nora.quinn@example.test", "NORA.QUINN@EXAMPLE.TEST", "  Nora.Quinn@example.test "]
)
def test_web_registration_with_a_taken_address_in_any_case_is_refused(
    client, django_capture_on_commit_callbacks, email
):
    PatientFactory(email="nora.quinn@example.test")
    before = stored_counts()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REGISTER_URL, {**WEB_REQUIRED, "email": email})

    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["form"].errors["email"])
    assert "already exists" in field_error_text(response, "email")
    assert stored_counts() == before
    assert mail.outbox == []


@pytest.mark.parametrize("national_id", ["QN123456", "qn123456", "qn 1234 56"])
def test_web_registration_with_a_national_id_on_file_is_refused(
    client, django_capture_on_commit_callbacks, national_id
):
    PatientFactory(national_id="QN123456")
    before = stored_counts()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REGISTER_URL, {**WEB_REQUIRED, "national_id": national_id})

    assert response.status_code == 200
    assert "already on file" in " ".join(response.context["form"].errors["national_id"])
    assert "already on file" in field_error_text(response, "national_id")
    assert stored_counts() == before
    assert mail.outbox == []


def test_web_registration_keeps_everything_typed_the_password_too(client):
    """Nothing is cleared on an error, the passwords neither (issue 12): retyping them is where
    people give up. The page is never stored by a cache or the browser's history."""
    response = client.post(REGISTER_URL, {**WEB_REQUIRED, **OPTIONAL_PROFILE, "phone": "12ab"})

    html = response.content.decode()
    assert 'value="Nora Quinn"' in html
    assert 'value="Leeds"' in html
    assert f'name="password1" value="{GOOD_PASSWORD}"' in html
    assert "no-store" in response.headers["Cache-Control"]


# --- Service ------------------------------------------------------------------------------------


def test_service_reports_every_bad_field_at_once_and_stores_nothing(
    django_capture_on_commit_callbacks,
):
    PatientFactory(email="taken@example.test", national_id="QN123456")
    before = stored_counts()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        services.patient_register(
            email="TAKEN@example.test",
            password="short",
            full_name="Nora Quinn",
            phone="12ab",
            date_of_birth=timezone.localdate() + dt.timedelta(days=1),
            national_id="qn123456",
        )

    assert set(exc.value.message_dict) == {
        "email",
        "password",
        "phone",
        "date_of_birth",
        "national_id",
    }
    assert stored_counts() == before
    assert mail.outbox == []


def test_service_registration_stores_email_trimmed_and_lower_cased(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.patient_register(
            email="  Mixed.Case@Example.TEST ",
            password=GOOD_PASSWORD,
            full_name="  Mia Case ",
            phone="+44 7700 900333",
            date_of_birth=dt.date(1985, 1, 1),
        )

    user.refresh_from_db()
    assert user.email == "mixed.case@example.test"
    assert user.full_name == "Mia Case"
    assert mail.outbox[0].to == ["mixed.case@example.test"]


# --- Activation policy --------------------------------------------------------------------------


def _require_activation() -> None:
    policies = ClinicPolicies.load()
    policies.accounts_need_activation = True
    policies.save()


def test_with_activation_policy_a_new_account_waits_inactive(
    client, django_capture_on_commit_callbacks
):
    _require_activation()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REGISTER_URL, WEB_REQUIRED)

    assert response.status_code == 302
    user = User.objects.get()
    assert user.is_active is False
    assert user.activated_at is None
    assert user.awaiting_activation is True
    # The code is still sent: the address is confirmed while the account waits.
    assert len(mail.outbox) == 1


def test_with_activation_policy_an_api_registration_also_waits(
    client, django_capture_on_commit_callbacks
):
    _require_activation()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(API_REGISTER_URL, API_REQUIRED, content_type="application/json")

    assert response.status_code == 201
    user = User.objects.get()
    assert (user.is_active, user.activated_at) == (False, None)


def test_without_activation_policy_a_new_account_is_active_at_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.patient_register(
            email="a@example.test",
            password=GOOD_PASSWORD,
            full_name="Ada Active",
            phone="+44 7700 900444",
            date_of_birth=dt.date(1980, 4, 4),
        )

    user.refresh_from_db()
    assert user.is_active is True
    assert user.activated_at is not None


# --- API ----------------------------------------------------------------------------------------


def test_api_registration_answers_201_with_exactly_id_email_and_unverified(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            API_REGISTER_URL, {**API_REQUIRED, **OPTIONAL_PROFILE}, content_type="application/json"
        )

    assert response.status_code == 201, response.content
    user = User.objects.get()
    assert response.json() == {
        "id": user.pk,
        "email": "nora.quinn@example.test",
        "email_verified": False,
    }
    assert user.role == Role.PATIENT
    assert user.national_id == "QN123456"
    assert user.check_password(GOOD_PASSWORD)
    assert user.patient_profile.date_of_birth == dt.date(1990, 2, 3)
    assert_profile_matches(user.patient_profile, OPTIONAL_PROFILE)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nora.quinn@example.test"]
    assert len(CODE_LINE.findall(mail.outbox[0].body)) == 1


def test_api_registration_needs_no_sign_in_and_ignores_a_session(client):
    client.force_login(make_user(Role.RECEPTIONIST))

    response = client.post(API_REGISTER_URL, API_REQUIRED, content_type="application/json")

    assert response.status_code == 201
    assert User.objects.get(email="nora.quinn@example.test").role == Role.PATIENT


def test_api_registration_email_waits_for_the_commit(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(API_REGISTER_URL, API_REQUIRED, content_type="application/json")

    assert response.status_code == 201
    assert mail.outbox == []
    assert len(callbacks) == 1


API_BAD_INPUT = [
    pytest.param({"password": "Ab1-xyz"}, "password", "too short", id="short"),
    pytest.param({"password": "password123"}, "password", "too common", id="common"),
    pytest.param({"password": "8273645190"}, "password", "entirely numeric", id="numeric"),
    pytest.param(
        {"full_name": "Nora Quinnington", "password": "Quinnington1"},
        "password",
        "too similar",
        id="similar-to-name",
    ),
    pytest.param({"date_of_birth": tomorrow()}, "date_of_birth", "future", id="future-birth"),
    pytest.param({"date_of_birth": "03/02/1990x"}, "date_of_birth", "format", id="bad-date"),
    pytest.param({"date_of_birth": "1990-02-30"}, "date_of_birth", "format", id="no-such-day"),
    pytest.param({"phone": "12ab"}, "phone", "7 to 15 digits", id="bad-phone"),
    pytest.param({"email": "not-an-address"}, "email", "valid email", id="bad-email"),
    pytest.param({"gender": "robot"}, "gender", "valid choice", id="bad-gender"),
    pytest.param({"country": "ZZ"}, "country", "valid choice", id="bad-country"),
    pytest.param(
        {"emergency_contact_phone": "call me"},
        "emergency_contact_phone",
        "7 to 15 digits",
        id="bad-emergency-phone",
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), API_BAD_INPUT)
def test_api_registration_bad_input_is_a_400_field_map_and_stores_nothing(
    client, django_capture_on_commit_callbacks, changes, field, message
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            API_REGISTER_URL, {**API_REQUIRED, **changes}, content_type="application/json"
        )

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field], body
    assert isinstance(body[field], list)
    assert all(isinstance(m, str) for m in body[field])
    assert message in " ".join(body[field]).lower()
    assert stored_counts() == (0, 0, 0)
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["nora.quinn@example.test", "NORA.Quinn@EXAMPLE.test"])
def test_api_registration_with_a_taken_address_in_any_case_is_refused(
    client, django_capture_on_commit_callbacks, email
):
    PatientFactory(email="nora.quinn@example.test")
    before = stored_counts()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            API_REGISTER_URL, {**API_REQUIRED, "email": email}, content_type="application/json"
        )

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["email"]
    assert "already exists" in body["email"][0]
    assert stored_counts() == before
    assert mail.outbox == []


def test_api_registration_with_a_national_id_on_file_is_refused(
    client, django_capture_on_commit_callbacks
):
    PatientFactory(national_id="QN123456")
    before = stored_counts()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            API_REGISTER_URL,
            {**API_REQUIRED, "national_id": "qn123456"},
            content_type="application/json",
        )

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["national_id"]
    assert "already on file" in body["national_id"][0]
    assert stored_counts() == before
    assert mail.outbox == []


def test_api_registration_lists_every_missing_required_field(client):
    response = client.post(API_REGISTER_URL, {}, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"email", "password", "full_name", "phone", "date_of_birth"}
    assert all(isinstance(messages, list) and messages for messages in body.values())
    assert stored_counts() == (0, 0, 0)


def test_api_registration_never_returns_the_password_or_code(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(API_REGISTER_URL, API_REQUIRED, content_type="application/json")

    text = response.content.decode()
    code = CODE_LINE.findall(mail.outbox[0].body)[0]
    assert GOOD_PASSWORD not in text
    assert code not in text


def test_api_registration_of_a_staff_address_is_refused_without_touching_the_account(client):
    doctor = make_user(Role.DOCTOR, email="dr.who@example.test")

    response = client.post(
        API_REGISTER_URL,
        {**API_REQUIRED, "email": "Dr.Who@example.test"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    doctor.refresh_from_db()
    assert doctor.role == Role.DOCTOR
    assert not PatientProfile.objects.filter(user=doctor).exists()


def test_api_registration_is_refused_for_an_address_stored_in_another_case(client):
    # An older account whose address was stored as typed (before normalisation): the
    # case-insensitive unique constraint still keeps a second account from being made.
    UserFactory(email="Nora.Quinn@Example.TEST", role=Role.PATIENT)
    before = stored_counts()

    response = client.post(API_REGISTER_URL, API_REQUIRED, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert stored_counts() == before


def test_api_registration_is_throttled_with_429(client):
    rate = api_settings.DEFAULT_THROTTLE_RATES["register"]
    allowed = int(rate.split("/")[0])
    for _ in range(allowed):
        client.post(API_REGISTER_URL, {}, content_type="application/json")

    response = client.post(API_REGISTER_URL, API_REQUIRED, content_type="application/json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert stored_counts() == (0, 0, 0)
