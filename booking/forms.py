"""Portal forms for booking, cancelling and rescheduling. They parse input only: the services
decide, and their refusals are shown next to the field (or above the form)."""

from __future__ import annotations

import uuid

from django import forms
from django.core.validators import RegexValidator

from clinic_site.forms import ClinicFormMixin

REASON_MAX = 2000


class BookingForm(ClinicFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason for the visit",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A few words help the doctor prepare (optional). Please do not include "
        "anything urgent: in an emergency, call 999.",
    )
    # One key per page shown: submitting twice (or again after a lost answer) books once.
    request_key = forms.CharField(
        widget=forms.HiddenInput,
        required=False,
        max_length=64,
        initial=lambda: uuid.uuid4().hex,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]*$")],
    )


class CancelForm(ClinicFormMixin, forms.Form):
    reason = forms.CharField(
        label="Why are you cancelling?",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional. It helps the clinic offer the time to someone else.",
    )


class RescheduleForm(ClinicFormMixin, forms.Form):
    reason = forms.CharField(
        label="Why are you moving it?",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional; the clinic sees it with the change.",
    )
