"""Doctors' schedules in the staff dashboard: the week, exceptions, visit types and a preview of
the slots patients are offered.

The front desk manages every active doctor; a doctor manages their own (another doctor's schedule
is a 404 for them, as if it did not exist). Every change goes through doctors/services.py; a
refused change shows the page again with the errors (status 400) and stores nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import urlencode

from booking.models import ACTIVE_CONDITION, Appointment, Reschedule, Status
from booking.selectors import slot_search
from clinic_site.policies import clinic_tz, get_policies
from doctors import rules, services
from doctors.models import Doctor, ExceptionKind, ScheduleException, VisitType
from doctors.permissions import can_manage_schedule

from ..forms_schedules import (
    PRESETS,
    DaysOffForm,
    ExtraHoursForm,
    VisitTypeForm,
    WeeklyScheduleForm,
)
from ..permissions import FRONT_DESK, is_doctor, own_doctor, require, role_of
from .base import StaffView

DAY_ABBR = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
PAST_EXCEPTIONS_DAYS = 90  # past exceptions shown (collapsed) this far back


def _hhmm(value: dt.time | dt.datetime) -> str:
    return value.strftime("%H:%M")


def _windows_text(windows) -> str:
    return ", ".join(f"{_hhmm(start)}–{_hhmm(end)}" for start, end in windows)


def week_summary(windows) -> list[dict]:
    """Runs of consecutive weekdays with the same windows, e.g. Mon to Fri with the same two
    windows is one run. Days without windows are left out."""
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {day: [] for day in range(7)}
    for weekday, start, end in windows:
        by_day[weekday].append((start, end))
    runs = []
    for hours, group in groupby(range(7), key=lambda day: _windows_text(sorted(by_day[day]))):
        days = list(group)
        if not hours:
            continue
        label = DAY_ABBR[days[0]] if len(days) == 1 else f"{DAY_ABBR[days[0]]}–{DAY_ABBR[days[-1]]}"
        runs.append({"days": label, "hours": hours})
    return runs


def weekly_minutes(windows) -> int:
    return sum(
        (dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).seconds
        // 60
        for _, start, end in windows
    )


def _duration_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def _today() -> dt.date:
    return timezone.now().astimezone(clinic_tz()).date()


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


# --- The list ---------------------------------------------------------------------------------


class ScheduleListView(StaffView):
    """Every active doctor with a summary of their week. A doctor goes straight to their own."""

    page_title = "Schedules"
    header_icon = "calendar-alt"
    template_name = "dashboard/schedules/list.html"

    def get(self, request, *args, **kwargs):
        if is_doctor(request.user):
            doctor = own_doctor(request.user)
            if doctor is not None and doctor.is_active:
                return redirect("dashboard:schedule", doctor_id=doctor.pk)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["front_desk"] = role_of(self.request.user) in FRONT_DESK
        if not context["front_desk"]:
            return context  # a doctor without an active doctor profile
        today = _today()
        doctors = (
            Doctor.objects.filter(is_active=True)
            .annotate(
                active_visit_types=Count("visit_types", filter=Q(visit_types__is_active=True))
            )
            .prefetch_related(
                "specialties",
                "weekly_windows",
                Prefetch(
                    "schedule_exceptions",
                    queryset=ScheduleException.objects.filter(date_to__gte=today).order_by(
                        "date_from", "start"
                    ),
                    to_attr="upcoming_exceptions",
                ),
            )
            .order_by("name")
        )
        rows = []
        for doctor in doctors:
            windows = [(w.weekday, w.start, w.end) for w in doctor.weekly_windows.all()]
            rows.append(
                {
                    "doctor": doctor,
                    "summary": week_summary(windows),
                    "hours": _duration_text(weekly_minutes(windows)) if windows else "",
                    "next_exception": next(iter(doctor.upcoming_exceptions), None),
                    "more_exceptions": max(len(doctor.upcoming_exceptions) - 1, 0),
                    "url": reverse("dashboard:schedule", args=[doctor.pk]),
                }
            )
        context["rows"] = rows
        context["time_zone"] = str(clinic_tz())
        return context


# --- One doctor -------------------------------------------------------------------------------


@dataclass
class PreviewDay:
    date: dt.date
    windows: str
    slots: list[str]
    day_off: list[ScheduleException]
    extra: list[ScheduleException]
    is_past: bool
    is_today: bool


class DoctorScheduleMixin:
    """Finds the doctor of the URL; anyone who may not manage that schedule gets a 404."""

    def dispatch(self, request, *args, **kwargs):
        # The role gate first (patients and editors are refused outright), then the doctor.
        require(role_of(request.user) in self.allowed_roles)
        self.doctor  # noqa: B018 - a 404 before any handler runs
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def doctor(self) -> Doctor:
        doctor = get_object_or_404(Doctor, pk=self.kwargs["doctor_id"], is_active=True)
        if not can_manage_schedule(self.request.user, doctor):
            raise Http404("No such schedule.")
        return doctor

    def schedule_url(self, anchor: str = "") -> str:
        url = reverse("dashboard:schedule", args=[self.doctor.pk])
        return f"{url}#{anchor}" if anchor else url

    def get_breadcrumbs_items(self):
        items = list(self.breadcrumbs_items)
        if role_of(self.request.user) in FRONT_DESK:
            items.append({"url": reverse("dashboard:schedules"), "label": "Schedules"})
        return items


class ScheduleView(DoctorScheduleMixin, StaffView):
    """The whole schedule of one doctor. POST here saves the week; the other forms post to their
    own URLs (the views below) and come back here on an error."""

    header_icon = "calendar-alt"
    template_name = "dashboard/schedules/schedule.html"

    def get_page_title(self):
        return f"Schedule of {self.doctor}"

    def get_breadcrumbs_items(self):
        items = super().get_breadcrumbs_items()
        return [*items, {"url": "", "label": str(self.doctor)}]

    def get(self, request, *args, **kwargs):
        return self.render_page()

    def render_page(self, status: int = 200, **forms):
        self.forms = forms
        context = self.get_context_data()
        return self.render_to_response(context, status=status)

    # --- context -------------------------------------------------------------------------------

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        doctor = self.doctor
        tz = clinic_tz()
        now = timezone.now()
        today = now.astimezone(tz).date()
        policies = get_policies(self.request)
        forms = getattr(self, "forms", {})

        windows = [(w.weekday, w.start, w.end) for w in doctor.weekly_windows.all()]
        exceptions = list(
            ScheduleException.objects.filter(
                doctor=doctor, date_to__gte=today - dt.timedelta(days=PAST_EXCEPTIONS_DAYS)
            )
            .select_related("created_by")
            .order_by("date_from", "start", "pk")
        )
        booked = Appointment.objects.filter(visit_type=OuterRef("pk"))
        rescheduled = Reschedule.objects.filter(
            Q(old_visit_type=OuterRef("pk")) | Q(new_visit_type=OuterRef("pk"))
        )
        visit_types = list(
            VisitType.objects.filter(doctor=doctor)
            .annotate(in_use=Exists(booked) | Exists(rescheduled))
            .order_by("-is_active", "sort_order", "duration_minutes", "pk")
        )
        for visit_type in visit_types:
            visit_type.doctor = doctor  # slot_search reads it; saves a query per visit type

        week_form = forms.get("week_form") or WeeklyScheduleForm(windows=windows)
        off_form = forms.get("off_form") or DaysOffForm(today=today)
        extra_form = forms.get("extra_form") or ExtraHoursForm(today=today)
        context.update(
            doctor=doctor,
            front_desk=role_of(self.request.user) in FRONT_DESK,
            time_zone=str(tz),
            today=today,
            week_form=week_form,
            presets=PRESETS,
            presets_json={preset.key: preset.windows for preset in PRESETS},
            summary=week_summary(windows),
            weekly_hours=_duration_text(weekly_minutes(windows)) if windows else "",
            upcoming_exceptions=[e for e in exceptions if e.date_to >= today],
            past_exceptions=[e for e in exceptions if e.date_to < today][::-1],
            past_exceptions_days=PAST_EXCEPTIONS_DAYS,
            off_form=off_form,
            extra_form=extra_form,
            media=off_form.media + extra_form.media,
            visit_types=visit_types,
            visit_type_form=forms.get("visit_type_form") or VisitTypeForm(with_active=False),
            policies=policies,
        )
        context.update(
            self.preview_context(
                windows, exceptions, visit_types, today=today, now=now, policies=policies
            )
        )
        return context

    def preview_context(self, windows, exceptions, visit_types, *, today, now, policies) -> dict:
        """The week patients would see for one visit type: `slot_search`, exactly as the booking
        pages call it (the clinic's minimum notice and horizon apply)."""
        params = self.request.GET
        active = [vt for vt in visit_types if vt.is_active]
        chosen = next((vt for vt in active if str(vt.pk) == params.get("visit_type")), None)
        chosen = chosen or (active[0] if active else None)
        this_monday = _monday(today)
        last_monday = _monday(today + dt.timedelta(days=policies.booking_horizon_days))
        try:
            monday = _monday(dt.date.fromisoformat(params.get("week", "")))
        except ValueError:
            monday = this_monday
        monday = min(max(monday, this_monday), last_monday)
        sunday = monday + dt.timedelta(days=6)

        slots_by_day: dict[dt.date, list[str]] = {}
        if chosen is not None:
            for slot in slot_search(
                visit_type=chosen, date_from=monday, date_to=sunday, now=now, policies=policies
            ):
                start = slot.start.astimezone(clinic_tz())
                slots_by_day.setdefault(start.date(), []).append(_hhmm(start))

        weekly: dict[int, list[rules.Window]] = {}
        for weekday, start, end in windows:
            weekly.setdefault(weekday, []).append((start, end))
        week_exceptions = [e for e in exceptions if e.date_from <= sunday and e.date_to >= monday]
        changes = [
            rules.ScheduleChange(e.kind, e.date_from, e.date_to, e.start, e.end)
            for e in week_exceptions
        ]
        days = []
        for offset in range(7):
            day = monday + dt.timedelta(days=offset)
            touching = [e for e in week_exceptions if e.date_from <= day <= e.date_to]
            days.append(
                PreviewDay(
                    date=day,
                    windows=_windows_text(rules.windows_of_date(day, weekly, changes)),
                    slots=slots_by_day.get(day, []),
                    day_off=[e for e in touching if e.kind == ExceptionKind.DAY_OFF],
                    extra=[e for e in touching if e.kind == ExceptionKind.EXTRA_HOURS],
                    is_past=day < today,
                    is_today=day == today,
                )
            )

        def week_url(week: dt.date) -> str:
            query = {"week": week.isoformat()}
            if chosen is not None:
                query["visit_type"] = chosen.pk
            return f"{self.schedule_url()}?{urlencode(query)}#preview"

        closed_reason = ""
        if chosen is not None and not self.doctor.accepting_bookings:
            closed_reason = (
                "Online booking is closed for this doctor, so patients are offered no slots "
                "(the front desk can still book)."
            )
        return {
            "preview_visit_types": active,
            "preview_visit_type": chosen,
            "preview_days": days,
            "preview_monday": monday,
            "preview_sunday": sunday,
            "preview_slot_count": sum(len(d.slots) for d in days),
            "preview_prev_url": week_url(monday - dt.timedelta(days=7))
            if monday > this_monday
            else "",
            "preview_next_url": week_url(monday + dt.timedelta(days=7))
            if monday < last_monday
            else "",
            "preview_this_week_url": week_url(this_monday) if monday != this_monday else "",
            "preview_closed_reason": closed_reason,
            "minimum_notice_minutes": policies.minimum_notice_minutes,
        }

    # --- saving the week -----------------------------------------------------------------------

    def post(self, request, *args, **kwargs):
        form = WeeklyScheduleForm(request.POST)
        if form.is_edit:
            form.apply_edit()
            return self.render_page(week_form=form)
        if not form.is_valid():
            messages.error(request, "The week was not saved: see the days marked below.")
            return self.render_page(status=400, week_form=form)
        try:
            services.weekly_schedule_replace(
                doctor=self.doctor, windows=form.cleaned_windows, actor=request.user
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(message)
            messages.error(request, "The week was not saved.")
            return self.render_page(status=400, week_form=form)
        count = len(form.cleaned_windows)
        messages.success(
            request,
            f"Weekly schedule of {self.doctor} saved: {count} window{'s' if count != 1 else ''}. "
            "Appointments already booked are not moved.",
        )
        return HttpResponseRedirect(self.schedule_url("week"))


class _SchedulePostView(ScheduleView):
    """A form of the schedule page that posts to its own URL; GET goes back to the page."""

    def get(self, request, *args, **kwargs):
        return HttpResponseRedirect(self.schedule_url())


class ExceptionAddView(_SchedulePostView):
    def post(self, request, *args, **kwargs):
        today = _today()
        days_off = request.POST.get("kind") != ExceptionKind.EXTRA_HOURS
        if days_off:
            form = DaysOffForm(request.POST, today=today)
            forms = {"off_form": form}
        else:
            form = ExtraHoursForm(request.POST, today=today)
            forms = {"extra_form": form}
        if not form.is_valid():
            messages.error(request, "The exception was not added: see the form below.")
            return self.render_page(status=400, **forms)
        data = form.cleaned_data
        try:
            if days_off:
                exception = services.schedule_exception_add(
                    doctor=self.doctor,
                    kind=ExceptionKind.DAY_OFF,
                    actor=request.user,
                    date_from=data["date_from"],
                    date_to=data["date_to"] or data["date_from"],
                    reason=data["reason"],
                )
            else:
                exception = services.schedule_exception_add(
                    doctor=self.doctor,
                    kind=ExceptionKind.EXTRA_HOURS,
                    actor=request.user,
                    date_from=data["date"],
                    start=data["start"],
                    end=data["end"],
                    reason=data["reason"],
                )
        except ValidationError as exc:
            renames = {"date_from": "date"} if not days_off else {}
            for name, errors in exc.message_dict.items():
                name = renames.get(name, name)
                form.add_error(name if name in form.fields else None, errors)
            messages.error(request, "The exception was not added: see the form below.")
            return self.render_page(status=400, **forms)
        messages.success(request, f"{exception_label(exception)} added for {self.doctor}.")
        if days_off:
            self.warn_about_booked(exception)
        return HttpResponseRedirect(self.schedule_url("exceptions"))

    def warn_about_booked(self, exception: ScheduleException) -> None:
        """Days off do not cancel what is booked: say so, so the desk can call the patients."""
        tz = clinic_tz()
        lower = dt.datetime.combine(exception.date_from, dt.time.min, tzinfo=tz)
        upper = dt.datetime.combine(
            exception.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz
        )
        booked = (
            Appointment.objects.filter(ACTIVE_CONDITION, doctor=self.doctor)
            .filter(start__gte=lower, start__lt=upper)
            .exclude(status=Status.HELD)
            .count()
        )
        if booked:
            messages.warning(
                self.request,
                f"{booked} appointment{'s are' if booked != 1 else ' is'} already booked on "
                "these days and stay booked: reschedule or cancel them from Appointments.",
            )


def exception_label(exception: ScheduleException) -> str:
    if exception.kind == ExceptionKind.DAY_OFF:
        if exception.date_from == exception.date_to:
            return f"Day off on {exception.date_from:%a %-d %b %Y}"
        return f"Days off {exception.date_from:%a %-d %b} – {exception.date_to:%a %-d %b %Y}"
    return (
        f"Extra hours on {exception.date_from:%a %-d %b %Y}, "
        f"{_hhmm(exception.start)}–{_hhmm(exception.end)}"
    )


class ExceptionDeleteView(DoctorScheduleMixin, StaffView):
    """Asks first (GET), deletes on POST."""

    header_icon = "bin"
    template_name = "dashboard/schedules/confirm.html"
    page_title = "Delete exception"

    @cached_property
    def exception(self) -> ScheduleException:
        return get_object_or_404(
            ScheduleException, pk=self.kwargs["exception_id"], doctor=self.doctor
        )

    def get_breadcrumbs_items(self):
        items = super().get_breadcrumbs_items()
        return [
            *items,
            {"url": self.schedule_url(), "label": str(self.doctor)},
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        exception = self.exception
        context.update(
            doctor=self.doctor,
            question=f"Delete this exception from the schedule of {self.doctor}?",
            subject=exception_label(exception),
            detail=exception.reason,
            consequence=(
                "The doctor's usual weekly hours apply again on these days."
                if exception.kind == ExceptionKind.DAY_OFF
                else "These hours are no longer offered. Appointments already booked in them "
                "stay booked."
            ),
            confirm_label="Yes, delete",
            cancel_url=self.schedule_url("exceptions"),
        )
        return context

    def post(self, request, *args, **kwargs):
        label = exception_label(self.exception)
        services.schedule_exception_delete(exception=self.exception, actor=request.user)
        messages.success(request, f"{label} deleted from the schedule of {self.doctor}.")
        return HttpResponseRedirect(self.schedule_url("exceptions"))


class VisitTypeAddView(_SchedulePostView):
    def post(self, request, *args, **kwargs):
        form = VisitTypeForm(request.POST, with_active=False)
        if form.is_valid():
            try:
                visit_type = services.visit_type_create(
                    doctor=self.doctor, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Visit type “{visit_type.name}” added.")
                return HttpResponseRedirect(self.schedule_url("visit-types"))
        messages.error(request, "The visit type was not added: see the form below.")
        return self.render_page(status=400, visit_type_form=form)


class VisitTypeEditView(DoctorScheduleMixin, StaffView):
    header_icon = "time"
    template_name = "dashboard/schedules/visit_type_form.html"

    @cached_property
    def visit_type(self) -> VisitType:
        visit_type = get_object_or_404(
            VisitType, pk=self.kwargs["visit_type_id"], doctor=self.doctor
        )
        visit_type.doctor = self.doctor
        return visit_type

    def get_page_title(self):
        return f"Edit visit type “{self.visit_type.name}”"

    def get_breadcrumbs_items(self):
        items = super().get_breadcrumbs_items()
        return [
            *items,
            {"url": self.schedule_url(), "label": str(self.doctor)},
            {"url": "", "label": f"Visit type “{self.visit_type.name}”"},
        ]

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        visit_type = self.visit_type
        context.update(
            doctor=self.doctor,
            visit_type=visit_type,
            form=form
            or VisitTypeForm(
                initial={
                    "name": visit_type.name,
                    "duration_minutes": visit_type.duration_minutes,
                    "mode": visit_type.mode,
                    "price": visit_type.price,
                    "is_active": visit_type.is_active,
                }
            ),
            cancel_url=self.schedule_url("visit-types"),
            remove_url=reverse(
                "dashboard:schedule_visit_type_remove", args=[self.doctor.pk, visit_type.pk]
            ),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = VisitTypeForm(request.POST)
        if form.is_valid():
            try:
                services.visit_type_update(
                    visit_type=self.visit_type, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Visit type “{self.visit_type.name}” saved.")
                return HttpResponseRedirect(self.schedule_url("visit-types"))
        messages.error(request, "The visit type was not saved: see the form below.")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class VisitTypeRemoveView(DoctorScheduleMixin, StaffView):
    """Delete a visit type nobody booked; deactivate one that appointments use."""

    header_icon = "bin"
    template_name = "dashboard/schedules/confirm.html"

    @cached_property
    def visit_type(self) -> VisitType:
        return get_object_or_404(
            VisitType.objects.annotate(
                in_use=Exists(Appointment.objects.filter(visit_type=OuterRef("pk")))
                | Exists(
                    Reschedule.objects.filter(
                        Q(old_visit_type=OuterRef("pk")) | Q(new_visit_type=OuterRef("pk"))
                    )
                )
            ),
            pk=self.kwargs["visit_type_id"],
            doctor=self.doctor,
        )

    def get_page_title(self):
        return "Deactivate visit type" if self.visit_type.in_use else "Delete visit type"

    def get_breadcrumbs_items(self):
        items = super().get_breadcrumbs_items()
        return [
            *items,
            {"url": self.schedule_url(), "label": str(self.doctor)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        visit_type = self.visit_type
        if visit_type.in_use:
            question = f"Deactivate “{visit_type.name}”?"
            consequence = (
                "Appointments use this visit type, so it is kept for their history: patients "
                "can no longer book it. You can offer it again from its edit page."
            )
            confirm = "Yes, deactivate"
        else:
            question = f"Delete “{visit_type.name}”?"
            consequence = "Nobody has booked it, so it is removed for good."
            confirm = "Yes, delete"
        context.update(
            doctor=self.doctor,
            question=question,
            subject=str(visit_type),
            detail="",
            consequence=consequence,
            confirm_label=confirm,
            cancel_url=self.schedule_url("visit-types"),
        )
        return context

    def post(self, request, *args, **kwargs):
        name = self.visit_type.name
        deleted = services.visit_type_remove(visit_type=self.visit_type, actor=request.user)
        if deleted:
            messages.success(request, f"Visit type “{name}” deleted.")
        else:
            messages.success(
                request,
                f"Visit type “{name}” deactivated: appointments use it, so it stays in their "
                "history.",
            )
        return HttpResponseRedirect(self.schedule_url("visit-types"))
