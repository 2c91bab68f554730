"""Forms of the front desk's "book on a patient's behalf" screens. They parse input only: the
services decide and store (accounts.services.patient_register_at_desk, booking.services
.appointment_book), and their refusals are shown next to the field or above the form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from booking.forms import REASON_MAX
from clinic_site.accounts.forms import ProfileFieldsMixin
from clinic_site.accounts.models import User, normalise_email, normalise_national_id
from clinic_site.dates import OUT_OF_RANGE, in_range
from clinic_site.forms import DateInput

SEARCH_MIN_LENGTH = 2


class PatientSearchForm(forms.Form):
    """Find a patient by name, e-mail, phone or national ID, optionally narrowed by birth date."""

    q = forms.CharField(
        label="Name, e-mail, phone or national ID",
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )
    born = forms.DateField(label="Date of birth", required=False, widget=DateInput())

    def clean_q(self):
        q = " ".join(self.cleaned_data["q"].split())
        if q and len(q) < SEARCH_MIN_LENGTH:
            raise ValidationError(f"Type at least {SEARCH_MIN_LENGTH} characters.")
        return q

    def clean_born(self):
        born = self.cleaned_data["born"]
        if born is not None and not in_range(born):
            raise ValidationError(OUT_OF_RANGE)
        return born

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("q") and not cleaned.get("born"):
            raise ValidationError(
                f"Type at least {SEARCH_MIN_LENGTH} characters of a name, e-mail address, phone "
                "number or national ID, or give a date of birth."
            )
        return cleaned


class DeskRegistrationForm(ProfileFieldsMixin):
    """A new patient's details as the front desk takes them; no password (the patient is
    e-mailed a link to choose one)."""

    email = forms.EmailField(
        label="E-mail address",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text="We e-mail the patient a link to choose their password.",
    )

    SECTIONS = (
        (
            "Patient",
            (
                "full_name",
                "date_of_birth",
                "gender",
                "email",
                "phone",
                "national_id",
                "nationality",
            ),
        ),
        (
            "Address (optional)",
            ("address_line1", "address_line2", "postal_code", "city", "state", "country"),
        ),
        ("Insurance (optional)", ("insurance_provider", "insurance_number")),
        (
            "Emergency contact (optional)",
            ("emergency_contact_name", "emergency_contact_phone", "emergency_contact_relationship"),
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "national_id"
        ].help_text = "Optional. Once on file, the patient can also sign in with it."
        for name in ("full_name", "phone", "email", "national_id"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    # Checked here too so that every mistake shows at once; the service stays the authority.
    def clean_email(self):
        email = self.cleaned_data["email"]
        if User.objects.filter(email=normalise_email(email)).exists():
            raise ValidationError(
                "An account with this e-mail address already exists: find the patient with the "
                "search instead."
            )
        return email

    def clean_national_id(self):
        national_id = normalise_national_id(self.cleaned_data["national_id"])
        if national_id and User.objects.filter(national_id=national_id).exists():
            raise ValidationError(
                "This national ID is already on file for another account: find the patient with "
                "the search instead."
            )
        return national_id or ""

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class DeskBookingForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the visit",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: what the patient told you, in a few words. The doctor sees it.",
    )
