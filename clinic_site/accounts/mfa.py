"""Two-step sign-in: an authenticator app (TOTP), passkeys (WebAuthn) and recovery codes.

Who needs it: doctors, administrators and receptionists as the clinic policies say (doctors and
administrators by default), and anyone who has set up a method (patients and editors may opt in).

How it holds on every way in: signing in (our page, Wagtail's /admin/login/, the link after
verifying an e-mail) marks the session *pending* when the account needs a second step
(`user_logged_in` below); `MFAMiddleware` then answers every request of a pending session with
the second-step page (or, for the API, 403 `mfa_required`) until a method is verified or set
up. The API token endpoint asks for the code in the same request (`otp`). Nothing is checked
per request but one session key, so pages cost no extra query.

Methods are django-otp devices: `TOTPDevice` (it refuses a code used before and slows down
after failures), `StaticDevice` for the recovery codes (each works once; stored as keyed
digests, never as typed) and our `PasskeyDevice`.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from dataclasses import dataclass
from urllib.parse import urlsplit

import django_otp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.http import urlencode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_site.activity import Action, account_label, log_event
from clinic_site.exceptions import ClinicError
from clinic_site.policies import get_policies

from . import permissions
from .models import PasskeyDevice, User
from .roles import Role

SESSION_PENDING = "accounts.mfa_pending"
SESSION_TOTP_SETUP = "accounts.mfa_totp_setup"
SESSION_CHALLENGE = "accounts.mfa_webauthn_challenge"
SESSION_NEW_CODES = "accounts.mfa_new_recovery_codes"
RECOVERY_DEVICE_NAME = "Recovery codes"


class MFAError(ClinicError):
    status = 400
    code = "mfa_invalid"
    field = "code"
    default_detail = "That code is not valid. Check the time on your phone and try again."


class MFARequired(ClinicError):
    status = 401
    code = "mfa_required"
    field = "otp"
    default_detail = (
        "This account signs in in two steps: send the six-digit code from your authenticator "
        "app (or a recovery code) as `otp`."
    )


class MFATokenInvalid(ClinicError):
    status = 401
    code = "mfa_invalid"
    field = "otp"
    default_detail = "That code is not valid. Check the time on your phone and try again."


class MFAEnrolmentRequired(ClinicError):
    status = 403
    code = "mfa_enrolment_required"
    default_detail = (
        "Your role needs two-step sign-in. Sign in on the website once to set it up, then "
        "ask for a token with the code."
    )


class LastMethod(ClinicError):
    status = 409
    code = "mfa_last_method"
    default_detail = (
        "Your role needs two-step sign-in: add another method before removing this one."
    )


# --- Who needs it ------------------------------------------------------------------------------


def required_by_policy(user: User) -> bool:
    policies = get_policies()
    return {
        Role.DOCTOR: policies.mfa_required_doctors,
        Role.ADMIN: policies.mfa_required_admins,
        Role.RECEPTIONIST: policies.mfa_required_reception,
    }.get(user.role, False)


def methods(user: User) -> list:
    """The user's confirmed methods, recovery codes excluded."""
    found = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    found += list(PasskeyDevice.objects.filter(user=user, confirmed=True))
    return found


def recovery_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).first()


def recovery_codes_left(user: User) -> int:
    device = recovery_device(user)
    return device.token_set.count() if device else 0


def needed(user: User) -> bool:
    """Whether signing in as `user` takes a second step."""
    return required_by_policy(user) or bool(methods(user))


def is_pending(request: HttpRequest) -> bool:
    return bool(request.session.get(SESSION_PENDING))


def start_pending(request: HttpRequest, user: User) -> None:
    if needed(user):
        request.session[SESSION_PENDING] = True


def _verified(request: HttpRequest, device) -> None:
    django_otp.login(request, device)
    request.session.pop(SESSION_PENDING, None)
    request.session.cycle_key()


def _log(action: Action, user: User, *, actor: User | None = None, **details) -> None:
    log_event(
        action=action,
        actor=actor or user,
        target=account_label(user),
        target_type="user",
        target_id=str(user.pk),
        details=details,
    )


# --- Authenticator apps ------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpSetup:
    device: TOTPDevice
    secret: str  # base32, for typing in by hand
    qr_svg: str  # an inline SVG of the otpauth:// address


def totp_setup(request: HttpRequest) -> TotpSetup:
    """An unconfirmed authenticator-app device for the signed-in user (the same one until it is
    confirmed, so reloading the page keeps the QR code the phone may have scanned)."""
    user = request.user
    device = None
    pk = request.session.get(SESSION_TOTP_SETUP)
    if pk:
        device = TOTPDevice.objects.filter(pk=pk, user=user, confirmed=False).first()
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
        request.session[SESSION_TOTP_SETUP] = device.pk
    import segno  # only here: the QR code of a new authenticator app

    secret = b32encode(device.bin_key).decode().rstrip("=")
    qr = segno.make(device.config_url, error="m")
    svg = qr.svg_inline(
        dark="#0b2e4f",
        light="#ffffff",
        title="QR code to scan",
        omitsize=True,
        svgclass="mfa-qr__code",
    )
    return TotpSetup(device=device, secret=secret, qr_svg=svg)


@transaction.atomic
def totp_confirm(request: HttpRequest, code: str) -> list[str] | None:
    """Confirm the device being set up with a first code. Returns new recovery codes when the
    user had none (show them once), else None. Raises MFAError for a wrong code."""
    user = request.user
    pk = request.session.get(SESSION_TOTP_SETUP)
    device = TOTPDevice.objects.filter(pk=pk, user=user, confirmed=False).first() if pk else None
    if device is None:
        raise MFAError("The set-up has expired. Scan the new QR code and try again.")
    if not device.verify_token(_digits(code)):
        raise MFAError()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    request.session.pop(SESSION_TOTP_SETUP, None)
    _log(Action.MFA_ENROLLED, user, method="authenticator_app")
    codes = None if recovery_codes_left(user) else recovery_codes_create(user)
    _verified(request, device)
    return codes


def _digits(code: str | None) -> str:
    return "".join((code or "").split())


# --- Recovery codes ----------------------------------------------------------------------------


def _digest(code: str) -> str:
    # StaticToken.token holds 16 characters: 64 bits of a keyed digest, enough for single-use
    # codes that are throttled by the device.
    normalised = "".join(code.split()).replace("-", "").lower()
    return salted_hmac("accounts.recovery-code", normalised).hexdigest()[:16]


@transaction.atomic
def recovery_codes_create(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them (shown once)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = []
    for _ in range(settings.CLINIC_RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 10 hex digits, shown as xxxxx-xxxxx
        codes.append(f"{raw[:5]}-{raw[5:]}")
        StaticToken.objects.create(device=device, token=_digest(raw))
    _log(Action.RECOVERY_CODES_CREATED, user, count=len(codes))
    return codes


# --- The second step -----------------------------------------------------------------------------


def verify_code(user: User, code: str):
    """The device that accepts `code` (an authenticator-app code or a recovery code), else None.
    A recovery code works once."""
    typed = _digits(code)
    if typed.isdigit() and len(typed) == 6:
        for device in TOTPDevice.objects.filter(user=user, confirmed=True):
            if device.verify_token(typed):
                return device
        return None
    device = recovery_device(user)
    if device is not None and device.verify_token(_digest(typed)):
        return device
    return None


def second_step(request: HttpRequest, code: str):
    """Verify the pending session of the signed-in user with `code`. Raises MFAError."""
    user = request.user
    device = verify_code(user, code)
    if device is None:
        _log(Action.MFA_FAILED, user, method="code")
        raise MFAError()
    _verified(request, device)
    return device


def token_second_step(user: User, code: str | None) -> None:
    """The API token endpoint's rule: a code in the same request when the account needs one."""
    if not needed(user):
        return
    if not methods(user):
        raise MFAEnrolmentRequired()
    if not _digits(code):
        raise MFARequired()
    if verify_code(user, code) is None:
        _log(Action.MFA_FAILED, user, method="code", channel="api")
        raise MFATokenInvalid()


# --- Passkeys ----------------------------------------------------------------------------------


def _rp_id(request: HttpRequest) -> str:
    return settings.CLINIC_WEBAUTHN_RP_ID or urlsplit(f"//{request.get_host()}").hostname


def _origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


# webauthn (with its cryptography stack, ~25 MB per worker) is imported by the passkey
# functions only: every request passes through this module's middleware.


def passkey_registration_options(request: HttpRequest) -> str:
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    user = request.user
    challenge = secrets.token_bytes(32)
    request.session[SESSION_CHALLENGE] = challenge.hex()
    options = generate_registration_options(
        rp_id=_rp_id(request),
        rp_name=settings.OTP_TOTP_ISSUER,
        user_id=str(user.pk).encode(),
        user_name=user.email,
        user_display_name=user.full_name or user.email,
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(d.credential_id))
            for d in PasskeyDevice.objects.filter(user=user)
        ],
    )
    return options_to_json(options)


def _challenge(request: HttpRequest) -> bytes:
    value = request.session.pop(SESSION_CHALLENGE, None)
    if not value:
        raise MFAError("The passkey request has expired. Please try again.")
    return bytes.fromhex(value)


def _credential(credential) -> dict:
    if not isinstance(credential, dict):
        raise MFAError("The browser's passkey answer is missing.")
    return credential


@transaction.atomic
def passkey_register(request: HttpRequest, credential, name: str = "") -> list[str] | None:
    """Store a new passkey from the browser's answer (a dict in the WebAuthn JSON shape); new
    recovery codes if there were none."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import InvalidRegistrationResponse

    user = request.user
    challenge = _challenge(request)
    credential = _credential(credential)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=_rp_id(request),
            expected_origin=_origin(request),
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise MFAError(f"The passkey could not be added: {exc}") from None
    if PasskeyDevice.objects.filter(credential_id=verified.credential_id).exists():
        raise MFAError("This passkey is registered already.")
    response = credential.get("response")
    transports = response.get("transports", []) if isinstance(response, dict) else []
    if not isinstance(transports, list):
        transports = []
    device = PasskeyDevice.objects.create(
        user=user,
        name=(name or "Passkey").strip()[:64],
        confirmed=True,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[t for t in transports if isinstance(t, str)][:8],
    )
    _log(Action.MFA_ENROLLED, user, method="passkey")
    codes = None if recovery_codes_left(user) else recovery_codes_create(user)
    _verified(request, device)
    return codes


def passkey_authentication_options(request: HttpRequest) -> str:
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

    user = request.user
    challenge = secrets.token_bytes(32)
    request.session[SESSION_CHALLENGE] = challenge.hex()
    options = generate_authentication_options(
        rp_id=_rp_id(request),
        challenge=challenge,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(d.credential_id))
            for d in PasskeyDevice.objects.filter(user=user, confirmed=True)
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options)


def passkey_verify(request: HttpRequest, credential) -> PasskeyDevice:
    """The second step with a passkey (the browser's answer as a dict). Raises MFAError."""
    from webauthn import base64url_to_bytes, verify_authentication_response
    from webauthn.helpers.exceptions import InvalidAuthenticationResponse

    user = request.user
    challenge = _challenge(request)
    credential = _credential(credential)
    try:
        raw_id = credential["rawId"]
        device = PasskeyDevice.objects.filter(
            user=user, confirmed=True, credential_id=base64url_to_bytes(raw_id)
        ).first()
        if device is None:
            raise MFAError("That passkey is not registered for this account.")
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=_rp_id(request),
            expected_origin=_origin(request),
            credential_public_key=bytes(device.public_key),
            credential_current_sign_count=device.sign_count,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        _log(Action.MFA_FAILED, user, method="passkey")
        raise MFAError(f"The passkey was not accepted: {exc}") from None
    device.sign_count = verified.new_sign_count
    device.last_used_at = timezone.now()
    device.save(update_fields=["sign_count", "last_used_at"])
    _verified(request, device)
    return device


# --- Managing methods ----------------------------------------------------------------------------


@transaction.atomic
def method_remove(*, user: User, kind: str, pk: int) -> None:
    model = {"totp": TOTPDevice, "passkey": PasskeyDevice}.get(kind)
    device = model.objects.filter(user=user, pk=pk).first() if model else None
    if device is None:
        return
    if required_by_policy(user) and len(methods(user)) <= 1:
        raise LastMethod()
    device.delete()
    _log(Action.MFA_REMOVED, user, method="authenticator_app" if kind == "totp" else "passkey")
    if not methods(user):
        StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def mfa_reset(*, user: User, actor: User) -> int:
    """An administrator removes every method of `user` (a lost phone): the next sign-in sets
    up a new one if the role needs it. Logged."""
    permissions.require(permissions.can_manage_users(actor))
    removed = 0
    for model in (TOTPDevice, PasskeyDevice, StaticDevice):
        removed += model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
    _log(Action.MFA_RESET, user, actor=actor, removed=removed)
    return removed


# --- Enforcement -------------------------------------------------------------------------------

# Paths a session waiting for its second step may still reach.
_OPEN_PREFIXES = ("/accounts/two-step/", "/accounts/logout/", "/static/", "/media/", "/favicon")


class MFAMiddleware:
    """Holds a pending session at the second step (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_PENDING):
            if not request.user.is_authenticated:
                session.pop(SESSION_PENDING, None)
            elif not request.path.startswith(_OPEN_PREFIXES):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {
                            "detail": "Finish signing in with your second step first.",
                            "code": "mfa_required",
                        },
                        status=403,
                    )
                target = reverse("accounts:mfa_verify")
                if request.method == "GET":
                    target += "?" + urlencode({"next": request.get_full_path()})
                return redirect(target)
        return self.get_response(request)


def on_login(sender, request, user, **kwargs) -> None:
    """`user_logged_in`: mark the session pending when the account needs a second step."""
    if request is not None and hasattr(request, "session"):
        start_pending(request, user)
