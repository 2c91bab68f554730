"""Sign-in by e-mail address, or by national ID where one is on file."""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import Sum
from django.utils import timezone

from .models import User, normalise_email, normalise_national_id

# The longest identifier looked up or counted (axes stores usernames in 255 characters; an
# e-mail address has at most 254).
IDENTIFIER_MAX_LENGTH = 254


def login_identifier(identifier: str | None) -> str:
    """The one spelling of what someone types to sign in: the account lookup and the
    sign-in lockout both use it, so writing an identifier differently (spaces, case,
    full-width letters, a trailing dot) names the same account and the same failure counter."""
    identifier = identifier or ""
    if "@" in identifier:
        return normalise_email(identifier)
    return normalise_national_id(identifier) or ""


def find_user_for_login(identifier: str | None) -> User | None:
    """The account an identifier names: an e-mail address, else a national ID."""
    key = login_identifier(identifier)
    if not key or len(key) > IDENTIFIER_MAX_LENGTH:
        return None
    if "@" in key:
        return User.objects.filter(email=key).first()
    return User.objects.filter(national_id=key).first()


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

    def get_user(self, user_id):
        """The signed-in user of each request, read with its role (one statement, not two)."""
        user = User.objects.with_role().filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


def axes_username(request, credentials) -> str:
    """What django-axes counts failures against: the identifier in its one spelling
    (`login_identifier`), cut to the length axes stores."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("username") or data.get("email")
    if not isinstance(value, str):
        value = ""
    return login_identifier(value)[:IDENTIFIER_MAX_LENGTH]


class ClinicAxesHandler(AxesDatabaseHandler):
    """django-axes' database handler plus a limit per address: besides five failures for one
    identifier from one address, CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT failures from one address
    for any identifiers within the cool-off lock that address out."""

    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self._address_locked(request)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is not None and self._address_locked(request):
            request.axes_locked_out = True
            request.axes_credentials = credentials

    @staticmethod
    def _address_locked(request) -> bool:
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return False
        failures = AccessAttempt.objects.filter(
            ip_address=address, attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME
        ).aggregate(total=Sum("failures_since_start"))["total"]
        return (failures or 0) >= settings.CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT
