"""The appointments FilterSet shared by the staff dashboard's list, its exports and the calendar.

Dates are the clinic's local dates; `q` finds a reference (exactly) or a patient's name. The
patient filter is staff-only (permissions.md): the dashboard is staff-only, so it is offered
here, and the queryset it filters is already what the user may see.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from clinic_site.dates import in_range
from doctors.models import Doctor

from .models import Appointment, Status
from .selectors import local_day_range

LISTED_STATUSES = [(s.value, s.label) for s in Status if s != Status.RELEASED]


class DateInput(forms.DateInput):
    input_type = "date"


class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number the database can hold (larger ones are no id at all)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class AppointmentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search", method="filter_q", help_text="Reference or patient name"
    )
    status = django_filters.MultipleChoiceFilter(
        choices=LISTED_STATUSES, widget=forms.CheckboxSelectMultiple
    )
    date_from = django_filters.DateFilter(label="From", method="filter_date_from", widget=DateInput)
    date_to = django_filters.DateFilter(label="To", method="filter_date_to", widget=DateInput)
    doctor = django_filters.ModelChoiceFilter(
        queryset=Doctor.objects.filter(is_active=True).order_by("name"), empty_label="All doctors"
    )
    patient = IdFilter(field_name="patient_id", widget=forms.HiddenInput)

    class Meta:
        model = Appointment
        fields = ["q", "status", "date_from", "date_to", "doctor", "patient"]

    def __init__(self, *args, doctors=None, **kwargs):
        super().__init__(*args, **kwargs)
        if doctors is not None:  # a doctor filters among their own appointments only
            self.filters["doctor"].queryset = doctors

    def filter_q(self, queryset, name, value):
        value = value.replace("\x00", "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(reference__iexact=value) | Q(patient__full_name__icontains=value))

    def filter_date_from(self, queryset, name, value):
        if not in_range(value):
            return queryset.none()
        return queryset.filter(start__gte=local_day_range(value)[0])

    def filter_date_to(self, queryset, name, value):
        if not in_range(value):
            return queryset.none()
        return queryset.filter(start__lt=local_day_range(value)[1])
