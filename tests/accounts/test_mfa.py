"""Two-step sign-in (issue: staff MFA): authenticator apps, recovery codes, the clinic policy,
enrolment at first sign-in, every way in (our page, Wagtail's login, the API token endpoint)
and an administrator's reset.

The tests' settings start with the policy off (CLINIC_STAFF_MFA_DEFAULT=False, as the demo);
`policy_on` turns it on as production starts.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_site.accounts import mfa
from clinic_site.accounts.roles import Role
from clinic_site.models import ActivityEvent, ClinicPolicies
from tests.factories import make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

START = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def policy_on():
    policies = ClinicPolicies.load()
    policies.mfa_required_doctors = True
    policies.mfa_required_admins = True
    policies.mfa_required_reception = True
    policies.save()
    return policies


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def sign_in(client: Client, email: str, url: str = "/accounts/login/"):
    return client.post(url, {"username": email, "password": PASSWORD})


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def recovery_codes(user) -> list[str]:
    return mfa.recovery_codes_create(user)


def is_signed_in_fully(client: Client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 200


# --- The policy -----------------------------------------------------------------------------------


def test_production_starts_with_it_on_for_the_roles_that_read_clinical_data(settings):
    settings.CLINIC_STAFF_MFA_DEFAULT = True
    policies = ClinicPolicies()
    assert policies.mfa_required_doctors is True
    assert policies.mfa_required_admins is True
    assert policies.mfa_required_reception is False


def test_who_needs_a_second_step(policy_on):
    policy_on.mfa_required_reception = False
    policy_on.save()
    patient = make_user(Role.PATIENT)
    assert mfa.needed(make_user(Role.DOCTOR))
    assert mfa.needed(make_user(Role.ADMIN))
    assert not mfa.needed(make_user(Role.RECEPTIONIST))
    assert not mfa.needed(make_user(Role.EDITOR))
    assert not mfa.needed(patient)
    enrolled(patient)  # a patient who opted in
    assert mfa.needed(patient)


def test_with_the_policy_off_staff_sign_in_with_a_password_only(client):
    make_user(Role.DOCTOR, email="doc@example.test")
    sign_in(client, "doc@example.test")
    assert is_signed_in_fully(client)


# --- Enrolment at first sign-in -------------------------------------------------------------------


def test_first_sign_in_of_a_doctor_leads_to_setup_and_nowhere_else(client, policy_on):
    make_user(Role.DOCTOR, email="doc@example.test")

    response = sign_in(client, "doc@example.test")
    follow = client.get(response["Location"], follow=True)

    assert follow.redirect_chain[-1][0].startswith("/accounts/two-step/setup/")
    page = follow.content.decode()
    assert "Set up two-step sign-in" in page
    assert "<svg" in page  # the QR code
    for path in ["/admin/", "/admin/clinic/", "/admin/clinic/queue/", "/accounts/profile/"]:
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert answer["Location"].startswith("/accounts/two-step/"), path
    api = client.get("/api/v1/me/")
    assert api.status_code == 403
    assert api.json()["code"] == "mfa_required"


def test_setting_up_an_app_shows_recovery_codes_once_and_finishes_the_sign_in(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    sign_in(client, "doc@example.test")
    page = client.get("/accounts/two-step/setup/").content.decode()
    device = TOTPDevice.objects.get(user=doctor, confirmed=False)
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", page).group(1)
    assert len(secret) >= 32

    done = client.post("/accounts/two-step/setup/", {"code": code_for(device)})

    assert done.status_code == 302
    assert done["Location"].startswith("/accounts/two-step/recovery-codes/")
    shown = client.get(done["Location"])
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", shown.content.decode())
    assert len(codes) == 10
    assert "no-store" in shown["Cache-Control"]
    assert client.get("/accounts/two-step/recovery-codes/").status_code == 302  # only once
    assert is_signed_in_fully(client)
    device.refresh_from_db()
    assert device.confirmed
    # Stored as digests, never as shown.
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert not stored & {c.replace("-", "") for c in codes} and len(stored) == 10
    assert ActivityEvent.objects.filter(action="mfa_enrolled", target_id=str(doctor.pk)).exists()


def test_a_wrong_setup_code_is_refused_next_to_the_field(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    sign_in(client, "doc@example.test")
    client.get("/accounts/two-step/setup/")

    response = client.post("/accounts/two-step/setup/", {"code": "000000"})

    assert response.status_code == 400
    assert "That code is not valid" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=doctor, confirmed=True).exists()
    assert not is_signed_in_fully(client)


# --- The second step ------------------------------------------------------------------------------


def test_correct_code_signs_in(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    device = enrolled(doctor)

    sign_in(client, "doc@example.test")
    assert not is_signed_in_fully(client)
    response = client.post("/accounts/two-step/", {"code": code_for(device)})

    assert response.status_code == 302
    assert is_signed_in_fully(client)


def test_wrong_code_is_refused_and_logged(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    enrolled(doctor)
    sign_in(client, "doc@example.test")

    response = client.post("/accounts/two-step/", {"code": "123456"})

    assert response.status_code == 400
    assert "That code is not valid" in response.content.decode()
    assert not is_signed_in_fully(client)
    assert ActivityEvent.objects.filter(action="mfa_failed", target_id=str(doctor.pk)).exists()


def test_a_replayed_code_is_refused(client, policy_on, clock):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    device = enrolled(doctor)
    code = code_for(device)
    sign_in(client, "doc@example.test")
    assert client.post("/accounts/two-step/", {"code": code}).status_code == 302

    other = Client()
    sign_in(other, "doc@example.test")
    replay = other.post("/accounts/two-step/", {"code": code})

    assert replay.status_code == 400
    assert not is_signed_in_fully(other)
    # The next period's code works.
    clock.shift(dt.timedelta(seconds=30))
    device.refresh_from_db()
    assert other.post("/accounts/two-step/", {"code": code_for(device)}).status_code == 302


def test_a_recovery_code_works_once(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    enrolled(doctor)
    codes = recovery_codes(doctor)

    sign_in(client, "doc@example.test")
    assert client.post("/accounts/two-step/", {"code": codes[0].upper()}).status_code == 302
    assert is_signed_in_fully(client)

    again = Client()
    sign_in(again, "doc@example.test")
    assert again.post("/accounts/two-step/", {"code": codes[0]}).status_code == 400
    assert mfa.recovery_codes_left(doctor) == 9


def test_wagtails_own_login_page_needs_the_second_step_too(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    device = enrolled(doctor)

    sign_in(client, "doc@example.test", url="/admin/login/")

    assert client.get("/admin/")["Location"].startswith("/accounts/two-step/")
    client.post("/accounts/two-step/", {"code": code_for(device)})
    assert client.get("/admin/").status_code == 200


def test_a_patient_may_opt_in(client):
    patient = make_user(Role.PATIENT, email="pat@example.test")
    sign_in(client, "pat@example.test")
    assert client.get("/accounts/two-step/methods/").status_code == 200
    client.get("/accounts/two-step/setup/")
    device = TOTPDevice.objects.get(user=patient, confirmed=False)
    assert client.post("/accounts/two-step/setup/", {"code": code_for(device)}).status_code == 302

    later = Client()
    sign_in(later, "pat@example.test")
    assert later.get("/portal/")["Location"].startswith("/accounts/two-step/")


def test_a_pending_session_cannot_add_a_method_around_the_existing_one(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    enrolled(doctor)
    sign_in(client, "doc@example.test")

    for path in [
        "/accounts/two-step/setup/",
        "/accounts/two-step/methods/",
        "/accounts/two-step/recovery-codes/",
    ]:
        assert client.get(path)["Location"] == "/accounts/two-step/", path
    options = client.post("/accounts/two-step/passkey/register/options/")
    assert options.status_code == 302
    assert TOTPDevice.objects.filter(user=doctor).count() == 1


def test_the_last_method_of_a_role_that_needs_one_cannot_be_removed(client, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    device = enrolled(doctor)
    sign_in(client, "doc@example.test")
    client.post("/accounts/two-step/", {"code": code_for(device)})

    response = client.post(
        "/accounts/two-step/methods/", {"kind": "totp", "pk": str(device.pk)}, follow=True
    )

    assert "add another method before removing this one" in response.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


# --- The API token endpoint -----------------------------------------------------------------------


def token(email: str, otp: str | None = None):
    body = {"email": email, "password": PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return Client().post(TOKEN_URL, body, content_type="application/json")


def test_the_api_refuses_a_token_without_the_second_step(policy_on, clock):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    device = enrolled(doctor)

    missing = token("doc@example.test")
    wrong = token("doc@example.test", "000000")
    # After a wrong code the device slows down (1 s, then 2 s, 4 s, ...).
    too_soon = token("doc@example.test", code_for(device))
    clock.shift(dt.timedelta(seconds=2))
    right = token("doc@example.test", code_for(device))
    replay = token("doc@example.test", code_for(device))

    assert (missing.status_code, missing.json()["code"]) == (401, "mfa_required")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "mfa_invalid")
    assert (too_soon.status_code, too_soon.json()["code"]) == (401, "mfa_invalid")
    assert right.status_code == 200 and set(right.json()) == {"access", "refresh"}
    assert (replay.status_code, replay.json()["code"]) == (401, "mfa_invalid")


def test_the_api_takes_a_recovery_code_once(policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    enrolled(doctor)
    codes = recovery_codes(doctor)

    assert token("doc@example.test", codes[1]).status_code == 200
    assert token("doc@example.test", codes[1]).status_code == 401


def test_the_api_asks_a_staff_member_without_a_method_to_set_one_up(policy_on):
    make_user(Role.ADMIN, email="admin@example.test")

    response = token("admin@example.test", "123456")

    assert response.status_code == 403
    assert response.json()["code"] == "mfa_enrolment_required"


def test_a_wrong_password_still_answers_as_before(policy_on):
    enrolled(make_user(Role.DOCTOR, email="doc@example.test"))
    response = Client().post(
        TOKEN_URL,
        {"email": "doc@example.test", "password": "wrong-password-1", "otp": "123456"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["code"] not in ("mfa_required", "mfa_invalid")


def test_a_patient_without_a_method_gets_a_token_with_the_password(policy_on):
    make_user(Role.PATIENT, email="pat@example.test")
    assert token("pat@example.test").status_code == 200


# --- An administrator's reset ---------------------------------------------------------------------


def test_an_administrator_resets_a_lost_phone_and_it_is_logged(client, policy_on):
    policy_on.mfa_required_admins = False  # the administrator signs in with a password here
    policy_on.save()
    admin = make_user(Role.ADMIN, email="admin@example.test")
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    enrolled(doctor)
    recovery_codes(doctor)
    client.force_login(admin)

    page = client.get(f"/admin/clinic/users/{doctor.pk}/")
    assert "Reset two-step sign-in" in page.content.decode()
    response = client.post(f"/admin/clinic/users/{doctor.pk}/", {"action": "mfa_reset"})

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=doctor).exists()
    assert not StaticDevice.objects.filter(user=doctor).exists()
    event = ActivityEvent.objects.get(action="mfa_reset")
    assert event.actor == admin and event.target_id == str(doctor.pk)
    # The doctor sets up a new method at the next sign-in.
    other = Client()
    sign_in(other, "doc@example.test")
    assert (
        other.get("/accounts/two-step/", follow=True)
        .redirect_chain[-1][0]
        .startswith("/accounts/two-step/setup/")
    )


def test_only_an_administrator_may_reset(policy_on):
    from clinic_site.exceptions import Forbidden

    doctor = make_user(Role.DOCTOR)
    enrolled(doctor)
    with pytest.raises(Forbidden):
        mfa.mfa_reset(user=doctor, actor=make_user(Role.RECEPTIONIST))
    assert TOTPDevice.objects.filter(user=doctor).exists()


def test_staff_find_two_step_sign_in_on_their_account_page(client):
    client.force_login(make_user(Role.RECEPTIONIST))

    page = client.get("/admin/account/").content.decode()

    assert 'href="/accounts/two-step/methods/"' in page
