"""Account writes: registration, e-mail verification, activation, roles, profiles.

Each service owns its transaction; e-mails are queued on commit.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from clinic_site.activity import Action, account_label, log_event
from clinic_site.mail import send_templated_email
from clinic_site.policies import get_policies

from . import limits, permissions
from .exceptions import AdministratorLimitReached, InvalidVerificationCode, LastAdministrator
from .models import (
    EmailVerificationCode,
    PatientProfile,
    User,
    normalise_email,
    normalise_national_id,
)
from .roles import Role

PROFILE_FIELDS = (
    "gender",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "state",
    "country",
    "nationality",
    "insurance_provider",
    "insurance_number",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
)
USER_PROFILE_FIELDS = ("full_name", "phone", "national_id")

DUPLICATE_EMAIL_MESSAGE = (
    "An account with this e-mail address already exists. Sign in, or reset your password."
)
DUPLICATE_NATIONAL_ID_MESSAGE = "This national ID is already on file for another account."


# --- Registration -------------------------------------------------------------------------------


@transaction.atomic
def patient_register(
    *,
    email: str,
    password: str,
    full_name: str,
    phone: str,
    date_of_birth: date,
    national_id: str | None = None,
    **profile: Any,
) -> User:
    """Create a patient account and e-mail it a verification code.

    Field errors are raised as a `ValidationError` keyed by field; nothing is stored then.
    """
    needs_activation = get_policies().accounts_need_activation
    user, patient, errors = _new_patient(
        email=email,
        full_name=full_name,
        phone=phone,
        date_of_birth=date_of_birth,
        national_id=national_id,
        profile=profile,
        is_active=not needs_activation,
        activated_at=None if needs_activation else timezone.now(),
    )
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)

    user.set_password(password)
    _store_patient(user, patient)
    _log_account(Action.ACCOUNT_CREATED, user, actor=user, role="patient", via="registration")
    email_verification_send(user=user)
    return user


@transaction.atomic
def patient_register_at_desk(
    *,
    actor: User,
    email: str,
    full_name: str,
    phone: str,
    date_of_birth: date,
    national_id: str | None = None,
    **profile: Any,
) -> User:
    """Register a patient who is at the desk or on the phone (receptionists and administrators).

    The account is active at once (the clinic has seen the patient) and has no usable password:
    the patient is e-mailed a link, once the transaction commits, to choose one. The e-mail
    address counts as unverified until the patient proves it; that only matters for booking
    online themselves. Field errors are raised as a `ValidationError` keyed by field, exactly
    like self-registration; nothing is stored then.
    """
    permissions.require(
        actor.is_authenticated and actor.is_active and actor.role in permissions.FRONT_DESK_ROLES
    )
    user, patient, errors = _new_patient(
        email=email,
        full_name=full_name,
        phone=phone,
        date_of_birth=date_of_birth,
        national_id=national_id,
        profile=profile,
        is_active=True,
        activated_at=timezone.now(),
    )
    if errors:
        raise ValidationError(errors)

    user.set_unusable_password()
    _store_patient(user, patient)
    _log_account(Action.ACCOUNT_CREATED, user, actor=actor, role="patient", via="desk")
    _send_desk_welcome(user)
    return user


def _new_patient(
    *,
    email: str,
    full_name: str,
    phone: str,
    date_of_birth: date,
    national_id: str | None,
    profile: dict[str, Any],
    is_active: bool,
    activated_at,
) -> tuple[User, PatientProfile, dict[str, list[str]]]:
    """A new (unsaved) patient account and profile, and the field errors of the details given."""
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown profile fields: {sorted(unknown)}")
    email = normalise_email(email)
    national_id = normalise_national_id(national_id)
    user = User(
        email=email,
        full_name=full_name.strip(),
        phone=phone.strip(),
        national_id=national_id,
        is_active=is_active,
        activated_at=activated_at,
    )
    patient = PatientProfile(user=user, date_of_birth=date_of_birth, **profile)
    errors: dict[str, list[str]] = {}
    if User.objects.filter(email=email).exists():
        errors["email"] = [DUPLICATE_EMAIL_MESSAGE]
    if national_id and User.objects.filter(national_id=national_id).exists():
        errors["national_id"] = [DUPLICATE_NATIONAL_ID_MESSAGE]
    _collect_model_errors(user, errors, exclude=["password", "email", "national_id"])
    _collect_model_errors(patient, errors, exclude=["user"])
    return user, patient, errors


def _store_patient(user: User, patient: PatientProfile) -> None:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Two registrations for one address raced; the other one won.
        raise ValidationError({"email": [DUPLICATE_EMAIL_MESSAGE]}) from exc
    patient.user = user
    patient.save()
    user.groups.add(Group.objects.get(name=Role.PATIENT.group_name))


def _log_account(action: Action, user: User, *, actor: User | None, **details: Any) -> None:
    """An activity event about `user`'s account (actor None: the current request's user)."""
    log_event(
        action=action,
        actor=actor,
        target=account_label(user),
        target_type="account",
        target_id=str(user.pk),
        details=details,
    )


def _send_desk_welcome(user: User) -> None:
    """E-mail a patient registered at the desk a link to choose their password.

    The link is Django's password-reset link (the portal's reset page): it works once, for
    PASSWORD_RESET_TIMEOUT, and stops working as soon as a password is set.
    """
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    send_templated_email(
        to=[user.email],
        template="desk_welcome",
        context={
            "name": user.get_short_name(),
            "set_password_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path,
            "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        },
    )


def _collect_model_errors(obj, errors: dict[str, list[str]], exclude: list[str]) -> None:
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)


# --- E-mail verification ------------------------------------------------------------------------


def _code_hash(user_id: int, code: str) -> str:
    return salted_hmac("accounts.email-verification", f"{user_id}:{code}").hexdigest()


def email_verification_send(*, user: User) -> EmailVerificationCode:
    """Issue a fresh six-digit code (older ones stop working) and e-mail it on commit."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    record = EmailVerificationCode.objects.create(
        user=user,
        code_hash=_code_hash(user.pk, code),
        created_at=now,
        expires_at=now + settings.CLINIC_VERIFICATION_CODE_TTL,
    )
    minutes = int(settings.CLINIC_VERIFICATION_CODE_TTL.total_seconds() // 60)
    send_templated_email(
        to=[user.email],
        template="verification_code",
        context={"name": user.get_short_name(), "code": code, "minutes": minutes},
    )
    return record


def email_verification_resend(*, email: str) -> None:
    """Send a new code if the address belongs to an unverified account.

    Answers the same whatever the address, and at most once per resend interval.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=normalise_email(email)).first()
        if user is None or user.email_verified:
            return
        if limits.verification_tries_left_today(user) == 0:
            return
        latest = user.verification_codes.first()
        if (
            latest
            and timezone.now() - latest.created_at < settings.CLINIC_VERIFICATION_RESEND_INTERVAL
        ):
            return
        email_verification_send(user=user)


def email_verify(*, email: str, code: str) -> User:
    """Mark the address verified if `code` is the latest unexpired, unused code sent to it."""
    code = (code or "").strip()
    now = timezone.now()
    wrong_attempt = False
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=normalise_email(email)).first()
        latest = user.verification_codes.first() if user else None
        if (
            latest is None
            or latest.used_at is not None
            or latest.expires_at <= now
            or latest.attempts >= settings.CLINIC_VERIFICATION_MAX_ATTEMPTS
            or limits.verification_tries_left_today(user) == 0
        ):
            raise InvalidVerificationCode()
        if not hmac.compare_digest(latest.code_hash, _code_hash(user.pk, code)):
            latest.attempts += 1
            latest.save(update_fields=["attempts"])
            wrong_attempt = True
        else:
            latest.used_at = now
            latest.save(update_fields=["used_at"])
            if user.email_verified_at is None:
                user.email_verified_at = now
                user.save(update_fields=["email_verified_at"])
    if wrong_attempt:
        # Raised after the commit, so the attempt is counted.
        raise InvalidVerificationCode()
    return user


# --- Profiles -----------------------------------------------------------------------------------


@transaction.atomic
def profile_update(*, user: User, actor: User, data: dict[str, Any]) -> User:
    """Change a user's own details (and patient profile). Field errors as `ValidationError`."""
    permissions.require(permissions.can_edit_profile(actor, user))
    user = User.objects.select_for_update().get(pk=user.pk)
    unknown = set(data) - set(USER_PROFILE_FIELDS) - set(PROFILE_FIELDS) - {"date_of_birth"}
    if unknown:
        raise TypeError(f"Unknown profile fields: {sorted(unknown)}")
    for field in USER_PROFILE_FIELDS:
        if field in data:
            value = data[field]
            if field == "national_id":
                value = normalise_national_id(value)
            elif isinstance(value, str):
                value = value.strip()
            setattr(user, field, value)
    errors: dict[str, list[str]] = {}
    if (
        user.national_id
        and User.objects.filter(national_id=user.national_id).exclude(pk=user.pk).exists()
    ):
        errors["national_id"] = [DUPLICATE_NATIONAL_ID_MESSAGE]
    _collect_model_errors(user, errors, exclude=["password", "email", "national_id"])

    profile = PatientProfile.objects.filter(user=user).first()
    patient_fields = set(PROFILE_FIELDS) | {"date_of_birth"}
    if profile is None and patient_fields & set(data):
        if user.role != Role.PATIENT:
            raise ValidationError({"date_of_birth": ["Only patients have a patient profile."]})
        profile = PatientProfile(user=user)
    if profile is not None:
        for field in patient_fields & set(data):
            setattr(profile, field, data[field])
        _collect_model_errors(profile, errors, exclude=["user"])
        if not user.phone:
            # The clinic must be able to reach its patients (registration asks for it too).
            errors.setdefault("phone", []).append("A phone number is required.")
    if errors:
        raise ValidationError(errors)
    user.save()
    if profile is not None:
        profile.save()
    return user


# --- Activation and roles -----------------------------------------------------------------------


def _admin_group() -> Group:
    # Locking the group row serialises every change that could add an administrator.
    return Group.objects.select_for_update().get(name=Role.ADMIN.group_name)


def _check_admin_limit(user: User) -> None:
    limit = get_policies().max_administrators
    others = (
        User.objects.filter(groups__name=Role.ADMIN.group_name, is_active=True)
        .exclude(pk=user.pk)
        .count()
    )
    if others >= limit:
        raise AdministratorLimitReached(
            f"The clinic already has {others} active administrator"
            f"{'s' if others != 1 else ''} (the limit is {limit})."
        )


def _active_admins_besides(user: User) -> int:
    return (
        User.objects.filter(groups__name=Role.ADMIN.group_name, is_active=True)
        .exclude(pk=user.pk)
        .count()
    )


@transaction.atomic
def user_activate(*, user: User, actor: User) -> User:
    permissions.require(permissions.can_manage_users(actor))
    _admin_group()
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        return user
    if user.groups.filter(name=Role.ADMIN.group_name).exists():
        _check_admin_limit(user)
    first_activation = user.activated_at is None
    user.is_active = True
    user.activated_at = user.activated_at or timezone.now()
    user.save(update_fields=["is_active", "activated_at"])
    _log_account(Action.ACCOUNT_ACTIVATED, user, actor=actor, first_activation=first_activation)
    if first_activation:
        send_templated_email(
            to=[user.email], template="account_activated", context={"name": user.get_short_name()}
        )
    return user


@transaction.atomic
def user_deactivate(*, user: User, actor: User) -> User:
    """Stop an account: it can no longer sign in, and its sessions and tokens stop working."""
    permissions.require(permissions.can_manage_users(actor))
    _admin_group()
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        return user
    if (
        user.groups.filter(name=Role.ADMIN.group_name).exists()
        and _active_admins_besides(user) == 0
    ):
        raise LastAdministrator()
    user.is_active = False
    user.session_epoch += 1
    user.save(update_fields=["is_active", "session_epoch"])
    _log_account(Action.ACCOUNT_DEACTIVATED, user, actor=actor)
    return user


@transaction.atomic
def user_set_role(*, user: User, role: Role, actor: User | None) -> User:
    """Give `user` exactly one role. `actor=None` only for set-up code (demo data, migrations)."""
    if actor is not None:
        permissions.require(permissions.can_manage_users(actor))
    role = Role(role)
    _admin_group()
    user = User.objects.select_for_update().get(pk=user.pk)
    previous = user.role
    is_admin_now = user.groups.filter(name=Role.ADMIN.group_name).exists()
    if role == Role.ADMIN and not is_admin_now and user.is_active:
        _check_admin_limit(user)
    if is_admin_now and role != Role.ADMIN and user.is_active and _active_admins_besides(user) == 0:
        raise LastAdministrator()
    role_groups = Group.objects.filter(name__in=[r.group_name for r in Role])
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=role.group_name))
    user.__dict__.pop("role", None)
    # The first role set-up code gives (staff_create) is part of creating the account.
    if previous != role and not (previous is None and actor is None):
        changed = {"from": previous.value if previous else None, "to": role.value}
        _log_account(Action.ROLE_CHANGED, user, actor=actor, **changed)
    return user


@transaction.atomic
def staff_create(
    *,
    email: str,
    full_name: str,
    role: Role,
    actor: User | None,
    password: str | None = None,
    phone: str = "",
) -> User:
    """Create a staff (or editor) account; administrators only. Verified and active at once."""
    if actor is not None:
        permissions.require(permissions.can_manage_users(actor))
    role = Role(role)
    if role == Role.PATIENT:
        raise ValueError("Patients register themselves or are registered at the desk.")
    email = normalise_email(email)
    now = timezone.now()
    user = User(
        email=email,
        full_name=full_name.strip(),
        phone=phone,
        email_verified_at=now,
        activated_at=now,
    )
    errors: dict[str, list[str]] = {}
    if User.objects.filter(email=email).exists():
        errors["email"] = ["An account with this e-mail address already exists."]
    if password:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    _collect_model_errors(user, errors, exclude=["password", "email"])
    if errors:
        raise ValidationError(errors)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user_set_role(user=user, role=role, actor=None)
    _log_account(Action.ACCOUNT_CREATED, user, actor=actor, role=role.value, via="staff")
    return user
