"""The appointments table of the staff dashboard (and its CSV / XLSX exports).

Only booking facts, never clinical content: receptionists read and export this table.
"""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import Appointment


def _local(value):
    return timezone.localtime(value) if value else None


class AppointmentTable(tables.Table):
    reference = tables.Column(verbose_name="Reference", attrs={"td": {"class": "cp-nowrap"}})
    start = tables.DateTimeColumn(
        verbose_name="When", format="D j M Y, H:i", attrs={"td": {"class": "cp-nowrap"}}
    )
    patient = tables.Column(verbose_name="Patient", order_by=("patient__full_name",))
    doctor = tables.Column(verbose_name="Doctor", order_by=("doctor__name",))
    visit_type = tables.Column(verbose_name="Visit", orderable=False)
    status = tables.Column(verbose_name="Status")
    created_at = tables.DateTimeColumn(verbose_name="Booked", format="j M, H:i")

    row_noun = "appointment"  # for "Page 1 of 3 · 60 appointments"

    class Meta:
        model = Appointment
        fields = ["reference", "start", "patient", "doctor", "visit_type", "status", "created_at"]
        sequence = fields
        order_by = ("start",)
        attrs = {"class": "listing"}
        template_name = "dashboard/includes/table.html"
        empty_text = "No appointments match."

    def render_reference(self, record):
        url = reverse("dashboard:appointment", args=[record.reference])
        return format_html('<a class="cp-reference" href="{}">{}</a>', url, record.reference)

    def render_patient(self, record):
        return record.patient.full_name

    def render_doctor(self, record):
        return record.doctor.name

    def render_visit_type(self, record):
        return f"{record.visit_type.name} · {record.visit_type.duration_minutes} min"

    def render_status(self, record):
        return format_html(
            '<span class="cp-badge cp-badge--{}">{}</span>',
            record.status.lower(),
            record.get_status_display(),
        )

    # Exports: plain values, local times.
    def value_reference(self, record):
        return record.reference

    def value_start(self, record):
        return _local(record.start).strftime("%Y-%m-%d %H:%M")

    def value_status(self, record):
        return record.get_status_display()

    def value_created_at(self, record):
        return _local(record.created_at).strftime("%Y-%m-%d %H:%M")

    def value_visit_type(self, record):
        return record.visit_type.name
