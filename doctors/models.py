"""Doctors and specialties: the single source of truth the public pages and bookings point at."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
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
    accepting_new_patients = models.BooleanField(
        default=True,
        help_text="Off: only patients who have seen this doctor before can book online.",
    )
    accepting_bookings = models.BooleanField(
        "online booking open",
        default=True,
        help_text="Off: no slots are offered online (the front desk can still book).",
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive doctors are hidden and cannot be booked."
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        "buffer before (minutes)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(120)],
        help_text="Leave empty to use the clinic policy.",
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        "buffer after (minutes)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(120)],
        help_text="Leave empty to use the clinic policy.",
    )
    confirmation_required = models.BooleanField(
        "bookings need confirmation",
        null=True,
        blank=True,
        help_text="Leave empty to follow the clinic policy.",
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


class VisitMode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video"
    TELEPHONE = "telephone", "Telephone"


DURATION_CHOICES = [(m, f"{m} minutes") for m in (10, 15, 20, 30, 45, 60, 90, 120)]


class VisitType(models.Model):
    """What a patient books: a duration, a mode and a price, offered by one doctor."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="visit_types")
    name = models.CharField(max_length=80)
    duration_minutes = models.PositiveSmallIntegerField("duration", choices=DURATION_CHOICES)
    mode = models.CharField(max_length=16, choices=VisitMode.choices, default=VisitMode.IN_PERSON)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["doctor", "sort_order", "duration_minutes", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__in=[m for m, _ in DURATION_CHOICES]),
                name="doctors_visittype_duration_allowed",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="doctors_visittype_price_gte_0"),
            models.CheckConstraint(
                condition=Q(mode__in=VisitMode.values), name="doctors_visittype_mode_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min, {self.get_mode_display().lower()})"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WeeklyWindow(models.Model):
    """A working window on one weekday, wall-clock time in the clinic's time zone."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="weekly_windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["doctor", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="doctors_window_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__lte=6), name="doctors_window_weekday_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class ExceptionKind(models.TextChoices):
    DAY_OFF = "day_off", "Day off / vacation"
    EXTRA_HOURS = "extra_hours", "Extra working hours"


class ScheduleException(models.Model):
    """A change to the weekly schedule: days off (a date range) or extra hours on one date."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="schedule_exceptions")
    kind = models.CharField(max_length=16, choices=ExceptionKind.choices)
    date_from = models.DateField()
    date_to = models.DateField()
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["doctor", "date_from", "start"]
        indexes = [models.Index(fields=["doctor", "date_to"], name="doctors_exception_doctor_to")]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_to__gte=F("date_from")), name="doctors_exception_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(kind=ExceptionKind.DAY_OFF, start__isnull=True, end__isnull=True)
                | Q(
                    kind=ExceptionKind.EXTRA_HOURS,
                    date_to=F("date_from"),
                    start__isnull=False,
                    end__gt=F("start"),
                ),
                name="doctors_exception_kind_shape",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == ExceptionKind.DAY_OFF:
            return f"Day off {self.date_from}–{self.date_to}"
        return f"Extra hours {self.date_from} {self.start:%H:%M}–{self.end:%H:%M}"
