"""Consultation records (EMR lite): diagnosis, clinical notes, prescription items, requested
tests, signed addenda, the medicine catalogue used for suggestions, and the access log.

The record is written by the treating doctor; `COMPLETED` needs it finalised
(scheduling-rules.md, Lifecycle). A finalised record is never edited again: corrections are
addenda. Every read of a record leaves a `RecordAccess` row (permissions.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from booking.models import Appointment
from clinic_site.audit import append_only


class ConsultationRecord(models.Model):
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="record")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    diagnosis = models.TextField(blank=True)
    notes = models.TextField("clinical notes", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finalised_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        constraints = [
            # Whoever finalised it, it is finalised (the service sets both together; older rows
            # may carry only the time).
            models.CheckConstraint(
                condition=Q(finalised_by__isnull=True) | Q(finalised_at__isnull=False),
                name="records_record_finaliser_needs_time",
            ),
        ]

    def __str__(self) -> str:
        state = "finalised" if self.finalised_at else "draft"
        return f"Record of {self.appointment_id} ({state})"

    @property
    def is_finalised(self) -> bool:
        return self.finalised_at is not None

    def signer_name(self, user) -> str:
        """How a signature reads: the treating doctor by their professional name ("Dr Ada
        Hart"), anyone else by their account name."""
        if user is None:
            return ""
        doctor = self.appointment.doctor
        return doctor.name if doctor.user_id == user.pk else user.full_name


class PrescriptionItem(models.Model):
    record = models.ForeignKey(
        ConsultationRecord, on_delete=models.CASCADE, related_name="prescriptions"
    )
    position = models.PositiveSmallIntegerField()
    drug = models.CharField(max_length=200)
    dose = models.CharField(max_length=100, blank=True)
    frequency = models.CharField(max_length=100, blank=True)
    duration = models.CharField(max_length=100, blank=True)
    instructions = models.TextField(blank=True)

    class Meta:
        ordering = ["record", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "position"], name="records_prescription_position_unique"
            ),
            models.CheckConstraint(condition=~Q(drug=""), name="records_prescription_has_drug"),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.drug, self.dose, self.frequency) if part)


class RequestedTest(models.Model):
    record = models.ForeignKey(ConsultationRecord, on_delete=models.CASCADE, related_name="tests")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["record", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "position"], name="records_test_position_unique"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="records_test_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Addendum(models.Model):
    """A correction or addition to a finalised record, signed by its author and time; never
    edited."""

    record = models.ForeignKey(ConsultationRecord, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "addenda"
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="records_addendum_has_text"),
        ]

    def __str__(self) -> str:
        return f"Addendum to {self.record_id} at {self.created_at:%Y-%m-%d %H:%M}"


class MedicineForm(models.TextChoices):
    TABLET = "tablet", "Tablet"
    CAPSULE = "capsule", "Capsule"
    SYRUP = "syrup", "Oral liquid"
    INHALER = "inhaler", "Inhaler"
    CREAM = "cream", "Cream or ointment"
    DROPS = "drops", "Drops"
    INJECTION = "injection", "Injection"
    SPRAY = "spray", "Spray"
    OTHER = "other", "Other"


class Medicine(models.Model):
    """The clinic's medicine catalogue: suggestions while prescribing (the prescription keeps its
    own text, so changing the catalogue never changes a record)."""

    name = models.CharField(max_length=120, unique=True)
    form = models.CharField(
        max_length=16, choices=MedicineForm.choices, default=MedicineForm.TABLET
    )
    strength = models.CharField(max_length=60, blank=True)
    default_dose = models.CharField(max_length=100, blank=True)
    default_frequency = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="records_medicine_name_ci_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="records_medicine_has_name"),
            models.CheckConstraint(
                condition=Q(form__in=MedicineForm.values), name="records_medicine_form_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.strength}".strip()


class AccessChannel(models.TextChoices):
    PAGE = "page", "Portal page"
    API = "api", "API"
    PDF = "pdf", "PDF"
    EXPORT = "export", "Export"
    DASHBOARD = "dashboard", "Staff dashboard"


class RecordAccess(models.Model):
    """One read of a consultation record: who, which record, when, how (permissions.md).

    Append-only: PostgreSQL refuses UPDATE and DELETE of any row (clinic_site/audit.py).
    """

    # Neither key may CASCADE or SET_NULL: that is a DELETE or UPDATE the trigger refuses. PROTECT
    # instead: a record that was read cannot be deleted (records never are), nor can an account
    # that read one — the row keeps no name of its own, so its reader must stay identifiable;
    # deactivate the account instead. `user` is NULL only for a read by no signed-in user.
    record = models.ForeignKey(
        ConsultationRecord, on_delete=models.PROTECT, related_name="accesses"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    how = models.CharField(max_length=16, choices=AccessChannel.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "record accesses"
        indexes = [
            models.Index(fields=["record", "at"], name="records_access_record_at"),
            models.Index(fields=["user", "at"], name="records_access_user_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(how__in=AccessChannel.values), name="records_access_how_known"
            ),
        ]
        triggers = [append_only()]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.record_id} via {self.how} at {self.at:%Y-%m-%d %H:%M}"
