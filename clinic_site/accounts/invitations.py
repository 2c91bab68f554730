"""E-mails that carry a link to choose a password: the welcome of a new staff account, and a
reset an administrator sends on someone's behalf.

The link is Django's password-reset link (the portal's reset page): it works once, for
PASSWORD_RESET_TIMEOUT, and stops working as soon as a password is set. Using it also confirms
the e-mail address (accounts.views.PasswordResetConfirmView).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from clinic_site.activity import Action, account_label, log_event
from clinic_site.mail import send_templated_email

from . import permissions
from .models import User
from .roles import Role


def set_password_url(user: User) -> str:
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def _days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def staff_welcome_send(*, user: User) -> None:
    """Tell a new staff member their account is ready and where to choose a password."""
    role = user.role
    send_templated_email(
        to=[user.email],
        template="staff_welcome",
        context={
            "name": user.get_short_name(),
            "role": role.label if role else "",
            "is_editor": role == Role.EDITOR,
            "set_password_url": set_password_url(user),
            "days": _days(),
        },
    )


def password_reset_send(*, user: User, actor: User) -> None:
    """An administrator sends `user` a link to set a new password (their old one keeps working
    until they do). Administrators only; deactivated accounts cannot sign in anyway."""
    permissions.require(permissions.can_manage_users(actor))
    log_event(
        action=Action.PASSWORD_RESET_REQUESTED,
        actor=actor,
        target=account_label(user),
        target_type="user",
        target_id=str(user.pk),
        details={"sent_by": "administrator"},
    )
    send_templated_email(
        to=[user.email],
        template="password_reset",
        context={"name": user.get_short_name(), "reset_url": set_password_url(user)},
    )
