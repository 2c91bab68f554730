"""JWT authentication that also ends tokens issued before the account's session epoch moved
on (deactivation), as sessions end (accounts.models.User.get_session_auth_hash)."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from clinic_site.accounts.models import User


class ClinicJWTAuthentication(JWTAuthentication):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # simplejwt's own look-up and checks, on a user read with its role: one statement.
        self.user_model = _UsersWithRole

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if validated_token.get("epoch", 0) != user.session_epoch:
            raise AuthenticationFailed(
                "This token was issued before the account was deactivated. Please sign in again.",
                code="token_not_valid",
            )
        return user


class _UsersWithRole:
    """What simplejwt's `get_user` needs of the user model: `objects.get` and `DoesNotExist`."""

    class objects:  # the manager's name simplejwt calls
        @staticmethod
        def get(**lookup):
            return User.objects.with_role().get(**lookup)

    DoesNotExist = User.DoesNotExist


class ClinicJWTScheme(SimpleJWTScheme):
    """The OpenAPI description of ClinicJWTAuthentication: simplejwt's bearer scheme."""

    target_class = ClinicJWTAuthentication
