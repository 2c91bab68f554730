"""Portal forms for accounts. They parse input; the services decide and store."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from clinic_site.activity import Action, account_label, log_event
from clinic_site.forms import ClinicFormMixin, DateInput, DayMonthYearInput
from clinic_site.mail import send_templated_email

from . import limits
from .backends import find_user_for_login
from .models import Gender, PatientProfile, User, normalise_email
from .validators import validate_date_of_birth, validate_national_id, validate_phone

NEW_CREDENTIAL_HINT = (
    "At least 10 characters. Not a common password, not only digits, "
    "and not too close to your name or e-mail address."
)
LOGIN_FAILED_MESSAGE = (
    "That e-mail address (or national ID) and password do not match an account. "
    "Check them and try again."
)


def _country_field(label: str) -> forms.Field:
    return LazyTypedChoiceField(label=label, choices=[("", "—")] + list(countries), required=False)


class ProfileFieldsMixin(forms.Form):
    """The patient profile of product.md §1, shared by registration and the profile page."""

    full_name = forms.CharField(label="Full name", max_length=150)
    phone = forms.CharField(
        label="Phone",
        max_length=32,
        validators=[validate_phone],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    date_of_birth = forms.DateField(
        label="Date of birth", widget=DateInput(), validators=[validate_date_of_birth]
    )
    gender = forms.ChoiceField(label="Gender", choices=[("", "—")] + Gender.choices, required=False)
    national_id = forms.CharField(
        label="National ID",
        max_length=32,
        required=False,
        validators=[validate_national_id],
        help_text="If you give it, you can also sign in with it.",
    )
    nationality = _country_field("Nationality")
    address_line1 = forms.CharField(
        label="Address line 1",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line2 = forms.CharField(
        label="Address line 2",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    postal_code = forms.CharField(
        label="Postal code",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    city = forms.CharField(
        label="City",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    state = forms.CharField(label="State / region", max_length=100, required=False)
    country = _country_field("Country")
    insurance_provider = forms.CharField(label="Insurance provider", max_length=120, required=False)
    insurance_number = forms.CharField(label="Insurance number", max_length=64, required=False)
    emergency_contact_name = forms.CharField(label="Name", max_length=150, required=False)
    emergency_contact_phone = forms.CharField(
        label="Phone", max_length=32, required=False, validators=[validate_phone]
    )
    emergency_contact_relationship = forms.CharField(
        label="Relationship", max_length=60, required=False
    )

    SECTIONS = (
        (
            "About you",
            ("full_name", "date_of_birth", "gender", "phone", "national_id", "nationality"),
        ),
        (
            "Address",
            ("address_line1", "address_line2", "postal_code", "city", "state", "country"),
        ),
        ("Insurance", ("insurance_provider", "insurance_number")),
        (
            "Emergency contact",
            ("emergency_contact_name", "emergency_contact_phone", "emergency_contact_relationship"),
        ),
    )

    def sections(self):
        """[(heading, [bound fields])] for templates that lay the form out in groups."""
        return [
            (heading, [self[name] for name in names if name in self.fields])
            for heading, names in self.SECTIONS
        ]

    def field_errors_from(self, exc: ValidationError) -> None:
        """Put a service's field errors next to the fields (others above the form)."""
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc)


class RegistrationForm(ClinicFormMixin, ProfileFieldsMixin):
    email = forms.EmailField(
        label="E-mail address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send a code to this address to confirm it is yours.",
    )
    # A form sent back with an error keeps what was typed, the passwords too (the page is never
    # cached: PrivateResponseMiddleware).
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=True),
    )
    password2 = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=True),
    )

    SECTIONS = (
        ("Your account", ("email", "password1", "password2")),
    ) + ProfileFieldsMixin.SECTIONS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].wide = True
        self.fields["password1"].help_text = NEW_CREDENTIAL_HINT
        self.fields["date_of_birth"].widget = DayMonthYearInput()
        self.fields["date_of_birth"].help_text = "For example 27 3 1985."

    def required_sections(self):
        """What a booking needs, asked first: the account and the required details."""
        return [
            (heading, [field for field in fields if field.field.required])
            for heading, fields in super().sections()
            if any(field.field.required for field in fields)
        ]

    def later_sections(self):
        """The rest of the profile, optional here (the profile page asks for it too)."""
        return [
            ("More about you" if heading == "About you" else heading, optional)
            for heading, fields in super().sections()
            if (optional := [field for field in fields if not field.field.required])
        ]

    def sections(self):
        return self.required_sections() + self.later_sections()

    def later_started(self) -> bool:
        """Open the optional part when something in it was typed or is wrong."""
        return any(
            field.errors or field.value() for _, fields in self.later_sections() for field in fields
        )

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password1")
        if password and cleaned.get("password2") != password:
            self.add_error("password2", "The two passwords are not the same.")
        if password:
            # Checked here, with every other field, rather than only once the rest is right.
            candidate = User(
                email=cleaned.get("email") or "", full_name=cleaned.get("full_name") or ""
            )
            try:
                password_validation.validate_password(password, user=candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def field_errors_from(self, exc: ValidationError) -> None:
        # The service names the password "password"; this form calls it "password1".
        if hasattr(exc, "error_dict") and "password" in exc.error_dict:
            exc.error_dict["password1"] = exc.error_dict.pop("password")
        super().field_errors_from(exc)

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["password"] = data.pop("password1")
        data.pop("password2")
        return data


class VerifyEmailForm(ClinicFormMixin, forms.Form):
    email = forms.EmailField(
        label="E-mail address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    code = forms.CharField(
        label="Code",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "class": "code-input",
            }
        ),
        help_text="The six digits from the e-mail we sent you.",
    )

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise ValidationError("The code is six digits.")
        return code


class ResendCodeForm(ClinicFormMixin, forms.Form):
    email = forms.EmailField(label="E-mail address")


class LoginForm(ClinicFormMixin, forms.Form):
    """Sign in with e-mail address or national ID; one answer for every failure."""

    username = forms.CharField(
        label="E-mail address or national ID",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        super().__init__(*args, **kwargs)

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username and password:
            self.user_cache = authenticate(self.request, username=username, password=password)
            if self.user_cache is None:
                if getattr(self.request, "axes_locked_out", False):
                    raise ValidationError("Too many failed attempts.", code="locked_out")
                inactive = self._inactive_account(username, password)
                if inactive is not None:
                    raise ValidationError(inactive, code="inactive")
                raise ValidationError(LOGIN_FAILED_MESSAGE, code="invalid_login")
        return self.cleaned_data

    @staticmethod
    def _inactive_account(username: str, password: str) -> str | None:
        """Explain an inactive account, but only to someone who knows its password."""
        user = find_user_for_login(username)
        if user is None or user.is_active or not user.check_password(password):
            return None
        if user.awaiting_activation:
            return (
                "Your account is waiting for the clinic to activate it. "
                "We will e-mail you as soon as it is ready."
            )
        return "This account has been deactivated. Please contact the clinic."

    def get_user(self):
        return self.user_cache


class ProfileForm(ClinicFormMixin, ProfileFieldsMixin):
    """The signed-in user's own details. Staff without a patient profile see the account part."""

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        profile = PatientProfile.objects.filter(user=user).first()
        initial = {
            "full_name": user.full_name,
            "phone": user.phone,
            "national_id": user.national_id or "",
        }
        if profile is not None:
            for name in ProfileFieldsMixin.base_fields:
                if hasattr(profile, name):
                    initial[name] = getattr(profile, name)
        kwargs["initial"] = {**initial, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        if "date_of_birth" in self.fields:
            self.fields["date_of_birth"].widget = DayMonthYearInput()
        if profile is None:
            for name in list(self.fields):
                if name not in ("full_name", "phone", "national_id"):
                    del self.fields[name]


class ClinicPasswordResetForm(ClinicFormMixin, PasswordResetForm):
    def get_users(self, email):
        # Same rule as sign-in: active accounts with a usable password, matched case-insensitively.
        # Also patients registered at the front desk who have not set a password yet (their
        # welcome link may have expired): the link is how they get one.
        # At most CLINIC_PASSWORD_RESET_EMAILS_PER_HOUR reset e-mails to one account an hour.
        return (
            u
            for u in User.objects.filter(email=normalise_email(email), is_active=True)
            if (u.has_usable_password() or (u.is_patient and u.last_login is None))
            and limits.reset_emails_allowed(u)
        )

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        """Send the link through our e-mail task (on commit), in the design system's template."""
        user = context["user"]
        log_event(
            action=Action.PASSWORD_RESET_REQUESTED,
            target=account_label(user),
            target_type="user",
            target_id=str(user.pk),
        )
        path = reverse(
            "accounts:password_reset_confirm",
            kwargs={"uidb64": context["uid"], "token": context["token"]},
        )
        send_templated_email(
            to=[to_email],
            template="password_reset",
            context={
                "name": context["user"].get_short_name(),
                "reset_url": f"{context['protocol']}://{context['domain']}{path}",
            },
        )


class ClinicSetPasswordForm(ClinicFormMixin, SetPasswordForm):
    pass


class ClinicPasswordChangeForm(ClinicFormMixin, PasswordChangeForm):
    pass
