"""Consultation records. The record is written by the treating doctor; `COMPLETED` needs it
finalised (scheduling-rules.md, Lifecycle)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from booking.models import Appointment


class ConsultationRecord(models.Model):
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="record")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finalised_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        state = "finalised" if self.finalised_at else "draft"
        return f"Record of {self.appointment_id} ({state})"

    @property
    def is_finalised(self) -> bool:
        return self.finalised_at is not None
