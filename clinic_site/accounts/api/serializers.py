from __future__ import annotations

from django.contrib.auth import get_user_model
from django_countries.serializer_fields import CountryField
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
)
from rest_framework_simplejwt.serializers import (
    TokenRefreshSerializer as BaseTokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from .. import mfa
from ..models import Gender, PatientProfile, User
from ..validators import validate_date_of_birth, validate_national_id, validate_phone

ROLE_CHOICES = ["patient", "doctor", "receptionist", "admin", "editor"]


@extend_schema_field(
    {"type": "string", "description": "ISO 3166-1 alpha-2 country code", "example": "GB"}
)
class CountryCodeField(CountryField):
    pass


class PatientFieldsSerializer(serializers.Serializer):
    """The optional patient profile fields, shared by registration, me/ and patients/{id}/."""

    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = CountryCodeField(required=False, allow_blank=True)
    nationality = CountryCodeField(required=False, allow_blank=True)
    insurance_provider = serializers.CharField(max_length=120, required=False, allow_blank=True)
    insurance_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    emergency_contact_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    emergency_contact_phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, validators=[validate_phone]
    )
    emergency_contact_relationship = serializers.CharField(
        max_length=60, required=False, allow_blank=True
    )


class RegisterSerializer(PatientFieldsSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    full_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32, validators=[validate_phone])
    date_of_birth = serializers.DateField(validators=[validate_date_of_birth])
    national_id = serializers.CharField(
        max_length=32, required=False, allow_blank=True, validators=[validate_national_id]
    )


class RegisteredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    email_verified = serializers.BooleanField()


class VerifyEmailSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    code = serializers.RegexField(
        r"^\s*\d{6}\s*$", max_length=12, error_messages={"invalid": "The code is six digits."}
    )


class VerifiedSerializer(serializers.Serializer):
    email_verified = serializers.BooleanField()


class ResendCodeSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class ProfileSerializer(PatientFieldsSerializer):
    """A user's own details (me/) or a patient's (patients/{id}/ for the front desk)."""

    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, validators=[validate_phone]
    )
    national_id = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        validators=[validate_national_id],
    )
    role = serializers.ChoiceField(choices=ROLE_CHOICES, read_only=True, allow_null=True)
    email_verified = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)
    date_of_birth = serializers.DateField(required=False, validators=[validate_date_of_birth])

    def to_representation(self, user: User):
        data = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "phone": user.phone,
            "national_id": user.national_id,
            "role": user.role.value if user.role else None,
            "email_verified": user.email_verified,
            "is_active": user.is_active,
            "date_joined": serializers.DateTimeField().to_representation(user.date_joined),
        }
        profile = getattr(user, "patient_profile", None) if _has_profile(user) else None
        if profile is not None:
            data["date_of_birth"] = profile.date_of_birth.isoformat()
            for name in PatientFieldsSerializer().fields:
                value = getattr(profile, name)
                data[name] = value.code if name in ("country", "nationality") else value
        return data


def _has_profile(user: User) -> bool:
    try:
        return user.patient_profile is not None
    except PatientProfile.DoesNotExist:
        return False


class DetailSerializer(serializers.Serializer):
    """A plain message (an accepted request with nothing else to return)."""

    detail = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    """What auth/token/ returns (documents TokenObtainSerializer's output)."""

    access = serializers.CharField()
    refresh = serializers.CharField()


class AccessTokenSerializer(serializers.Serializer):
    """What auth/token/refresh/ returns (documents TokenRefreshSerializer's output)."""

    access = serializers.CharField()


class TokenObtainSerializer(TokenObtainPairSerializer):
    """E-mail and password in, JWT pair out; the access token names the e-mail and role."""

    default_error_messages = {
        "no_active_account": "No active account matches this e-mail address and password."
    }
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        write_only=True,
        help_text="For accounts with two-step sign-in: the six-digit code of the authenticator "
        "app, or a recovery code. Missing → 401 `mfa_required`, wrong → 401 `mfa_invalid`; "
        "a role that needs it but has not set it up → 403 `mfa_enrolment_required`.",
    )

    @classmethod
    def get_token(cls, user):
        return _with_claims(super().get_token(user), user)

    def validate(self, attrs):
        try:
            data = super().validate(attrs)
        except exceptions.AuthenticationFailed:
            request = self.context.get("request")
            if getattr(request, "axes_locked_out", False):
                raise exceptions.Throttled(
                    detail="Too many failed sign-in attempts. Please try again later."
                ) from None
            raise
        # The password was right: the second step, in the same request.
        mfa.token_second_step(self.user, attrs.get("otp"))
        return data


class TokenRefreshSerializer(BaseTokenRefreshSerializer):
    """A new access token with the user's current e-mail and role (not those of the login)."""

    def validate(self, attrs):
        try:
            data = super().validate(attrs)
        except get_user_model().DoesNotExist:
            raise exceptions.AuthenticationFailed(
                "No active account found for the given token.", "no_active_account"
            ) from None
        refresh = RefreshToken(attrs["refresh"])
        user = get_user_model().objects.filter(pk=refresh.payload.get("user_id")).first()
        if user is not None and not token_still_valid(refresh, user):
            raise exceptions.AuthenticationFailed(
                "This token was issued before the password was changed or the account was "
                "deactivated. Please sign in again.",
                "token_not_valid",
            )
        if user is not None:
            access = refresh.access_token
            data["access"] = str(_with_claims(access, user))
        return data


def token_still_valid(token, user: User) -> bool:
    """A token ends with the password it was issued under and with the session epoch (moved on
    by deactivation); simplejwt checks the password only for access tokens."""
    if token.get(jwt_settings.REVOKE_TOKEN_CLAIM) not in (
        None,
        get_md5_hash_password(user.password),
    ):
        return False
    return token.get("epoch", 0) == user.session_epoch


def _with_claims(token, user: User):
    token["epoch"] = user.session_epoch
    token["email"] = user.email
    token["role"] = user.role.value if user.role else None
    return token
