"""Sign-in by e-mail address, or by national ID where one is on file."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from .models import User, normalise_email, normalise_national_id


def find_user_for_login(identifier: str | None) -> User | None:
    """The account an identifier names: an e-mail address, else a national ID."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if "@" in identifier:
        return User.objects.filter(email=normalise_email(identifier)).first()
    national_id = normalise_national_id(identifier)
    return User.objects.filter(national_id=national_id).first() if national_id else None


class EmailOrNationalIdBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        identifier = username if username is not None else email
        if identifier is None or password is None:
            return None
        user = find_user_for_login(identifier)
        if user is None:
            # Spend the time a password check takes, so timing does not tell who has an account.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def axes_username(request, credentials) -> str:
    """What django-axes counts failures against: the identifier as typed, normalised."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("username") or data.get("email")
    return (value or "").strip().lower()
