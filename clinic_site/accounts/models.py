"""Users, patient profiles and e-mail verification codes."""

from __future__ import annotations

import json
import unicodedata

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property
from django_countries.fields import CountryField
from django_otp.models import Device

from clinic_site.db import JSONArrayAgg

from .roles import ADMIN_AREA_ROLES, STAFF_ROLES, Role, role_from_group_names
from .validators import validate_date_of_birth, validate_national_id, validate_phone


def _canonical_text(value: str | None) -> str:
    """Unicode compatibility form (full-width letters become ASCII ones), no invisible format
    characters (zero-width spaces and joiners), no surrounding white space."""
    value = unicodedata.normalize("NFKC", value or "")
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    return value.strip()


def normalise_email(email: str | None) -> str:
    """E-mail addresses are stored and compared in one spelling: compatibility-normalised,
    lower-cased, trimmed, without the trailing dot a fully qualified domain may carry."""
    return _canonical_text(email).lower().rstrip(".")


def normalise_national_id(value: str | None) -> str | None:
    """National IDs are stored and compared upper-cased with no white space of any kind."""
    value = "".join(_canonical_text(value).upper().split())
    return value or None


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalise_email(username))

    def with_role(self):
        """Users whose `role` comes with them: their group names in the same statement (a
        subquery), instead of one more query per request that asks for the role."""
        if self._with_role is None:  # built once: every request's authentication uses it
            from django.contrib.auth.models import Group

            names = (
                Group.objects.filter(user=OuterRef("pk"))
                .values("user")
                .annotate(names=JSONArrayAgg("name"))
                .values("names")
            )
            self._with_role = self.get_queryset().annotate(group_names_json=Subquery(names))
        return self._with_role.all()

    _with_role = None

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalise_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_superuser=True, is_staff=True)
        fields.setdefault("email_verified_at", timezone.now())
        fields.setdefault("activated_at", timezone.now())
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who signs in: patients, doctors, receptionists, administrators and editors.

    The role is the user's auth group (see `roles.py`); `is_staff` only opens Django's own admin,
    which this project does not use.
    """

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField("full name", max_length=150)
    phone = models.CharField("phone", max_length=32, blank=True, validators=[validate_phone])
    national_id = models.CharField(
        "national ID",
        max_length=32,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_national_id],
        help_text="Optional. Once on file, it can be used to sign in instead of the e-mail.",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Inactive accounts cannot sign in; their sessions and tokens stop working.",
    )
    is_staff = models.BooleanField(default=False, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField("e-mail verified", null=True, blank=True)
    activated_at = models.DateTimeField(
        "activated",
        null=True,
        blank=True,
        help_text="Empty while a new account waits for an administrator (activation policy).",
    )

    session_epoch = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Moves on when the account's sessions and tokens are ended (deactivation).",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = normalise_email(self.email)
        self.national_id = normalise_national_id(self.national_id)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def _session_suffix(self) -> str:
        return (f":{self.session_epoch}" if self.session_epoch else "") + (
            "" if self.is_active else ":inactive"
        )

    def get_session_auth_hash(self) -> str:
        # Deactivating an account moves its session epoch on, so every session and token issued
        # before stops working for good, re-activated or not (django.contrib.auth.get_user
        # compares the hash stored in the session; JWTs carry the epoch).
        return super().get_session_auth_hash() + self._session_suffix()

    def get_session_auth_fallback_hash(self):
        for fallback in super().get_session_auth_fallback_hash():
            yield fallback + self._session_suffix()

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def awaiting_activation(self) -> bool:
        return not self.is_active and self.activated_at is None

    @cached_property
    def role(self) -> Role | None:
        if not self.pk:
            return None
        if "group_names_json" in self.__dict__:  # read with the user (UserManager.with_role)
            names = json.loads(self.group_names_json or "[]")
        else:
            names = [g.name for g in self.groups.all()]
        role = role_from_group_names(names)
        if role is None and self.is_superuser:
            return Role.ADMIN
        return role

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_clinic_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def uses_admin_area(self) -> bool:
        return self.role in ADMIN_AREA_ROLES


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNDISCLOSED = "undisclosed", "Prefer not to say"


class PatientProfile(models.Model):
    """What the clinic knows about a patient, beyond the account itself."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="patient_profile"
    )
    date_of_birth = models.DateField("date of birth", validators=[validate_date_of_birth])
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    postal_code = models.CharField("postal code", max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state / region", max_length=100, blank=True)
    country = CountryField(blank=True)
    nationality = CountryField(blank=True)
    insurance_provider = models.CharField(max_length=120, blank=True)
    insurance_number = models.CharField("insurance number", max_length=64, blank=True)
    emergency_contact_name = models.CharField("emergency contact", max_length=150, blank=True)
    emergency_contact_phone = models.CharField(
        "emergency contact phone", max_length=32, blank=True, validators=[validate_phone]
    )
    emergency_contact_relationship = models.CharField("relationship", max_length=60, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Patient profile of {self.user}"


class EmailVerificationCode(models.Model):
    """A one-time code sent to prove an e-mail address. Only a keyed hash of it is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verification_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_code_user_recent")]

    def __str__(self) -> str:
        return f"Verification code for {self.user_id} ({self.created_at:%Y-%m-%d %H:%M})"


class PasskeyDevice(Device):
    """A passkey (WebAuthn credential) the user registered as a second step of signing in.

    A django-otp device, so the session is marked verified the same way as with an
    authenticator app; it is never matched against typed codes (`verify_token` is False)."""

    credential_id = models.BinaryField(unique=True)
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(Device.Meta):
        verbose_name = "passkey"

    def verify_token(self, token) -> bool:
        return False
