"""The appointments table of the staff dashboard (and its CSV / XLSX exports).

Only booking facts, never clinical content: receptionists read and export this table.
"""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .models import Appointment

START_FORMAT = "D j M Y, H:i"
CREATED_FORMAT = "j M, H:i"


def _local(value):
    return timezone.localtime(value) if value else None


class AppointmentTable(tables.Table):
    reference = tables.Column(verbose_name="Reference", attrs={"td": {"class": "cp-nowrap"}})
    start = tables.DateTimeColumn(
        verbose_name="When", format=START_FORMAT, attrs={"td": {"class": "cp-nowrap"}}
    )
    patient = tables.Column(verbose_name="Patient", order_by=("patient__full_name",))
    doctor = tables.Column(verbose_name="Doctor", order_by=("doctor__name",))
    visit_type = tables.Column(verbose_name="Visit", orderable=False)
    status = tables.Column(verbose_name="Status")
    created_at = tables.DateTimeColumn(verbose_name="Booked", format=CREATED_FORMAT)

    row_noun = "appointment"  # for "Page 1 of 3 · 60 appointments"
    region_label = "appointments"  # names the table's scrolling region

    class Meta:
        model = Appointment
        fields = ["reference", "start", "patient", "doctor", "visit_type", "status", "created_at"]
        sequence = fields
        order_by = ("start",)
        attrs = {"class": "listing"}
        template_name = "dashboard/appointments/table.html"
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

    def rows_html(self) -> SafeString:
        """The page's rows in one pass, the same HTML as the cells' render_* methods above.

        django-tables2 renders each cell through an accessor, an `inspect.signature` of the
        render method and, for dates, a template compiled per cell: most of the list's time.
        Times are in the active zone (the dashboard renders in the clinic's), as the `date`
        filter of DateTimeColumn shows them.
        """
        rows = [
            (
                "even" if index % 2 == 0 else "odd",
                reverse("dashboard:appointment", args=[a.reference]),
                a.reference,
                dateformat.format(timezone.localtime(a.start), START_FORMAT),
                a.patient.full_name,
                a.doctor.name,
                a.visit_type.name,
                a.visit_type.duration_minutes,
                a.status.lower(),
                a.get_status_display(),
                dateformat.format(timezone.localtime(a.created_at), CREATED_FORMAT),
            )
            for index, a in enumerate(row.record for row in self.paginated_rows)
        ]
        if not rows:
            return format_html(
                '<tr><td colspan="{}">{}</td></tr>', len(self.columns), self.empty_text
            )
        return format_html_join(
            "\n",
            '<tr class="{}"><td class="cp-nowrap"><a class="cp-reference" href="{}">{}</a></td>'
            '<td class="cp-nowrap">{}</td><td>{}</td><td>{}</td><td>{} · {} min</td>'
            '<td><span class="cp-badge cp-badge--{}">{}</span></td><td>{}</td></tr>',
            rows,
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
