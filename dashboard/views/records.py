"""The consultation record in the staff dashboard.

The treating doctor writes the draft (saved as they type, and with "Save draft"), finalises it
and completes the visit in one step, and signs addenda afterwards. Administrators and a doctor
caring for the patient read it. Receptionists never reach this screen. Every read is logged
(records.permissions.record_get_for_user), and so is each earlier visit shown beside it.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import formset_factory
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from booking import selectors as booking_selectors
from booking.models import Status
from booking.permissions import REFERENCE_PATTERN
from clinic_site.accounts.roles import Role
from clinic_site.exceptions import ClinicError, Forbidden
from records import rules as record_rules
from records import selectors, services
from records.permissions import (
    can_read_record,
    can_write_record,
    client_ip,
    record_get_for_user,
)

from ..permissions import role_of
from .base import StaffView

BLANK_ROWS = 2


class RecordForm(forms.Form):
    diagnosis = forms.CharField(
        max_length=record_rules.MAX_DIAGNOSIS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to finalise. The patient reads it in their summary.",
    )
    notes = forms.CharField(
        label="Clinical notes",
        max_length=record_rules.MAX_NOTES,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


def _text(max_length: int, label: str, example: str = "", **attrs) -> forms.CharField:
    """A row's field with a visible label (a placeholder alone is cut off and disappears as
    the doctor types); `example` is only a hint inside the box."""
    if example:
        attrs["placeholder"] = example
    return forms.CharField(
        label=label, max_length=max_length, required=False, widget=forms.TextInput(attrs=attrs)
    )


class PrescriptionForm(forms.Form):
    drug = _text(200, "Drug and strength", "e.g. Amoxicillin 500 mg", list="cp-medicines")
    dose = _text(100, "Dose", "e.g. 1 tablet")
    frequency = _text(100, "How often", "e.g. twice a day")
    duration = _text(100, "For how long", "e.g. 7 days")
    instructions = _text(2000, "Instructions for the patient", "e.g. after meals")


class TestForm(forms.Form):
    name = _text(200, "Test", "e.g. Full blood count")
    notes = _text(2000, "Notes for the lab or the patient")


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        max_length=record_rules.MAX_ADDENDUM,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Signed with your name and the time; the record itself stays as finalised.",
    )


PrescriptionFormSet = formset_factory(PrescriptionForm, extra=0, max_num=record_rules.MAX_ITEMS)
TestFormSet = formset_factory(TestForm, extra=0, max_num=record_rules.MAX_ITEMS)


def _appointment_for_record(user, reference: str):
    """The appointment whose record `user` may write or read — a doctor also reads the finalised
    records of their own patients' other visits (permissions.md) — else the same 404 as for a
    reference that does not exist."""
    reference = str(reference).strip().upper()
    if not REFERENCE_PATTERN.fullmatch(reference):
        raise Http404("No such appointment.")
    appointment = booking_selectors.appointment_queryset().filter(reference=reference).first()
    if appointment is None or not (
        can_write_record(user, appointment) or can_read_record(user, appointment)
    ):
        raise Http404("No such appointment.")
    return appointment


def _rows(formset) -> list[dict]:
    return [form.cleaned_data for form in formset.forms if form.cleaned_data]


class RecordView(StaffView):
    template_name = "dashboard/records/record.html"
    header_icon = "doc-full"
    allowed_roles = frozenset({Role.DOCTOR, Role.ADMIN})

    def dispatch(self, request, *args, **kwargs):
        if role_of(request.user) in self.allowed_roles:
            self.appointment = _appointment_for_record(request.user, kwargs["reference"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return f"Consultation record · {self.appointment.patient.full_name}"

    def get_breadcrumbs_items(self):
        a = self.appointment
        return [
            *self.breadcrumbs_items,
            {"url": reverse("dashboard:appointment", args=[a.reference]), "label": a.reference},
            {"url": "", "label": "Record"},
        ]

    # --- reading ------------------------------------------------------------------------------

    def _record(self):
        """The record, read (and the read logged) through records' permission gate."""
        try:
            return record_get_for_user(
                self.request.user, self.appointment, how="dashboard", request=self.request
            )
        except Forbidden as exc:
            raise PermissionDenied from exc
        except Http404:
            if can_write_record(self.request.user, self.appointment):
                return None  # the treating doctor starts a new one
            raise

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        appointment = self.appointment
        record = kwargs.get("record", False)
        if record is False:
            record = self._record()
        writer = can_write_record(self.request.user, appointment)
        editable = writer and (record is None or not record.is_finalised)
        if editable and "form" not in kwargs:
            context.update(self._forms(record))
        previous = []
        doctor = appointment.doctor
        if writer:  # the treating doctor sees the patient's earlier visits beside the record
            previous = list(
                selectors.previous_visits(
                    appointment.patient, doctor=doctor, before=appointment.start
                )[:10]
            )
            if previous:
                services.record_accesses_log(
                    records=[a.record for a in previous],
                    user=self.request.user,
                    how="dashboard",
                    ip_address=client_ip(self.request),
                )
        context.update(
            appointment=appointment,
            record=record,
            editable=editable,
            can_complete=editable and appointment.status == Status.CHECKED_IN,
            can_sign=writer and record is not None and record.is_finalised,
            addendum_form=kwargs.get("addendum_form") or AddendumForm(),
            previous=previous,
            medicines=selectors.medicine_suggestions("", limit=50) if editable else [],
            autosave_url=reverse("dashboard:record", args=[appointment.reference]),
            profile=getattr(appointment.patient, "patient_profile", None),
        )
        return context

    def _forms(self, record, data=None):
        if data is None:
            initial = {"diagnosis": "", "notes": ""}
            rx, tests = [], []
            if record is not None:
                initial = {"diagnosis": record.diagnosis, "notes": record.notes}
                rx = [
                    {f: getattr(i, f) for f in record_rules.PRESCRIPTION_FIELDS}
                    for i in record.prescriptions.all()
                ]
                tests = [
                    {f: getattr(t, f) for f in record_rules.TEST_FIELDS} for t in record.tests.all()
                ]
            return {
                "form": RecordForm(initial=initial),
                "rx_formset": PrescriptionFormSet(initial=rx + [{}] * BLANK_ROWS, prefix="rx"),
                "test_formset": TestFormSet(initial=tests + [{}] * BLANK_ROWS, prefix="tests"),
            }
        return {
            "form": RecordForm(data),
            "rx_formset": PrescriptionFormSet(data, prefix="rx"),
            "test_formset": TestFormSet(data, prefix="tests"),
        }

    # --- writing ------------------------------------------------------------------------------

    def post(self, request, *args, **kwargs):
        appointment = self.appointment
        if not can_write_record(request.user, appointment):
            raise PermissionDenied
        action = request.POST.get("action", "save")
        if action == "addendum":
            return self._addendum(request)
        bound = self._forms(None, request.POST)
        autosave = request.headers.get("X-Requested-With") == "fetch"
        if not all(f.is_valid() for f in bound.values()):
            if autosave:
                return JsonResponse({"saved": False, "errors": _errors(bound)}, status=400)
            return self._rerender(bound)
        try:
            services.record_save(
                appointment=appointment,
                actor=request.user,
                diagnosis=bound["form"].cleaned_data["diagnosis"],
                notes=bound["form"].cleaned_data["notes"],
                prescriptions=_rows(bound["rx_formset"]),
                tests=_rows(bound["test_formset"]),
            )
            if action in ("finalise", "complete"):
                services.record_finalise(
                    appointment=appointment, actor=request.user, complete=action == "complete"
                )
        except ValidationError as exc:
            if autosave:
                return JsonResponse({"saved": False, "errors": exc.message_dict}, status=400)
            for field, errors in exc.message_dict.items():
                target = field if field in bound["form"].fields else None
                bound["form"].add_error(target, errors)
            return self._rerender(bound)
        except ClinicError as exc:
            if autosave:
                return JsonResponse(
                    {"saved": False, "errors": {"__all__": [exc.detail]}}, status=409
                )
            messages.error(request, exc.detail)
            return redirect("dashboard:record", reference=appointment.reference)
        if autosave:
            saved = timezone.localtime().strftime("%H:%M:%S")
            return JsonResponse({"saved": True, "saved_at": saved})
        if action == "complete":
            messages.success(request, "Record finalised and the visit completed.")
            return redirect(_next_screen(appointment))
        if action == "finalise":
            messages.success(request, "Record finalised.")
        else:
            messages.success(request, "Draft saved.")
        return redirect("dashboard:record", reference=appointment.reference)

    def _rerender(self, bound):
        record = selectors.record_for_appointment(self.appointment)
        context = self.get_context_data(record=record, **bound)
        context.update(bound)
        return self.render_to_response(context, status=400)

    def _addendum(self, request):
        form = AddendumForm(request.POST)
        if form.is_valid():
            try:
                services.addendum_add(
                    appointment=self.appointment, actor=request.user, text=form.cleaned_data["text"]
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except ClinicError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Addendum signed and added.")
                return redirect("dashboard:record", reference=self.appointment.reference)
        record = selectors.record_for_appointment(self.appointment)
        context = self.get_context_data(record=record, addendum_form=form)
        return self.render_to_response(context, status=400)


def _errors(bound) -> dict:
    errors = dict(bound["form"].errors)
    for name in ("rx_formset", "test_formset"):
        problems = [e for e in bound[name].errors if e] + list(bound[name].non_form_errors())
        if problems:
            errors[name] = [json.dumps(p) if isinstance(p, dict) else str(p) for p in problems]
    return errors


def _next_screen(appointment) -> str:
    """After completing a visit: the queue if anyone waits, else the appointment."""
    waiting = (
        booking_selectors.queue_for(appointment.doctor, timezone.localdate())
        .filter(called_at__isnull=True)
        .exists()
    )
    if waiting:
        return reverse("dashboard:queue")
    return reverse("dashboard:appointment", args=[appointment.reference])
