"""Doctors and specialties: the single source of truth the public pages and bookings point at."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from wagtail.search import index

from .validators import validate_bank_account, validate_ifsc, validate_pan


class Specialty(index.Indexed, models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "specialties"

    def __str__(self) -> str:
        return self.name


class Doctor(index.Indexed, models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="doctor_profile",
        help_text="The account this doctor signs in with.",
    )
    name = models.CharField(max_length=150, help_text='As patients see it, e.g. "Dr Amelia Hart".')
    slug = models.SlugField(max_length=150, unique=True)
    specialties = models.ManyToManyField(Specialty, related_name="doctors", blank=True)
    photo = models.ForeignKey(
        "wagtailimages.Image",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    biography = models.TextField(blank=True, help_text="A short introduction, a few sentences.")
    phone = models.CharField(max_length=32, blank=True)
    languages = models.CharField(
        max_length=200, blank=True, help_text="Languages spoken, separated by commas."
    )
    accepting_new_patients = models.BooleanField(default=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive doctors are hidden and cannot be booked."
    )
    date_joined = models.DateField(default=timezone.localdate)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    search_fields = [
        index.SearchField("name"),
        index.AutocompleteField("name"),
        index.SearchField("biography"),
        index.FilterField("is_active"),
    ]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def language_list(self) -> list[str]:
        return [part.strip() for part in self.languages.split(",") if part.strip()]


class DoctorPayoutDetails(models.Model):
    """Where the clinic pays a doctor. Only that doctor and administrators may see it."""

    doctor = models.OneToOneField(
        Doctor, on_delete=models.CASCADE, primary_key=True, related_name="payout"
    )
    pan = models.CharField("PAN", max_length=10, blank=True, validators=[validate_pan])
    bank_account_number = models.CharField(
        "bank account number", max_length=18, blank=True, validators=[validate_bank_account]
    )
    ifsc = models.CharField("IFSC", max_length=11, blank=True, validators=[validate_ifsc])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "doctor payout details"
        verbose_name_plural = "doctor payout details"

    def __str__(self) -> str:
        return f"Payout details of {self.doctor}"
