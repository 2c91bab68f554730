"""The patient's visit summary (portal page and PDF): their own completed visits only, read
only. Every time a finalised record is shown, the read is logged (`page` or `pdf`)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views import View

from booking.models import Appointment, Status
from booking.permissions import appointment_get_for_user
from booking.views import PatientPortalMixin

from .models import AccessChannel, ConsultationRecord
from .pdf import summary_pdf
from .permissions import record_get_for_user


def _completed_visit(request, reference: str) -> Appointment:
    appointment = appointment_get_for_user(request.user, reference)
    if appointment.status != Status.COMPLETED:
        raise Http404("There is no summary for this appointment.")
    return appointment


def _finalised_record(request, appointment: Appointment, how: str) -> ConsultationRecord | None:
    """The finalised record, read (and logged) for the patient; None while there is none."""
    record = getattr(appointment, "record", None)  # joined by appointment_get_for_user
    if record is None or not record.is_finalised:
        return None
    return record_get_for_user(request.user, appointment, how=how, request=request)


class SummaryView(PatientPortalMixin, View):
    """A completed visit's summary — diagnosis, prescriptions, requested tests, addenda; an
    empty state until the doctor finalises the record."""

    def get(self, request, reference: str):
        appointment = _completed_visit(request, reference)
        record = _finalised_record(request, appointment, AccessChannel.PAGE)
        return render(
            request, "records/summary.html", {"appointment": appointment, "record": record}
        )


class SummaryPdfView(PatientPortalMixin, View):
    """The same summary as a PDF, with the clinic's details, to keep or show another doctor."""

    def get(self, request, reference: str):
        appointment = _completed_visit(request, reference)
        record = _finalised_record(request, appointment, AccessChannel.PDF)
        if record is None:
            raise Http404("The summary is not ready yet.")
        response = HttpResponse(summary_pdf(record), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="visit-summary-{appointment.reference}.pdf"'
        )
        return response
