"""Two-step sign-in in the system Chromium: a receptionist, required by the clinic policy to use
it, sets up an authenticator app at the first sign-in, keeps the recovery codes and signs in
again with a code; a doctor adds a passkey (Chromium's virtual authenticator) and signs in with
it."""

from __future__ import annotations

import re

import pytest
from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from clinic_site.accounts.models import PasskeyDevice
from clinic_site.accounts.roles import Role
from clinic_site.models import ClinicPolicies
from tests.factories import build_site, make_user
from tests.factories.accounts import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def policy_on():
    build_site()
    policies = ClinicPolicies.load()
    policies.mfa_required_doctors = True
    policies.mfa_required_admins = True
    policies.mfa_required_reception = True
    policies.save()


def code_now(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def next_code(device: TOTPDevice) -> str:
    """The code of the period after the last one used (a device accepts one period of skew)."""
    device.refresh_from_db()
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = (device.last_t + 1) * device.step + device.t0
    return f"{generator.token():06d}"


def password_step(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address or national ID").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_receptionist_sets_up_an_app_at_first_sign_in_and_signs_in_with_a_code(browsers, policy_on):
    desk = make_user(Role.RECEPTIONIST, email="desk@example.test", full_name="Rita Desk")
    page = browsers.open()

    password_step(page, desk.email)
    page.wait_for_url("**/accounts/two-step/setup/**")
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to scan")).to_be_visible()
    # Going elsewhere first is not possible.
    page.goto("/admin/clinic/desk/")
    page.wait_for_url(re.compile(r".*/accounts/two-step/.*"))

    page.goto("/accounts/two-step/setup/")
    page.get_by_text("Can’t scan it? Type the key instead").click()
    secret = page.locator("[data-totp-secret]").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32,}", secret)
    device = TOTPDevice.objects.get(user=desk, confirmed=False)
    page.get_by_label("Six-digit code from the app").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#id_code_error").get_by_text("That code is not valid")).to_be_visible()

    page.get_by_label("Six-digit code from the app").fill(code_now(device))
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_url("**/accounts/two-step/recovery-codes/**")
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them — continue").click()
    page.wait_for_url("**/admin/**")
    expect(page.get_by_role("heading", level=1).first).to_be_visible()

    # Signing in again, another day: password, then the app's code.
    second = browsers.open()
    password_step(second, desk.email)
    second.wait_for_url("**/accounts/two-step/**")
    expect(second.get_by_role("heading", name="Confirm it’s you")).to_be_visible()
    # The set-up's code cannot be used again: the app's next code (accepted one period early).
    upcoming = next_code(device)
    second.get_by_label("Code").fill(upcoming)
    second.get_by_role("button", name="Continue").click()
    second.wait_for_url("**/admin/**")

    # A third sign-in with a recovery code.
    third = browsers.open()
    password_step(third, desk.email)
    third.wait_for_url("**/accounts/two-step/**")
    third.get_by_label("Code").fill(codes[0])
    third.get_by_role("button", name="Continue").click()
    third.wait_for_url("**/admin/**")


def test_doctor_adds_a_passkey_and_signs_in_with_it(browsers, policy_on):
    doctor = make_user(Role.DOCTOR, email="doc@example.test", full_name="Dr Ada Hart")
    page = browsers.open()
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )

    password_step(page, doctor.email)
    page.wait_for_url("**/accounts/two-step/setup/**")
    page.get_by_label("Name it (optional)").fill("Consulting room laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url("**/accounts/two-step/recovery-codes/**")
    (passkey,) = PasskeyDevice.objects.filter(user=doctor)
    assert passkey.name == "Consulting room laptop"
    page.get_by_role("link", name="I have saved them — continue").click()
    page.wait_for_url("**/admin/**")

    # Sign out and in again in the same browser (the authenticator holds the passkey).
    page.goto("/accounts/two-step/methods/")
    expect(page.get_by_text("Passkey: Consulting room laptop")).to_be_visible()
    page.context.clear_cookies()
    password_step(page, doctor.email)
    page.wait_for_url("**/accounts/two-step/**")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url("**/admin/**")
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
