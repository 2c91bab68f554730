"""Appointments in the staff dashboard: the filtered list (with CSV and XLSX exports), a doctor's
day or week as a calendar, and the appointment screen with the actions each role may take.

Which appointments a user sees comes from booking's selectors (doctors their own, the front desk
all); which actions they may take from booking's rules, the same ones the services apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export.views import ExportMixin
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from booking import selectors, services
from booking.exceptions import SlotUnavailable
from booking.filters import AppointmentFilter
from booking.models import Status
from booking.permissions import allowed_actions, appointment_get_for_user, can_see_meeting_url
from booking.tables import AppointmentTable
from booking.views import picker_context
from clinic_site.dates import in_range, parse_query_datetime
from clinic_site.exceptions import ClinicError
from clinic_site.policies import clinic_tz, get_policies
from doctors.models import Doctor, VisitType
from records.permissions import can_write_record

from ..permissions import (
    doctor_param,
    is_doctor,
    is_front_desk,
    is_unlinked_doctor,
    own_doctor,
    role_of,
    screen_doctor,
)
from .base import LoggedExportMixin, StaffRequiredMixin, StaffView

PAGE_SIZE = 25
ACTION_LABELS = {
    "confirm": "Confirm",
    "decline": "Decline",
    "cancel": "Cancel appointment",
    "check_in": "Check in",
    "no_show": "Mark as no-show",
}


FILTER_FIELDS = tuple(AppointmentFilter.base_filters)


class AppointmentListView(
    StaffRequiredMixin,
    WagtailAdminTemplateMixin,
    LoggedExportMixin,
    ExportMixin,
    SingleTableMixin,
    FilterView,
):
    """Every appointment the user may see, filtered, sorted, paginated and exportable."""

    export_label = "Appointments list"
    export_target = "appointments"

    page_title = "Appointments"
    header_icon = "date"
    template_name = "dashboard/appointments/list.html"
    table_class = AppointmentTable
    filterset_class = AppointmentFilter
    table_pagination = {"per_page": PAGE_SIZE}
    export_formats = ("csv", "xlsx")
    export_trigger_param = "export"

    def get_queryset(self):
        return selectors.appointments_visible_to(self.request.user)

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        user = self.request.user
        if is_front_desk(user) and not any(name in self.request.GET for name in FILTER_FIELDS):
            # The front desk starts on today's list; any filter submitted (even all fields
            # emptied) lists what it asks for. Sorting and paging keep today.
            data = self.request.GET.copy()
            today = timezone.localdate(timezone.now(), clinic_tz()).isoformat()
            data.update({"date_from": today, "date_to": today})
            kwargs["data"] = data
        if is_doctor(user):  # their own appointments only; a colleague's `doctor` is ignored
            doctor = own_doctor(user)
            kwargs["doctors"] = Doctor.objects.filter(pk=doctor.pk if doctor else None)
            data = kwargs.get("data")
            if data is not None and "doctor" in data:
                data = data.copy()
                data["doctor"] = doctor_param(user, data["doctor"])
                kwargs["data"] = data
        return kwargs

    def get_table_data(self):
        # FilterView runs the filter; an invalid form lists nothing rather than everything.
        if not self.filterset.is_bound or self.filterset.is_valid():
            return self.filterset.qs
        return self.filterset.queryset.none()

    def get_export_filename(self, export_format):
        stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
        return f"appointments-{stamp}.{export_format}"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.filterset.data.copy()  # the filters in force, today's by default
        query.pop("page", None)
        context["export_links"] = [
            (label, f"?{urlencode({**query.dict(), 'export': fmt})}")
            for fmt, label in (("csv", "CSV"), ("xlsx", "Excel (XLSX)"))
        ]
        context["patient_filter"] = self._patient_named()
        return context

    def _patient_named(self):
        patient_id = self.request.GET.get("patient")
        if not patient_id or not patient_id.isascii() or not patient_id.isdigit():
            return None
        row = (
            selectors.appointments_visible_to(self.request.user)
            .filter(patient_id=int(patient_id[:18]))
            .select_related("patient")
            .first()
        )
        return row.patient if row else None


# --- The appointment screen -------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoShowForm(forms.Form):
    excused = forms.BooleanField(label="Excused (the patient let us know)", required=False)


@dataclass
class Event:
    at: datetime
    title: str
    who: str
    detail: str = ""


def staff_timeline(appointment) -> list[Event]:
    events = []
    for t in appointment.transitions.all():
        details = t.details or {}
        if t.to_status == Status.CANCELLED and details.get("declined"):
            title = "Declined"
        elif t.from_status == "":
            title = f"Booked as {t.get_to_status_display().lower()}"
            if details.get("walk_in"):
                title += " (walk-in" + (
                    ", notice bypassed)" if details.get("notice_bypassed") else ")"
                )
        else:
            title = f"{t.get_from_status_display()} → {t.get_to_status_display()}"
        if details.get("excused") is not None and t.to_status == Status.NO_SHOW:
            title += " (excused)" if details["excused"] else " (unexcused)"
        who = t.by.full_name if t.by else "the system"
        events.append(Event(t.at, title, who, t.reason))
    for r in appointment.reschedules.all():
        tz = clinic_tz()
        title = (
            f"Moved from {r.old_start.astimezone(tz):%a %d %b %H:%M} "
            f"to {r.new_start.astimezone(tz):%a %d %b %H:%M}"
        )
        events.append(
            Event(r.changed_at, title, r.changed_by.full_name if r.changed_by else "", r.reason)
        )
    return sorted(events, key=lambda e: e.at)


class AppointmentView(StaffView):
    """Details, timeline and reschedule history, and the actions this user may take now."""

    template_name = "dashboard/appointments/detail.html"
    header_icon = "date"

    def get_page_title(self):
        return f"Appointment {self.appointment.reference}"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("dashboard:appointments"), "label": "Appointments"},
            {"url": "", "label": self.appointment.reference},
        ]

    def dispatch(self, request, *args, **kwargs):
        if role_of(request.user) in self.allowed_roles:
            self.appointment = selectors.appointment_history(
                appointment_get_for_user(request.user, kwargs["reference"])
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, forms_by_action=None, **kwargs):
        context = super().get_context_data(**kwargs)
        appointment = self.appointment
        now = timezone.now()
        policies = get_policies(self.request)
        allowed = allowed_actions(self.request.user, appointment, now=now, policies=policies)
        forms_by_action = forms_by_action or {}
        actions = []
        for action in ("confirm", "check_in", "decline", "cancel", "no_show"):
            if action not in allowed:
                continue
            form = forms_by_action.get(action)
            if form is None and action in ("decline", "cancel"):
                form = ReasonForm(prefix=action)
            if form is None and action == "no_show":
                form = NoShowForm(prefix=action)
            actions.append({"name": action, "label": ACTION_LABELS[action], "form": form})
        record = getattr(appointment, "record", None)
        context.update(
            appointment=appointment,
            actions=actions,
            can_reschedule="reschedule" in allowed,
            can_complete_here="complete" in allowed,
            timeline=staff_timeline(appointment),
            reschedules=list(appointment.reschedules.all()),
            meeting_url=services.meeting_url(appointment)
            if can_see_meeting_url(self.request.user, appointment)
            else None,
            show_record=is_doctor(self.request.user) or role_of(self.request.user) == "admin",
            can_write_record=can_write_record(self.request.user, appointment)
            and appointment.status in (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED),
            record_state=(
                "none" if record is None else "final" if record.finalised_at else "draft"
            ),
            is_front_desk=is_front_desk(self.request.user),
            waiting_since=appointment.checked_in_at
            if appointment.status == Status.CHECKED_IN
            else None,
        )
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action not in ACTION_LABELS:
            raise Http404("No such action.")
        form = None
        extra: dict = {}
        if action in ("decline", "cancel"):
            form = ReasonForm(request.POST, prefix=action)
        elif action == "no_show":
            form = NoShowForm(request.POST, prefix=action)
        if form is not None:
            if not form.is_valid():
                return self._invalid(action, form)
            extra = dict(form.cleaned_data)
        try:
            services.appointment_act(
                appointment=self.appointment, actor=request.user, action=action, **extra
            )
        except ValidationError as exc:
            if form is not None:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                return self._invalid(action, form)
            messages.error(request, " ".join(exc.messages))
        except ClinicError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, done_message(action, self.appointment))
        back = request.POST.get("next", "")
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(back)  # e.g. the home panel's check-in and confirm buttons
        return redirect("dashboard:appointment", reference=self.appointment.reference)

    def _invalid(self, action, form):
        context = self.get_context_data(forms_by_action={action: form})
        return self.render_to_response(context, status=400)


_DONE = {
    "confirm": "Confirmed {visit}. They get an e-mail.",
    "decline": "Declined {visit}. They get an e-mail with your reason.",
    "cancel": "Cancelled {visit}. They get an e-mail.",
    "check_in": "Checked in {patient} for {time} with {doctor}: they are in the queue.",
    "no_show": "Marked {visit} as a no-show.",
}


def done_message(action: str, appointment) -> str:
    """What the desk reads after an action: who, when and with whom, so a message seen after
    several quick clicks still says which patient it was about."""
    start = appointment.start.astimezone(clinic_tz())
    patient, doctor = appointment.patient.full_name, appointment.doctor.name
    when = dateformat.format(start, r"D j M \a\t H:i")
    return _DONE[action].format(
        visit=f"{patient}’s visit on {when} with {doctor}",
        patient=patient,
        time=dateformat.format(start, "H:i"),
        doctor=doctor,
    )


# --- Reschedule on the patient's behalf -------------------------------------------------------


class RescheduleView(AppointmentView):
    """Another offered slot of the same doctor (any of their visit types), then confirm."""

    template_name = "dashboard/appointments/reschedule.html"

    def get_page_title(self):
        return f"Move {self.appointment.reference}"

    def _visit_type(self) -> VisitType:
        appointment = self.appointment
        chosen = self.request.GET.get("visit_type") or self.request.POST.get("visit_type")
        visit_type = appointment.visit_type
        if chosen and chosen.isascii() and chosen.isdigit() and int(chosen[:18]) != visit_type.pk:
            visit_type = (
                VisitType.objects.filter(
                    pk=int(chosen[:18]), doctor_id=appointment.doctor_id, is_active=True
                ).first()
                or visit_type
            )
        visit_type.doctor = appointment.doctor
        return visit_type

    def _start(self):
        return parse_query_datetime(self.request.GET.get("start") or self.request.POST.get("start"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        appointment = self.appointment
        doctor = appointment.doctor
        visit_type = self._visit_type()
        doctor.active_visit_types = list(doctor.visit_types.filter(is_active=True))
        here = reverse("dashboard:reschedule", args=[appointment.reference])
        context.update(
            picker_context(
                self.request,
                doctor=doctor,
                visit_type=visit_type,
                slot_url=lambda slot: (
                    f"{here}?"
                    + urlencode({"visit_type": visit_type.pk, "start": slot.start.isoformat()})
                ),
                picker_url=here,
                exclude_appointment=appointment.pk,
                front_desk=is_front_desk(self.request.user),
            )
        )
        context["new_start"] = self._start()
        context["reason_form"] = kwargs.get("reason_form") or ReasonForm(prefix="move")
        return context

    def get(self, request, *args, **kwargs):
        if "reschedule" not in allowed_actions(
            request.user, self.appointment, now=timezone.now(), policies=get_policies(request)
        ):
            messages.error(request, "This appointment can no longer be moved.")
            return redirect("dashboard:appointment", reference=self.appointment.reference)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        new_start = self._start()
        form = ReasonForm(request.POST, prefix="move")
        if new_start is None or not form.is_valid():
            return self.render_to_response(self.get_context_data(reason_form=form), status=400)
        try:
            services.appointment_reschedule(
                appointment=self.appointment,
                actor=request.user,
                new_start=new_start,
                reason=form.cleaned_data["reason"],
                visit_type=self._visit_type(),
            )
        except SlotUnavailable:
            messages.error(request, "That time has just been taken; please choose another.")
            return redirect("dashboard:reschedule", reference=self.appointment.reference)
        except (ClinicError, ValidationError) as exc:
            messages.error(request, getattr(exc, "detail", None) or " ".join(exc.messages))
            return redirect("dashboard:appointment", reference=self.appointment.reference)
        messages.success(request, "Moved. The patient gets an e-mail with the new time.")
        return redirect("dashboard:appointment", reference=self.appointment.reference)


# --- A doctor's day or week -------------------------------------------------------------------

CALENDAR_START_HOUR = 7
CALENDAR_END_HOUR = 20
PX_PER_MINUTE = 1.1


CALENDAR_TWO_LINE_MINUTES = 30


def _place_in_lanes(items: list[dict]) -> None:
    """Side by side where boxes would overlap (a cancelled visit and the one booked in its place,
    boxes of short visits): each item gets `lane` and `lanes` (how many share its group), the way
    a paper diary splits a crowded hour into columns. Items are in start order."""
    group: list[dict] = []
    group_bottom = -1
    lane_bottoms: list[int] = []

    def close_group():
        for member in group:
            member["lanes"] = len(lane_bottoms)

    for item in items:
        top, bottom = item["top"], item["top"] + item["height"]
        if top >= group_bottom:  # nothing drawn above reaches this far down: a new group
            close_group()
            group, lane_bottoms = [], []
        lane = next((i for i, end in enumerate(lane_bottoms) if end <= top), None)
        if lane is None:
            lane = len(lane_bottoms)
            lane_bottoms.append(bottom)
        else:
            lane_bottoms[lane] = bottom
        item["lane"] = lane
        group.append(item)
        group_bottom = max(group_bottom, bottom)
    close_group()


class CalendarView(StaffView):
    """One doctor's day or week as a time grid: working hours shaded, appointments placed."""

    page_title = "Calendar"
    header_icon = "date"
    template_name = "dashboard/appointments/calendar.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        today = timezone.localdate(timezone.now(), clinic_tz())
        doctors = list(Doctor.objects.filter(is_active=True).order_by("name"))
        wanted = self.request.GET.get("doctor", "")
        doctor = screen_doctor(  # a doctor: always their own calendar
            user,
            lambda: next(
                (d for d in doctors if str(d.pk) == wanted), doctors[0] if doctors else None
            ),
        )
        week = self.request.GET.get("view") != "day"
        try:
            chosen = parse_date(self.request.GET.get("date") or "") or today
        except ValueError:
            chosen = today
        if not in_range(chosen):
            chosen = today
        first = chosen - timedelta(days=chosen.weekday()) if week else chosen
        days = [first + timedelta(days=i) for i in range(7 if week else 1)]
        context.update(
            doctors=doctors if is_front_desk(user) else [],
            doctor=doctor,
            no_profile=is_unlinked_doctor(user),
            week=week,
            chosen=chosen,
            columns=self._columns(doctor, days) if doctor else [],
            hours=list(range(CALENDAR_START_HOUR, CALENDAR_END_HOUR)),
            grid_height=int((CALENDAR_END_HOUR - CALENDAR_START_HOUR) * 60 * PX_PER_MINUTE),
            previous=first - timedelta(days=7 if week else 1),
            next=first + timedelta(days=7 if week else 1),
            today=today,
        )
        return context

    def _columns(self, doctor: Doctor, days: list[date]):
        windows = selectors.working_windows(doctor, days[0], days[-1])
        lo, hi = selectors.local_day_range(days[0])[0], selectors.local_day_range(days[-1])[1]
        appointments = (
            selectors.appointments_visible_to(self.request.user)
            .filter(doctor=doctor, start__gte=lo, start__lt=hi)
            .exclude(status=Status.HELD)
            .order_by("start")
        )
        tz = clinic_tz()
        by_day: dict[date, list] = {day: [] for day in days}
        for a in appointments:
            local = a.start.astimezone(tz)
            by_day.setdefault(local.date(), []).append(
                {
                    "appointment": a,
                    "top": self._offset(local.hour * 60 + local.minute),
                    "height": max(int(a.visit_type.duration_minutes * PX_PER_MINUTE), 18),
                    # Too low for a second line: time and name only (all of it on hover/focus).
                    "short": a.visit_type.duration_minutes < CALENDAR_TWO_LINE_MINUTES,
                }
            )
        for items in by_day.values():
            _place_in_lanes(items)
        return [
            {
                "day": day,
                "windows": [
                    {
                        "top": self._offset(s.hour * 60 + s.minute),
                        "height": self._offset(e.hour * 60 + e.minute)
                        - self._offset(s.hour * 60 + s.minute),
                        "label": f"{s:%H:%M}–{e:%H:%M}",
                    }
                    for s, e in windows.get(day, [])
                ],
                "appointments": by_day.get(day, []),
            }
            for day in days
        ]

    @staticmethod
    def _offset(minutes_of_day: int) -> int:
        clipped = min(max(minutes_of_day, CALENDAR_START_HOUR * 60), CALENDAR_END_HOUR * 60)
        return int((clipped - CALENDAR_START_HOUR * 60) * PX_PER_MINUTE)
