"""The visit summary as a PDF (WeasyPrint), from a standalone print template."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from booking.notifications import clinic_details

from .models import ConsultationRecord


def _static_file_uri(path: str) -> str | None:
    found = finders.find(path)
    return Path(found).as_uri() if found else None


def summary_pdf(record: ConsultationRecord) -> bytes:
    """The patient's summary of one finalised record: clinic, doctor, visit, diagnosis,
    prescriptions, requested tests and addenda. Only our own static files are fetched."""
    html = render_to_string(
        "records/summary_pdf.html",
        {
            "record": record,
            "appointment": record.appointment,
            "clinic": clinic_details(),
            "logo_uri": _static_file_uri("img/logo.svg"),
        },
    )
    # Imported here, not at start-up: WeasyPrint and its fonts cost every worker ~20 MB, and
    # only a patient downloading a summary needs them.
    from weasyprint import HTML

    return HTML(string=html, base_url=None).write_pdf()
